package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"outrigger/internal/testutil"
)

// loopSwitches is how many times the app's main thread, which runs Fyne's
// loop and nothing else, has left the CPU: about 60 a second while the
// loop ticks, none while it is parked.
func loopSwitches(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", pid, pid))
	if err != nil {
		t.Fatalf("the app's main thread: %v", err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
			c, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			n += c
		}
	}
	return n
}

// switchesOver counts the main thread's switches over d.
func switchesOver(t testing.TB, pid int, d time.Duration) int {
	a := loopSwitches(t, pid)
	time.Sleep(d) // a window to count over, not a wait for an event
	return loopSwitches(t, pid) - a
}

// A ticking loop switches about 120 times in 2 s; a parked one not at
// all, but for the hand-overs of the core's events to the tray (a few).
const asleepMax = 15

func waitAsleep(t testing.TB, pid int, what string) {
	t.Helper()
	var n int
	testutil.Eventually(t, upTimeout, func() bool { n = switchesOver(t, pid, 2*time.Second); return n <= asleepMax }, what)
	t.Logf("asleep: the loop's thread switched %d times in 2 s", n)
}

// clickUntilMapped clicks the tray's Show window until the window is
// mapped (a click can name an item id the app just replaced, see
// TestTrayMenuQuit), within the given time.
func clickUntilMapped(t testing.TB, menu dbus.BusObject, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !windowMapped(t) {
		if time.Now().After(deadline) {
			t.Fatalf("the window was not mapped %v after the first click on Show window", within)
		}
		root, err := layout(menu)
		if err != nil {
			t.Fatalf("GetLayout: %v", err)
		}
		if show := root.find(func(m menuItem) bool { return m.Label == "Show window" }); show != nil {
			click(t, menu, show)
		}
		time.Sleep(500 * time.Millisecond) // the X server maps it when the UI thread gets to it: no event reaches us
	}
}

// launchHidden starts the app as the login entry does (--hidden) beside a
// tray host, and waits until its sidecars are Ready; it returns the app
// and the tray's menu.
func launchHidden(t testing.TB) (*running, dbus.BusObject) {
	t.Helper()
	w := startFakeWatcher(t)
	r := launchWith(t, "service", []string{"--hidden"})
	menu := w.menuOf(t)
	r.waitReady()
	r.waitLog("started in the tray")
	return r, menu
}

// Hidden in the tray, the app's loop sleeps (Fyne's would tick 60 times a
// second): it wakes for the core's events, which the tray shows, sleeps
// again, and a click in the tray's menu is taken at once, with no word
// from the host that its menu opened (the loop's own bound is minutes).
func TestHiddenWindowSleeps(t *testing.T) {
	skipUnlessE2E(t)
	needXwininfo(t)
	r, menu := launchHidden(t)
	pid := r.cmd.Process.Pid
	waitAsleep(t, pid, "the app loop to sleep with the window hidden")

	// The core's events still reach the tray.
	stop := exec.Command(r.exe, "stop", "--wait", "xgen-embedding")
	stop.Env = append(os.Environ(), "OUTRIGGER_HOME="+r.home)
	if out, err := stop.CombinedOutput(); err != nil {
		t.Fatalf("outrigger stop: %v\n%s", err, out)
	}
	testutil.Eventually(t, upTimeout, func() bool {
		root, err := layout(menu)
		return err == nil && root.find(func(m menuItem) bool {
			return strings.Contains(m.Label, "xgen-embedding") && strings.Contains(m.Label, "Stopped")
		}) != nil
	}, "the tray's menu to show xgen-embedding stopped")
	waitAsleep(t, pid, "the app loop to sleep again after the tray followed the stop")

	// A click on Show window, while the loop sleeps, maps the window in
	// seconds (the loop's bound, parkMax, is 5 minutes).
	clickUntilMapped(t, menu, clickTaken)
	r.quitCleanly()
}

// clickTaken is how long a tray click may take to show the window: far
// below parkMax, so only a click that wakes the loop passes.
const clickTaken = 20 * time.Second

// SIGTERM while the loop sleeps: the quit path wakes it, every sidecar
// stops and the app exits 0.
func TestQuitWhileParked(t *testing.T) {
	skipUnlessE2E(t)
	r, _ := launchHidden(t)
	waitAsleep(t, r.cmd.Process.Pid, "the app loop to sleep with the window hidden")
	r.quitCleanly()
}
