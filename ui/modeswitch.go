package ui

import (
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/config"
	"outrigger/core/modes"
)

// modeSwitcher shows the app's mode (Standalone / Service / Connected) as
// a segmented control, the gateway and its reachability in Connected mode,
// and the progress of a mode change. A change runs in the mode
// controller's goroutine; the window only shows its events.
type modeSwitcher struct {
	d  modeDeps
	mc ModeController

	root    *fyne.Container
	buttons map[modes.Kind]*widget.Button
	desc    *widget.Label

	gwRow     *fyne.Container
	gwEntry   *widget.Entry
	gwConnect *widget.Button
	gwDot     *canvas.Circle
	gwText    *widget.Label
	token     *tokenField // gateway_token, beside the URL (gwtoken.go)

	progRow  *fyne.Container
	bar      *widget.ProgressBarInfinite
	progText *widget.Label

	msgRow  *fyne.Container
	msgIcon *widget.Icon
	msgText *widget.Label
	anyway  *widget.Button // "Switch anyway" after an unreachable gateway
	anyURL  string         // the gateway it would switch to

	// UI thread only.
	mode      modes.Mode
	moving    bool        // a transition is under way (from the events)
	target    *modes.Mode // where it heads
	ours      int         // transitions we asked for that are not done
	changes   int         // switches seen to begin, end or fail: a question asked before one is stale
	degraded  string
	reachKnow bool
	reachOK   bool
	reachAt   time.Time
	reachMsg  string
	wantGW    bool   // the user opened the gateway row
	gwSaved   string // the saved gateway_url the entry was filled with
}

var modeOrder = []modes.Kind{modes.Standalone, modes.Service, modes.Connected}

func modeTitle(k modes.Kind) string {
	switch k {
	case modes.Standalone:
		return "Standalone"
	case modes.Service:
		return "Service"
	case modes.Connected:
		return "Connected"
	}
	return string(k)
}

func modeIcon(k modes.Kind) fyne.Resource {
	switch k {
	case modes.Standalone:
		return theme.ComputerIcon()
	case modes.Service:
		return theme.StorageIcon()
	}
	return theme.UploadIcon()
}

// modeDeps is what the mode switcher needs of the app.
type modeDeps struct {
	mc ModeController
	// settings is the configuration as saved now (config.Store): the
	// service and the gateway a switch uses are read at the switch, so a
	// save made since launch applies.
	settings func() config.Config
	store    *config.Store // the gateway token is saved to it; nil: not saved
	// tokenSaved runs on the UI thread after a new gateway token was saved.
	tokenSaved func()
	do         func(func()) // to the UI thread
	// applied runs on the UI thread after a mode event was shown: what
	// depends on the mode (the header, the tray, the Workflows tab) follows.
	applied    func()
	fellBack   func(reason string)                          // UI thread: tell the user
	quitting   func() bool                                  // UI thread
	confirm    func(title, message string, then func(bool)) // UI thread
	focus      func(fyne.Focusable)                         // UI thread
	anyRunning func() bool                                  // UI thread: a local sidecar runs
}

func newModeSwitcher(d modeDeps) *modeSwitcher {
	m := &modeSwitcher{d: d, mc: d.mc, buttons: map[modes.Kind]*widget.Button{}}
	seg := container.NewHBox()
	for _, k := range modeOrder {
		b := widget.NewButtonWithIcon(modeTitle(k), modeIcon(k), func() { m.choose(k) })
		m.buttons[k] = b
		seg.Add(b)
	}
	caption := canvas.NewText("MODE", colorOf(theme.ColorNamePlaceHolder))
	caption.TextStyle = fyne.TextStyle{Bold: true}
	caption.TextSize = theme.CaptionTextSize()
	m.desc = widget.NewLabel("")
	m.desc.Truncation = fyne.TextTruncateEllipsis
	top := container.NewBorder(nil, nil, container.NewHBox(container.NewCenter(caption), seg), nil, m.desc)

	m.gwEntry = widget.NewEntry()
	m.gwEntry.SetPlaceHolder("https://xgen.example.com")
	m.gwEntry.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New("enter the gateway's URL")
		}
		return config.CheckGatewayURL(strings.TrimSpace(s))
	}
	m.gwEntry.OnSubmitted = func(string) { m.connect() }
	m.gwSaved = d.settings().GatewayURL
	m.gwEntry.SetText(m.gwSaved)
	m.gwConnect = widget.NewButtonWithIcon("Connect", theme.LoginIcon(), m.connect)
	m.gwConnect.Importance = widget.HighImportance
	m.gwDot = canvas.NewCircle(colorOf(theme.ColorNamePlaceHolder))
	// The reachability goes on its own wrapped line below the URL: beside
	// it, a long error squeezed the entry and was cut off.
	m.gwText = widget.NewLabel("")
	m.gwText.Wrapping = fyne.TextWrapWord
	gwLabel := widget.NewLabel("Gateway")
	gwLabel.TextStyle = fyne.TextStyle{Bold: true}
	reach := container.NewBorder(nil, nil, container.NewCenter(container.New(&fixedSize{size: fyne.NewSize(10, 10)}, m.gwDot)), nil, m.gwText)
	m.token = newTokenField(d.store, d.settings(), d.do, d.tokenSaved)
	m.gwRow = container.NewVBox(container.NewBorder(nil, nil, gwLabel, m.gwConnect, m.gwEntry), m.token.root, reach)
	m.gwRow.Hide()

	m.progText = widget.NewLabel("")
	m.progText.Truncation = fyne.TextTruncateEllipsis
	// The bar itself is made only while a change runs: an infinite progress
	// bar animates (and repaints the window 60 times a second) from the
	// moment it is rendered, hidden or not.
	m.progRow = container.NewStack(container.NewPadded(m.progText))
	m.progRow.Hide()

	m.msgIcon = widget.NewIcon(theme.WarningIcon())
	m.msgText = widget.NewLabel("")
	m.msgText.Wrapping = fyne.TextWrapWord
	dismiss := widget.NewButtonWithIcon("", theme.CancelIcon(), func() { m.msgRow.Hide() })
	dismiss.Importance = widget.LowImportance
	m.anyway = widget.NewButtonWithIcon("Switch anyway", theme.LoginIcon(), m.connectAnyway)
	m.anyway.Hide()
	m.msgRow = container.NewBorder(nil, nil, container.NewCenter(m.msgIcon), container.NewHBox(m.anyway, dismiss), m.msgText)
	m.msgRow.Hide()

	m.root = container.NewVBox(widget.NewSeparator(), top, m.gwRow, m.progRow, m.msgRow)
	if m.mc != nil {
		m.mode = m.mc.Current()
		ok, at, err := m.mc.Health()
		if !at.IsZero() {
			m.setReach(ok, at, errText(err))
		}
	}
	m.render()
	return m
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// start subscribes to the controller's events, one hand-over to the UI
// thread per event (the controller's bus never blocks), and follows the
// saved settings if store is not nil. The returned func ends both; the
// goroutine ends with its subscription or with done.
func (m *modeSwitcher) start(store *config.Store, done <-chan struct{}) (stop func()) {
	ch, cancel := m.mc.Subscribe()
	go func() {
		for {
			select {
			case e, ok := <-ch:
				if !ok {
					return
				}
				m.d.do(func() { m.apply(e) })
			case <-done:
				return
			}
		}
	}()
	if store == nil {
		return cancel
	}
	// The hook runs in the saving goroutine (hooks are serialised): it only
	// hands the new gateway and token to the UI thread. Its first call, at
	// registration on the UI thread, is the config the entry was filled
	// from.
	first := true
	remove := store.OnChange(func(old, cur config.Config) {
		if first {
			first = false
			return
		}
		if old.GatewayURL != cur.GatewayURL || old.GatewayToken != cur.GatewayToken {
			m.d.do(func() { m.settingsChanged(cur) })
		}
	})
	return func() { cancel(); remove() }
}

// settingsChanged follows a saved change of gateway_url into the gateway
// entry, unless the user typed another address there, and one of
// gateway_token into the token field. UI thread.
func (m *modeSwitcher) settingsChanged(c config.Config) {
	m.token.storeChanged(c.GatewayToken)
	if c.GatewayURL == m.gwSaved {
		return
	}
	if t := strings.TrimSpace(m.gwEntry.Text); t == "" || t == m.gwSaved {
		m.gwEntry.SetText(c.GatewayURL)
	}
	m.gwSaved = c.GatewayURL
}

// apply shows one event. UI thread.
func (m *modeSwitcher) apply(e modes.Event) {
	m.event(e)
	m.render()
	m.d.applied()
}

// event applies one mode event. UI thread.
func (m *modeSwitcher) event(e modes.Event) {
	switch e.Kind {
	case modes.ModeChanged, modes.Transitioning, modes.TransitionFailed, modes.FellBack:
		m.changes++
	}
	switch e.Kind {
	case modes.ModeChanged:
		m.mode = e.Mode
		m.moving, m.target = false, nil
		if e.Mode.Kind != modes.Service {
			m.degraded = ""
		}
		if e.Mode.Kind != modes.Connected {
			m.reachKnow = false
		}
		if e.Err != nil {
			m.say(theme.WarningIcon(), "Now "+describeMode(e.Mode)+", with a problem: "+e.Err.Error())
		}
	case modes.Transitioning:
		m.moving, m.target = true, e.Target
		m.progText.SetText(capitalize(e.Message) + "…")
		m.msgRow.Hide()
	case modes.Progress:
		m.moving = true
		if e.Target != nil {
			m.target = e.Target
		}
		m.progText.SetText(capitalize(e.Message) + "…")
	case modes.TransitionFailed:
		m.moving, m.target = false, nil
		what := "the new mode"
		if e.Target != nil {
			what = modeTitle(e.Target.Kind)
		}
		m.say(theme.ErrorIcon(), "Could not switch to "+what+": "+firstNonEmpty(e.Message, errText(e.Err))+
			". Still "+modeTitle(e.Mode.Kind)+".")
		// The gateway did not answer and nothing was stopped: the user may
		// still want Connected (the gateway is coming up, say).
		if errors.Is(e.Err, modes.ErrGatewayUnreachable) && e.Target != nil && e.Target.ServerURL != nil {
			m.anyURL = *e.Target.ServerURL
			m.anyway.Show()
		}
	case modes.Degraded:
		m.degraded = firstNonEmpty(e.Message, "the service is restarting")
	case modes.Restored:
		m.degraded = ""
	case modes.FellBack:
		m.mode = e.Mode
		m.moving, m.target = false, nil
		m.say(theme.WarningIcon(), "Fell back to Standalone: "+e.Message)
		m.d.fellBack(e.Message)
	case modes.Reachable:
		m.setReach(true, e.Time, "")
	case modes.Unreachable:
		m.setReach(false, e.Time, firstNonEmpty(e.Message, errText(e.Err)))
	case modes.PersistFailed:
		m.say(theme.WarningIcon(), "The mode could not be remembered for the next launch: "+firstNonEmpty(errText(e.Err), e.Message))
	}
}

func (m *modeSwitcher) setReach(ok bool, at time.Time, msg string) {
	m.reachKnow, m.reachOK, m.reachAt, m.reachMsg = true, ok, at, msg
}

func (m *modeSwitcher) say(icon fyne.Resource, text string) {
	m.anyway.Hide()
	m.msgIcon.SetResource(icon)
	m.msgText.SetText(text)
	m.msgRow.Show()
}

// capitalize upper-cases the first letter of a message, which may be a
// sidecar's own words in any language (the seed's services print Korean).
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s // empty, or not UTF-8: leave the bytes as they are
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// describeMode is the mode in words for the header.
func describeMode(md modes.Mode) string {
	switch md.Kind {
	case modes.Standalone:
		return "Standalone — offline, no local service needed"
	case modes.Service:
		s := "Service"
		if md.ServiceName != nil {
			s += " — backed by " + *md.ServiceName
		}
		if md.ServiceURL != nil {
			s += " at " + *md.ServiceURL
		}
		return s
	case modes.Connected:
		if md.ServerURL != nil {
			return "Connected — gateway " + *md.ServerURL
		}
		return "Connected"
	}
	return "No mode yet"
}

// busy reports whether a mode change is under way.
func (m *modeSwitcher) busy() bool { return m.moving || m.ours > 0 }

// render shows the state. UI thread.
func (m *modeSwitcher) render() {
	for _, k := range modeOrder {
		b := m.buttons[k]
		imp := widget.MediumImportance
		if m.mode.Kind == k {
			imp = widget.HighImportance
		}
		if b.Importance != imp {
			b.Importance = imp
			b.Refresh()
		}
		enable(b, !m.busy() && m.mc != nil && !m.d.quitting())
	}
	desc := describeMode(m.mode)
	if m.degraded != "" {
		desc += " · degraded: " + m.degraded
	}
	m.desc.SetText(desc)

	showGW := m.mode.Kind == modes.Connected || m.wantGW
	if showGW {
		if m.mode.Kind == modes.Connected && m.mode.ServerURL != nil && !m.wantGW && m.gwEntry.Text == "" {
			m.gwEntry.SetText(*m.mode.ServerURL)
		}
		m.gwConnect.SetText("Connect")
		if m.mode.Kind == modes.Connected {
			m.gwConnect.SetText("Reconnect")
		}
		enable(m.gwConnect, !m.busy() && m.mc != nil)
		switch {
		case m.mode.Kind != modes.Connected:
			m.gwDot.FillColor = colorOf(theme.ColorNamePlaceHolder)
			m.gwText.SetText("not connected")
		case !m.reachKnow:
			m.gwDot.FillColor = colorOf(theme.ColorNamePlaceHolder)
			m.gwText.SetText("checking…")
		case m.reachOK:
			m.gwDot.FillColor = colorOf(theme.ColorNameSuccess)
			m.gwText.SetText("Reachable · checked " + m.reachAt.Format("15:04:05"))
		default:
			m.gwDot.FillColor = colorOf(theme.ColorNameWarning)
			m.gwText.SetText(unreachableText(m.reachAt, m.reachMsg))
		}
		m.gwDot.Refresh()
		m.gwRow.Show()
	} else {
		m.gwRow.Hide()
	}

	if m.busy() {
		if !m.progRow.Visible() {
			if m.progText.Text == "" {
				m.progText.SetText("Switching mode…")
			}
			m.bar = widget.NewProgressBarInfinite()
			m.progRow.Objects = []fyne.CanvasObject{m.bar, container.NewPadded(m.progText)}
			m.progRow.Show()
		}
	} else if m.progRow.Visible() {
		if m.bar != nil {
			m.bar.Stop()
			m.bar = nil
		}
		m.progRow.Objects = []fyne.CanvasObject{container.NewPadded(m.progText)}
		m.progRow.Hide()
		m.progText.SetText("")
	}
	m.root.Refresh()
}

// unreachableText says once that the gateway does not answer, and why:
// the controller's message already starts with "gateway … is unreachable".
func unreachableText(at time.Time, msg string) string {
	const said = "is unreachable"
	if i := strings.Index(msg, said); i >= 0 {
		msg = strings.TrimLeft(msg[i+len(said):], ": ")
	}
	s := "Not answering · checked " + at.Format("15:04:05")
	if msg != "" {
		s += ": " + msg
	}
	return s
}

// choose is a tap on a mode (the window's segments or the tray's submenu).
// UI thread.
func (m *modeSwitcher) choose(k modes.Kind) {
	if m.mc == nil || m.busy() || m.d.quitting() {
		return
	}
	switch k {
	case modes.Standalone:
		if m.mode.Kind == modes.Standalone {
			return
		}
		if m.anyRunning() {
			m.ask("Switch to Standalone?",
				"Standalone works offline without local services:\nevery running sidecar is stopped.",
				func() { m.track(m.mc.EnableStandalone()) })
			return
		}
		m.track(m.mc.EnableStandalone())
	case modes.Service:
		m.wantGW = false
		if m.mode.Kind == modes.Service && m.degraded == "" {
			return
		}
		m.track(m.mc.EnableService(m.d.settings().Service, nil))
	case modes.Connected:
		m.wantGW = true
		if m.gwEntry.Text == "" && m.mode.ServerURL != nil {
			m.gwEntry.SetText(*m.mode.ServerURL)
		}
		m.render()
		m.d.focus(m.gwEntry)
		return
	}
	m.render()
}

// connect switches to Connected with the URL in the entry.
func (m *modeSwitcher) connect() {
	if m.mc == nil || m.busy() {
		return
	}
	url := strings.TrimSpace(m.gwEntry.Text)
	if err := m.gwEntry.Validator(url); err != nil {
		m.gwEntry.SetValidationError(err)
		m.say(theme.ErrorIcon(), err.Error())
		return
	}
	m.token.commit() // a token typed with the URL goes with it
	if m.anyRunning() && m.mode.Kind != modes.Connected {
		m.ask("Connect to the gateway?",
			"In Connected mode the remote gateway is the backend:\nevery local sidecar is stopped.",
			func() {
				m.wantGW = false
				m.track(m.mc.EnableConnected(url))
			})
		return
	}
	m.wantGW = false
	m.track(m.mc.EnableConnected(url))
	m.render()
}

// ask puts a question before a switch and makes it (act) on yes, but only
// if the situation asked about still holds: while the question was open
// another switch (one from the control API, say) may have begun or ended,
// and the question's premise (which mode, which sidecars run) with it.
// Then the answer does nothing and says why. UI thread.
func (m *modeSwitcher) ask(title, message string, act func()) {
	asked := m.changes
	m.d.confirm(title, message, func(ok bool) {
		switch {
		case !ok || m.d.quitting():
			return
		case m.busy():
			to := ""
			if m.target != nil {
				to = " (to " + modeTitle(m.target.Kind) + ")"
			}
			m.say(theme.WarningIcon(), "Nothing was done: another mode change is under way"+to+". Choose again once it is over.")
		case m.changes != asked:
			m.say(theme.WarningIcon(), "Nothing was done: the mode changed while the question was open and is now "+
				modeTitle(m.mode.Kind)+". Choose again if you still want to switch.")
		default:
			act()
		}
		m.render()
	})
}

// connectAnyway switches to the gateway that did not answer. UI thread.
func (m *modeSwitcher) connectAnyway() {
	if m.mc == nil || m.busy() || m.anyURL == "" {
		return
	}
	url := m.anyURL
	m.anyURL = ""
	m.msgRow.Hide()
	m.wantGW = false
	m.track(m.mc.Connect(url, modes.ConnectOptions{Force: true}))
	m.render()
}

// track counts a transition we asked for until it is done, so the
// controls stay disabled even before its first event arrives.
func (m *modeSwitcher) track(t *modes.Transition) {
	if t == nil {
		return
	}
	m.ours++
	if m.progText.Text == "" {
		m.progText.SetText("Switching to " + modeTitle(t.Target().Kind) + "…")
	}
	go func() {
		for msg := range t.Progress() {
			msg := msg
			m.d.do(func() {
				m.progText.SetText(capitalize(msg) + "…")
			})
		}
		<-t.Done()
		err := t.Err()
		m.d.do(func() {
			m.ours--
			if err != nil && !m.msgRow.Visible() {
				m.say(theme.ErrorIcon(), "Could not switch to "+modeTitle(t.Target().Kind)+": "+err.Error())
			}
			m.render()
			// busy() changed: the tray's Mode item follows (the
			// ModeChanged event usually came first, while still busy).
			m.d.applied()
		})
	}()
}

func (m *modeSwitcher) anyRunning() bool { return m.d.anyRunning() }

// current is the mode shown (the tray's Mode submenu). UI thread.
func (m *modeSwitcher) current() modes.Kind { return m.mode.Kind }

// modeButtons are the segments (tests).
func (u *UI) modeButtons() []*widget.Button {
	if u.modeSw == nil {
		return nil
	}
	var out []*widget.Button
	for _, k := range modeOrder {
		out = append(out, u.modeSw.buttons[k])
	}
	return out
}
