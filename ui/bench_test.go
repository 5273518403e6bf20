package ui

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"outrigger/core/config"
	"outrigger/core/logs"
	"outrigger/core/supervisor"
)

// BenchmarkEventsApplied floods the UI's event pump (as the supervisor's
// subscription would) and waits until the final state of every sidecar is
// on its card: events/s is the rate absorbed without losing the final
// state; batches/s is how often widgets were touched (one fyne.Do each).
func BenchmarkEventsApplied(b *testing.B) {
	test.NewTempApp(b)
	names := []string{"xgen-workflow", "xgen-embedding", "ocr", "reranker"}
	cfg := config.Config{}
	for i, n := range names {
		cfg.Sidecars = append(cfg.Sidecars, config.DefaultSpec(n, 8001+i))
	}
	u := New(fyne.CurrentApp(), Deps{Config: cfg})
	onUI(u.build)
	var batches int
	u.applied = func() { batches++ }
	ch := make(chan supervisor.Event, 256)
	go u.pump(ch)
	defer u.stopListening()
	states := []supervisor.State{supervisor.Starting, supervisor.Ready, supervisor.Unhealthy, supervisor.Backoff}
	now := time.Now()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		n := names[i%len(names)]
		st := supervisor.Status{Name: n, State: states[i%len(states)], PID: i + 1, Port: 8001, URL: "http://127.0.0.1:8001",
			StartedAt: &now, CPUPercent: float64(i % 100), RSSBytes: uint64(i) << 10}
		ch <- supervisor.Event{Sidecar: n, Kind: supervisor.EventState, Status: st}
	}
	// The final state of each sidecar must show.
	last := map[string]int{}
	for i := max(0, b.N-len(names)); i < b.N; i++ {
		last[names[i%len(names)]] = i + 1
	}
	for {
		done := true
		onUI(func() {
			for n, pid := range last {
				if u.cards[n].st.PID != pid || u.cards[n].pid.Text != fmt.Sprint(pid) {
					done = false
				}
			}
		})
		if done {
			break
		}
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
	b.ReportMetric(float64(batches)/el.Seconds(), "batches/s")
}

// BenchmarkLogAppend1000 appends batches of 1000 lines to a viewer that
// already holds 100 000 (so trimming is included) and is following the
// tail on screen: the cost of one batch of 1000 lines on the UI thread.
func BenchmarkLogAppend1000(b *testing.B) {
	test.NewTempApp(b)
	cfg := config.Config{Sidecars: []config.Spec{config.DefaultSpec("alpha", 8001)}}
	u := New(fyne.CurrentApp(), Deps{Config: cfg})
	onUI(func() {
		u.build()
		u.win.Resize(fyne.NewSize(920, 680))
		u.win.Show()
		u.tabs.Select(u.logsTab)
	})
	p := u.logs
	v := p.view("alpha")
	mk := func(k int) []logs.Line {
		out := make([]logs.Line, 1000)
		now := time.Now()
		for i := range out {
			out[i] = logs.Line{Seq: uint64(k*1000 + i), Time: now, Stream: logs.Stream(i % 2),
				Text: fmt.Sprintf("INFO:     127.0.0.1:%d - \"POST /workflow/stream HTTP/1.1\" 200 OK (%d)", 40000+i, k)}
		}
		return out
	}
	onUI(func() {
		for k := 0; k < 100; k++ {
			v.incoming = mk(k)
			v.flush()
		}
	})
	batches := make([][]logs.Line, 64)
	for i := range batches {
		batches[i] = mk(100 + i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in := batches[i%len(batches)]
		onUI(func() {
			v.incoming = in
			v.flush()
		})
	}
	b.StopTimer()
	if !p.following() {
		b.Error("stopped following the tail")
	}
	b.ReportMetric(float64(len(v.lines)), "lines-held")
}

// BenchmarkLogFilter100k re-filters 100 000 held lines (a keystroke in the
// filter field).
func BenchmarkLogFilter100k(b *testing.B) {
	test.NewTempApp(b)
	v := &logView{stream: -1}
	now := time.Now()
	for i := 0; i < 100_000; i++ {
		v.lines = append(v.lines, logs.Line{Time: now, Text: fmt.Sprintf("line %06d: GET /workflow/stream 200 in %d ms", i, i%997)})
	}
	qs := []string{"stream 200 in 5", "line 0999", "GET"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v.query = ""
		v.setFilter(qs[i%len(qs)], -1)
	}
}

// pumpRig is a built UI over n sidecars (s00, s01, …) whose pump reads ch,
// and whose hand-overs to the UI thread wait in posted until the test
// runs them (onUI): the UI thread, held.
func pumpRig(t *testing.T, n int) (u *UI, names []string, ch chan supervisor.Event, posted chan func()) {
	test.NewTempApp(t)
	cfg := config.Config{}
	for i := range n {
		name := fmt.Sprintf("s%02d", i)
		names = append(names, name)
		cfg.Sidecars = append(cfg.Sidecars, config.DefaultSpec(name, 9000+i))
	}
	u = New(fyne.CurrentApp(), Deps{Config: cfg})
	onUI(u.build)
	posted = make(chan func(), 100)
	old := runOnUI
	runOnUI = func(f func()) { posted <- f }
	t.Cleanup(func() { runOnUI = old }) // after stopListening: the pump is gone
	ch = make(chan supervisor.Event, 64)
	go u.pump(ch)
	t.Cleanup(u.stopListening)
	return u, names, ch, posted
}

// Events that arrive while a hand-over to the UI thread is still waiting
// join it: a watched sweep's metrics of 50 sidecars wake the UI thread
// once, not 50 times (the old pump called fyne.Do per event). All of them
// are applied, in order.
func TestPumpJoinsWaitingEvents(t *testing.T) {
	u, names, ch, posted := pumpRig(t, 50)
	onUI(func() { u.setVisible(true) }) // someone looks: metrics are shown
	now := time.Now()
	for i, n := range names {
		st := supervisor.Status{Name: n, State: supervisor.Ready, PID: 100 + i, RSSBytes: uint64(i+1) << 20, CPUPercent: 2}
		ch <- supervisor.Event{Sidecar: n, Kind: supervisor.EventMetrics, Time: now, Status: st}
	}
	deadline := time.Now().Add(wait)
	for {
		u.queue.mu.Lock()
		n := len(u.queue.events)
		u.queue.mu.Unlock()
		if n == len(names) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pump queued %d of %d events", n, len(names))
		}
		runtime.Gosched()
	}
	if n := len(posted); n != 1 {
		t.Fatalf("50 waiting events were handed to the UI thread in %d calls, want 1", n)
	}
	onUI(<-posted)
	onUI(func() {
		for i, n := range names {
			if c := u.cards[n]; c.st.PID != 100+i || c.mem.Text == "—" {
				t.Errorf("%s: pid %d, memory %q after the batch; want pid %d shown", n, c.st.PID, c.mem.Text, 100+i)
			}
		}
	})
	// The next event is handed over on its own again.
	ch <- supervisor.Event{Sidecar: names[0], Kind: supervisor.EventState, Time: now, Status: supervisor.Status{Name: names[0], State: supervisor.Exited}}
	select {
	case f := <-posted:
		onUI(f)
	case <-time.After(wait):
		t.Fatal("an event after the batch was never handed over")
	}
	onUI(func() {
		if st := u.cards[names[0]].st.State; st != supervisor.Exited {
			t.Errorf("%s is %s after the second hand-over, want exited", names[0], st)
		}
	})
}

// With the window hidden, metrics wake nobody (a parked loop sleeps on):
// each sidecar's newest waits, a sidecar's next event takes its waiting
// metrics along in order, and the window shows the newest when it opens.
func TestHiddenMetricsWakeNobody(t *testing.T) {
	u, names, ch, posted := pumpRig(t, 20) // hidden: never shown yet
	now := time.Now()
	for round := range 3 { // three hidden sweeps
		for i, n := range names {
			st := supervisor.Status{Name: n, State: supervisor.Ready, PID: 100 + i, RSSBytes: uint64(round*100+i+1) << 20}
			ch <- supervisor.Event{Sidecar: n, Kind: supervisor.EventMetrics, Time: now, Status: st}
		}
	}
	// A state event after them: the pump has taken every metric before it.
	ch <- supervisor.Event{Sidecar: names[0], Kind: supervisor.EventState, Time: now,
		Status: supervisor.Status{Name: names[0], State: supervisor.Exited}}
	var f func()
	select {
	case f = <-posted:
	case <-time.After(wait):
		t.Fatal("a state event while hidden was never handed over")
	}
	if n := len(posted); n != 0 {
		t.Fatalf("%d more hand-overs: metrics while hidden woke the UI thread", n)
	}
	u.queue.mu.Lock()
	queued, waiting := len(u.queue.events), len(u.queue.idle)
	u.queue.mu.Unlock()
	if queued != 2 || waiting != len(names)-1 {
		t.Fatalf("queued %d events and %d waiting metrics, want 2 (%s's metrics, then its state) and %d", queued, waiting, names[0], len(names)-1)
	}
	onUI(f)
	onUI(func() {
		if st := u.statuses[names[0]]; st.State != supervisor.Exited {
			t.Errorf("%s is %s: its older metrics were applied after its state event", names[0], st.State)
		}
		u.setVisible(true)
		for i, n := range names[1:] {
			want := uint64(200+i+2) << 20 // the third sweep's
			if c := u.cards[n]; c.st.RSSBytes != want || c.mem.Text == "—" {
				t.Errorf("%s shows %d bytes (%q) once the window shows, want the newest %d", n, c.st.RSSBytes, c.mem.Text, want)
			}
		}
	})
	if n := len(posted); n != 0 {
		t.Errorf("%d hand-overs while showing the window", n)
	}
}
