package ui

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/config"
	"outrigger/core/diagnostics"
	"outrigger/core/modes"
	"outrigger/internal/testutil"
	"outrigger/internal/workflow/wfapi"
	"outrigger/internal/workflow/wftest"
)

const (
	uiToken  = "ui-gw-token-5e0b"
	oldToken = "ui-gw-revoked-77aa"
)

// drawn is every text the window paints, and every label's whole text (a
// password entry's model holds the token; it paints bullets).
func drawn(w fyne.Window) []string {
	var out []string
	for _, o := range test.LaidOutObjects(w.Content()) {
		switch x := o.(type) {
		case *canvas.Text:
			out = append(out, x.Text)
		case *widget.Label:
			out = append(out, x.Text)
		}
	}
	return out
}

func findText(w fyne.Window, prefix string) string {
	for _, s := range drawn(w) {
		if strings.HasPrefix(s, prefix) {
			return s
		}
	}
	return ""
}

// Connected mode does real work: the token typed beside the gateway URL is
// saved (0600) and sent; the Workflows tab runs a workflow end to end
// through a TLS gateway that wants it and says which endpoint it talks to;
// a revoked token is said to be refused; the token is never drawn, logged
// or left unmasked in the diagnostics report.
func TestConnectedModeRunsWorkflows(t *testing.T) {
	t.Setenv(wfapi.GatewayTokenEnv, "")
	g := wftest.NewGateway(t, wftest.Engine(t), uiToken)
	prev := gatewayHTTP
	gatewayHTTP = wfapi.NewHTTPClient(g.Pool) // the test gateway's root, not the system's
	t.Cleanup(func() { gatewayHTTP = prev })
	var logs testutil.Buffer
	r := newRig(t, &rigOpts{modes: true, gatewayHTTP: wfapi.NewHTTPClient(g.Pool), log: &logs}, fixtureSpec(t, "alpha"))
	m := r.ui.modeSw
	r.ui.confirm = func(_, _ string, then func(bool)) { then(true) }
	r.until("standalone", func() bool { return m.mode.Kind == modes.Standalone })

	onUI(func() {
		test.Tap(m.buttons[modes.Connected])
		e := m.token.entry
		if !m.gwRow.Visible() || !e.Visible() || !e.Password || e.ActionItem == nil {
			t.Fatalf("token entry: row visible %v, entry visible %v, password %v, reveal %v",
				m.gwRow.Visible(), e.Visible(), e.Password, e.ActionItem != nil)
		}
		m.gwEntry.SetText(g.URL)
		e.SetText(uiToken)
		test.Tap(m.gwConnect) // saves the typed token too
	})
	r.until("connected, gateway reachable", func() bool { return m.mode.Kind == modes.Connected && m.reachKnow && m.reachOK })
	r.until("the token saved", func() bool { return m.token.saved == uiToken && !m.token.saving })
	data, err := os.ReadFile(r.file)
	if err != nil || !strings.Contains(string(data), `gateway_token = "`+uiToken+`"`) {
		t.Fatalf("settings file (%v):\n%s", err, data)
	}
	if fi, err := os.Stat(r.file); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("settings file holding the token: %v, %v", fi.Mode(), err)
	}
	r.until("the Workflows tab pointed at the gateway with the token", func() bool {
		ep := r.ui.wfEnd.Load()
		return ep.URL == g.URL && ep.Token == uiToken
	})

	// Run a workflow in the Workflows tab, as a user would.
	onUI(func() {
		for _, it := range r.ui.tabs.Items {
			if it.Text == "Workflows" {
				r.ui.tabs.Select(it)
			}
		}
	})
	var sel *widget.Select
	r.until("the gateway's catalogue", func() bool {
		for _, o := range test.LaidOutObjects(r.ui.wf.Object()) {
			if s, ok := o.(*widget.Select); ok && len(s.Options) > 0 {
				for _, opt := range s.Options {
					if opt == "pipeline" {
						sel = s
						return true
					}
				}
			}
		}
		return false
	})
	onUI(func() {
		sel.SetSelected("pipeline")
		var run *widget.Button
		for _, o := range test.LaidOutObjects(r.ui.wf.Object()) {
			switch x := o.(type) {
			case *widget.Entry:
				if strings.Contains(x.Text, `"delay_ms"`) {
					x.SetText(`{"text":"ui","delay_ms":10,"nodes":2}`)
				}
			case *widget.Button:
				if x.Text == "Run" {
					run = x
				}
			}
		}
		if run == nil {
			t.Fatal("no Run button in the Workflows tab")
		}
		test.Tap(run)
	})
	r.until("the run to complete through the gateway", func() bool {
		return findText(r.ui.win, "Stream ended: completed") != ""
	})
	onUI(func() {
		want := "Talking to the gateway at " + g.URL + " · token from outrigger.toml"
		if got := findText(r.ui.win, "Talking to"); got != want {
			t.Errorf("endpoint line = %q, want %q", got, want)
		}
	})
	if g.Accepted() < 3 || g.Refused() != 0 {
		t.Errorf("gateway accepted %d, refused %d", g.Accepted(), g.Refused())
	}

	// A revoked token: saved, picked up, refused in plain words.
	onUI(func() {
		m.token.entry.SetText(oldToken)
		test.Tap(m.token.save)
	})
	r.until("the refusal in the Workflows tab", func() bool {
		return strings.Contains(findText(r.ui.win, "Could not load the catalogue"), "the gateway refused the token (401 Unauthorized")
	})
	if g.Refused() == 0 {
		t.Error("the gateway saw no request with the revoked token")
	}

	// Never drawn (the password entry draws bullets)...
	onUI(func() {
		for _, s := range drawn(r.ui.win) {
			if strings.Contains(s, uiToken) || strings.Contains(s, oldToken) {
				t.Errorf("the window draws a token: %q", s)
			}
		}
	})
	// ...never logged...
	for _, tok := range []string{uiToken, oldToken} {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("the logs hold a token:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "gateway is reachable") {
		t.Errorf("the logs were not captured:\n%s", logs.String())
	}
	// ...and masked in the diagnostics report, this run's logs included.
	var o diagnostics.Options
	onUI(func() { o = r.ui.diagOptions() })
	if err := os.MkdirAll(filepath.Dir(o.AppLog), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(o.AppLog, []byte(logs.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	if err := diagnostics.Write(&zipped, o); err != nil {
		t.Fatal(err)
	}
	var sawConfig bool
	for name, b := range testutil.Unzip(t, zipped.Bytes()) {
		for _, tok := range []string{uiToken, oldToken} {
			if bytes.Contains(b, []byte(tok)) {
				t.Errorf("%s in the diagnostics report holds a token", name)
			}
		}
		if name == diagnostics.EntryConfig && bytes.Contains(b, []byte("GatewayToken = \""+config.Mask+"\"")) {
			sawConfig = true
		}
	}
	if !sawConfig {
		t.Error("the report's config does not show the gateway token masked")
	}
}

// A token saved while the file's token was changed outside Outrigger is
// not written over that change unasked, and does not leave the field
// stuck: the note says so and a second Save token saves it. Before, the
// note sent the user to a reload in Settings that is not offered there,
// and every later save was refused the same way.
func TestTokenSaveAfterOutsideChange(t *testing.T) {
	t.Setenv(wfapi.GatewayTokenEnv, "")
	r := newRig(t, &rigOpts{modes: true}, fixtureSpec(t, "alpha"))
	m := r.ui.modeSw
	f, err := config.ReadFile(r.file)
	if err != nil {
		t.Fatal(err)
	}
	f.GatewayToken = config.Ptr(oldToken) // an editor's change
	data, err := config.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	token := func() string { return fileToken(r.file) }
	save := func() { typeAndSaveToken(m, uiToken) }
	save()
	if got := token(); got != oldToken {
		t.Fatalf("the first save wrote over the outside change unasked: file token %q", got)
	}
	onUI(func() {
		if !strings.Contains(m.token.note.Text, "changed outside") {
			t.Errorf("note = %q", m.token.note.Text)
		}
	})
	save()
	if got := token(); got != uiToken {
		onUI(func() { t.Errorf("the second save did not save the token (file %q): note %q", got, m.token.note.Text) })
	}
}

// The token field follows a change of gateway_token the store took in
// (an editor's change, read in when the mode was remembered): it shows
// the file's token, and the token it showed before can be saved again.
// Before, it kept the old token as "saved", so typing that one back left
// Save token disabled while the file held the other.
func TestTokenFieldFollowsStore(t *testing.T) {
	t.Setenv(wfapi.GatewayTokenEnv, "")
	r := newRig(t, &rigOpts{modes: true}, fixtureSpec(t, "alpha"))
	m := r.ui.modeSw
	onUI(func() {
		m.token.entry.SetText(uiToken)
		test.Tap(m.token.save)
	})
	m.token.wg.Wait()
	f, err := config.ReadFile(r.file)
	if err != nil {
		t.Fatal(err)
	}
	f.GatewayToken = config.Ptr(oldToken) // an editor's change
	data, err := config.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := modes.Remember(r.ui.d.Store)(modes.StandaloneMode()); err != nil {
		t.Fatal(err)
	}
	onUI(func() {
		if m.token.entry.Text != oldToken || m.token.saved != oldToken {
			t.Error("the token field does not show the file's token")
		}
		m.token.entry.SetText(uiToken)
		if m.token.save.Disabled() {
			t.Fatal("Save token disabled for a token the file does not hold")
		}
		test.Tap(m.token.save)
	})
	m.token.wg.Wait()
	if f, err := config.ReadFile(r.file); err != nil || f.GatewayToken == nil || *f.GatewayToken != uiToken {
		t.Errorf("the token typed back was not saved (%v)", err)
	}
}

// A change of gateway_token saved through the store by another editor
// (the control API, say) just before a token save reaches the store (the
// test's seam) is not overwritten unasked: the save is
// refused as one over an outside change is, and a second Save token
// saves the typed token knowingly. Before, the typed token replaced the
// one just read in without a word.
func TestTokenSaveRefusesReloadBeforeUpdate(t *testing.T) {
	t.Setenv(wfapi.GatewayTokenEnv, "")
	r := newRig(t, &rigOpts{modes: true}, fixtureSpec(t, "alpha"))
	m := r.ui.modeSw
	store := r.ui.d.Store
	m.token.beforeUpdate = func() {
		m.token.beforeUpdate = nil // the second save goes straight through (the seam runs off the UI thread, before it)
		if err := store.Update(func(f *config.File) error { f.GatewayToken = config.Ptr(oldToken); return nil }); err != nil {
			t.Error(err)
		}
	}
	token := func() string { return fileToken(r.file) }
	save := func() { typeAndSaveToken(m, uiToken) }
	save()
	if got := token(); got != oldToken {
		t.Fatalf("the save wrote over the token taken in meanwhile: file token %q", got)
	}
	onUI(func() {
		if !strings.Contains(m.token.note.Text, "changed outside") || m.token.saved != oldToken {
			t.Errorf("note %q, saved is the file's token: %v", m.token.note.Text, m.token.saved == oldToken)
		}
	})
	save()
	if got := token(); got != uiToken {
		onUI(func() { t.Errorf("the second save did not save the token (file %q): note %q", got, m.token.note.Text) })
	}
}

// fileToken is the gateway token in the settings file at path ("" if none).
func fileToken(path string) string {
	f, err := config.ReadFile(path)
	if err != nil || f.GatewayToken == nil {
		return ""
	}
	return *f.GatewayToken
}

// typeAndSaveToken types tok in the token field, taps Save token and waits
// for the save to end.
func typeAndSaveToken(m *modeSwitcher, tok string) {
	onUI(func() {
		m.token.entry.SetText(tok)
		test.Tap(m.token.save)
	})
	m.token.wg.Wait()
}
