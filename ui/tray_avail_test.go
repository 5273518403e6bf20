package ui

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Without a session bus, and on a bus without a tray host, the tray stays
// off and says why; with a host owning the watcher's name it is on. A
// private dbus-daemon stands in for the desktop session.
func TestTrayAvailability(t *testing.T) {
	t.Setenv(TrayEnv, "")
	t.Run("no bus", func(t *testing.T) {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
		ok, why := trayAvailable()
		if ok || !strings.Contains(why, "no D-Bus session bus") {
			t.Errorf("no bus: available %v, %q", ok, why)
		}
	})
	t.Run("no bus address", func(t *testing.T) {
		// Nothing to connect to: say so, rather than letting godbus
		// autolaunch a bus daemon (dbus-launch) that would outlive the app.
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
		ok, why := trayAvailable()
		if ok || !strings.Contains(why, "no D-Bus session bus") || !strings.Contains(why, "XDG_RUNTIME_DIR") {
			t.Errorf("no bus address: available %v, %q", ok, why)
		}
		if _, err := sharedSessionBus(); err == nil {
			t.Error("notifications connected to a session bus that does not exist")
		}
	})
	t.Run("off by env", func(t *testing.T) {
		t.Setenv(TrayEnv, "0")
		if ok, why := trayAvailable(); ok || why != TrayEnv+"=0" {
			t.Errorf("%s=0: available %v, %q", TrayEnv, ok, why)
		}
	})
	addr := privateBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	t.Run("no tray host", func(t *testing.T) {
		ok, why := trayAvailable()
		if ok || !strings.Contains(why, "no system tray host") {
			t.Errorf("bus without a watcher: available %v, %q", ok, why)
		}
	})
	t.Run("tray host", func(t *testing.T) {
		conn, err := dbus.Connect(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if reply, err := conn.RequestName(statusNotifierWatcher, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
			t.Fatalf("RequestName: %v %v", reply, err)
		}
		if ok, why := trayAvailable(); !ok {
			t.Errorf("with a watcher: not available: %q", why)
		}
	})
}

// privateBus runs a session dbus-daemon for the test and returns its
// address.
func privateBus(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Skip("no dbus-daemon")
	}
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address",
		"--address=unix:path="+filepath.Join(t.TempDir(), "bus"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case addr := <-got:
		if addr == "" {
			t.Fatal("dbus-daemon printed no address")
		}
		return addr
	case <-time.After(wait):
		t.Fatal("dbus-daemon did not start")
	}
	return ""
}

// Fyne's own SIGTERM handler can close the tray's D-Bus connection while
// our quit path still applies events: the tray turns itself off instead
// of panicking.
func TestTrayGoneDuringQuit(t *testing.T) {
	r := newRig(t, &rigOpts{tray: true}, fixtureSpec(t, "alpha"))
	ta := r.app.(*trayApp)
	ta.gone.Store(true)
	onUI(func() {
		r.ui.tray.level = -1 // the next refresh sets the icon
		r.ui.tray.refresh()
		if r.ui.tray.enabled {
			t.Error("the tray stays on after its connection closed")
		}
		r.ui.tray.refresh() // and stays quiet
	})
}
