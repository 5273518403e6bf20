//go:build unix

package supervisor

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"outrigger/internal/testutil"
)

// A Restart that arrives while a user Stop is under way is refused, as a
// Start is. Before, it joined the Stop and was answered nil once the Stop
// was done, with the sidecar Stopped and Wanted set: nothing restarted,
// and WaitReady on it never returned.
func TestRestartDuringStopIsRefused(t *testing.T) {
	x := fixtureSpec(t, "x", "-ignore-sigterm")
	x.StopTimeout = 1500 * time.Millisecond
	h := newHarness(t, Options{}, x)
	h.start("x")
	h.ready("x")

	stopped := make(chan error, 1)
	go func() { stopped <- h.sup.Stop(context.Background(), "x") }()
	h.waitState("x", Stopping)

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := h.sup.Restart(ctx, "x")
	if err == nil || !strings.Contains(err.Error(), "stopping") {
		t.Fatalf("Restart during Stop: %v, want it refused as stopping", err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if st, _ := h.sup.Status("x"); st.State != Stopped || st.Wanted {
		t.Fatalf("after the Stop: %s, wanted %v; want stopped and not wanted", st.State, st.Wanted)
	}
}

// StartGroup reads the specs once, for the closure and for every wait on a
// dependency. Before, each start goroutine read its depends_on again: a
// change in between that added a dependency outside the closure made it
// wait on a ready channel that did not exist (nil), and StartGroup never
// returned, whatever its ctx (it hung within 10 rounds). No process is
// needed: the binaries are missing, so every Start fails at once.
func TestStartGroupSurvivesADependsOnChange(t *testing.T) {
	a := fixtureSpec(t, "a")
	b := fixtureSpec(t, "b")
	h := newHarness(t, Options{BinDirs: []string{testutil.TempDir(t)}}, a, b)
	withDep := a
	withDep.DependsOn = []string{"b"}
	ctx := context.Background()
	for i := 0; i < 3000; i++ {
		if err := h.sup.UpdateSpec(ctx, a); err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		done := make(chan error, 1)
		go func() { done <- h.sup.StartGroup(sctx, []string{"a"}) }()
		spin := i % 64
		for j := 0; j < spin*50; j++ {
			_ = j * j
		}
		if err := h.sup.UpdateSpec(ctx, withDep); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
			cancel()
		case <-time.After(5 * time.Second):
			cancel()
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			for _, g := range strings.Split(string(buf), "\n\n") {
				if strings.Contains(g, "startAfterDeps") {
					t.Logf("stuck goroutine:\n%s", g)
				}
			}
			t.Fatalf("iteration %d: StartGroup([a]) did not return 5 s after its 3 s ctx: a's DependsOn gained b after the closure was taken, and it waits on ready[b] (nil) for ever", i)
		}
	}
}
