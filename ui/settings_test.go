package ui

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"outrigger/core/config"
	"outrigger/core/modes"
	"outrigger/core/supervisor"
	"outrigger/internal/testutil"
)

// Inline validation: a bad port or an empty variable name is shown and
// Save stays off; a secret's value is masked.
func TestSettingsValidation(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	s := r.ui.sets
	onUI(func() {
		s.selectSidecar("alpha")
		if !s.save.Disabled() {
			t.Error("Save enabled with nothing changed")
		}
		test.Type(s.port, "x") // "12345x"
		if !s.save.Disabled() {
			t.Error("Save enabled with an invalid port")
		}
		if !s.probBox.Visible() || !strings.Contains(s.problems.Text, "Port") {
			t.Errorf("no inline problem for a bad port: %q", s.problems.Text)
		}
		s.port.SetText("70000")
		if !strings.Contains(s.problems.Text, "1..65535") {
			t.Errorf("problem = %q", s.problems.Text)
		}
		s.port.SetText("8123")
		if s.probBox.Visible() || s.save.Disabled() {
			t.Errorf("valid port still refused: %q", s.problems.Text)
		}
		row := s.addRow("", "value", false)
		s.changed()
		if !s.save.Disabled() || !strings.Contains(s.problems.Text, "name") {
			t.Errorf("a variable without a name is accepted: %q", s.problems.Text)
		}
		row.key.SetText("DB_PASSWORD")
		if !row.value.Password {
			t.Error("the value of DB_PASSWORD is not masked")
		}
		if row.value.Text != "value" {
			t.Errorf("masking lost the value: %q", row.value.Text)
		}
		row.key.SetText("LOG_LEVEL")
		if row.value.Password {
			t.Error("LOG_LEVEL is masked")
		}
		s.retries.SetText("-2")
		if !s.save.Disabled() {
			t.Error("max retries -2 accepted")
		}
		s.retries.SetText("-1")
		s.startup.SetText("soon")
		if !s.save.Disabled() {
			t.Error("startup timeout 'soon' accepted")
		}
		test.Tap(s.revert)
		if s.port.Text == "8123" || !s.save.Disabled() {
			t.Error("Revert did not restore the loaded spec")
		}
	})
}

// follow writes the rig's sidecars into its settings file after head,
// reloads the store and makes the supervisor follow it, as main does: the
// panel's save reaches the supervisor only through the store.
func follow(t *testing.T, r *rig, head string) {
	t.Helper()
	writeSettings(t, r.file, r.cfg, head)
	if err := r.ui.d.Store.Reload(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.sup.Follow(r.ui.d.Store))
}

// Save round-trip: the file is written atomically with a .bak, reads
// back as the same spec, the supervisor (following the store) has it when
// the save is done and uses it at the next start, and a running sidecar
// is offered a restart.
func TestSettingsSaveRoundTrip(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	follow(t, r, "mode = \"standalone\"\n")
	c := r.ui.cards["alpha"]
	onUI(func() { test.Tap(c.start) })
	r.cardState("alpha", supervisor.Ready)
	var oldPID int
	onUI(func() { oldPID = c.st.PID })

	s := r.ui.sets
	asked := make(chan func(), 1)
	s.askRestart = func(name string, restart func()) { asked <- restart }
	newPort := testutil.FreePort(t) // not base+1: another test may hold that one
	onUI(func() {
		s.selectSidecar("alpha")
		s.port.SetText(strconv.Itoa(newPort))
		s.auto.SetChecked(false)
		s.policy.SetSelectedIndex(2) // never
		s.known["POSTGRES_HOST"].SetText("db.internal")
		row := s.addRow("API_TOKEN", "t0ps3cret", false)
		row.value.SetText("t0ps3cret")
		s.changed()
		if s.save.Disabled() {
			t.Fatalf("Save disabled: %q", s.problems.Text)
		}
		test.Tap(s.save)
	})
	var restart func()
	select {
	case restart = <-asked:
	case <-timeAfter(wait):
		t.Fatal("no restart offered for a running sidecar")
	}
	f, err := config.ReadFile(r.file)
	if err != nil {
		t.Fatal(err)
	}
	if f.Mode == nil || *f.Mode != "standalone" {
		t.Errorf("saving a sidecar lost the top-level keys: %+v", f)
	}
	if len(f.Sidecars) != 1 || f.Sidecars[0].Name != "alpha" {
		t.Fatalf("sidecars in file = %+v", f.Sidecars)
	}
	sf := f.Sidecars[0]
	if sf.Port == nil || *sf.Port != newPort || sf.AutoStart == nil || *sf.AutoStart ||
		sf.Restart == nil || sf.Restart.Policy == nil || *sf.Restart.Policy != "never" ||
		sf.Env["POSTGRES_HOST"] != "db.internal" || sf.Env["API_TOKEN"] != "t0ps3cret" {
		t.Errorf("saved entry = %+v (env %v)", sf, sf.Env)
	}
	if _, err := os.Stat(r.file + ".bak"); err != nil {
		t.Errorf("no .bak of the previous file: %v", err)
	}
	spec, _ := r.sup.Spec("alpha")
	if spec.Port != newPort || spec.Env["POSTGRES_HOST"] != "db.internal" {
		t.Errorf("supervisor spec not updated: port %d env %v", spec.Port, spec.Env)
	}
	// The running process keeps its old settings until it restarts.
	st, _ := r.sup.Status("alpha")
	if st.Port == newPort {
		t.Errorf("running sidecar already on the new port")
	}
	onUI(func() {
		if !strings.Contains(s.saved.Text, "Saved") || !s.save.Disabled() {
			t.Errorf("after save: label %q, save disabled %v", s.saved.Text, s.save.Disabled())
		}
	})
	restart()
	r.until("restarted on the new port", func() bool {
		return c.st.State == supervisor.Ready && c.st.PID != oldPID && c.st.Port == newPort
	})
	// Reloading the panel shows what was saved, secret masked.
	onUI(func() {
		s.load("alpha")
		if s.port.Text != strconv.Itoa(newPort) || s.auto.Checked {
			t.Errorf("reloaded port %q auto %v", s.port.Text, s.auto.Checked)
		}
		var found bool
		for _, row := range s.rows {
			if row.key.Text == "API_TOKEN" {
				found = true
				if !row.value.Password {
					t.Error("API_TOKEN shown unmasked")
				}
			}
		}
		if !found {
			t.Error("API_TOKEN row missing after reload")
		}
	})
}

// Issue 15 item 7: Revert works while a field is invalid; the footer does
// not claim a save before one; placeholders read as "not set"; the
// workflow's variables are not offered for xgen-embedding.
func TestSettingsPanelHonest(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"), fixtureSpec(t, "xgen-embedding"))
	s := r.ui.sets
	onUI(func() {
		s.selectSidecar("alpha")
		if strings.Contains(s.where.Text, "Saved") {
			t.Errorf("footer claims a save before one: %q", s.where.Text)
		}
		if ph := s.known["POSTGRES_HOST"].PlaceHolder; !strings.Contains(ph, "not set") {
			t.Errorf("placeholder looks like a value: %q", ph)
		}
		s.port.SetText("not a port")
		if s.revert.Disabled() {
			t.Error("Revert disabled while a field is invalid")
		}
		test.Tap(s.revert)
		if s.port.Text == "not a port" || s.probBox.Visible() {
			t.Errorf("Revert did not restore: %q", s.port.Text)
		}
		if !s.knownForm.Visible() {
			t.Error("workflow variables hidden for alpha")
		}
		s.selectSidecar("xgen-embedding")
		if s.knownForm.Visible() {
			t.Error("POSTGRES_HOST/REDIS_HOST/PROMPTS_CSV_PATH offered for xgen-embedding")
		}
	})
}

// A new variable row is scrolled into view.
func TestSettingsNewRowVisible(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	s := r.ui.sets
	onUI(func() {
		w := test.NewTempWindow(t, s.root)
		w.Resize(fyne.NewSize(700, 360))
		s.selectSidecar("alpha")
		for i := range 6 {
			test.Tap(s.add)
			s.scroll.Content.Refresh() // lay out as the painter would
			row := s.rows[len(s.rows)-1].root
			body := s.scroll.Content.(*fyne.Container).Objects[0]
			top := body.Position().Y + s.extra.Position().Y + row.Position().Y
			bottom := top + row.Size().Height
			if top < s.scroll.Offset.Y || bottom > s.scroll.Offset.Y+s.scroll.Size().Height+1 {
				t.Fatalf("row %d at %v..%v, the visible area is %v..%v", i+1, top, bottom, s.scroll.Offset.Y, s.scroll.Offset.Y+s.scroll.Size().Height)
			}
		}
	})
}

// A change made to the same sidecar in an editor meanwhile is not
// overwritten: the save is refused, Reload from file shows it.
func TestSettingsOutsideEditNotLost(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	s := r.ui.sets
	var port int
	onUI(func() {
		s.selectSidecar("alpha")
		port = s.base.Port
		s.auto.SetChecked(false)
		test.Tap(s.save)
	})
	r.until("first save", func() bool { return s.saved.Text == "Saved" })
	data, err := os.ReadFile(r.file)
	if err != nil {
		t.Fatal(err)
	}
	outside := strings.Replace(string(data), "port = "+strconv.Itoa(port), "port = "+strconv.Itoa(port+7), 1)
	if outside == string(data) {
		t.Fatalf("no port in\n%s", data)
	}
	if err := os.WriteFile(r.file, []byte(outside), 0o600); err != nil { // the second writer
		t.Fatal(err)
	}
	onUI(func() {
		s.auto.SetChecked(true)
		test.Tap(s.save)
	})
	r.until("refused", func() bool { return s.reload.Visible() && strings.Contains(s.problems.Text, "changed outside") })
	if b, _ := os.ReadFile(r.file); string(b) != outside {
		t.Fatal("the outside edit was overwritten")
	}
	onUI(func() { test.Tap(s.reload) })
	r.until("reloaded", func() bool { return s.port.Text == strconv.Itoa(port+7) && !s.reload.Visible() })
}

// A problem the validator list finds is shown at its field, found by the
// error's Key, and listed with the sidecar it is about.
func TestSettingsProblemAtItsField(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	s := r.ui.sets
	onUI(func() {
		s.selectSidecar("alpha")
		s.port.SetText("70000")
		if s.field(&config.Error{Sidecar: "alpha", Key: "port"}) != s.port || s.field(&config.Error{Key: "env.POSTGRES_HOST"}) != s.known["POSTGRES_HOST"] {
			t.Error("a problem is not shown at its field")
		}
		if !strings.Contains(s.problems.Text, `sidecar "alpha": port: must be 1..65535`) {
			t.Errorf("problems = %q", s.problems.Text)
		}
		s.port.SetText("8123")
		s.startup.SetText("0s")
		if !s.save.Disabled() || !strings.Contains(s.problems.Text, "startup_timeout: must be greater than 0") {
			t.Errorf("startup 0s: %q", s.problems.Text)
		}
	})
}

// addEnvOutside adds key=value to name's entry in the settings file, as an
// editor would.
func addEnvOutside(t *testing.T, path, name, key, value string) {
	t.Helper()
	f, err := config.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Sidecars {
		if f.Sidecars[i].Name == name {
			if f.Sidecars[i].Env == nil {
				f.Sidecars[i].Env = map[string]string{}
			}
			f.Sidecars[i].Env[key] = value
		}
	}
	data, err := config.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A change to a sidecar's entry that the store took in after the panel
// loaded it (an editor's change, read in when the mode was remembered)
// is neither shown stale nor overwritten: the untouched panel shows it,
// and a save made over it keeps it. Before, the panel saved its stale
// copy of the whole spec and the other change was silently lost.
func TestSettingsSaveKeepsChangeTakenInMeanwhile(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	s := r.ui.sets
	onUI(func() { s.selectSidecar("alpha") })
	addEnvOutside(t, r.file, "alpha", "LOG_LEVEL", "debug")
	// The mode switch remembers the mode through the same store (main's
	// Persist): the store reads the file in, alpha's change included.
	if err := modes.Remember(r.ui.d.Store)(modes.StandaloneMode()); err != nil {
		t.Fatal(err)
	}
	newPort := testutil.FreePort(t)
	onUI(func() {
		// The store's hooks have run when Remember returns.
		shown := false
		for _, row := range s.rows {
			shown = shown || row.key.Text == "LOG_LEVEL" && row.value.Text == "debug"
		}
		if !shown {
			t.Error("the panel still shows alpha as it was before the change")
		}
		s.port.SetText(strconv.Itoa(newPort))
		test.Tap(s.save)
	})
	r.until("saved", func() bool { return s.saved.Text == "Saved" || s.probBox.Visible() })
	f, err := config.ReadFile(r.file)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sidecars) != 1 || f.Sidecars[0].Port == nil || *f.Sidecars[0].Port != newPort ||
		f.Sidecars[0].Env["LOG_LEVEL"] != "debug" {
		t.Errorf("saved entry = %+v (env %v), want port %d and LOG_LEVEL kept", f.Sidecars, f.Sidecars[0].Env, newPort)
	}
}

// The same while the panel holds unsaved edits: the save is refused with
// Reload from file offered, and the file keeps the other change.
func TestSettingsSaveOverChangeTakenInRefused(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	s := r.ui.sets
	var port int
	onUI(func() {
		s.selectSidecar("alpha")
		port = s.base.Port
		s.auto.SetChecked(false) // edited, not saved yet
	})
	addEnvOutside(t, r.file, "alpha", "LOG_LEVEL", "debug")
	if err := modes.Remember(r.ui.d.Store)(modes.StandaloneMode()); err != nil {
		t.Fatal(err)
	}
	onUI(func() {
		if !s.auto.Checked && s.save.Disabled() {
			t.Error("the unsaved edit was dropped")
		}
		test.Tap(s.save)
	})
	r.until("the save's answer", func() bool { return s.saved.Text == "Saved" || s.probBox.Visible() })
	onUI(func() {
		if !s.reload.Visible() || !strings.Contains(s.problems.Text, "changed outside") {
			t.Errorf("save over the change not refused: saved %q, problems %q", s.saved.Text, s.problems.Text)
		}
	})
	f, err := config.ReadFile(r.file)
	if err != nil {
		t.Fatal(err)
	}
	if f.Sidecars[0].Env["LOG_LEVEL"] != "debug" {
		t.Errorf("the other change was overwritten: env %v", f.Sidecars[0].Env)
	}
	onUI(func() { test.Tap(s.reload) })
	r.until("reloaded", func() bool {
		for _, row := range s.rows {
			if row.key.Text == "LOG_LEVEL" {
				return s.auto.Checked && s.port.Text == strconv.Itoa(port)
			}
		}
		return false
	})
}

// Saving a sidecar that the file turns off (enabled = false; it runs on
// until Outrigger restarts) keeps it off: before, the saved entry dropped
// enabled = false and the sidecar came back at the next launch, though
// the user had only changed, say, its auto-start.
func TestSettingsSaveKeepsSidecarDisabled(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"), fixtureSpec(t, "beta"))
	f, err := config.ReadFile(r.file)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Sidecars {
		if f.Sidecars[i].Name == "beta" {
			f.Sidecars[i].Enabled = config.Ptr(false)
		}
	}
	data, err := config.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.ui.d.Store.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.ui.d.Store.Config().Sidecar("beta"); ok {
		t.Fatal("self-check: beta is still in the configuration")
	}
	s := r.ui.sets
	onUI(func() {
		s.selectSidecar("beta")
		if s.port.Disabled() || s.probBox.Visible() {
			t.Errorf("beta, turned off in the file, is shown as removed: %q", s.problems.Text)
		}
		s.auto.SetChecked(!s.auto.Checked)
		test.Tap(s.save)
	})
	r.until("the save's answer", func() bool { return s.saved.Text == "Saved" || s.probBox.Visible() })
	onUI(func() {
		if !s.save.Disabled() {
			t.Error("Save still enabled after the save")
		}
	})
	f, err = config.ReadFile(r.file)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range f.Sidecars {
		if sc.Name == "beta" && (sc.Enabled == nil || *sc.Enabled) {
			t.Errorf("saving beta's settings turned it back on: %+v", sc)
		}
	}
	if _, ok := r.ui.d.Store.Config().Sidecar("beta"); ok {
		t.Error("beta is back in the configuration")
	}
}

// Unsaved edits are not dropped by picking another sidecar (in the picker,
// or a card's Settings button): the panel asks first, and "keep editing"
// keeps them. Picking the same sidecar again keeps them too. Before, the
// other sidecar was loaded over them without a word.
func TestSettingsSwitchKeepsUnsavedEdits(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"), fixtureSpec(t, "beta"))
	s := r.ui.sets
	var asked []string
	answer := false
	r.ui.confirm = func(title, _ string, then func(bool)) {
		asked = append(asked, title)
		then(answer)
	}
	onUI(func() {
		s.selectSidecar("alpha")
		s.port.SetText("8123")
		s.picker.SetSelected("alpha") // the same one, from the picker's list
		if s.port.Text != "8123" || len(asked) != 0 {
			t.Errorf("picking alpha again: port %q, asked %q", s.port.Text, asked)
		}
		r.ui.showSettings("beta") // a card's Settings button
		if len(asked) != 1 {
			t.Errorf("asked %q before dropping the edits", asked)
		}
		if s.name != "alpha" || s.picker.Selected != "alpha" || s.port.Text != "8123" {
			t.Errorf("keep editing: showing %q (picker %q), port %q", s.name, s.picker.Selected, s.port.Text)
		}
		answer = true
		s.picker.SetSelected("beta")
		if s.name != "beta" || s.picker.Selected != "beta" || s.port.Text == "8123" {
			t.Errorf("discard: showing %q (picker %q), port %q", s.name, s.picker.Selected, s.port.Text)
		}
	})
}

// The check that the store still holds the spec the panel loaded and the
// save are one step under the store's lock: a reload that lands just
// before the store is asked to save (the test's seam) is not overwritten.
// Before, the panel checked, then asked the store to save, and a reload
// between the two was silently undone.
func TestSettingsSaveRefusesReloadBeforeUpdate(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"))
	s := r.ui.sets
	store := r.ui.d.Store
	s.beforeUpdate = func() {
		addEnvOutside(t, r.file, "alpha", "LOG_LEVEL", "debug")
		if err := store.Reload(); err != nil {
			t.Error(err)
		}
	}
	onUI(func() {
		s.selectSidecar("alpha")
		s.auto.SetChecked(!s.auto.Checked)
		test.Tap(s.save)
	})
	r.until("the save's answer", func() bool { return s.saving == 0 && (s.saved.Text == "Saved" || s.probBox.Visible()) })
	onUI(func() {
		if !s.reload.Visible() || !strings.Contains(s.problems.Text, "changed outside") {
			t.Errorf("save over the reloaded change not refused: saved %q, problems %q", s.saved.Text, s.problems.Text)
		}
	})
	f, err := config.ReadFile(r.file)
	if err != nil {
		t.Fatal(err)
	}
	if sc, _ := f.Sidecar("alpha"); sc.Env["LOG_LEVEL"] != "debug" {
		t.Errorf("the reloaded change was overwritten: env %v", sc.Env)
	}
	if sp, _ := store.Config().Sidecar("alpha"); sp.Env["LOG_LEVEL"] != "debug" {
		t.Errorf("the store lost the reloaded change: env %v", sp.Env)
	}
}

// editFile applies edit to the settings file as an editor would.
func editFile(t *testing.T, path string, edit func(*config.File)) {
	t.Helper()
	f, err := config.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(&f)
	data, err := config.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// removeEntry drops name's [[sidecar]] entry from f.
func removeEntry(name string) func(*config.File) {
	return func(f *config.File) {
		f.Sidecars = slices.DeleteFunc(f.Sidecars, func(e config.SidecarFile) bool { return e.Name == name })
	}
}

// A sidecar removed from the settings file (the store took the edit in)
// is shown as removed: what it runs with until Outrigger restarts, read
// only, with why; nothing of it can be saved. When its entry is back, it
// can be edited again. Before, the panel showed the supervisor's spec as
// if nothing had happened, and a save wrote the entry back.
func TestSettingsRemovedSidecarShownRemoved(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"), fixtureSpec(t, "beta"))
	follow(t, r, "mode = \"standalone\"\n")
	s := r.ui.sets
	store := r.ui.d.Store
	onUI(func() { s.selectSidecar("beta") })
	before, _ := config.ReadFile(r.file)
	editFile(t, r.file, removeEntry("beta"))
	if err := store.Reload(); err != nil {
		t.Fatal(err)
	}
	r.until("beta shown as removed", func() bool {
		return s.probBox.Visible() && strings.Contains(s.problems.Text, "no longer in")
	})
	onUI(func() {
		if !s.save.Disabled() || !s.port.Disabled() || !s.auto.Disabled() || !s.add.Disabled() {
			t.Errorf("a removed sidecar is editable: save %v port %v auto %v add %v",
				!s.save.Disabled(), !s.port.Disabled(), !s.auto.Disabled(), !s.add.Disabled())
		}
		if sp, _ := r.sup.Spec("beta"); s.port.Text != strconv.Itoa(sp.Port) {
			t.Errorf("port shown %q, beta runs on %d", s.port.Text, sp.Port)
		}
		s.doSave() // as if Save could be pressed
	})
	r.until("the save's answer", func() bool { return s.saving == 0 })
	if _, ok := store.Config().Sidecar("beta"); ok {
		t.Fatal("saving a removed sidecar put it back in the configuration")
	}
	if f, _ := config.ReadFile(r.file); slices.ContainsFunc(f.Sidecars, func(e config.SidecarFile) bool { return e.Name == "beta" }) {
		t.Fatal("saving a removed sidecar wrote its entry back")
	}
	// The entry is back: beta can be edited and saved again.
	editFile(t, r.file, func(f *config.File) { *f = before })
	onUI(func() { test.Tap(s.reload) })
	r.until("beta editable again", func() bool { return !s.port.Disabled() && !s.probBox.Visible() })
	onUI(func() {
		s.auto.SetChecked(!s.auto.Checked)
		test.Tap(s.save)
	})
	r.until("saved", func() bool { return s.saved.Text == "Saved" })
}

// A removal the store takes in while a save of that sidecar is on its way
// (the test's seam) refuses the save with a clear message; the entry is
// not written back.
func TestSettingsSaveOfRemovedSidecarRefused(t *testing.T) {
	r := newRig(t, nil, fixtureSpec(t, "alpha"), fixtureSpec(t, "beta"))
	follow(t, r, "mode = \"standalone\"\n")
	s := r.ui.sets
	store := r.ui.d.Store
	s.beforeUpdate = func() {
		editFile(t, r.file, removeEntry("beta"))
		if err := store.Reload(); err != nil {
			t.Error(err)
		}
	}
	var port string
	onUI(func() {
		s.selectSidecar("beta")
		port = s.port.Text
		s.port.SetText(strconv.Itoa(testutil.FreePort(t)))
		test.Tap(s.save)
	})
	r.until("the save's answer", func() bool { return s.saving == 0 && (s.saved.Text == "Saved" || s.probBox.Visible()) })
	onUI(func() {
		if s.saved.Text == "Saved" || !strings.Contains(s.problems.Text, "beta is no longer in outrigger.toml") {
			t.Errorf("save of a removed sidecar: saved %q, problems %q", s.saved.Text, s.problems.Text)
		}
		if !s.save.Disabled() || !s.port.Disabled() {
			t.Error("the removed sidecar is still editable after the refusal")
		}
	})
	if f, _ := config.ReadFile(r.file); slices.ContainsFunc(f.Sidecars, func(e config.SidecarFile) bool { return e.Name == "beta" }) {
		t.Error("the save wrote the removed sidecar's entry back")
	}
	if sp, _ := r.sup.Spec("beta"); strconv.Itoa(sp.Port) != port {
		t.Errorf("the supervisor's beta changed to port %d", sp.Port)
	}
}
