package logs

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func seqs(lines []Line) []uint64 {
	out := make([]uint64, len(lines))
	for i, l := range lines {
		out[i] = l.Seq
	}
	return out
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func sameSeqs(a, b []uint64) bool { return slices.Equal(a, b) }

func TestRingEvictionAndSince(t *testing.T) {
	r := NewRing(3)
	if got, d := r.Since(0); got != nil || d {
		t.Fatalf("empty Since(0) = %v, %v", got, d)
	}
	for i := 1; i <= 5; i++ {
		l := r.Append(Line{Text: fmt.Sprint(i), Seq: 99})
		if l.Seq != uint64(i) || l.Time.IsZero() {
			t.Fatalf("Append returned %+v", l)
		}
	}
	if r.Len() != 3 || r.Cap() != 3 || r.Last() != 5 {
		t.Fatalf("Len %d Cap %d Last %d", r.Len(), r.Cap(), r.Last())
	}
	lines := r.Lines()
	if !sameSeqs(seqs(lines), []uint64{3, 4, 5}) || lines[0].Text != "3" || lines[2].Text != "5" {
		t.Fatalf("Lines = %+v", lines)
	}
	for _, tc := range []struct {
		since   uint64
		want    []uint64
		dropped bool
	}{
		{0, []uint64{3, 4, 5}, true},  // 1 and 2 are gone
		{1, []uint64{3, 4, 5}, true},  // 2 is gone
		{2, []uint64{3, 4, 5}, false}, // nothing after 2 is missing
		{4, []uint64{5}, false},
		{5, nil, false},
		{50, nil, false},
	} {
		got, dropped := r.Since(tc.since)
		if !sameSeqs(seqs(got), tc.want) || dropped != tc.dropped {
			t.Errorf("Since(%d) = %v, %v; want %v, %v", tc.since, seqs(got), dropped, tc.want, tc.dropped)
		}
	}
}

func TestRingKeepsGivenTime(t *testing.T) {
	r := NewRing(0)
	if r.Cap() != DefaultCapacity {
		t.Fatalf("Cap = %d", r.Cap())
	}
	at := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if l := r.Append(Line{Time: at, Stream: Stderr, Text: "x"}); !l.Time.Equal(at) || l.Stream != Stderr {
		t.Fatalf("got %+v", l)
	}
}

// TestRingModel checks Lines and Since against a plain slice across many
// wrap-arounds and capacities.
func TestRingModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, capacity := range []int{1, 2, 7, 64, 100, 1000} {
		r := NewRing(capacity)
		var all []uint64
		for step := range 400 {
			n := rng.IntN(capacity*2 + 1)
			for range n {
				all = append(all, r.Append(Line{}).Seq)
			}
			keep := all[max(0, len(all)-capacity):]
			if got := seqs(r.Lines()); !sameSeqs(got, keep) {
				t.Fatalf("cap %d: Lines = %v, want %v", capacity, got, keep)
			}
			if len(all) == 0 {
				continue
			}
			since := uint64(rng.IntN(len(all) + 2))
			got, dropped := r.Since(since)
			var want []uint64
			if since < uint64(len(all)) {
				want = seqRange(max(since+1, keep[0]), uint64(len(all)))
			}
			wantDropped := since+1 < keep[0] && since < uint64(len(all))
			if !sameSeqs(seqs(got), want) || dropped != wantDropped {
				t.Fatalf("cap %d, %d lines: Since(%d) = %v, %v; want %v, %v",
					capacity, len(all), since, seqs(got), dropped, want, wantDropped)
			}
			if step%100 == 0 && r.Len() == capacity && cap(r.buf) != capacity {
				t.Fatalf("cap %d: storage %d", capacity, cap(r.buf))
			}
		}
	}
}

func TestRingNotifyWakesWaiter(t *testing.T) {
	r := NewRing(10)
	ch := r.Notify()
	if r.Notify() != ch {
		t.Fatal("Notify without an Append in between must return the same channel")
	}
	woke := make(chan []Line)
	for range 3 { // every waiter wakes
		go func() {
			<-ch
			lines, _ := r.Since(0)
			woke <- lines
		}()
	}
	select {
	case <-ch:
		t.Fatal("woke before any Append")
	case <-time.After(20 * time.Millisecond):
	}
	r.Append(Line{Text: "hi"})
	for range 3 {
		select {
		case lines := <-woke:
			if len(lines) != 1 || lines[0].Text != "hi" {
				t.Fatalf("woke with %+v", lines)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("waiter not woken")
		}
	}
	select {
	case <-r.Notify():
		t.Fatal("a fresh Notify channel must wait for the next Append")
	default:
	}
}

func TestRingWriterNeverBlocks(t *testing.T) {
	r := NewRing(100)
	_ = r.Notify() // a subscriber that never reads
	stalled := make(chan struct{})
	go func() { // and one that reads once and then hangs forever
		<-r.Notify()
		<-stalled
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 100_000 {
			r.Append(Line{Text: "x"})
			if i%1000 == 0 {
				_ = r.Notify() // re-subscribe without ever reading
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("writer blocked")
	}
	close(stalled)
	if r.Last() != 100_000 || r.Len() != 100 {
		t.Fatalf("Last %d Len %d", r.Last(), r.Len())
	}
}

func TestRingConcurrent(t *testing.T) {
	r := NewRing(500)
	const writers, perWriter = 4, 5000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for range perWriter {
				r.Append(Line{Stream: Stream(w % 2), Text: "line"})
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			var seen uint64
			for {
				ch := r.Notify()
				lines, _ := r.Since(seen)
				for i, l := range lines {
					if l.Seq <= seen || (i > 0 && l.Seq != lines[i-1].Seq+1) {
						t.Errorf("out of order: %d after %d", l.Seq, seen)
						return
					}
					seen = l.Seq
				}
				all := r.Lines()
				for i := 1; i < len(all); i++ {
					if all[i].Seq != all[i-1].Seq+1 {
						t.Errorf("Lines not consecutive at %d", i)
						return
					}
				}
				select {
				case <-ch:
				case <-stop:
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if r.Last() != writers*perWriter || r.Len() != 500 {
		t.Fatalf("Last %d Len %d", r.Last(), r.Len())
	}
}

// TestRingByteBudget: lines are evicted by bytes as well as by count, the
// newest line is always kept, and a larger line capacity scales the default
// budget.
func TestRingByteBudget(t *testing.T) {
	r := NewRingLimits(1000, 10*(100+lineOverhead))
	line := Line{Text: strings.Repeat("x", 100)}
	for range 50 {
		r.Append(line)
	}
	if r.Len() != 10 || r.Bytes() != 10*(100+lineOverhead) {
		t.Fatalf("Len %d Bytes %d, want 10 lines within the budget", r.Len(), r.Bytes())
	}
	if got, dropped := r.Since(0); len(got) != 10 || !dropped || got[0].Seq != 41 {
		t.Fatalf("Since(0) = %d lines from %d, dropped %v", len(got), got[0].Seq, dropped)
	}
	big := Line{Text: strings.Repeat("y", 5000)}
	r.Append(big)
	if r.Len() != 1 || r.Lines()[0].Text != big.Text {
		t.Fatalf("a line over the whole budget: Len %d", r.Len())
	}
	if got := NewRing(0).maxBytes; got != DefaultMaxBytes {
		t.Fatalf("default budget %d", got)
	}
	if got := NewRing(100_000).maxBytes; got != 20*DefaultMaxBytes {
		t.Fatalf("budget for 100 000 lines %d", got)
	}
}
