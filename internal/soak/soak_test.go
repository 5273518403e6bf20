//go:build linux

// Package soak runs a real supervisor, watchdog and guardian (in this test
// process) over fixture sidecars of every shape while it kills, stops and
// pauses them at random, and checks throughout that everything comes back,
// nothing escapes and the supervisor does not grow. It runs only when
// SOAK_S is set (`make soak`, default 600 s).
package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"outrigger/core/appdirs"
	"outrigger/core/config"
	"outrigger/core/proc"
	"outrigger/core/supervisor"
	"outrigger/core/watchdog"
	"outrigger/internal/testutil"
)

func TestMain(m *testing.M) {
	proc.RunGuardianIfRequested()
	testutil.RunMain(m)
}

// kinds of sidecar: name prefix → fixture arguments.
var kinds = []struct {
	name string
	args []string
	n    int
}{
	{"plain", nil, 2},
	{"onefile", []string{"-fork-grandchild"}, 2},
	{"daemon", []string{"-daemonize"}, 2},
	{"chatty", []string{"-lines-per-sec", "2000"}, 1},
	{"leaky", []string{"-leak-mb-per-sec", "2"}, 1},
}

// The restart settings of every soak sidecar.
const (
	maxBackoff     = 2 * time.Second
	jitter         = 0.2
	stopTimeout    = 2 * time.Second
	startupTimeout = 20 * time.Second
	livenessPeriod = 500 * time.Millisecond
)

// readyBound is the longest a sidecar that should run may stay not Ready:
// its longest backoff, the stop of an unhealthy run, the liveness failures
// that detect it and a whole startup timeout, plus slack for a 2-core
// machine that other test runs load (a slow start is not the defect this
// looks for; a sidecar that never comes back is).
const readyBound = time.Duration(float64(maxBackoff)*(1+jitter)) + stopTimeout + 3*livenessPeriod + startupTimeout + 15*time.Second

// Processes the soak must not see for long: a zombie child of the
// supervisor (the run's waiter or the subreaper reaps it) and a live
// process of a run that has ended (the run's end kills its tree). They are
// judged by how long the same process stays, not by how many samples saw
// it, so a slow machine does not turn into a false alarm.
const (
	zombieBound = 10 * time.Second
	strayBound  = stopTimeout + 15*time.Second
)

type counters struct {
	mu    sync.Mutex
	kills map[string]int
}

func (c *counters) add(what string) {
	c.mu.Lock()
	c.kills[what]++
	c.mu.Unlock()
}

type sample struct {
	at         time.Duration
	fds, gorou int
	rssMiB     float64
}

func TestSoak(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("SOAK_S"))
	if secs <= 0 {
		t.Skip("soak runs only with SOAK_S=<seconds> (make soak)")
	}
	dur := time.Duration(secs) * time.Second
	home := t.TempDir()
	var specs []config.Spec
	var bins []string
	for _, k := range kinds {
		for i := 1; i <= k.n; i++ {
			name := fmt.Sprintf("%s-%d", k.name, i)
			s := config.DefaultSpec(name, testutil.FreePort(t))
			s.Args = k.args
			s.Health = []string{"/health"}
			s.StartupTimeout = startupTimeout
			s.StopTimeout = stopTimeout
			s.Restart = config.RestartSpec{Policy: "always", InitialBackoff: 200 * time.Millisecond, MaxBackoff: maxBackoff,
				Multiplier: 2, Jitter: jitter, MaxRetries: -1, StableAfter: 5 * time.Second}
			s.Liveness = config.LivenessSpec{Period: livenessPeriod, Timeout: livenessPeriod, FailureThreshold: 2, SuccessThreshold: 1}
			specs = append(specs, s)
			bins = append(bins, name)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	g, err := proc.StartGuardian(exe)
	if err != nil {
		t.Fatal(err)
	}
	paths := appdirs.Paths{Home: home, StateDir: filepath.Join(home, "state"), LogDir: filepath.Join(home, "logs"), DataDir: filepath.Join(home, "data")}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sup, err := supervisor.New(supervisor.Options{
		Config:   config.Config{Mode: "standalone", Sidecars: specs},
		Paths:    paths,
		BinDirs:  []string{testutil.BinDir(t, bins...)},
		Logger:   log,
		Policy:   watchdog.Factory,
		Guardian: g,
		RingSize: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Add(1)
	go func() { defer bg.Done(); watchdog.New(sup, 500*time.Millisecond, log).Run(ctx) }()

	var restarts atomic.Int64
	events, unsub := sup.Subscribe()
	bg.Add(1)
	go func() {
		defer bg.Done()
		for e := range events {
			if e.Kind == supervisor.EventRestarting {
				restarts.Add(1)
			}
		}
	}()
	startCtx, startCancel := context.WithTimeout(ctx, 2*time.Minute)
	if err := sup.StartAll(startCtx); err != nil {
		t.Fatalf("StartAll: %v", err)
	}
	startCancel()

	tokens := &tokenSet{seen: map[string]bool{}}
	stateFile := filepath.Join(paths.StateDir, supervisor.StateFileName)
	tokens.read(stateFile)

	began := time.Now()
	cnt := &counters{kills: map[string]int{}}
	var violations []string
	var vmu sync.Mutex
	violate := func(f string, a ...any) {
		vmu.Lock()
		defer vmu.Unlock()
		if len(violations) < 50 {
			violations = append(violations, fmt.Sprintf("%6.1fs ", time.Since(began).Seconds())+fmt.Sprintf(f, a...))
		}
	}

	// Time to Ready, polled: every sidecar the user wants running.
	ready := &readiness{since: map[string]time.Time{}, lastReady: map[string]time.Time{}}
	chaosCtx, stopChaos := context.WithCancel(ctx)
	bg.Add(1)
	go func() {
		defer bg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for _, st := range sup.Snapshot() {
				now := time.Now()
				switch {
				case !st.Wanted:
					ready.forget(st.Name)
				case st.State == supervisor.Ready:
					ready.seenReady(st.Name, now)
				default:
					if d := ready.seenNotReady(st.Name, now); d > readyBound {
						violate("%s not Ready for %v, bound %v (state %s: %s)", st.Name, d.Round(time.Second), readyBound, st.State, st.Reason)
						ready.forget(st.Name) // report once per bound
					}
				}
			}
		}
	}()

	// Chaos.
	client := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	busy := map[string]*sync.Mutex{}
	for _, s := range specs {
		busy[s.Name] = &sync.Mutex{}
	}
	var cmds sync.WaitGroup // the commands the chaos started
	// chaosStep does one random thing to one random sidecar.
	chaosStep := func(rng *rand.Rand) {
		s := specs[rng.IntN(len(specs))]
		st, _ := sup.Status(s.Name)
		if st.State == supervisor.Stopped && !st.Wanted {
			go1(&cmds, busy[s.Name], func() {
				if err := sup.Start(ctx, s.Name); err == nil {
					cnt.add("start")
				}
			})
			return
		}
		if st.State != supervisor.Ready || st.PID <= 0 {
			return
		}
		// What the chaos ends it saw Ready: a Ready too short for the
		// poller to see on a busy machine still counts.
		ready.seenReady(s.Name, time.Now())
		switch r := rng.IntN(100); {
		case r < 20:
			if syscall.Kill(st.PID, syscall.SIGKILL) == nil {
				cnt.add("kill -9 leader")
			}
		case r < 40:
			if pid := servingPID(client, st.Port); pid > 0 && pid != st.PID {
				what := "kill -9 child"
				if strings.HasPrefix(s.Name, "daemon") {
					what = "kill -9 daemon"
				}
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					cnt.add(what)
				}
			} else if pid > 0 && syscall.Kill(pid, syscall.SIGKILL) == nil {
				cnt.add("kill -9 leader")
			}
		case r < 55:
			if st.PGID > 1 && syscall.Kill(-st.PGID, syscall.SIGKILL) == nil {
				cnt.add("kill -9 group")
			}
		case r < 65:
			if pid := servingPID(client, st.Port); pid > 0 && syscall.Kill(pid, syscall.SIGSTOP) == nil {
				cnt.add("SIGSTOP server")
			}
		case r < 75:
			go1(&cmds, busy[s.Name], func() {
				if err := sup.Restart(ctx, s.Name); err == nil {
					cnt.add("restart cmd")
				}
			})
		case r < 85:
			go1(&cmds, busy[s.Name], func() {
				if err := sup.Stop(ctx, s.Name); err == nil {
					cnt.add("stop cmd")
				}
			})
		}
	}
	var pause chaosPause
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-chaosCtx.Done():
				return
			case <-tick.C:
			}
			pause.act(func() { chaosStep(rng) })
		}
	}()

	// Samples: the supervisor's own resources, zombies and strays.
	var series []sample
	every := max(dur/60, 2*time.Second)
	zombies, strays := lingering{}, lingering{}
	deadline := time.Now().Add(dur)
	take := func() {
		tokens.read(stateFile)
		runtime.GC()
		series = append(series, sample{at: time.Since(began), fds: countFDs(), gorou: runtime.NumGoroutine(), rssMiB: rssMiB()})
		now := time.Now()
		var zs [][2]uint64
		for _, z := range zombieChildren() {
			zs = append(zs, [2]uint64{uint64(z.PID), z.StartTicks})
		}
		for _, k := range zombies.update(zs, now, zombieBound) {
			violate("zombie child %d not reaped for %v", k[0], zombieBound)
		}
		current := tokens.current(stateFile)
		var ss [][2]uint64
		toks := map[[2]uint64]string{}
		for _, p := range tokenProcs(tokens) {
			if !current[p.token] {
				k := [2]uint64{uint64(p.pid), p.start}
				ss = append(ss, k)
				toks[k] = p.token
			}
		}
		for _, k := range strays.update(ss, now, strayBound) {
			violate("process %d of an ended run (token %s) still alive after %v", k[0], toks[k], strayBound)
		}
	}
	// quiesce waits, with the chaos paused and its commands done, until
	// every sidecar runs and has been Ready in the same run for settle, then
	// counts the supervisor's fds and goroutines. Only such counts compare:
	// between them they follow how many sidecars the chaos has down.
	quiesce := func(when string) (at quiet) {
		pause.hold()
		// The chaos adds to cmds only while not paused, so this Wait
		// races with no Add.
		cmds.Wait()
		qctx, qcancel := context.WithTimeout(ctx, 2*time.Minute)
		defer qcancel()
		for _, s := range specs {
			if st, _ := sup.Status(s.Name); st.State == supervisor.Stopped {
				_ = sup.Start(qctx, s.Name) // settled says if it does not come up
			}
		}
		if err := settled(qctx, sup, settle); err != nil {
			violate("%s: %v", when, err)
		}
		return countQuiet()
	}

	var base quiet
	warmUp := dur / 5
	for time.Now().Before(deadline) {
		take()
		if base.at.IsZero() && time.Since(began) >= warmUp {
			base = quiesce("after warm-up")
			pause.release()
		}
		select {
		case <-time.After(min(every, time.Until(deadline))):
		case <-ctx.Done():
		}
	}
	stopChaos()
	// The chaos loop adds to cmds: it must have ended before cmds.Wait
	// (an Add racing with Wait lets a command start after it).
	<-chaosDone
	end := quiesce("at the end")
	take()

	// The quit path (what SIGTERM runs in the app): stop all, close, release
	// the guardian. Nothing of ours may be left.
	tokens.read(stateFile)
	if err := sup.StopAll(context.Background()); err != nil {
		violate("StopAll: %v", err)
	}
	cancel()
	_ = sup.Close()
	unsub()
	bg.Wait()
	_ = g.Close()
	if left := tokenProcs(tokens); len(left) > 0 {
		violate("after quitting, %d processes of ours alive: %+v", len(left), left)
	}
	zdeadline := time.Now().Add(10 * time.Second)
	z := zombieChildren()
	for ; len(z) > 0 && time.Now().Before(zdeadline); z = zombieChildren() {
		time.Sleep(100 * time.Millisecond) // nothing of ours runs any more: poll
	}
	for _, st := range z {
		violate("after quitting, zombie child %+v", st)
	}

	// Report.
	first, last := series[0], series[len(series)-1]
	warm := series[min(len(series)-1, max(1, len(series)/5))]
	var b strings.Builder
	fmt.Fprintf(&b, "\nsoak: %v, %d sidecars (%s)\n", dur, len(specs), kindList())
	fmt.Fprintf(&b, "%-28s %s\n", "metric", "value")
	var ks []string
	cnt.mu.Lock()
	total := 0
	for k := range cnt.kills {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		fmt.Fprintf(&b, "%-28s %d\n", k, cnt.kills[k])
		if strings.HasPrefix(k, "kill") || strings.HasPrefix(k, "SIGSTOP") {
			total += cnt.kills[k]
		}
	}
	cnt.mu.Unlock()
	fmt.Fprintf(&b, "%-28s %d\n", "kills + SIGSTOPs (total)", total)
	fmt.Fprintf(&b, "%-28s %d\n", "restarts (policy)", restarts.Load())
	fmt.Fprintf(&b, "%-28s %v (bound %v)\n", "max time to Ready", ready.max().Round(time.Millisecond), readyBound)
	fmt.Fprintf(&b, "%-28s %d → %d (after warm-up %d)\n", "supervisor fds", first.fds, last.fds, warm.fds)
	fmt.Fprintf(&b, "%-28s %d → %d (after warm-up %d)\n", "supervisor goroutines", first.gorou, last.gorou, warm.gorou)
	fmt.Fprintf(&b, "%-28s %.1f → %.1f (after warm-up %.1f)\n", "supervisor RSS MiB", first.rssMiB, last.rssMiB, warm.rssMiB)
	fmt.Fprintf(&b, "series (t, fds, goroutines, RSS MiB):")
	for i, s := range series {
		if i%6 == 0 {
			b.WriteString("\n ")
		}
		fmt.Fprintf(&b, " %4.0fs %d/%d/%.1f", s.at.Seconds(), s.fds, s.gorou, s.rssMiB)
	}
	b.WriteString("\n")
	fmt.Print(b.String())
	if total == 0 {
		t.Error("the chaos did nothing")
	}
	// Flat after warm-up. fds and goroutines are compared only between the
	// two quiet points, where every sidecar runs and has settled: any one
	// sample in between follows how many sidecars the chaos has down (a
	// stop can keep one down for seconds), which is no leak. A leak of one
	// fd or goroutine per restart or kill adds dozens over the soak, far
	// above the allowance. RSS does not follow the sidecars down, so its
	// medians of the halves after warm-up are compared.
	fmt.Printf("quiet, all Ready, after warm-up (%.0fs) → at the end (%.0fs): fds %d → %d (allowed +%d), goroutines %d → %d (allowed +%d)\n",
		base.at.Sub(began).Seconds(), end.at.Sub(began).Seconds(), base.fds, end.fds, fdAllowance, base.gorou, end.gorou, goroutineAllowance)
	if base.at.IsZero() {
		violate("no quiet point after warm-up (the soak is shorter than its warm-up)")
	} else {
		if end.fds > base.fds+fdAllowance {
			violate("fds grew after warm-up: %d → %d with every sidecar running", base.fds, end.fds)
		}
		if end.gorou > base.gorou+goroutineAllowance {
			violate("goroutines grew after warm-up: %d → %d with every sidecar running", base.gorou, end.gorou)
		}
	}
	if a, b := halves(series); len(a) > 0 && len(b) > 0 {
		rss := func(s sample) float64 { return s.rssMiB }
		ra, rb := median(a, rss), median(b, rss)
		fmt.Printf("after warm-up, median RSS of first half → second half (%d, %d samples): %.1f → %.1f MiB (allowed ×1.25 + 2)\n", len(a), len(b), ra, rb)
		if rb > ra*1.25+2 {
			violate("RSS grew after warm-up: median %.1f → %.1f MiB", ra, rb)
		}
	}
	for _, v := range violations {
		t.Error(v)
	}
}

// readiness tracks since when each sidecar that should run has not been
// seen Ready. The poller and the chaos (which acts only on a sidecar it has
// just seen Ready) both report sightings.
type readiness struct {
	mu        sync.Mutex
	since     map[string]time.Time // not Ready since
	lastReady map[string]time.Time
	longest   time.Duration
}

func (r *readiness) seenReady(name string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at.After(r.lastReady[name]) {
		r.lastReady[name] = at
	}
	if s, ok := r.since[name]; ok && at.After(s) {
		r.longest = max(r.longest, at.Sub(s))
		delete(r.since, name)
	}
}

// seenNotReady returns how long name has not been Ready as of at.
func (r *readiness) seenNotReady(name string, at time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !at.After(r.lastReady[name]) {
		return 0 // a later sighting saw it Ready
	}
	s, ok := r.since[name]
	if !ok {
		r.since[name] = at
		return 0
	}
	return at.Sub(s)
}

func (r *readiness) forget(name string) {
	r.mu.Lock()
	delete(r.since, name)
	r.mu.Unlock()
}

func (r *readiness) max() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.longest
}

// lingering remembers since when each process (pid, start ticks) has been
// seen, and names those seen for longer than a bound (once each).
type lingering map[[2]uint64]*seen

type seen struct {
	first    time.Time
	reported bool
}

func (l lingering) update(now [][2]uint64, at time.Time, bound time.Duration) (over [][2]uint64) {
	present := map[[2]uint64]bool{}
	for _, k := range now {
		present[k] = true
		s, ok := l[k]
		if !ok {
			l[k] = &seen{first: at}
			continue
		}
		if !s.reported && at.Sub(s.first) > bound {
			s.reported = true
			over = append(over, k)
		}
	}
	for k := range l {
		if !present[k] {
			delete(l, k)
		}
	}
	return over
}

// halves splits the samples after warm-up (the first fifth) in two.
func halves(ss []sample) (a, b []sample) {
	ss = ss[len(ss)/5:]
	return ss[:len(ss)/2], ss[len(ss)/2:]
}

// How far the quiet counts may move: at both points the same sidecars run
// and have settled, so only what is in flight at that instant differs (a
// liveness probe re-dialling its connection, a log file being rotated).
// Half a sidecar's worth of fds (its pipes, log file, probe connection) and
// of goroutines (its reader, waiter and probe).
const (
	fdAllowance        = 4
	goroutineAllowance = 8
)

// settle is how long every sidecar must stay Ready in the same run for a
// quiet point: longer than liveness takes to find a SIGSTOPped server
// (FailureThreshold periods plus a timeout), so a run the chaos has just
// wounded is not counted as settled.
const settle = 3 * time.Second

// quiet is a count of the supervisor's own resources at a quiet point.
type quiet struct {
	at         time.Time
	fds, gorou int
}

// countQuiet takes the median of a few counts a moment apart, so a
// connection or goroutine in flight at one instant does not decide it.
func countQuiet() quiet {
	var fds, gor []int
	for i := range 5 {
		if i > 0 {
			time.Sleep(100 * time.Millisecond) // spacing between counts, not a wait for an event
		}
		runtime.GC()
		fds = append(fds, countFDs())
		gor = append(gor, runtime.NumGoroutine())
	}
	sort.Ints(fds)
	sort.Ints(gor)
	return quiet{at: time.Now(), fds: fds[len(fds)/2], gorou: gor[len(gor)/2]}
}

// settled waits until every sidecar is Ready and has stayed Ready in the
// same run (pid and start time) for settle.
func settled(ctx context.Context, sup *supervisor.Supervisor, settle time.Duration) error {
	type run struct {
		pid     int
		created int64
	}
	var since time.Time
	var last map[string]run
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		now := time.Now()
		cur := map[string]run{}
		all := true
		var notReady string
		for _, st := range sup.Snapshot() {
			if st.State != supervisor.Ready {
				all, notReady = false, fmt.Sprintf("%s is %s (%s)", st.Name, st.State, st.Reason)
				break
			}
			cur[st.Name] = run{st.PID, st.CreateTime}
		}
		switch {
		case !all:
			since, last = time.Time{}, nil
		case since.IsZero() || !maps.Equal(cur, last):
			since, last = now, cur
		case now.Sub(since) >= settle:
			return nil
		}
		select {
		case <-ctx.Done():
			if notReady == "" {
				notReady = "runs kept changing"
			}
			return fmt.Errorf("not settled (every sidecar Ready in one run for %v): %s: %w", settle, notReady, ctx.Err())
		case <-tick.C:
		}
	}
}

// chaosPause lets the sampler stop the chaos between its steps: a step
// runs whole or not at all, and none runs while held.
type chaosPause struct {
	mu     sync.Mutex
	paused bool
}

func (p *chaosPause) act(step func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused {
		step()
	}
}

// hold returns once no step runs and none will until release.
func (p *chaosPause) hold() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
}

func (p *chaosPause) release() {
	p.mu.Lock()
	p.paused = false
	p.mu.Unlock()
}

func median(ss []sample, f func(sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

func kindList() string {
	var out []string
	for _, k := range kinds {
		out = append(out, fmt.Sprintf("%d %s", k.n, k.name))
	}
	return strings.Join(out, ", ")
}

// go1 runs f in a goroutine unless a command for the same sidecar is
// already running.
func go1(wg *sync.WaitGroup, mu *sync.Mutex, f func()) {
	if !mu.TryLock() {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer mu.Unlock()
		f()
	}()
}

func servingPID(c *http.Client, port int) int {
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/pid", port))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var ids struct{ PID int }
	if json.NewDecoder(resp.Body).Decode(&ids) != nil {
		return 0
	}
	return ids.PID
}

// tokenSet is every run token the state file ever named during the soak.
type tokenSet struct {
	mu   sync.Mutex
	seen map[string]bool
}

func readTokens(path string) map[string]bool {
	out := map[string]bool{}
	data, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	var recs []proc.Record
	if json.Unmarshal(data, &recs) == nil {
		for _, r := range recs {
			if r.Token != "" {
				out[r.Token] = true
			}
		}
	}
	return out
}

func (s *tokenSet) read(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range readTokens(path) {
		s.seen[k] = true
	}
}

func (s *tokenSet) current(path string) map[string]bool { return readTokens(path) }

type tokenProc struct {
	pid   int
	start uint64
	token string
}

// tokenProcs lists live processes carrying a run token the soak has seen.
func tokenProcs(s *tokenSet) []tokenProc {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []tokenProc
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := proc.ReadStat(pid)
		if err != nil || st.State == 'Z' {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if tok, ok := bytes.CutPrefix(kv, []byte(proc.TreeEnv+"=")); ok && s.seen[string(tok)] {
				out = append(out, tokenProc{pid, st.StartTicks, string(tok)})
			}
		}
	}
	return out
}

func zombieChildren() []proc.Stat {
	var out []proc.Stat
	self := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := proc.ReadStat(pid); err == nil && st.PPID == self && st.State == 'Z' {
			out = append(out, st)
		}
	}
	return out
}

func countFDs() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents)
}

func rssMiB() float64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize()) / (1 << 20)
}
