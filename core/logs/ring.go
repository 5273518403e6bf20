package logs

import (
	"sync"
	"time"
)

// DefaultCapacity is the Ring capacity used when NewRing is given 0 or less.
const DefaultCapacity = 5000

// Ring is a bounded, concurrency-safe buffer of the newest lines of one
// sidecar. Appending never blocks on a reader: readers copy what they need
// under a short lock, and they learn about new lines from Notify.
type Ring struct {
	mu   sync.Mutex
	buf  []Line // grows up to capacity, then is reused circularly
	head int    // index of the oldest line once buf is full; 0 before
	cap  int
	last uint64 // Seq of the newest line; 0 when nothing was ever appended
	// notify is closed by the next Append and then forgotten; nil while
	// nobody has asked. See Notify.
	notify chan struct{}
}

// NewRing returns an empty Ring that keeps the newest capacity lines
// (DefaultCapacity if capacity <= 0). Its storage grows with use, so a quiet
// sidecar costs little.
func NewRing(capacity int) *Ring {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Ring{cap: capacity}
}

// Append stores l, evicting the oldest line if the Ring is full. It assigns
// l.Seq (overwriting any value), sets l.Time to now if it is zero, and
// returns the line as stored so that other sinks can show the same Seq and
// Time. It never blocks on readers.
func (r *Ring) Append(l Line) Line {
	if l.Time.IsZero() {
		l.Time = time.Now() // outside the lock: it is the slowest part
	}
	r.mu.Lock()
	r.last++
	l.Seq = r.last
	switch {
	case len(r.buf) < r.cap:
		if len(r.buf) == cap(r.buf) {
			r.grow()
		}
		r.buf = append(r.buf, l)
	default:
		r.buf[r.head] = l
		r.head++
		if r.head == len(r.buf) {
			r.head = 0
		}
	}
	if r.notify != nil {
		close(r.notify) // wakes every waiter at once; close never blocks
		r.notify = nil
	}
	r.mu.Unlock()
	return l
}

// grow doubles the storage but never beyond the capacity, so a full Ring
// holds exactly cap lines and no slack.
func (r *Ring) grow() {
	n := min(max(2*cap(r.buf), 64), r.cap)
	nb := make([]Line, len(r.buf), n)
	copy(nb, r.buf)
	r.buf = nb
}

// Lines returns a copy of every stored line, oldest first.
func (r *Ring) Lines() []Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.copyFrom(0)
}

// Since returns a copy of the stored lines with Seq > seq, oldest first.
// dropped reports that some lines after seq were evicted before this call,
// i.e. the reader fell behind by more than the capacity and should show a gap.
// Since(0) on a Ring that never evicted returns everything with dropped false.
func (r *Ring) Since(seq uint64) (lines []Line, dropped bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq >= r.last {
		return nil, false
	}
	oldest := r.last - uint64(len(r.buf)) + 1
	if seq+1 < oldest {
		dropped = true
		seq = oldest - 1
	}
	return r.copyFrom(int(seq + 1 - oldest)), dropped
}

// copyFrom copies the lines from logical position skip (0 = oldest) on.
// r.mu must be held.
func (r *Ring) copyFrom(skip int) []Line {
	n := len(r.buf) - skip
	if n <= 0 {
		return nil
	}
	out := make([]Line, n)
	start := r.head + skip
	if start >= len(r.buf) {
		start -= len(r.buf)
	}
	k := copy(out, r.buf[start:])
	copy(out[k:], r.buf[:start])
	return out
}

// Last returns the Seq of the newest line, 0 if none was ever appended.
func (r *Ring) Last() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Len returns the number of stored lines.
func (r *Ring) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.buf)
}

// Cap returns the most lines the Ring keeps.
func (r *Ring) Cap() int { return r.cap }

// Notify returns a channel that is closed by the next Append. Like
// context.Done, it needs no unsubscribe and any number of goroutines may wait
// on it; Append only closes a channel, so a writer never blocks however slow
// or absent the readers are. Take the channel before reading, so that a line
// appended in between is not missed:
//
//	for {
//		ch := ring.Notify()
//		lines, dropped := ring.Since(seen)
//		... show lines; seen = lines[len(lines)-1].Seq if any ...
//		select {
//		case <-ch:
//		case <-ctx.Done():
//			return
//		}
//	}
//
// A burst of appends closes one channel, so a UI wakes once per batch, not
// once per line.
func (r *Ring) Notify() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.notify == nil {
		r.notify = make(chan struct{})
	}
	return r.notify
}
