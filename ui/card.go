package ui

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/supervisor"
)

// cardDeps is what a card needs from the rest of the app: commands,
// navigation, the clock and the UI thread; nothing else of the window.
type cardDeps struct {
	start, stop, restart   func(ctx context.Context, name string) error
	showLogs, showSettings func(name string)
	showError              func(title string, err error) // UI thread
	do                     func(func())                  // to the UI thread
	now                    func() time.Time
	// stderrTail is the last n stderr lines of a sidecar (crash details).
	stderrTail func(name string, n int) []string
	copy       func(text string) // to the clipboard
	// showChart shows body in a dialog titled title; closed runs (UI
	// thread) when the user closes it.
	showChart func(title string, body fyne.CanvasObject, closed func())
}

// crashTail is how many stderr lines the crash details show, and
// crashTailRunes how much of each: about two rows of a card, so that a
// long line (a traceback on one line, up to 8 KiB) cannot make the card
// screens high. Copy details copies them whole.
const (
	crashTail      = 5
	crashTailRunes = 160
)

// card shows one sidecar: a coloured accent and a state pill, its address,
// live numbers, the reason for its state, and what can be done with it.
type card struct {
	d      cardDeps
	name   string
	st     supervisor.Status
	busy   bool // a command of ours is in flight: buttons wait for its answer
	styled bool // restyle ran for the current state

	root     *fyne.Container
	bg       *canvas.Rectangle
	accent   *canvas.Rectangle
	dot      *canvas.Circle
	title    *canvas.Text
	pill     *pill
	link     *widget.Hyperlink
	pid      *widget.Label
	port     *widget.Label
	uptime   *widget.Label
	restarts *widget.Label
	cpu      *widget.Label
	mem      *widget.Label
	captions []*canvas.Text
	note     *widget.Label
	noteIcon *widget.Icon
	noteBox  *fyne.Container
	tail     *widget.Label // the last stderr lines after a crash
	cpuLine  *sparkline    // the last 10 minutes of CPU and memory
	memLine  *sparkline
	chart    *resourceChart // the larger view of both, while open
	copyDet  *widget.Button

	start, stop, restart, logs, settings *widget.Button
	buttons                              *fyne.Container
}

func newCard(d cardDeps, name string) *card {
	c := &card{d: d, name: name, st: supervisor.Status{Name: name, State: supervisor.Stopped}}
	c.bg = canvas.NewRectangle(colorOf(theme.ColorNameHeaderBackground))
	c.bg.CornerRadius = theme.Size(theme.SizeNameSelectionRadius) * 2
	c.bg.StrokeWidth = 1
	c.accent = canvas.NewRectangle(colorOf(theme.ColorNameDisabled))
	c.accent.CornerRadius = 2
	c.accent.SetMinSize(fyne.NewSize(4, 0))
	c.dot = canvas.NewCircle(colorOf(theme.ColorNameDisabled))
	c.title = canvas.NewText(name, colorOf(theme.ColorNameForeground))
	c.title.TextStyle = fyne.TextStyle{Bold: true}
	c.title.TextSize = theme.TextSubHeadingSize()
	c.pill = newPill()

	c.link = widget.NewHyperlink("", nil)
	c.pid = valueLabel()
	c.port = valueLabel()
	c.uptime = valueLabel()
	c.restarts = valueLabel()
	c.cpu = valueLabel()
	c.mem = valueLabel()
	c.note = widget.NewLabel("")
	c.note.Wrapping = fyne.TextWrapWord
	c.noteIcon = widget.NewIcon(theme.WarningIcon())
	c.tail = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	c.tail.Wrapping = fyne.TextWrapBreak
	c.tail.Hide()
	c.copyDet = widget.NewButtonWithIcon("Copy details", theme.ContentCopyIcon(), func() { c.d.copy(c.details()) })
	c.copyDet.Importance = widget.LowImportance
	c.copyDet.Hide()
	c.noteBox = container.NewBorder(nil, c.tail, container.NewCenter(c.noteIcon), c.copyDet, c.note)
	c.noteBox.Hide()

	c.start = widget.NewButtonWithIcon("Start", theme.MediaPlayIcon(), func() { c.do("start", d.start) })
	c.start.Importance = widget.HighImportance
	c.stop = widget.NewButtonWithIcon("Stop", theme.MediaStopIcon(), func() { c.do("stop", d.stop) })
	c.restart = widget.NewButtonWithIcon("Restart", theme.ViewRefreshIcon(), func() { c.do("restart", d.restart) })
	c.logs = widget.NewButtonWithIcon("Logs", theme.ListIcon(), func() { d.showLogs(name) })
	c.logs.Importance = widget.LowImportance
	c.settings = widget.NewButtonWithIcon("Settings", theme.SettingsIcon(), func() { d.showSettings(name) })
	c.settings.Importance = widget.LowImportance

	dotBox := container.New(&fixedSize{size: fyne.NewSize(12, 12)}, c.dot)
	head := container.NewBorder(nil, nil,
		container.NewHBox(container.NewCenter(dotBox), c.title),
		container.NewCenter(c.pill.root), nil)
	c.cpuLine, c.memLine = newSparkline(), newSparkline()
	c.cpuLine.smooth, c.cpuLine.least = cpuSmooth, cpuScale
	c.cpuLine.tap.onTap, c.memLine.tap.onTap = c.openChart, c.openChart
	stats := container.NewGridWithColumns(6,
		c.stat("PID", c.pid), c.stat("PORT", c.port), c.stat("UPTIME", c.uptime),
		c.stat("RESTARTS", c.restarts),
		c.stat("CPU", container.NewHBox(c.cpu, container.NewCenter(c.cpuLine.tap))),
		c.stat("MEMORY", container.NewHBox(c.mem, container.NewCenter(c.memLine.tap))))
	c.buttons = container.NewHBox(c.start, c.stop, c.restart, layout.NewSpacer(), c.logs, c.settings)
	body := container.NewVBox(head, container.NewHBox(c.link), stats, c.noteBox, c.buttons)
	inner := container.NewBorder(nil, nil, c.accent, nil, container.NewPadded(body))
	c.root = container.NewStack(c.bg, container.NewPadded(inner))
	c.apply(c.st)
	return c
}

func valueLabel() *widget.Label {
	return widget.NewLabel("—") // short values: no truncation to compute
}

// stat is a small caption over a value.
func (c *card) stat(caption string, value fyne.CanvasObject) fyne.CanvasObject {
	t := canvas.NewText(caption, colorOf(theme.ColorNamePlaceHolder))
	t.TextSize = theme.CaptionTextSize()
	t.TextStyle = fyne.TextStyle{Bold: true}
	c.captions = append(c.captions, t)
	in := theme.InnerPadding()
	return container.NewVBox(container.New(layout.NewCustomPaddedLayout(in/2, -in/2, in, 0), t), value)
}

// do runs one of our commands off the UI thread; the buttons wait for its
// answer and an error is shown in a dialog. The state itself arrives as
// events.
func (c *card) do(what string, fn func(context.Context, string) error) {
	c.busy = true
	c.setButtons()
	go func() {
		err := fn(context.Background(), c.name)
		c.d.do(func() {
			c.busy = false
			c.setButtons()
			if err != nil {
				c.d.showError(fmt.Sprintf("Could not %s %s", what, c.name), err)
			}
		})
	}()
}

// apply shows a new status. UI thread only.
func (c *card) apply(st supervisor.Status) {
	prev := c.st
	c.st = st
	if !c.styled || prev.State != st.State {
		c.restyle()
	}
	if st.URL != "" && st.URL != c.link.Text {
		c.link.SetText(st.URL)
		if u, err := url.Parse(st.URL); err == nil {
			c.link.SetURL(u)
		}
	}
	if st.PID > 0 {
		setLabel(c.pid, strconv.Itoa(st.PID))
	} else {
		setLabel(c.pid, "—")
	}
	if st.Port > 0 {
		setLabel(c.port, strconv.Itoa(st.Port))
	} else {
		setLabel(c.port, "—")
	}
	setLabel(c.restarts, strconv.Itoa(st.Restarts))
	if st.State.HasProcess() && st.PID > 0 && (st.CPUPercent > 0 || st.RSSBytes > 0) {
		cpu := st.CPUPercent
		if v, ok := c.cpuLine.recent(c.d.now()); ok {
			cpu = v
		}
		setLabel(c.cpu, humanPercent(cpu))
		setLabel(c.mem, humanBytes(st.RSSBytes))
	} else {
		setLabel(c.cpu, "—")
		setLabel(c.mem, "—")
	}
	c.tick(c.d.now())
	c.setCrash(prev)
	c.setButtons()
}

// crashed: the state follows a crash the user should be able to look into.
func (c *card) crashed() bool {
	st := c.st
	return st.LastExit != nil && st.LastError != "" &&
		(st.State == supervisor.Failed || st.State == supervisor.Backoff || st.State == supervisor.Exited)
}

// setCrash shows the exit and the last stderr lines after a crash, and
// offers to copy them. UI thread.
func (c *card) setCrash(prev supervisor.Status) {
	if !c.crashed() {
		if c.copyDet.Visible() {
			c.copyDet.Hide()
			c.tail.Hide()
		}
		return
	}
	if c.copyDet.Visible() && prev.LastExit == c.st.LastExit && prev.State == c.st.State {
		return // unchanged
	}
	lines := c.d.stderrTail(c.name, crashTail)
	for i, l := range lines {
		if r := []rune(l); len(r) > crashTailRunes {
			lines[i] = string(r[:crashTailRunes]) + " …"
		}
	}
	text := c.st.LastExit.String()
	if len(lines) > 0 {
		text += " · last stderr:\n" + strings.Join(lines, "\n")
	}
	setLabel(c.tail, text)
	c.tail.Show()
	c.copyDet.Show()
}

// details is what Copy details puts on the clipboard: enough for a bug
// report.
func (c *card) details() string {
	st := c.st
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", c.name, lookOf(st.State).Word)
	if st.LastExit != nil {
		fmt.Fprintf(&b, "exit: %s at %s\n", st.LastExit, st.LastExit.At.Format(time.RFC3339))
	}
	if st.LastError != "" {
		fmt.Fprintf(&b, "error: %s\n", st.LastError)
	}
	fmt.Fprintf(&b, "restarts: %d, attempt: %d\n", st.Restarts, st.Attempt)
	if st.Binary != "" {
		fmt.Fprintf(&b, "binary: %s\n", st.Binary)
	}
	if st.LogFile != "" {
		fmt.Fprintf(&b, "log: %s\n", st.LogFile)
	}
	if lines := c.d.stderrTail(c.name, 50); len(lines) > 0 {
		b.WriteString("last stderr lines:\n")
		for _, l := range lines {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String()
}

// restyle paints the state's colour (and the theme's). Only on a change:
// every refresh costs a repaint of the window.
func (c *card) restyle() {
	c.styled = true
	look := lookOf(c.st.State)
	col := colorOf(look.Color)
	c.accent.FillColor = col
	c.accent.Refresh()
	c.dot.FillColor = col
	c.dot.Refresh()
	c.bg.FillColor = colorOf(theme.ColorNameHeaderBackground)
	c.bg.StrokeColor = withAlpha(col, 70)
	c.bg.Refresh()
	c.title.Color = colorOf(theme.ColorNameForeground)
	c.title.Refresh()
	for _, t := range c.captions {
		t.Color = colorOf(theme.ColorNamePlaceHolder)
		t.Refresh()
	}
	c.pill.set(look)
	c.cpuLine.restyle()
	c.memLine.restyle()
	if c.chart != nil {
		c.chart.restyle()
	}
}

// What a card shows of a sidecar's CPU is its mean over cpuSmooth, on a
// line whose top is at least cpuScale % of a core. The watchdog measures
// each second in the kernel's 10 ms ticks, so a sidecar idling at 0.1 %
// reads 0 % or 1 % second by second: as sampled, the label flickered
// between "0%" and "<1%" and the line, scaled to its peak, jumped to full
// height at each liveness probe, and each of those repainted the window.
// The chart a tap opens shows the samples as taken.
const (
	cpuSmooth = 10 * time.Second
	cpuScale  = 5.0
)

// sample adds a metrics reading to the sparklines; a sidecar without a
// process has none. UI thread.
func (c *card) sample(at time.Time, st supervisor.Status) {
	if !st.State.HasProcess() || st.PID <= 0 {
		c.cpuLine.clear()
		c.memLine.clear()
	} else {
		c.cpuLine.add(at, st.CPUPercent)
		c.memLine.add(at, float64(st.RSSBytes))
	}
	if c.chart != nil {
		c.chart.refresh()
	}
}

// openChart shows the larger CPU and memory chart (a tap on a sparkline);
// it follows the samples until closed. UI thread.
func (c *card) openChart() {
	if c.chart != nil || c.d.showChart == nil {
		return
	}
	ch := newResourceChart(c.cpuLine, c.memLine)
	c.chart = ch
	c.d.showChart(c.name+" — CPU and memory", ch.root, func() {
		if c.chart == ch {
			c.chart = nil
		}
	})
}

// tick refreshes what depends on the clock: uptime and the restart
// countdown. UI thread only.
func (c *card) tick(now time.Time) {
	st := c.st
	if st.StartedAt != nil && st.State.HasProcess() {
		setLabel(c.uptime, humanDuration(now.Sub(*st.StartedAt)))
	} else {
		setLabel(c.uptime, "—")
	}
	c.setNote(now)
}

// setNote shows why the sidecar is where it is: the restart countdown in
// Backoff, the error when it failed, the supervisor's reason otherwise
// ("port 8001 busy, using 8011").
func (c *card) setNote(now time.Time) {
	st := c.st
	text, icon := "", theme.InfoIcon()
	switch st.State {
	case supervisor.Backoff:
		// One sentence: when, which attempt, and what happened. The
		// supervisor's Reason repeats the policy's own "restarting in …",
		// so the cause comes from LastError.
		icon = theme.ViewRefreshIcon()
		text = "Restarting"
		if st.NextRestartAt != nil {
			text += " " + countdown(*st.NextRestartAt, now)
		}
		if st.Attempt > 0 {
			text += fmt.Sprintf(" (attempt %d)", st.Attempt)
		}
		if cause := firstNonEmpty(st.LastError, st.Reason); cause != "" {
			text += " — " + cause
		}
	case supervisor.Failed:
		icon = theme.ErrorIcon()
		text = st.LastError
		if text == "" {
			text = st.Reason
		}
		if !strings.Contains(text, "Start") {
			text += " — Start tries again from scratch."
		}
	case supervisor.Unhealthy, supervisor.Exited:
		icon = theme.WarningIcon()
		text = firstNonEmpty(st.Reason, st.LastError)
		if st.State == supervisor.Exited && st.LastExit != nil {
			text = joinNonEmpty(" — ", st.LastExit.String(), text)
		}
	case supervisor.Stopped:
		if st.Reason != "" && st.Reason != stoppedByUser {
			text = st.Reason
		}
	default:
		text = st.Reason
		if st.Reason == "" && st.LastError != "" {
			icon = theme.WarningIcon()
			text = "Last error: " + st.LastError
		}
		if text != "" && icon == theme.InfoIcon() {
			icon = theme.WarningIcon()
		}
	}
	if text == "" {
		if c.noteBox.Visible() {
			c.noteBox.Hide()
		}
		return
	}
	setLabel(c.note, text)
	if c.noteIcon.Resource != icon {
		c.noteIcon.SetResource(icon)
	}
	if !c.noteBox.Visible() {
		c.noteBox.Show()
	}
}

func (c *card) setButtons() {
	start, stop, restart := buttonsFor(c.st.State)
	if l := startLabel(c.st.State); l != c.start.Text {
		c.start.SetText(l)
		c.buttons.Refresh() // the button's width changed: lay the row out again
	}
	enable(c.start, start && !c.busy)
	enable(c.stop, stop && !c.busy)
	enable(c.restart, restart && !c.busy)
}

func enable(b *widget.Button, on bool) {
	switch {
	case on && b.Disabled():
		b.Enable()
	case !on && !b.Disabled():
		b.Disable()
	}
}

// setLabel changes a label's text only when it differs: SetText always
// refreshes, and each refresh repaints the window.
func setLabel(l *widget.Label, s string) {
	if l.Text != s {
		l.SetText(s)
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func joinNonEmpty(sep string, s ...string) string {
	out := ""
	for _, v := range s {
		if v == "" {
			continue
		}
		if out != "" {
			out += sep
		}
		out += v
	}
	return out
}

// pill is a rounded, tinted badge holding a state word.
type pill struct {
	root *fyne.Container
	bg   *canvas.Rectangle
	text *canvas.Text
}

func newPill() *pill {
	p := &pill{bg: canvas.NewRectangle(colorOf(theme.ColorNameDisabled))}
	p.text = canvas.NewText("", colorOf(theme.ColorNameForeground))
	p.text.TextStyle = fyne.TextStyle{Bold: true}
	p.text.TextSize = theme.CaptionTextSize() + 1
	p.bg.CornerRadius = 11
	p.root = container.NewStack(p.bg, container.New(&pillPad{}, p.text))
	return p
}

func (p *pill) set(l stateLook) {
	col := colorOf(l.Color)
	p.bg.FillColor = withAlpha(col, 48)
	p.bg.StrokeColor = withAlpha(col, 140)
	p.bg.StrokeWidth = 1
	p.bg.Refresh()
	p.text.Text = l.Word
	p.text.Color = col
	p.text.Refresh()
}

// pillPad centres its single object with generous horizontal padding, at
// least as wide as the longest state word so that pills line up and never
// need the row laid out again when the word changes.
type pillPad struct{}

func (pillPad) MinSize(objs []fyne.CanvasObject) fyne.Size {
	m := objs[0].MinSize()
	w := m.Width
	if t, ok := objs[0].(*canvas.Text); ok {
		longest := fyne.MeasureText("Restarting", t.TextSize, t.TextStyle)
		w = max(w, longest.Width)
	}
	return fyne.NewSize(w+24, m.Height+8)
}

func (pillPad) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	m := objs[0].MinSize()
	objs[0].Resize(m)
	objs[0].Move(fyne.NewPos((size.Width-m.Width)/2, (size.Height-m.Height)/2))
}

// fixedSize lays its objects out at one fixed size.
type fixedSize struct{ size fyne.Size }

func (f *fixedSize) MinSize([]fyne.CanvasObject) fyne.Size { return f.size }

func (f *fixedSize) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(f.size)
		o.Move(fyne.NewPos((size.Width-f.size.Width)/2, (size.Height-f.size.Height)/2))
	}
}

// minWidthLayout gives its single object at least a width.
type minWidthLayout struct{ w float32 }

func (m minWidthLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	ms := objs[0].MinSize()
	return fyne.NewSize(max(ms.Width, m.w), ms.Height)
}

func (m minWidthLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	objs[0].Resize(size)
	objs[0].Move(fyne.NewPos(0, 0))
}

// minWidth keeps o at least w wide (a Select would otherwise shrink to
// "xgen-…").
func minWidth(w float32, o fyne.CanvasObject) fyne.CanvasObject {
	return container.New(minWidthLayout{w: w}, o)
}

// opaqueBar puts o on the window's background colour, so a scrolled
// area never shows through a bar laid over its edge.
func opaqueBar(o fyne.CanvasObject) fyne.CanvasObject {
	bg := canvas.NewRectangle(colorOf(theme.ColorNameBackground))
	return container.NewStack(bg, o)
}
