package modes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"outrigger/core/config"
	"outrigger/core/supervisor"
)

func TestModeJSONStringParse(t *testing.T) {
	for _, tc := range []struct {
		m    Mode
		json string
		str  string
	}{
		{StandaloneMode(), `{"mode":"standalone","serviceUrl":null,"serviceName":null,"serverUrl":null}`, "standalone"},
		{ServiceMode("xgen-workflow", "http://127.0.0.1:8001"),
			`{"mode":"service","serviceUrl":"http://127.0.0.1:8001","serviceName":"xgen-workflow","serverUrl":null}`,
			"service (xgen-workflow at http://127.0.0.1:8001)"},
		{ServiceMode("xgen-workflow", ""), `{"mode":"service","serviceUrl":null,"serviceName":"xgen-workflow","serverUrl":null}`,
			"service (xgen-workflow)"},
		{ConnectedMode("https://xgen.example.com"),
			`{"mode":"connected","serviceUrl":null,"serviceName":null,"serverUrl":"https://xgen.example.com"}`,
			"connected (https://xgen.example.com)"},
	} {
		b, err := json.Marshal(tc.m)
		if err != nil || string(b) != tc.json {
			t.Errorf("JSON of %s = %s, %v; want %s", tc.str, b, err, tc.json)
		}
		var back Mode
		if err := json.Unmarshal(b, &back); err != nil || !back.Equal(tc.m) {
			t.Errorf("JSON round trip of %s = %s, %v", tc.str, back, err)
		}
		if s := tc.m.String(); s != tc.str {
			t.Errorf("String = %q, want %q", s, tc.str)
		}
	}

	for _, tc := range []struct {
		kind, gw, svc string
		want          Mode
		err           string
	}{
		{"", "", "", ServiceMode(config.DefaultService, ""), ""},
		{"service", "", "other", ServiceMode("other", ""), ""},
		{"standalone", "https://gw", "", StandaloneMode(), ""},
		{"connected", " https://gw.example.com/api ", "", ConnectedMode("https://gw.example.com/api"), ""},
		{"connected", "", "", Mode{}, "needs a gateway URL"},
		{"connected", "ftp://gw", "", Mode{}, "http:// or https://"},
		{"connected", "http://", "", Mode{}, "no host"},
		{"turbo", "", "", Mode{}, `got "turbo"`},
	} {
		got, err := Parse(tc.kind, tc.gw, tc.svc)
		switch {
		case tc.err == "" && (err != nil || !got.Equal(tc.want)):
			t.Errorf("Parse(%q, %q, %q) = %s, %v; want %s", tc.kind, tc.gw, tc.svc, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Parse(%q, %q, %q) error = %v, want one containing %q", tc.kind, tc.gw, tc.svc, err, tc.err)
		}
	}
	if m, err := FromConfig(config.Defaults()); err != nil || !m.Equal(ServiceMode("xgen-workflow", "")) {
		t.Errorf("FromConfig(Defaults()) = %s, %v; want service (xgen-workflow): the first launch is Service mode", m, err)
	}
	for _, u := range []string{"http://127.0.0.1:8080", "https://xgen.example.com/gw/"} {
		if err := config.CheckGatewayURL(u); err != nil {
			t.Errorf("config.CheckGatewayURL(%q) = %v", u, err)
		}
	}
	for _, u := range []string{"", "xgen.example.com", "ws://x", "http:///path", "://"} {
		if err := config.CheckGatewayURL(u); err == nil {
			t.Errorf("config.CheckGatewayURL(%q) accepted it", u)
		}
	}
}

// EnableService starts the sidecar and its dependency with the env
// overrides, reports progress and switches; EnableStandalone stops every
// sidecar and switches without the fall-back rule firing.
func TestEnableServiceThenStandalone(t *testing.T) {
	dep := fixtureSpec(t, "dep", "-start-delay=200ms")
	svc := fixtureSpec(t, "svc")
	svc.DependsOn = []string{"dep"}
	r := newRig(t, rigOpts{}, svc, dep)
	mark := r.mark()
	tr := r.c.EnableService("", map[string]string{"FOO": "bar"})
	var progress []string
	for msg := range tr.Progress() {
		progress = append(progress, msg)
	}
	r.ok(tr)
	r.wantService("svc")
	if st := r.status("dep"); st.State != supervisor.Ready {
		t.Fatalf("dep is %s, want ready", st.State)
	}
	var env map[string]string
	getJSON(t, r.status("svc").URL+"/env", &env)
	if env["FOO"] != "bar" {
		t.Errorf("svc env FOO = %q, want the override bar", env["FOO"])
	}
	for _, want := range []string{"starting dep", "waiting for dep to be ready", "dep is ready", "starting svc", "waiting for svc to be ready", "svc is ready"} {
		if !slices.Contains(progress, want) {
			t.Errorf("progress %q lacks %q", progress, want)
		}
	}
	evs := r.rec.waitKinds(t, mark, Transitioning, ModeChanged)
	if tgt := evs[0].Target; tgt == nil || tgt.Kind != Service || evs[0].Mode.Kind != Standalone {
		t.Errorf("Transitioning = %+v, want target service while the mode is still standalone", evs[0])
	}
	if got := evs[1].Mode; got.Kind != Service || deref(got.ServiceURL) != r.status("svc").URL {
		t.Errorf("ModeChanged mode = %s", got)
	}
	if got := r.saved.list(); !slices.Equal(got, []string{"service (svc at " + r.status("svc").URL + ")"}) {
		t.Errorf("persisted %v", got)
	}

	mark = r.mark()
	r.ok(r.c.EnableStandalone())
	r.wantMode(StandaloneMode())
	r.wantNoneRunning()
	for _, n := range []string{"svc", "dep"} {
		if st := r.status(n); st.State != supervisor.Stopped {
			t.Errorf("%s is %s, want stopped", n, st.State)
		}
	}
	r.rec.waitKinds(t, mark, Transitioning, ModeChanged)
	// Our own stops are no user Stop: no fall-back, nothing else announced.
	r.ok(r.c.EnableStandalone()) // a no-op switch still passes through the queue
	r.rec.waitKinds(t, mark, Transitioning, ModeChanged, Transitioning, ModeChanged)
	if n := r.rec.count(FellBack); n != 0 {
		t.Errorf("%d FellBack events after our own stops:%s", n, r.rec.summary())
	}
	if got := r.saved.list(); len(got) != 2 || got[1] != "standalone" {
		t.Errorf("persisted %v, want service then standalone once", got)
	}
}

// The env of EnableService reaches a running sidecar by restarting it;
// the same env again restarts nothing.
func TestEnableServiceEnvRestartsRunningSidecar(t *testing.T) {
	r := newRig(t, rigOpts{}, fixtureSpec(t, "svc"))
	r.ok(r.c.EnableService("svc", map[string]string{"POSTGRES_HOST": "db1"}))
	pid1 := r.status("svc").PID
	r.ok(r.c.EnableService("svc", map[string]string{"POSTGRES_HOST": "db2"}))
	r.wantService("svc")
	pid2 := r.status("svc").PID
	if pid2 == pid1 {
		t.Fatalf("svc was not restarted for its new environment (pid %d)", pid1)
	}
	var env map[string]string
	getJSON(t, r.status("svc").URL+"/env", &env)
	if env["POSTGRES_HOST"] != "db2" {
		t.Errorf("POSTGRES_HOST = %q, want db2", env["POSTGRES_HOST"])
	}
	r.ok(r.c.EnableService("svc", map[string]string{"POSTGRES_HOST": "db2"}))
	if pid := r.status("svc").PID; pid != pid2 {
		t.Errorf("svc restarted (pid %d → %d) although its environment did not change", pid2, pid)
	}
	if n := r.rec.count(FellBack); n != 0 {
		t.Errorf("restarts for the environment caused a fall-back:%s", r.rec.summary())
	}
}

// A Service start that cannot become Ready leaves the previous mode —
// Standalone, Connected, or another established Service — and stops what
// the attempt started, but not what the previous mode needs.
func TestServiceNotReadyKeepsPreviousMode(t *testing.T) {
	dep := fixtureSpec(t, "dep")
	svc := fixtureSpec(t, "svc")
	svc.DependsOn = []string{"dep"}
	sick := fixtureSpec(t, "sick", "-unhealthy")
	sick.DependsOn = []string{"dep"}
	sick.StartupTimeout = time.Second
	sick.AutoStart = false
	gw := newGateway(t)
	r := newRig(t, rigOpts{}, svc, dep, sick)

	// From Standalone.
	mark := r.mark()
	err := r.done(r.c.EnableService("sick", nil))
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "sick") {
		t.Fatalf("err = %v, want ErrNotReady naming sick", err)
	}
	t.Logf("error: %v", err)
	r.wantMode(StandaloneMode())
	r.wantNoneRunning() // dep, started for the attempt, was stopped again
	fails := r.rec.waitKinds(t, mark, Transitioning, TransitionFailed)
	if fails[1].Err == nil || fails[1].Mode.Kind != Standalone || fails[1].Target.Kind != Service {
		t.Errorf("TransitionFailed = %+v", fails[1])
	}

	// From Connected: still Connected, the gateway still checked.
	r.ok(r.c.EnableConnected(gw.URL()))
	r.rec.waitFor(t, "reachable", func(e Event) bool { return e.Kind == Reachable })
	if err := r.done(r.c.EnableService("sick", nil)); !errors.Is(err, ErrNotReady) {
		t.Fatalf("err = %v, want ErrNotReady", err)
	}
	r.wantMode(ConnectedMode(gw.URL()))
	r.wantNoneRunning()
	before := gw.hits.Load()
	testutil_Eventually(t, func() bool { return gw.hits.Load() > before+1 }, "the gateway still being checked")

	// From an established Service mode: svc and dep keep running untouched.
	r.ok(r.c.EnableService("svc", nil))
	pidSvc, pidDep := r.status("svc").PID, r.status("dep").PID
	if err := r.done(r.c.EnableService("sick", nil)); !errors.Is(err, ErrNotReady) {
		t.Fatalf("err = %v, want ErrNotReady", err)
	}
	r.wantService("svc")
	if r.status("svc").PID != pidSvc || r.status("dep").PID != pidDep {
		t.Errorf("the previous mode's sidecars were touched")
	}
	if st := r.status("sick"); st.State.HasProcess() {
		t.Errorf("sick is %s after its failed attempt", st.State)
	}
	if n := r.rec.count(FellBack); n != 0 {
		t.Errorf("unexpected fall-back:%s", r.rec.summary())
	}
	for _, m := range r.saved.list() {
		if strings.Contains(m, "sick") {
			t.Errorf("a failed attempt was remembered: %v", r.saved.list())
		}
	}
	// An unknown sidecar fails the same way, through the queue.
	if err := r.done(r.c.EnableService("nope", nil)); err == nil || !strings.Contains(err.Error(), `no sidecar named "nope"`) {
		t.Errorf("EnableService(nope) = %v", err)
	}
	r.wantService("svc")
}

// A user Stop of the service sidecar falls back to Standalone and is
// remembered.
func TestUserStopFallsBackToStandalone(t *testing.T) {
	r := newRig(t, rigOpts{}, fixtureSpec(t, "svc"))
	r.ok(r.c.EnableService("svc", nil))
	mark := r.mark()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := r.sup.Stop(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	evs := r.rec.waitKinds(t, mark, ModeChanged, FellBack)
	if !strings.Contains(evs[1].Message, "svc was stopped") || evs[1].Mode.Kind != Standalone {
		t.Errorf("FellBack = %+v", evs[1])
	}
	r.wantMode(StandaloneMode())
	if got := r.saved.list(); len(got) != 2 || got[1] != "standalone" {
		t.Errorf("persisted %v, want the fall-back after a user Stop remembered", got)
	}
	// A Restart keeps the wish to run: Degraded / Restored, no fall-back.
	r.ok(r.c.EnableService("svc", nil))
	mark = r.mark()
	if err := r.sup.Restart(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	r.rec.waitKinds(t, mark, Degraded, Restored)
	r.wantService("svc")
}

// A crash the watchdog restarts keeps Service mode (Degraded, then
// Restored); giving up falls back to Standalone with a notification and is
// not remembered.
func TestCrashDegradedRestoredThenGaveUp(t *testing.T) {
	svc := fixtureSpec(t, "svc")
	svc.Restart = config.RestartSpec{Policy: config.PolicyOnFailure, InitialBackoff: 50 * time.Millisecond,
		MaxBackoff: time.Second, Multiplier: 2, MaxRetries: 1, StableAfter: time.Hour}
	r := newRig(t, rigOpts{}, svc)
	r.ok(r.c.EnableService("svc", nil))
	url := r.status("svc").URL

	mark := r.mark()
	post(t, url+"/crash")
	evs := r.rec.waitKinds(t, mark, Degraded, Restored)
	if !strings.Contains(evs[0].Message, "svc") || evs[0].Mode.Kind != Service {
		t.Errorf("Degraded = %+v", evs[0])
	}
	r.wantService("svc")
	if st := r.status("svc"); st.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", st.Restarts)
	}

	mark = r.mark()
	post(t, r.status("svc").URL+"/crash")
	evs = r.rec.waitKinds(t, mark, ModeChanged, FellBack)
	if !strings.Contains(evs[1].Message, "gave up") {
		t.Errorf("FellBack message = %q, want it to say it gave up", evs[1].Message)
	}
	r.wantMode(StandaloneMode())
	if st := r.status("svc"); st.State != supervisor.Failed {
		t.Errorf("svc is %s, want failed", st.State)
	}
	if got := r.saved.list(); len(got) != 1 {
		t.Errorf("persisted %v: a give-up must not replace the user's choice", got)
	}
}

// Asking for Service mode again while its sidecar is being restarted
// waits for it and ends the degraded spell once.
func TestReEnableWhileDegraded(t *testing.T) {
	svc := fixtureSpec(t, "svc", "-start-delay=500ms")
	svc.Restart = config.RestartSpec{Policy: config.PolicyOnFailure, InitialBackoff: 50 * time.Millisecond,
		MaxBackoff: time.Second, Multiplier: 2, MaxRetries: 5, StableAfter: time.Hour}
	r := newRig(t, rigOpts{}, svc)
	r.ok(r.c.EnableService("svc", nil))
	mark := r.mark()
	post(t, r.status("svc").URL+"/crash")
	r.rec.waitKinds(t, mark, Degraded)
	r.ok(r.c.EnableService("svc", nil))
	r.wantService("svc")
	r.rec.waitKinds(t, mark, Degraded, Restored)
	if n := r.rec.count(FellBack); n != 0 {
		t.Errorf("fall-back while degraded:%s", r.rec.summary())
	}
}

// A new subscription during a transition starts with the current mode and
// the transition in progress.
func TestSubscribeDuringTransition(t *testing.T) {
	r := newRig(t, rigOpts{}, fixtureSpec(t, "svc", "-start-delay=1s"))
	tr := r.c.EnableService("svc", nil)
	testutil_Eventually(t, func() bool { return r.status("svc").State == supervisor.Starting }, "svc starting")
	ch, cancel := r.c.Subscribe()
	defer cancel()
	first, second := next(t, ch), next(t, ch)
	if first.Kind != ModeChanged || first.Mode.Kind != Standalone || second.Kind != Transitioning || second.Target.Kind != Service {
		t.Errorf("a subscription during a transition starts with %s %s, %s %v", first.Kind, first.Mode, second.Kind, second.Target)
	}
	r.ok(tr)
	ch2, cancel2 := r.c.Subscribe()
	defer cancel2()
	if e := next(t, ch2); e.Kind != ModeChanged || e.Mode.Kind != Service {
		t.Errorf("after the transition a subscription starts with %s %s", e.Kind, e.Mode)
	}
	select {
	case e := <-ch2:
		t.Errorf("a finished transition is still announced to new subscribers: %s", e.Kind)
	default:
	}
}

// A sidecar that exits for good (restart policy never) cannot back Service
// mode: fall back, not remembered.
func TestExitedFallsBack(t *testing.T) {
	r := newRig(t, rigOpts{}, fixtureSpec(t, "svc")) // policy never
	r.ok(r.c.EnableService("svc", nil))
	mark := r.mark()
	post(t, r.status("svc").URL+"/crash")
	evs := r.rec.waitKinds(t, mark, ModeChanged, FellBack)
	if !strings.Contains(evs[1].Message, "exited") {
		t.Errorf("FellBack message = %q", evs[1].Message)
	}
	r.wantMode(StandaloneMode())
	if got := r.saved.list(); len(got) != 1 {
		t.Errorf("persisted %v", got)
	}
}

// Connected mode stops local sidecars and reports the gateway going down
// and up, only on change.
func TestConnectedGatewayDownAndUp(t *testing.T) {
	gw := newGateway(t)
	r := newRig(t, rigOpts{interval: 30 * time.Millisecond}, fixtureSpec(t, "svc"))
	r.ok(r.c.EnableService("svc", nil))

	if err := r.done(r.c.EnableConnected("ftp://" + gw.addr)); err == nil || !strings.Contains(err.Error(), "http://") {
		t.Fatalf("EnableConnected(ftp) = %v, want a URL error", err)
	}
	r.wantService("svc")

	mark := r.mark()
	r.ok(r.c.EnableConnected(gw.URL()))
	r.wantMode(ConnectedMode(gw.URL()))
	r.wantNoneRunning()
	r.rec.waitKinds(t, mark, ModeChanged, Reachable)
	if ok, at, err := r.c.Health(); !ok || at.IsZero() || err != nil {
		t.Errorf("Health = %v, %v, %v", ok, at, err)
	}
	before := gw.hits.Load()
	testutil_Eventually(t, func() bool { return gw.hits.Load() >= before+3 }, "periodic checks")

	gw.down()
	r.rec.waitKinds(t, mark, ModeChanged, Reachable, Unreachable)
	if ok, _, err := r.c.Health(); ok || err == nil {
		t.Errorf("Health while down = %v, %v", ok, err)
	}
	gw.up()
	evs := r.rec.waitKinds(t, mark, ModeChanged, Reachable, Unreachable, Reachable)
	if evs[2].Err == nil || !strings.Contains(evs[2].Message, gw.URL()) {
		t.Errorf("Unreachable = %+v", evs[2])
	}
	// Repeated OK answers are not repeated events.
	before = gw.hits.Load()
	testutil_Eventually(t, func() bool { return gw.hits.Load() >= before+3 }, "more checks")
	if n := r.rec.count(Reachable); n != 2 {
		t.Errorf("%d Reachable events, want 2 (only on change)", n)
	}
	if got := r.saved.list(); got[len(got)-1] != "connected ("+gw.URL()+")" {
		t.Errorf("persisted %v", got)
	}

	// A new subscriber learns the reachability at once.
	ch, cancel := r.c.Subscribe()
	first, second := next(t, ch), next(t, ch)
	cancel()
	if first.Kind != ModeChanged || second.Kind != Reachable {
		t.Errorf("a new subscription starts with %s, %s", first.Kind, second.Kind)
	}

	// Leaving Connected stops the checks.
	r.ok(r.c.EnableStandalone())
	if _, at, _ := r.c.Health(); !at.IsZero() {
		t.Errorf("Health still reports a check after leaving Connected")
	}
}

// Transitions requested together run one at a time, first asked first
// run, and asking never blocks.
func TestTransitionsAreSerializedFIFO(t *testing.T) {
	gw := newGateway(t)
	r := newRig(t, rigOpts{}, fixtureSpec(t, "svc", "-start-delay=300ms"))
	mark := r.mark()
	t1 := r.c.EnableService("svc", nil)
	t2 := r.c.EnableStandalone()
	t3 := r.c.EnableConnected(gw.URL())
	select {
	case <-t1.Done():
		t.Fatalf("the first transition finished before the calls returned: did they block?")
	default:
	}
	r.ok(t3)
	for _, tr := range []*Transition{t1, t2} {
		select {
		case <-tr.Done():
		default:
			t.Fatalf("%s is not done although a later transition is", tr.Target())
		}
		if err := tr.Err(); err != nil {
			t.Errorf("%s: %v", tr.Target(), err)
		}
	}
	evs := r.rec.waitKinds(t, mark, Transitioning, ModeChanged, Transitioning, ModeChanged, Transitioning, ModeChanged)
	for i, want := range []Kind{Service, Standalone, Connected} {
		if evs[2*i].Target.Kind != want || evs[2*i+1].Mode.Kind != want {
			t.Errorf("transition %d: %s → %s, want %s", i, evs[2*i].Target, evs[2*i+1].Mode, want)
		}
	}
	r.wantMode(ConnectedMode(gw.URL()))
	r.wantNoneRunning()
}

// 50 goroutines asking for random transitions leave a consistent mode and
// sidecar set, transitions never interleave, and the last one asked wins.
func TestConcurrentRandomTransitions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and stops sidecars dozens of times")
	}
	gw := newGateway(t)
	dep := fixtureSpec(t, "dep")
	svc := fixtureSpec(t, "svc")
	svc.DependsOn = []string{"dep"}
	r := newRig(t, rigOpts{interval: time.Hour}, svc, dep)

	var mu sync.Mutex
	var order []*Transition
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, 4))
			mu.Lock()
			var tr *Transition
			switch rnd.IntN(3) {
			case 0:
				tr = r.c.EnableService("svc", nil)
			case 1:
				tr = r.c.EnableStandalone()
			default:
				tr = r.c.EnableConnected(gw.URL())
			}
			order = append(order, tr)
			mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 4*wait)
			defer cancel()
			if err := tr.Wait(ctx); err != nil {
				t.Errorf("transition to %s: %v", tr.Target(), err)
			}
		}(uint64(i))
	}
	wg.Wait()
	last := order[len(order)-1].Target()
	cur := r.c.Current()
	if cur.Kind != last.Kind {
		t.Fatalf("mode %s, but the last transition asked for %s", cur, last)
	}
	switch cur.Kind {
	case Service:
		r.wantService("svc")
		if st := r.status("dep"); st.State != supervisor.Ready {
			t.Errorf("dep is %s in Service mode", st.State)
		}
	default:
		r.wantNoneRunning()
	}

	// Never interleaved: each Transitioning is followed by its result
	// before the next one begins.
	testutil_Eventually(t, func() bool { return r.rec.count(Transitioning) == 50 }, "50 Transitioning events")
	var open bool
	var n int
	for _, e := range r.rec.all() {
		switch e.Kind {
		case Transitioning:
			if open {
				t.Fatalf("transition %d began before the previous one ended:%s", n, r.rec.summary())
			}
			open = true
			n++
		case ModeChanged, TransitionFailed:
			open = false
		case FellBack:
			t.Errorf("fall-back during our own transitions: %s", e.Message)
		}
	}
}

// Apply brings the remembered mode up at launch: Service starts the
// auto-start sidecars; Standalone and Connected start nothing.
func TestApplyAtLaunch(t *testing.T) {
	gw := newGateway(t)
	specs := func() []config.Spec {
		other := fixtureSpec(t, "other")
		manual := fixtureSpec(t, "manual")
		manual.AutoStart = false
		return []config.Spec{fixtureSpec(t, "svc"), other, manual}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()

	t.Run("service", func(t *testing.T) {
		r := newRig(t, rigOpts{initial: ServiceMode("svc", ""), noRun: true}, specs()...)
		applied := make(chan error, 1)
		go func() { applied <- r.c.Apply(ctx, r.c.Current()) }() // before Run: it waits its turn
		r.run()
		if err := <-applied; err != nil {
			t.Fatal(err)
		}
		r.wantService("svc")
		if st := r.status("other"); st.State != supervisor.Ready {
			t.Errorf("auto-start sidecar other is %s", st.State)
		}
		if st := r.status("manual"); st.State != supervisor.Stopped {
			t.Errorf("manual sidecar is %s", st.State)
		}
		if got := r.saved.list(); len(got) != 0 {
			t.Errorf("bringing up the remembered mode persisted %v", got)
		}
	})
	t.Run("standalone", func(t *testing.T) {
		r := newRig(t, rigOpts{initial: StandaloneMode()}, specs()...)
		if err := r.c.Apply(ctx, StandaloneMode()); err != nil {
			t.Fatal(err)
		}
		r.wantMode(StandaloneMode())
		r.wantNoneRunning()
	})
	t.Run("connected", func(t *testing.T) {
		r := newRig(t, rigOpts{initial: ConnectedMode(gw.URL())}, specs()...)
		if err := r.c.Apply(ctx, ConnectedMode(gw.URL())); err != nil {
			t.Fatal(err)
		}
		r.wantMode(ConnectedMode(gw.URL()))
		r.wantNoneRunning()
		r.rec.waitFor(t, "reachable", func(e Event) bool { return e.Kind == Reachable })
		if n := r.rec.count(Reachable); n != 1 {
			t.Errorf("%d Reachable events, want 1", n)
		}
	})
	t.Run("service that cannot come up", func(t *testing.T) {
		s := specs()
		s[0].Args = []string{"-unhealthy"}
		s[0].StartupTimeout = time.Second
		r := newRig(t, rigOpts{initial: ServiceMode("svc", "")}, s...)
		err := r.c.Apply(ctx, r.c.Current())
		if !errors.Is(err, ErrNotReady) {
			t.Fatalf("Apply = %v, want ErrNotReady", err)
		}
		r.wantMode(StandaloneMode())
		r.wantNoneRunning() // other, started for the attempt, is stopped again
		fb := r.rec.waitFor(t, "fell back", func(e Event) bool { return e.Kind == FellBack })
		if !strings.Contains(fb.Message, "svc") {
			t.Errorf("FellBack message %q", fb.Message)
		}
		if got := r.saved.list(); len(got) != 0 {
			t.Errorf("persisted %v: a launch failure must not replace the remembered mode", got)
		}
	})
}

// A subscriber that never reads does not hold the controller up, and it
// still gets every ModeChanged.
func TestSlowSubscriberNeverBlocks(t *testing.T) {
	gw := newGateway(t)
	r := newRig(t, rigOpts{interval: 10 * time.Millisecond}, fixtureSpec(t, "svc"))
	ch, cancel := r.c.Subscribe()
	defer cancel()
	const rounds = 8
	for range rounds {
		r.ok(r.c.EnableService("svc", nil))
		r.ok(r.c.EnableConnected(gw.URL()))
	}
	r.ok(r.c.EnableStandalone())
	want := 1 + 2*rounds + 1
	got := 0
	for got < want {
		e := next(t, ch)
		if e.Kind == ModeChanged {
			got++
		}
	}
}

// Ending Run abandons the transition in progress (the mode stays), ends the
// queued ones with ErrStopped and closes the subscriptions; later requests
// fail at once.
func TestRunEndsCleanly(t *testing.T) {
	r := newRig(t, rigOpts{}, fixtureSpec(t, "svc", "-start-delay=20s"))
	t1 := r.c.EnableService("svc", nil)
	t2 := r.c.EnableStandalone()
	testutil_Eventually(t, func() bool { return r.status("svc").State == supervisor.Starting }, "svc starting")
	r.stop()
	for _, tr := range []*Transition{t1, t2} {
		select {
		case <-tr.Done():
		default:
			t.Fatalf("%s not done after Run returned", tr.Target())
		}
		if !errors.Is(tr.Err(), ErrStopped) {
			t.Errorf("%s: err = %v, want ErrStopped", tr.Target(), tr.Err())
		}
	}
	r.wantMode(StandaloneMode())
	if err := r.c.EnableStandalone().Err(); !errors.Is(err, ErrStopped) {
		t.Errorf("a request after Run = %v, want ErrStopped at once", err)
	}
	ch, _ := r.c.Subscribe()
	select {
	case _, open := <-ch:
		if open {
			t.Errorf("a subscription after Run delivers events")
		}
	case <-time.After(wait):
		t.Errorf("a subscription after Run is open: not closed within %s", wait)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// Switching to Service mode from Standalone or Connected brings up every
// auto-start sidecar, as at launch, not only the service sidecar and its
// dependencies; the summary is green only while all of them are Ready.
func TestSwitchToServiceStartsEveryAutoStart(t *testing.T) {
	gw := newGateway(t)
	for _, from := range []string{"standalone", "connected"} {
		t.Run("from "+from, func(t *testing.T) {
			dep := fixtureSpec(t, "dep")
			svc := fixtureSpec(t, "svc")
			svc.DependsOn = []string{"dep"}
			other := fixtureSpec(t, "other") // auto-start, needed by no one
			manual := fixtureSpec(t, "manual")
			manual.AutoStart = false
			r := newRig(t, rigOpts{}, svc, dep, other, manual)
			if from == "connected" {
				r.ok(r.c.EnableConnected(gw.URL()))
				r.wantMode(ConnectedMode(gw.URL()))
			}
			r.ok(r.c.EnableService("svc", nil))
			r.wantService("svc")
			for _, n := range []string{"dep", "other"} {
				if st := r.status(n); st.State != supervisor.Ready {
					t.Errorf("auto-start sidecar %s is %s after switching to Service mode", n, st.State)
				}
			}
			if st := r.status("manual"); st.State != supervisor.Stopped {
				t.Errorf("manual sidecar is %s", st.State)
			}
			if got := r.c.Wanted(); !slices.Equal(got, []string{"svc", "dep", "other"}) {
				t.Errorf("Wanted = %v", got)
			}
			if s := r.c.Summary(); s.Level != LevelOK || s.Ready != 3 || s.Wanted != 3 {
				t.Errorf("Summary = %+v, want ok with 3 of 3 ready", s)
			}

			// A stopped auto-start sidecar turns the summary red, naming it.
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := r.sup.Stop(ctx, "other"); err != nil {
				t.Fatal(err)
			}
			if s := r.c.Summary(); s.Level != LevelError || s.Text != "other is stopped" {
				t.Errorf("Summary with other stopped = %+v", s)
			}
			r.wantService("svc") // Service mode itself goes on
		})
	}
}

// Connected with a gateway that does not answer: nothing is stopped, the
// mode stays, and the error says so (ErrGatewayUnreachable, *GatewayError).
// Forced, the switch happens and the summary is a warning until the
// gateway answers.
func TestConnectedChecksGatewayFirst(t *testing.T) {
	gw := newGateway(t)
	url := gw.URL()
	gw.down() // a real server, now down: connection refused
	r := newRig(t, rigOpts{interval: 30 * time.Millisecond}, fixtureSpec(t, "svc"))
	r.ok(r.c.EnableService("svc", nil))
	pid := r.status("svc").PID

	mark := r.mark()
	err := r.done(r.c.EnableConnected(url))
	var ge *GatewayError
	if !errors.Is(err, ErrGatewayUnreachable) || !errors.As(err, &ge) || ge.URL != url {
		t.Fatalf("EnableConnected(down) = %v, want a GatewayError for %s", err, url)
	}
	if !strings.Contains(err.Error(), "connection refused") || strings.Count(err.Error(), url) != 1 {
		t.Errorf("error %q: want the URL once and the cause", err)
	}
	r.wantService("svc")
	if st := r.status("svc"); st.PID != pid {
		t.Fatalf("svc was restarted or stopped (pid %d → %d) by a switch that did not happen", pid, st.PID)
	}
	evs := r.rec.waitKinds(t, mark, Transitioning, TransitionFailed)
	if !errors.Is(evs[1].Err, ErrGatewayUnreachable) || evs[1].Mode.Kind != Service {
		t.Errorf("TransitionFailed = %+v", evs[1])
	}
	for _, e := range r.rec.since(mark) {
		if e.Kind == Progress && strings.HasPrefix(e.Message, "stopping") {
			t.Errorf("progress %q: something was stopped before the gateway was checked", e.Message)
		}
	}

	// Switch anyway.
	mark = r.mark()
	r.ok(r.c.Connect(url, ConnectOptions{Force: true}))
	r.wantMode(ConnectedMode(url))
	r.wantNoneRunning()
	unr := r.rec.waitKinds(t, mark, ModeChanged, Unreachable)[1]
	if !errors.Is(unr.Err, ErrGatewayUnreachable) || strings.Count(unr.Message, url) != 1 {
		t.Errorf("Unreachable = %q, %v", unr.Message, unr.Err)
	}
	if s := r.c.Summary(); s.Level != LevelWarning || !strings.Contains(s.Text, "does not answer") {
		t.Errorf("Summary while the gateway is down = %+v, want a warning", s)
	}

	// It comes up: reachable, green.
	gw.up()
	r.rec.waitKinds(t, mark, ModeChanged, Unreachable, Reachable)
	if s := r.c.Summary(); s.Level != LevelOK {
		t.Errorf("Summary with the gateway up = %+v", s)
	}

	// From Service to an answering gateway: switched, checked once first.
	r.ok(r.c.EnableService("svc", nil))
	mark = r.mark()
	r.ok(r.c.EnableConnected(url))
	r.wantMode(ConnectedMode(url))
	r.rec.waitKinds(t, mark, Transitioning, ModeChanged, Reachable)
}

// The gateway's /health check carries the credentials Options.Authorize
// adds, read at each check: a gateway that wants a token is reachable with
// it and refuses the switch without it; an Authorize error fails the check
// with that error.
func TestGatewayCheckIsAuthorized(t *testing.T) {
	gw := &gatewayServer{t: t, token: "s3cret"}
	gw.up()
	t.Cleanup(gw.down)

	bare := newRig(t, rigOpts{})
	if err := bare.done(bare.c.EnableConnected(gw.URL())); !errors.Is(err, ErrGatewayUnreachable) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("without a token: %v, want the gateway's 401", err)
	}

	var token atomic.Value
	token.Store("s3cret")
	refuse := errors.New("no token over plain http")
	var fail atomic.Bool
	r := newRig(t, rigOpts{authorize: func(req *http.Request) error {
		if fail.Load() {
			return refuse
		}
		req.Header.Set("Authorization", "Bearer "+token.Load().(string))
		return nil
	}})
	mark := r.mark()
	r.ok(r.c.EnableConnected(gw.URL()))
	r.rec.waitKinds(t, mark, ModeChanged, Reachable)
	token.Store("stale") // read at each check: the next one is refused
	evs := r.rec.waitKinds(t, mark, ModeChanged, Reachable, Unreachable)
	if !strings.Contains(evs[2].Message+fmt.Sprint(evs[2].Err), "401") {
		t.Errorf("with a wrong token: %+v, want the 401", evs[2])
	}
	token.Store("s3cret")
	r.rec.waitKinds(t, mark, ModeChanged, Reachable, Unreachable, Reachable)
	fail.Store(true)
	evs = r.rec.waitKinds(t, mark, ModeChanged, Reachable, Unreachable, Reachable, Unreachable)
	if !errors.Is(evs[4].Err, refuse) {
		t.Errorf("Authorize's error: %+v, want it in the Unreachable event", evs[4])
	}
}

// A failed Service attempt puts back the spec it changed (its environment)
// only if nobody replaced it meanwhile: settings saved during the attempt
// (the store's follow hands them to the supervisor) are kept. It put the
// old spec back over them: the supervisor ran with settings the file no
// longer held.
func TestFailedAttemptKeepsSettingsSavedMeanwhile(t *testing.T) {
	sick := fixtureSpec(t, "sick", "-unhealthy")
	sick.StartupTimeout = 5 * time.Minute // the test ends the attempt, with a Stop
	sick.AutoStart = false
	r := newRig(t, rigOpts{}, sick)
	tr := r.c.EnableService("sick", map[string]string{"MODE_ENV": "on"})
	testutil_Eventually(t, func() bool {
		sp, _ := r.sup.Spec("sick")
		return sp.Env["MODE_ENV"] == "on" && r.status("sick").State == supervisor.Starting
	}, "the attempt to have set its environment and started sick")
	saved := sick.Clone() // the file's spec, as a settings save hands it over
	saved.StopTimeout = 7 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.sup.UpdateSpec(ctx, saved); err != nil {
		t.Fatal(err)
	}
	if err := r.sup.Stop(ctx, "sick"); err != nil {
		t.Fatal(err)
	}
	if err := r.done(tr); !errors.Is(err, ErrNotReady) {
		t.Fatalf("attempt: %v, want ErrNotReady", err)
	}
	if got, _ := r.sup.Spec("sick"); !reflect.DeepEqual(got, saved) {
		t.Errorf("after the failed attempt sick has stop_timeout %s and env %v; want the saved settings (stop_timeout %s, no mode env)",
			got.StopTimeout, got.Env, saved.StopTimeout)
	}
	// Without a save meanwhile, the attempt's environment is taken back.
	tr = r.c.EnableService("sick", map[string]string{"MODE_ENV": "again"})
	testutil_Eventually(t, func() bool { return r.status("sick").State == supervisor.Starting }, "sick starting again")
	if err := r.sup.Stop(ctx, "sick"); err != nil {
		t.Fatal(err)
	}
	if err := r.done(tr); !errors.Is(err, ErrNotReady) {
		t.Fatalf("second attempt: %v, want ErrNotReady", err)
	}
	if got, _ := r.sup.Spec("sick"); !reflect.DeepEqual(got, saved) {
		t.Errorf("after the second attempt sick has env %v; want it put back", got.Env)
	}
}
