package ui

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/config"
	"outrigger/core/supervisor"
)

// knownEnv are the runtime overrides the seed's settings screen exposes,
// each with its own field.
var knownEnv = []struct{ Key, Hint string }{
	{"POSTGRES_HOST", "localhost"},
	{"REDIS_HOST", "localhost"},
	{"PROMPTS_CSV_PATH", "/path/to/prompts.csv"},
}

var policies = []string{config.PolicyOnFailure, config.PolicyAlways, config.PolicyNever}

func policyLabel(p string) string {
	switch p {
	case config.PolicyAlways:
		return "always — restart whenever it ends"
	case config.PolicyNever:
		return "never — leave it stopped"
	}
	return "on-failure — restart after a crash"
}

// settingsPanel edits one sidecar's spec: port, auto-start, restart policy,
// environment overrides. Saving goes through the config.Store, which
// writes outrigger.toml atomically (the old one kept as .bak) and hands the
// spec to the supervisor that follows it, for its next start; the panel
// offers to restart now.
type settingsPanel struct {
	d    settingsDeps
	root fyne.CanvasObject

	picker   *widget.Select
	port     *widget.Entry
	auto     *widget.Check
	policy   *widget.Select
	retries  *widget.Entry
	startup  *widget.Entry
	known    map[string]*widget.Entry
	extra    *fyne.Container // rows of free key/value pairs
	rows     []*envRow
	problems *widget.Label
	probIcon *widget.Icon
	probBox  *fyne.Container
	note     *widget.Label
	save     *widget.Button
	revert   *widget.Button
	reload   *widget.Button // shown when the file was changed outside Outrigger
	add      *widget.Button
	scroll   *container.Scroll
	saved    *widget.Label
	where    *canvas.Text
	login    *loginSwitch  // Start at login: not a sidecar's, applied at once
	loginErr *widget.Label // why the last change of login failed

	name      string
	base      config.Spec // the spec being edited, as it was loaded
	gone      bool        // name was removed from the settings file: shown as it runs, read only
	saving    int         // saves of ours under way: the store's changes they make are not news
	repick    bool        // the picker is being set back to the edited sidecar
	knownForm *widget.Form
	knownOn   bool // the seed's workflow variables are offered (not for xgen-embedding, which reads none of them)
	rules     map[*widget.Entry]func(string) error

	// askRestart, when set (tests), replaces the restart question's answer.
	askRestart func(name string, restart func())
	// beforeUpdate, when set (tests), runs in the saving goroutine just
	// before the store is asked to save: where a reload can land.
	beforeUpdate func()
}

// envRow is one free environment variable.
type envRow struct {
	root   *fyne.Container
	key    *widget.Entry
	value  *widget.Entry
	slot   *fyne.Container
	remove *widget.Button
	fixed  bool // a default of the sidecar: its key cannot be removed
}

// settingsDeps is what the Settings tab needs of the app.
type settingsDeps struct {
	names []string      // the sidecars, in configuration order
	store *config.Store // saves; nil: nothing can be saved
	// spec is a sidecar's spec as saved (else as run); config the whole
	// configuration the edited spec is checked against.
	spec   func(name string) (config.Spec, bool)
	config func() config.Config
	// removed reports whether a supervised sidecar has left the settings
	// file (no entry; one with enabled = false is still the user's to
	// edit): it runs as it is until Outrigger restarts, and saving its
	// settings would write it back.
	removed    func(name string) bool
	configFile string                                      // where saving writes, without a store
	status     func(name string) (supervisor.Status, bool) // UI thread
	restart    func(ctx context.Context, name string) error
	do         func(func())                  // to the UI thread
	showError  func(title string, err error) // UI thread
	// confirm asks a yes/no question (UI thread); nil: the answer is yes.
	confirm func(title, message string, then func(bool))
	win     fyne.Window // dialogs; nil: none
	// loginChanged follows a change of Start at login (the File menu
	// shows it too). UI thread.
	loginChanged func()
}

func newSettingsPanel(d settingsDeps) *settingsPanel {
	s := &settingsPanel{d: d, known: map[string]*widget.Entry{}, rules: map[*widget.Entry]func(string) error{}}
	s.picker = widget.NewSelect(d.names, s.pick)
	s.picker.PlaceHolder = "Sidecar"

	s.port = s.entry(validatePort)
	s.port.OnChanged = func(string) { s.changed() }
	s.auto = widget.NewCheck("Start with the app (Service mode)", func(bool) { s.changed() })
	labels := make([]string, len(policies))
	for i, p := range policies {
		labels[i] = policyLabel(p)
	}
	s.policy = widget.NewSelect(labels, func(string) { s.changed() })
	s.retries = s.entry(validateRetries)
	s.retries.OnChanged = func(string) { s.changed() }
	s.startup = s.entry(validateDuration)
	s.startup.OnChanged = func(string) { s.changed() }

	form := widget.NewForm(
		widget.NewFormItem("Port", s.port),
		widget.NewFormItem("Auto-start", s.auto),
		widget.NewFormItem("Restart", s.policy),
		widget.NewFormItem("Give up after", container.NewBorder(nil, nil, nil, widget.NewLabel("failed starts in a row (-1: never)"), s.retries)),
		widget.NewFormItem("Startup timeout", container.NewBorder(nil, nil, nil, widget.NewLabel("e.g. 60s, 2m"), s.startup)),
	)
	form.Items[0].HintText = "Passed as APP_PORT; a busy port is replaced by a free one at start."

	envForm := widget.NewForm()
	for _, k := range knownEnv {
		e := s.entry(validateEnvValue)
		e.SetPlaceHolder("not set (for example " + k.Hint + ")")
		e.OnChanged = func(string) { s.changed() }
		s.known[k.Key] = e
		envForm.Append(k.Key, e)
	}
	s.knownForm = envForm
	s.extra = container.NewVBox()
	s.add = widget.NewButtonWithIcon("Add variable", theme.ContentAddIcon(), func() {
		r := s.addRow("", "", false)
		s.changed()
		s.scroll.ScrollToBottom() // the new row sits just above the button, at the end
		if s.d.win != nil {
			s.d.win.Canvas().Focus(r.key)
		}
	})
	s.add.Importance = widget.LowImportance

	s.probIcon = widget.NewIcon(theme.ErrorIcon())
	s.problems = widget.NewLabel("")
	s.problems.Wrapping = fyne.TextWrapWord
	s.probBox = container.NewBorder(nil, nil, container.NewCenter(s.probIcon), nil, s.problems)
	s.probBox.Hide()
	s.note = widget.NewLabel("")
	s.note.Truncation = fyne.TextTruncateEllipsis
	s.where = canvas.NewText("", colorOf(theme.ColorNamePlaceHolder))
	s.where.TextSize = theme.CaptionTextSize()
	s.saved = widget.NewLabel("")
	s.saved.Importance = widget.SuccessImportance
	s.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), s.doSave)
	s.save.Importance = widget.HighImportance
	s.revert = widget.NewButtonWithIcon("Revert", theme.ContentUndoIcon(), func() { s.load(s.name) })
	s.reload = widget.NewButtonWithIcon("Reload from file", theme.ViewRefreshIcon(), s.doReload)
	s.reload.Hide()

	s.loginErr = widget.NewLabel("")
	s.loginErr.Wrapping = fyne.TextWrapWord
	s.loginErr.Importance = widget.DangerImportance
	s.loginErr.Hide()
	s.login = newLoginSwitch(func(err error) {
		if err != nil {
			s.loginErr.SetText("Could not change Start at login: " + err.Error())
			s.loginErr.Show()
		} else {
			s.loginErr.Hide()
		}
		if d.loginChanged != nil {
			d.loginChanged()
		}
	})

	secrets := canvas.NewText("Values of variables whose name contains PASSWORD, SECRET, TOKEN or KEY are hidden.", colorOf(theme.ColorNamePlaceHolder))
	secrets.TextSize = theme.CaptionTextSize()
	body := container.NewVBox(
		section("Service"),
		form,
		section("Environment"),
		envForm,
		s.extra,
		container.NewHBox(s.add, layout.NewSpacer(), container.NewCenter(secrets)),
		section("Outrigger"),
		s.login.check,
		s.loginErr,
	)
	s.scroll = container.NewVScroll(container.NewPadded(body))
	bar := container.NewBorder(nil, nil, container.NewHBox(widget.NewLabel("Sidecar"), minWidth(200, s.picker)), nil, s.note)
	actions := container.NewBorder(nil, container.NewPadded(s.where), nil, container.NewHBox(s.saved, s.reload, s.revert, s.save), s.probBox)
	s.root = container.NewBorder(container.NewPadded(bar), opaqueBar(container.NewPadded(actions)), nil, nil,
		s.scroll)
	if len(d.names) > 0 {
		s.picker.SetSelected(d.names[0])
	}
	return s
}

// entry makes an entry checked by rule: a problem shows inline (icon and
// the form's hint) without the green tick Fyne puts on every valid field.
func (s *settingsPanel) entry(rule func(string) error) *widget.Entry {
	e := widget.NewEntry()
	e.AlwaysShowValidationError = true
	s.rules[e] = rule
	return e
}

// section is a small heading with a rule.
func section(title string) fyne.CanvasObject {
	t := canvas.NewText(strings.ToUpper(title), colorOf(theme.ColorNamePrimary))
	t.TextStyle = fyne.TextStyle{Bold: true}
	t.TextSize = theme.CaptionTextSize()
	return container.NewVBox(container.NewPadded(t), widget.NewSeparator())
}

// The rules below only read the text; what values are allowed is the
// validator list's (config.Config.Problems), run on the edited spec.

func validatePort(s string) error {
	if _, err := strconv.Atoi(strings.TrimSpace(s)); err != nil {
		return errors.New("a port is a number from 1 to 65535")
	}
	return nil
}

func validateRetries(s string) error {
	if _, err := strconv.Atoi(strings.TrimSpace(s)); err != nil {
		return errors.New("a whole number, or -1 to never give up")
	}
	return nil
}

func validateDuration(s string) error {
	if _, err := time.ParseDuration(strings.TrimSpace(s)); err != nil {
		return errors.New(`a duration such as "60s" or "2m"`)
	}
	return nil
}

func validateEnvKey(s string) error { return config.CheckEnvKey(strings.TrimSpace(s)) }

func validateEnvValue(s string) error {
	if strings.ContainsRune(s, 0) {
		return errors.New("a value cannot contain NUL")
	}
	return nil
}

// follow keeps the panel in step with the store: a change of the shown
// sidecar that someone else made (an editor's change the store read in
// when the mode was remembered, say) is shown at once when nothing is
// edited; over unsaved edits the next save is refused (see saveSpec). The
// returned func ends it. UI thread (the hook itself runs in the saving
// goroutine and only hands over).
func (s *settingsPanel) follow(store *config.Store) (stop func()) {
	if store == nil {
		return func() {}
	}
	first := true
	return store.OnChange(func(_, _ config.Config) {
		if first { // the config the panel was filled from
			first = false
			return
		}
		s.d.do(s.storeChanged)
	})
}

// storeChanged reloads the shown sidecar if its saved spec changed, or
// it left the settings file or came back, and nothing is edited. Over
// edits, only whether it can be edited follows (the next save is checked
// against the store, see saveSpec). UI thread.
func (s *settingsPanel) storeChanged() {
	if s.name == "" || s.saving > 0 {
		return
	}
	cur, ok := s.d.spec(s.name)
	gone := s.removed(s.name)
	if !ok || gone == s.gone && reflect.DeepEqual(cur, s.base) {
		return
	}
	if sp, _ := s.edited(); !s.dirty(sp) {
		s.load(s.name)
	} else if gone != s.gone {
		s.setGone(gone)
	}
}

func (s *settingsPanel) removed(name string) bool { return s.d.removed != nil && s.d.removed(name) }

// setGone shows the sidecar as removed from the settings file (read only,
// with why) or as editable again. UI thread.
func (s *settingsPanel) setGone(gone bool) {
	s.gone = gone
	ws := []fyne.Disableable{s.port, s.auto, s.policy, s.retries, s.startup, s.add}
	for _, e := range s.known {
		ws = append(ws, e)
	}
	for _, r := range s.rows {
		ws = append(ws, r.value)
		if !r.fixed { // a default's key and remove button stay off
			ws = append(ws, r.key, r.remove)
		}
	}
	for _, w := range ws {
		if gone {
			w.Disable()
		} else {
			w.Enable()
		}
	}
	if gone {
		s.reload.Show() // for when the entry is put back in the file
	} else {
		s.reload.Hide()
	}
	s.changed()
}

// syncLogin shows whether Outrigger starts at login now (the entry may
// have been changed elsewhere). UI thread.
func (s *settingsPanel) syncLogin() { s.login.sync() }

// selectSidecar shows name's settings. UI thread.
func (s *settingsPanel) selectSidecar(name string) {
	if s.picker.Selected != name {
		s.picker.SetSelected(name)
	}
}

// pick is a choice in the picker (or selectSidecar): name's settings are
// shown, unless that would drop unsaved edits the user wants to keep.
// UI thread.
func (s *settingsPanel) pick(name string) {
	if s.repick {
		return
	}
	if s.name == "" || !s.edits() {
		s.load(name)
		return
	}
	edited := s.name
	if name == edited {
		return // picked again: the edits stay
	}
	s.setPicker(edited) // until the user says so
	show := func() {
		s.setPicker(name)
		s.load(name)
	}
	if s.d.confirm == nil {
		show()
		return
	}
	s.d.confirm("Discard the changes to "+edited+"?",
		edited+"'s settings have changes that are not saved.\nShow "+name+" and drop them?",
		func(ok bool) {
			if ok && s.name == edited {
				show()
			}
		})
}

// setPicker shows name in the picker without loading it. UI thread.
func (s *settingsPanel) setPicker(name string) {
	s.repick = true
	s.picker.SetSelected(name)
	s.repick = false
}

// edits reports whether the fields hold something not saved: a change,
// or a value that is not valid. UI thread.
func (s *settingsPanel) edits() bool {
	sp, probs := s.edited()
	return s.dirty(sp) || len(probs) > 0
}

// load fills the fields from name's current spec. UI thread.
func (s *settingsPanel) load(name string) {
	sp, ok := s.d.spec(name)
	if !ok {
		return
	}
	s.name, s.base = name, sp.Clone()
	s.knownOn = name != "xgen-embedding"
	if s.knownOn {
		s.knownForm.Show()
	} else {
		s.knownForm.Hide()
	}
	s.port.SetText(strconv.Itoa(sp.Port))
	s.auto.SetChecked(sp.AutoStart)
	s.policy.SetSelectedIndex(max(0, slices.Index(policies, sp.Restart.Policy)))
	s.retries.SetText(strconv.Itoa(sp.Restart.MaxRetries))
	s.startup.SetText(shortDuration(sp.StartupTimeout))
	for _, k := range knownEnv {
		s.known[k.Key].SetText("")
		if s.knownOn {
			s.known[k.Key].SetText(sp.Env[k.Key])
		}
	}
	s.extra.RemoveAll()
	s.rows = nil
	defaults := defaultSpec(name)
	keys := slices.Sorted(maps.Keys(sp.Env))
	for _, k := range keys {
		if s.knownOn && isKnownEnv(k) {
			continue
		}
		_, fixed := defaults.Env[k]
		s.addRow(k, sp.Env[k], fixed)
	}
	s.saved.SetText("")
	s.probBox.Hide()
	s.setGone(s.removed(name))
}

func isKnownEnv(k string) bool {
	for _, e := range knownEnv {
		if e.Key == k {
			return true
		}
	}
	return false
}

// defaultSpec is what a sidecar would be without outrigger.toml.
func defaultSpec(name string) config.Spec {
	if sp, ok := config.Defaults().Sidecar(name); ok {
		return sp
	}
	return config.DefaultSpec(name, 0)
}

// addRow adds a free key/value pair; the value is masked when the key
// names a secret.
func (s *settingsPanel) addRow(k, v string, fixed bool) *envRow {
	r := &envRow{fixed: fixed}
	r.key = s.entry(validateEnvKey)
	r.key.SetPlaceHolder("NAME")
	r.key.SetText(k)
	r.slot = container.NewStack()
	r.setValue(s, v, config.Secret(k))
	r.key.OnChanged = func(key string) {
		if secret := config.Secret(key); secret != r.secret() {
			r.setValue(s, r.value.Text, secret)
			r.value.OnChanged = func(string) { s.changed() }
		}
		s.changed()
	}
	r.value.OnChanged = func(string) { s.changed() }
	r.remove = widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
		s.extra.Remove(r.root)
		s.rows = slices.DeleteFunc(s.rows, func(x *envRow) bool { return x == r })
		s.changed()
	})
	r.remove.Importance = widget.LowImportance
	if fixed {
		r.key.Disable()
		r.remove.Disable()
	}
	r.root = container.NewBorder(nil, nil, nil, r.remove, container.NewGridWithColumns(2, r.key, r.slot))
	s.rows = append(s.rows, r)
	s.extra.Add(r.root)
	return r
}

func (r *envRow) secret() bool { return r.value != nil && r.value.Password }

func (r *envRow) setValue(s *settingsPanel, v string, secret bool) {
	if r.value != nil {
		delete(s.rules, r.value)
	}
	if secret {
		r.value = widget.NewPasswordEntry()
	} else {
		r.value = widget.NewEntry()
	}
	r.value.AlwaysShowValidationError = true
	s.rules[r.value] = validateEnvValue
	r.value.SetPlaceHolder("value")
	r.value.SetText(v)
	r.slot.Objects = []fyne.CanvasObject{r.value}
	r.slot.Refresh()
}

// edited builds the spec from the fields; problems lists what is wrong,
// by field.
func (s *settingsPanel) edited() (config.Spec, []string) {
	sp := s.base.Clone()
	var probs []string
	check := func(label string, e *widget.Entry) bool {
		var err error
		if rule := s.rules[e]; rule != nil {
			err = rule(e.Text)
		}
		e.SetValidationError(err)
		if err != nil {
			probs = append(probs, label+": "+err.Error())
			return false
		}
		return true
	}
	if check("Port", s.port) {
		sp.Port, _ = strconv.Atoi(strings.TrimSpace(s.port.Text))
	}
	sp.AutoStart = s.auto.Checked
	if i := s.policy.SelectedIndex(); i >= 0 {
		sp.Restart.Policy = policies[i]
	}
	if check("Give up after", s.retries) {
		sp.Restart.MaxRetries, _ = strconv.Atoi(strings.TrimSpace(s.retries.Text))
	}
	if check("Startup timeout", s.startup) {
		sp.StartupTimeout, _ = time.ParseDuration(strings.TrimSpace(s.startup.Text))
	}
	env := map[string]string{}
	for _, k := range knownEnv {
		e := s.known[k.Key]
		if check(k.Key, e) && e.Text != "" {
			env[k.Key] = e.Text
		}
	}
	seen := map[string]bool{}
	for _, r := range s.rows {
		k := strings.TrimSpace(r.key.Text)
		if k == "" && r.value.Text == "" {
			continue // an empty new row is ignored
		}
		if !check("Variable name", r.key) || !check(k, r.value) {
			continue
		}
		if seen[k] || s.knownOn && isKnownEnv(k) {
			probs = append(probs, fmt.Sprintf("%s is set twice", k))
			continue
		}
		seen[k] = true
		env[k] = r.value.Text
	}
	if len(env) == 0 {
		env = nil
	}
	sp.Env = env
	if len(probs) == 0 {
		cfg := s.d.config()
		replaced := false
		for i := range cfg.Sidecars {
			if cfg.Sidecars[i].Name == sp.Name {
				cfg.Sidecars[i] = sp
				replaced = true
			}
		}
		if !replaced {
			cfg.Sidecars = append(cfg.Sidecars, sp)
		}
		for _, e := range cfg.Problems() {
			if e.Sidecar == sp.Name || e.Sidecar == "" {
				probs = append(probs, e.Error())
			}
			if f := s.field(e); f != nil && e.Sidecar == sp.Name {
				f.SetValidationError(errors.New(e.Msg))
			}
		}
	}
	return sp, probs
}

// field is the entry that holds the value e is about, or nil.
func (s *settingsPanel) field(e *config.Error) *widget.Entry {
	switch k, env := strings.CutPrefix(e.Key, "env."); {
	case e.Key == "port":
		return s.port
	case e.Key == "restart.max_retries":
		return s.retries
	case e.Key == "startup_timeout":
		return s.startup
	case env && s.knownOn && s.known[k] != nil:
		return s.known[k]
	case env:
		for _, r := range s.rows {
			if strings.TrimSpace(r.key.Text) == k {
				return r.value
			}
		}
	}
	return nil
}

// dirty reports whether the fields differ from the loaded spec.
func (s *settingsPanel) dirty(sp config.Spec) bool {
	b := s.base
	return sp.Port != b.Port || sp.AutoStart != b.AutoStart || sp.Restart != b.Restart ||
		sp.StartupTimeout != b.StartupTimeout || !maps.Equal(sp.Env, b.Env)
}

// changed re-validates after an edit. UI thread.
func (s *settingsPanel) changed() {
	if s.name == "" || s.save == nil {
		return
	}
	sp, probs := s.edited()
	if s.gone {
		probs = []string{s.removedText()}
	}
	if len(probs) > 0 {
		s.problems.SetText(strings.Join(probs, "\n"))
		s.probBox.Show()
	} else {
		s.probBox.Hide()
	}
	d := s.dirty(sp)
	enable(s.save, d && len(probs) == 0)
	enable(s.revert, d || len(probs) > 0 && !s.gone)
	if d {
		s.saved.SetText("")
	}
	s.statusChanged()
}

// removedText says why the shown sidecar cannot be edited.
func (s *settingsPanel) removedText() string {
	return s.name + " is no longer in " + filepath.Base(s.file()) + ": it runs as shown until Outrigger restarts. " +
		"To edit it, put its [[sidecar]] entry back in the file and Reload from file."
}

// file is the settings file saving writes.
func (s *settingsPanel) file() string {
	where := s.d.configFile
	if s.d.store != nil {
		where = s.d.store.Path()
	}
	if where == "" {
		where = "outrigger.toml"
	}
	return where
}

// statusChanged refreshes the note about when changes apply. UI thread.
func (s *settingsPanel) statusChanged() {
	if s.name == "" {
		return
	}
	where := s.file()
	text := "Changes apply at the next start of " + s.name + "."
	if st, ok := s.d.status(s.name); ok && st.State.HasProcess() {
		text = s.name + " is running: saved changes apply when it restarts."
	}
	if s.gone {
		text = "Removed from " + filepath.Base(where) + "."
	}
	setLabel(s.note, text)
	if w := "Saving writes " + where + " and keeps the previous version as " + filepath.Base(where) + ".bak"; s.where.Text != w {
		s.where.Text = w
		s.where.Color = colorOf(theme.ColorNamePlaceHolder)
		s.where.Refresh()
	}
}

// doSave writes the edited spec. UI thread; the file and the supervisor
// are written off it.
func (s *settingsPanel) doSave() {
	sp, probs := s.edited()
	if len(probs) > 0 {
		s.problems.SetText(strings.Join(probs, "\n"))
		s.probBox.Show()
		return
	}
	name, store, base, hook := s.name, s.d.store, s.base.Clone(), s.beforeUpdate
	s.save.Disable()
	s.saving++
	go func() {
		// The supervisor follows the store (supervisor.Follow, a synchronous
		// hook): when Update returns it has the new spec, so the "Restart
		// now" offered next starts the sidecar with it.
		err := saveSpec(store, base, sp, hook)
		s.d.do(func() { s.afterSave(name, sp, err) })
	}()
}

// errRemoved refuses a save of a sidecar that was removed from the
// settings file since the panel loaded it.
var errRemoved = errors.New("no longer in the file (removed since it was loaded)")

// saveSpec writes sp, edited from base, into the [[sidecar]] entry of
// file, keeping the file minimal (only what differs from the built-in
// defaults). sp is a whole spec: written over a spec the store holds now
// that is not base (another change taken in since the panel loaded it),
// it would silently undo that change, so then it is refused as a change
// on disk is; a sidecar no longer in the file (neither in the store's
// config nor an entry) is refused with errRemoved rather than written
// back. The checks are made under the store's lock, with the save
// (config.Store.UpdateFrom): a reload cannot land between the two.
// beforeUpdate (tests) runs just before the store is asked.
func saveSpec(store *config.Store, base, sp config.Spec, beforeUpdate func()) error {
	if store == nil {
		return errors.New("no settings file was given")
	}
	if beforeUpdate != nil {
		beforeUpdate()
	}
	return store.UpdateFrom(func(cur config.Config, f *config.File) error {
		now, ok := cur.Sidecar(sp.Name)
		entry, inFile := f.Sidecar(sp.Name)
		switch {
		case ok && !reflect.DeepEqual(now, base):
			return fmt.Errorf("config: not saving %s: %w", store.Path(), config.ErrChangedOnDisk)
		case !ok && !inFile: // saving would put it back
			return fmt.Errorf("config: not saving %s: %s: %w", store.Path(), sp.Name, errRemoved)
		}
		sc := config.FromSpec(sp, defaultSpec(sp.Name))
		// The panel edits a sidecar's settings, not whether it is on: an
		// entry with enabled = false (the sidecar still runs until
		// Outrigger restarts, so the panel shows it) stays off.
		if inFile {
			sc.Enabled = entry.Enabled
		}
		f.SetSidecar(sc)
		return nil
	})
}

func (s *settingsPanel) afterSave(name string, sp config.Spec, err error) {
	s.saving--
	if errors.Is(err, errRemoved) && s.name == name {
		s.setGone(true) // the edits stay in view, read only; removedText says why
		return
	}
	if err != nil {
		s.changed()
		msg := "Could not save: " + err.Error()
		if errors.Is(err, config.ErrChangedOnDisk) {
			msg = "Not saved: " + filepath.Base(s.d.store.Path()) + " was changed outside Outrigger since it was loaded, " +
				"in " + name + "'s settings too. Reload from file to see that change (your edits here are dropped)."
			s.reload.Show()
		}
		s.problems.SetText(msg)
		s.probBox.Show()
		return
	}
	if s.name == name {
		// The spec as the store holds it, which the next save is checked
		// against (loading may have resolved a field sp left unset).
		s.base = sp.Clone()
		if cur, ok := s.d.config().Sidecar(name); ok {
			s.base = cur
		}
		s.changed()
		s.saved.SetText("Saved")
	}
	st, _ := s.d.status(name)
	if !st.State.HasProcess() {
		return
	}
	restart := func() {
		go func() {
			if err := s.d.restart(context.Background(), name); err != nil {
				s.d.do(func() { s.d.showError("Could not restart "+name, err) })
			}
		}()
	}
	if s.askRestart != nil {
		s.askRestart(name, restart)
		return
	}
	if s.d.win == nil {
		return
	}
	dialog.ShowCustomConfirm("Settings saved", "Restart now", "Later",
		widget.NewLabel(name+" is running with its previous settings.\nRestart it now to apply the new ones?"),
		func(ok bool) {
			if ok {
				restart()
			}
		}, s.d.win)
}

// doReload reads the settings file again after an outside change and
// shows what it now says. UI thread; the file is read off it.
func (s *settingsPanel) doReload() {
	store := s.d.store
	go func() {
		err := store.Reload()
		s.d.do(func() {
			if err != nil {
				s.problems.SetText("Could not reload: " + err.Error())
				s.probBox.Show()
				return
			}
			s.load(s.name)
		})
	}()
}

// shortDuration writes d the way a person would type it: "60s", "2m",
// "1m30s".
func shortDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d%time.Minute == 0 && d >= 2*time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0 && d <= 90*time.Second:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "m") || strings.HasSuffix(s, "h") {
		return s
	}
	return d.String()
}
