package ui

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"outrigger/core/autostart"
	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

// The one quit path: from any goroutine, any number of times; a progress
// dialog while a slow sidecar stops; Shutdown runs once; nothing is left.
func TestQuitPath(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"), fixtureSpec(t, "beta", "-ignore-sigterm"))
	onUI(func() {
		test.Tap(r.ui.cards["alpha"].start)
		test.Tap(r.ui.cards["beta"].start)
	})
	r.cardState("alpha", supervisor.Ready)
	r.cardState("beta", supervisor.Ready)
	var pids []int
	onUI(func() { pids = []int{r.ui.cards["alpha"].st.PID, r.ui.cards["beta"].st.PID} })

	// Ctrl+Q and the File menu's Quit (which shows the same shortcut) take
	// the one quit path, as does any goroutine.
	var quitItem *fyne.MenuItem
	onUI(func() {
		for _, it := range r.ui.mainMenu().Items[0].Items {
			if it.IsQuit {
				quitItem = it
			}
		}
	})
	if quitItem == nil || quitItem.Shortcut == nil || quitItem.Shortcut.ShortcutName() != quitShortcut.ShortcutName() {
		t.Errorf("File → Quit has no Ctrl+Q shortcut: %+v", quitItem)
	}
	// File → Start at login: off by default, toggles the login entry.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	onUI(func() {
		var login *fyne.MenuItem
		for _, it := range r.ui.win.MainMenu().Items[0].Items {
			if it.Label == "Start at login" {
				login = it
			}
		}
		if login == nil || login.Checked {
			t.Fatalf("Start at login: %+v, want present and off", login)
		}
		login.Action()
		if on, _ := autostart.Enabled(); !on || !login.Checked {
			t.Errorf("after turning it on: entry %v, checked %v", on, login.Checked)
		}
		login.Action()
		if on, _ := autostart.Enabled(); on || login.Checked {
			t.Errorf("after turning it off: entry %v, checked %v", on, login.Checked)
		}
	})
	onUI(func() { r.ui.win.Canvas().(fyne.Shortcutable).TypedShortcut(quitShortcut) })
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); r.ui.Quit() }()
	}
	wg.Wait()
	r.until("the quitting dialog", func() bool {
		top := r.ui.win.Canvas().Overlays().Top()
		return r.ui.quitting && top != nil
	})
	onUI(func() {
		for _, b := range r.ui.modeButtons() {
			if !b.Disabled() {
				t.Error("a mode button is enabled while quitting")
			}
		}
	})
	select {
	case <-r.ui.shutdownDone:
	case <-time.After(wait):
		t.Fatal("quit did not finish")
	}
	if n := r.shutdowns.Load(); n != 1 {
		t.Errorf("Shutdown ran %d times", n)
	}
	// The window stopped following the core when the quit began: the
	// sidecars stopping never reached the cards.
	onUI(func() {
		for _, name := range []string{"alpha", "beta"} {
			if st := r.ui.cards[name].st.State; st != supervisor.Ready {
				t.Errorf("%s's card shows %s after the quit, want Ready as when it began", name, st)
			}
		}
	})
	for _, pid := range pids {
		if testutil.ProcessAlive(pid) {
			t.Errorf("pid %d alive after quit", pid)
		}
	}
	r.ui.Quit() // still harmless
}

// Without a tray, closing the window asks whether to quit (a hidden
// window could never come back); "no" keeps everything running.
func TestCloseWithoutTrayAsks(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	var asked []string
	answer := false
	r.ui.confirm = func(title, _ string, then func(bool)) {
		asked = append(asked, title)
		then(answer)
	}
	// Ctrl+W is the close button.
	onUI(func() { r.ui.win.Canvas().(fyne.Shortcutable).TypedShortcut(closeShortcut) })
	if len(asked) != 1 || !strings.Contains(asked[0], "Quit") {
		t.Fatalf("asked %q", asked)
	}
	onUI(func() {
		if r.ui.quitting {
			t.Error("quitting although the answer was no")
		}
	})
	answer = true
	onUI(r.ui.onClose)
	select {
	case <-r.ui.shutdownDone:
	case <-time.After(wait):
		t.Fatal("yes did not quit")
	}
}

// With a tray, closing hides the window and the sidecars keep running;
// the tray menu shows each sidecar's state, drives it, follows events,
// and its Quit is the quit path.
func TestTray(t *testing.T) {
	r := newRig(t, &rigOpts{tray: true, modes: true}, fixtureSpec(t, "alpha"))
	ta := r.app.(*trayApp)
	var notes []string
	var mu sync.Mutex
	r.ui.notes.send = func(n *fyne.Notification, _ notifyUrgency) { mu.Lock(); notes = append(notes, n.Title); mu.Unlock() }
	if !r.ui.tray.enabled {
		t.Fatal("tray not enabled with a tray host")
	}
	item := func(prefix string) *fyne.MenuItem {
		ta.mu.Lock()
		defer ta.mu.Unlock()
		if ta.menu == nil {
			return nil
		}
		for _, it := range ta.menu.Items {
			if strings.HasPrefix(strings.TrimLeft(it.Label, "●◐○✕▲ "), prefix) {
				return it
			}
		}
		return nil
	}
	r.until("alpha stopped in the tray menu", func() bool {
		it := item("alpha")
		return it != nil && strings.Contains(it.Label, "Stopped")
	})
	onUI(func() {
		ta.mu.Lock()
		last := ta.menu.Items[len(ta.menu.Items)-1]
		ta.mu.Unlock()
		if last.Label != "Quit" || !last.IsQuit {
			t.Errorf("last tray item %q (IsQuit %v)", last.Label, last.IsQuit)
		}
		for _, want := range []string{"Show window", "Start all", "Stop all", "Mode: Standalone"} {
			if item(want) == nil {
				t.Errorf("no %q in the tray menu", want)
			}
		}
		mode := item("Mode")
		if len(mode.ChildMenu.Items) != 3 || !mode.ChildMenu.Items[0].Checked {
			t.Errorf("mode submenu %+v", mode.ChildMenu.Items)
		}
		if ta.icon != trayIdleRes {
			t.Errorf("tray icon %v, want idle", ta.icon)
		}
		// Start from the tray's submenu.
		sub := item("alpha").ChildMenu
		if sub.Items[0].Disabled || !sub.Items[1].Disabled {
			t.Error("alpha's tray submenu: Start should be on, Stop off")
		}
		sub.Items[0].Action()
	})
	r.until("alpha ready in the tray", func() bool {
		it := item("alpha")
		return it != nil && strings.Contains(it.Label, "Ready")
	})
	onUI(func() {
		ta.mu.Lock()
		icon := ta.icon
		ta.mu.Unlock()
		if icon != trayReadyRes {
			t.Errorf("tray icon %v, want ready", icon)
		}
		if r.ui.tray.tip != "Outrigger — Service ready" {
			t.Errorf("tray tooltip %q", r.ui.tray.tip)
		}
		// Close hides; the sidecar keeps running.
		r.ui.onClose()
		if r.ui.visible || r.ui.quitting {
			t.Errorf("after close: visible %v quitting %v", r.ui.visible, r.ui.quitting)
		}
		if r.ui.tickTimer != nil {
			t.Error("the uptime clock runs with the window hidden")
		}
	})
	st, _ := r.sup.Status("alpha")
	if st.State != supervisor.Ready {
		t.Errorf("alpha %s after the window was closed", st.State)
	}
	mu.Lock()
	if len(notes) != 1 || !strings.Contains(notes[0], "still running") {
		t.Errorf("notifications %q", notes)
	}
	mu.Unlock()
	// Metrics-only changes do not resend the menu.
	ta.mu.Lock()
	sets := ta.sets
	ta.mu.Unlock()
	r.sup.ReportMetrics("alpha", st.PID, 3.5, 1<<20)
	// Hidden: the numbers wait without waking the UI thread (its loop may
	// be parked), not painted; they show with the window.
	r.until("metrics waiting", func() bool {
		r.ui.queue.mu.Lock()
		defer r.ui.queue.mu.Unlock()
		return r.ui.queue.idle["alpha"].Status.CPUPercent == 3.5
	})
	onUI(func() {
		if got := r.ui.cards["alpha"].cpu.Text; got == "4%" {
			t.Error("metrics painted on a hidden window")
		}
	})
	ta.mu.Lock()
	if ta.sets != sets {
		t.Errorf("tray menu re-sent %d times for a metrics event", ta.sets-sets)
	}
	ta.mu.Unlock()

	onUI(func() { item("Show window").Action() })
	onUI(func() {
		if !r.ui.visible {
			t.Error("Show window did not show it")
		}
		if got := r.ui.cards["alpha"].cpu.Text; got != "4%" {
			t.Errorf("CPU %q after showing the window, want the kept 4%%", got)
		}
		item("Quit").Action()
	})
	select {
	case <-r.ui.shutdownDone:
	case <-time.After(wait):
		t.Fatal("tray Quit did not quit")
	}
	if testutil.ProcessAlive(st.PID) {
		t.Errorf("pid %d alive after tray Quit", st.PID)
	}
}

// outrigger --hidden (the login entry) starts in the tray: no window, no
// metrics asked for, until the tray's Show window; without a tray the
// window shows anyway, or nothing could ever bring it up.
func TestStartHidden(t *testing.T) {
	r := newRig(t, &rigOpts{tray: true, hidden: true}, fixtureSpec(t, "alpha"))
	if err := r.sup.Start(context.Background(), "alpha"); err != nil {
		t.Fatal(err)
	}
	r.until("alpha ready", func() bool { st, _ := r.sup.Status("alpha"); return st.State == supervisor.Ready })
	onUI(func() {
		if r.ui.visible {
			t.Error("--hidden with a tray: the window is shown")
		}
	})
	if n := r.watching.Load(); n != 0 {
		t.Errorf("hidden at start: %d watch requests, want 0", n)
	}
	r.ui.Show()
	r.until("shown from the tray", func() bool { return r.ui.visible })
	if n := r.watching.Load(); n != 1 {
		t.Errorf("shown: %d watch requests, want 1", n)
	}
	r.cardState("alpha", supervisor.Ready) // what happened while hidden is shown at once

	noTray := newRig(t, &rigOpts{hidden: true}, fixtureSpec(t, "beta"))
	onUI(func() {
		if !noTray.ui.visible {
			t.Error("--hidden without a tray: the window stayed hidden, with nothing to bring it back")
		}
	})
}

// Live metrics are asked for only while the window is shown: hiding it to
// the tray ends the request, showing it again renews it, once.
func TestMetricsWatchedOnlyWhileShown(t *testing.T) {
	r := newRig(t, &rigOpts{tray: true}, fixtureSpec(t, "alpha"))
	if n := r.watching.Load(); n != 1 {
		t.Fatalf("shown window: %d watch requests, want 1", n)
	}
	onUI(r.ui.onClose)
	if n := r.watching.Load(); n != 0 {
		t.Fatalf("hidden to the tray: %d watch requests, want 0", n)
	}
	r.ui.Show()
	r.ui.Show()
	r.until("shown again", func() bool { return r.ui.visible })
	if n := r.watching.Load(); n != 1 {
		t.Fatalf("shown again (twice): %d watch requests, want 1", n)
	}
}

// A quit the user asks for (the File menu, Ctrl+Q, the tray) over unsaved
// settings edits asks first; "no" keeps the app and the edits. A quit with
// nothing unsaved does not ask.
func TestQuitAsksBeforeDroppingSettingsEdits(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	var asked []string
	answer := false
	r.ui.confirm = func(title, _ string, then func(bool)) {
		asked = append(asked, title)
		then(answer)
	}
	var menuQuit *fyne.MenuItem
	onUI(func() {
		for _, it := range r.ui.mainMenu().Items[0].Items {
			if it.IsQuit {
				menuQuit = it
			}
		}
		r.ui.sets.selectSidecar("alpha")
		r.ui.sets.port.SetText("8123")
	})
	for _, quit := range []struct {
		how string
		do  func()
	}{
		{"File → Quit", func() { menuQuit.Action() }},
		{"Ctrl+Q", func() { r.ui.win.Canvas().(fyne.Shortcutable).TypedShortcut(quitShortcut) }},
		{"the tray's Quit", func() { r.ui.trayDeps().quit() }},
	} {
		asked = nil
		onUI(quit.do)
		onUI(func() {
			if len(asked) != 1 || !strings.Contains(asked[0], "alpha") {
				t.Errorf("%s over unsaved edits asked %q", quit.how, asked)
			}
			if r.ui.quitting || r.ui.sets.port.Text != "8123" {
				t.Errorf("%s, answered no: quitting %v, port %q", quit.how, r.ui.quitting, r.ui.sets.port.Text)
			}
		})
	}
	// Saved (here: put back), nothing is asked.
	asked = nil
	onUI(func() {
		r.ui.sets.port.SetText(strconv.Itoa(r.ui.sets.base.Port))
		menuQuit.Action()
	})
	select {
	case <-r.ui.shutdownDone:
	case <-time.After(wait):
		t.Fatal("the quit with nothing unsaved did not finish")
	}
	if len(asked) != 0 {
		t.Errorf("a quit with nothing unsaved asked %q", asked)
	}
}
