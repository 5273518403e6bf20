package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/config"
	"outrigger/core/modes"
	"outrigger/core/supervisor"
)

// The mode switcher drives the real mode controller: Service starts the
// sidecar with progress shown and the window responsive, Connected checks
// the gateway and shows it reachable, Standalone stops everything, and a
// user Stop of the Service sidecar falls back to Standalone with a
// notification.
func TestModeSwitcher(t *testing.T) {
	r := newRig(t, &rigOpts{modes: true}, fixtureSpec(t, "alpha", "-start-delay", "300ms"))
	m := r.ui.modeSw
	var notes []string
	var notesMu sync.Mutex
	r.ui.notes.send = func(n *fyne.Notification, _ notifyUrgency) {
		notesMu.Lock()
		notes = append(notes, n.Title+": "+n.Content)
		notesMu.Unlock()
	}
	r.ui.confirm = func(_, _ string, then func(bool)) { then(true) }
	r.until("standalone shown", func() bool {
		return m.mode.Kind == modes.Standalone && m.buttons[modes.Standalone].Importance == widget.HighImportance
	})

	// Service: progress at once, then Ready.
	onUI(func() {
		test.Tap(m.buttons[modes.Service])
		if !m.progRow.Visible() {
			t.Error("no progress shown right after asking for Service mode")
		}
		if !m.buttons[modes.Standalone].Disabled() {
			t.Error("mode buttons enabled during a transition")
		}
	})
	r.until("service mode", func() bool { return m.mode.Kind == modes.Service && !m.busy() })
	onUI(func() {
		if m.progRow.Visible() {
			t.Error("progress still shown after the switch")
		}
		if !strings.Contains(m.desc.Text, "alpha at http://127.0.0.1:") {
			t.Errorf("description %q", m.desc.Text)
		}
		if m.buttons[modes.Service].Importance != widget.HighImportance {
			t.Error("Service not highlighted")
		}
	})
	// The card follows the supervisor's events, the switcher the mode
	// controller's: two streams, in no promised order between them (under
	// load the card's Ready came after the switch's end).
	r.until("alpha ready on its card in service mode", func() bool { return r.ui.cards["alpha"].st.State == supervisor.Ready })
	// The Workflows tab talks to the engine behind Service mode...
	r.until("workflows tab pointed at the service", func() bool {
		return r.ui.wfEnd.Load().URL == r.ui.cards["alpha"].st.URL
	})

	// Connected: an invalid URL is refused inline; a valid one connects.
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer gw.Close()
	onUI(func() {
		test.Tap(m.buttons[modes.Connected])
		if !m.gwRow.Visible() {
			t.Fatal("gateway row hidden after choosing Connected")
		}
		m.gwEntry.SetText("ftp://nope")
		test.Tap(m.gwConnect)
		if !m.msgRow.Visible() || !strings.Contains(m.msgText.Text, "http") {
			t.Errorf("bad URL not refused inline: %q", m.msgText.Text)
		}
		m.gwEntry.SetText(gw.URL)
		test.Tap(m.gwConnect)
	})
	r.until("connected and reachable", func() bool {
		return m.mode.Kind == modes.Connected && m.reachKnow && m.reachOK && strings.HasPrefix(m.gwText.Text, "Reachable")
	})
	r.until("sidecars stopped in connected mode", func() bool { return r.ui.cards["alpha"].st.State == supervisor.Stopped })
	// Green once the local sidecars are down (while one is still stopping
	// the header says so) and the gateway answers.
	r.until("the header green with a reachable gateway", func() bool { return r.ui.header.level == OverallReady })
	// ...and to the gateway in Connected mode.
	r.until("workflows tab pointed at the gateway", func() bool { return r.ui.wfEnd.Load().URL == gw.URL })
	gw.Close()
	r.until("gateway unreachable", func() bool {
		return m.reachKnow && !m.reachOK && strings.HasPrefix(m.gwText.Text, "Not answering")
	})
	onUI(func() {
		// A warning in the header, said once, not cut.
		if r.ui.header.level != OverallWarning || r.ui.header.summary.Text != "Gateway unreachable" {
			t.Errorf("header %v %q with the gateway down", r.ui.header.level, r.ui.header.summary.Text)
		}
		if strings.Count(m.gwText.Text, "unreachable") > 0 || strings.HasSuffix(m.gwText.Text, "…") {
			t.Errorf("gateway status %q repeats itself or is cut", m.gwText.Text)
		}
		if w := m.gwEntry.Size().Width; w < 300 {
			t.Errorf("the URL field shrank to %v px beside the status", w)
		}
	})

	// Standalone.
	onUI(func() { test.Tap(m.buttons[modes.Standalone]) })
	r.until("standalone", func() bool { return m.mode.Kind == modes.Standalone && !m.busy() && !m.gwRow.Visible() })
	r.until("workflows tab placeholder in standalone", func() bool { return r.ui.wfEnd.Load().URL == "" })

	// Back to Service, then a user Stop of its sidecar falls back.
	onUI(func() { test.Tap(m.buttons[modes.Service]) })
	r.until("service again", func() bool { return m.mode.Kind == modes.Service && !m.busy() })
	onUI(func() { test.Tap(r.ui.cards["alpha"].stop) })
	r.until("fell back", func() bool {
		return m.mode.Kind == modes.Standalone && m.msgRow.Visible() && strings.Contains(m.msgText.Text, "Fell back")
	})
	// A gateway that does not answer: nothing is stopped, the mode stays,
	// and "Switch anyway" connects regardless (a warning in the header).
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	onUI(func() {
		test.Tap(m.buttons[modes.Connected])
		m.gwEntry.SetText(deadURL)
		test.Tap(m.gwConnect)
	})
	r.until("switch anyway offered", func() bool { return !m.busy() && m.anyway.Visible() && m.msgRow.Visible() })
	onUI(func() {
		if m.mode.Kind != modes.Standalone {
			t.Errorf("mode %s after an unreachable gateway, want Standalone kept", m.mode.Kind)
		}
		test.Tap(m.anyway)
	})
	r.until("connected anyway, gateway shown unreachable", func() bool {
		return m.mode.Kind == modes.Connected && !m.busy() && r.ui.header.level == OverallWarning
	})
	onUI(func() { test.Tap(m.buttons[modes.Standalone]) })
	r.until("standalone after connected-anyway", func() bool { return m.mode.Kind == modes.Standalone && !m.busy() })
	r.until("fall-back notification", func() bool {
		notesMu.Lock()
		defer notesMu.Unlock()
		for _, n := range notes {
			if strings.HasPrefix(n, "Switched to Standalone") {
				return true
			}
		}
		return false
	})
}

// The switcher uses the settings as saved now, not as they were at
// launch: after a save names another service, Service mode starts that
// one; after a save changes gateway_url, the gateway entry shows it (unless
// the user typed another) and Connect uses it.
func TestModeSwitcherFollowsSettings(t *testing.T) {
	r := newRig(t, &rigOpts{modes: true}, fixtureSpec(t, "alpha"), fixtureSpec(t, "beta"))
	m := r.ui.modeSw
	r.ui.confirm = func(_, _ string, then func(bool)) { then(true) }
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer gw.Close()
	onUI(func() {
		if m.gwEntry.Text != "" {
			t.Errorf("gateway entry %q before any gateway_url was saved", m.gwEntry.Text)
		}
	})
	err := r.ui.d.Store.Update(func(f *config.File) error {
		f.Service = config.Ptr("beta")
		f.GatewayURL = config.Ptr(gw.URL)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.until("the saved gateway in the entry", func() bool { return m.gwEntry.Text == gw.URL })

	onUI(func() { test.Tap(m.buttons[modes.Service]) })
	r.until("service mode", func() bool { return m.mode.Kind == modes.Service && !m.busy() })
	r.cardState("beta", supervisor.Ready)
	onUI(func() {
		if !strings.Contains(m.desc.Text, "backed by beta") {
			t.Errorf("description %q, want the saved service beta", m.desc.Text)
		}
	})

	// A text the user typed is theirs: a later save does not replace it.
	onUI(func() {
		test.Tap(m.buttons[modes.Connected])
		test.Tap(m.gwConnect)
	})
	r.until("connected to the saved gateway", func() bool {
		return m.mode.Kind == modes.Connected && !m.busy() && m.mode.ServerURL != nil && *m.mode.ServerURL == gw.URL
	})
	onUI(func() { m.gwEntry.SetText("http://127.0.0.1:1") })
	if err := r.ui.d.Store.Update(func(f *config.File) error {
		f.GatewayURL = config.Ptr("http://127.0.0.1:2")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r.until("the change seen", func() bool { return m.gwSaved == "http://127.0.0.1:2" })
	onUI(func() {
		if m.gwEntry.Text != "http://127.0.0.1:1" {
			t.Errorf("a save replaced the typed gateway: %q", m.gwEntry.Text)
		}
	})
}

// A message's first letter is upper-cased as a letter, not as a byte: a
// crash reason in Korean or with an accent stays readable.
func TestCapitalize(t *testing.T) {
	for in, want := range map[string]string{
		"":             "",
		"crashed":      "Crashed",
		"éxito":        "Éxito",
		"데이터베이스 연결 실패": "데이터베이스 연결 실패",
		"\xffbad":      "\xffbad",
	} {
		if got := capitalize(in); got != want {
			t.Errorf("capitalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// An answered question acts only on the situation it asked about: when a
// switch (from the control API, here the controller called directly)
// ended or began while the question was open, "yes" does nothing and says
// why. Before, the answer switched anyway: Standalone over the Connected
// mode just chosen elsewhere, or a Connect queued behind another switch.
func TestModeQuestionRechecksAtAnswer(t *testing.T) {
	r := newRig(t, &rigOpts{modes: true}, fixtureSpec(t, "alpha"))
	m := r.ui.modeSw
	ctx, cancel := context.WithTimeout(context.Background(), 3*wait)
	defer cancel()
	var answer func(bool)
	r.ui.confirm = func(_, _ string, then func(bool)) { answer = then } // UI thread
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer gw.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // the gateway check, and with it the switch, waits for the test
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(200)
	}))
	defer slow.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	inService := func() {
		t.Helper()
		if err := r.mc.EnableService("", nil).Wait(ctx); err != nil {
			t.Fatal(err)
		}
		r.until("service mode with alpha running", func() bool {
			return m.mode.Kind == modes.Service && !m.busy() && r.ui.anyRunning()
		})
	}
	noAction := func(why string) {
		t.Helper()
		onUI(func() {
			if answer == nil {
				t.Fatal("no question asked")
			}
			answer(true)
			answer = nil
			if m.ours != 0 {
				t.Errorf("the answer asked for a switch over a situation that changed (%s)", why)
			}
			if !m.msgRow.Visible() || !strings.Contains(m.msgText.Text, "Nothing was done") || !strings.Contains(m.msgText.Text, why) {
				t.Errorf("message %q, want why nothing was done (%s)", m.msgText.Text, why)
			}
		})
	}

	// Asked about Standalone in Service mode; the control API connects
	// meanwhile, and that switch is over at the answer.
	inService()
	onUI(func() { test.Tap(m.buttons[modes.Standalone]) })
	if err := r.mc.EnableConnected(gw.URL).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	r.until("connected, as the control API asked", func() bool { return m.mode.Kind == modes.Connected && !m.busy() })
	noAction("now Connected")
	onUI(func() {
		if m.mode.Kind != modes.Connected {
			t.Errorf("mode %s", m.mode.Kind)
		}
	})

	// Asked about Connect in Service mode; the control API's switch to
	// another gateway is still under way at the answer.
	inService()
	onUI(func() {
		test.Tap(m.buttons[modes.Connected])
		m.gwEntry.SetText(gw.URL)
		test.Tap(m.gwConnect)
	})
	other := r.mc.EnableConnected(slow.URL)
	r.until("the other switch shown under way", func() bool { return m.moving })
	noAction("under way")
	close(release)
	if err := other.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	r.until("connected to the other gateway", func() bool {
		return m.mode.Kind == modes.Connected && !m.busy() && *m.mode.ServerURL == slow.URL
	})

	// Nothing changed: yes switches.
	inService()
	onUI(func() { test.Tap(m.buttons[modes.Standalone]) })
	onUI(func() {
		answer(true)
		if m.ours != 1 {
			t.Error("yes over an unchanged situation did not switch")
		}
	})
	r.until("standalone", func() bool { return m.mode.Kind == modes.Standalone && !m.busy() })
}
