package ui

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/logs"
	"outrigger/core/supervisor"
)

// Log viewer tuning.
const (
	// maxViewLines is how many lines the viewer keeps per sidecar (more than
	// the supervisor's ring may hold: the viewer keeps what it has seen).
	maxViewLines = 100_000
	// logFrame is the shortest time between two batches appended to the
	// list: at most 10 a second, whatever the sidecar writes.
	logFrame = 100 * time.Millisecond
	// maxShownRunes cuts what a row draws of a very long line (copy keeps
	// the whole line).
	maxShownRunes = 400
)

// Synthetic lines: gapStream tells that lines were skipped, markStream is
// Outrigger's own note in a sidecar's log (crashed, restarting, gave up).
const (
	gapStream  logs.Stream = 255
	markStream logs.Stream = 254
)

// logsPanel is the Logs tab: a sidecar picker, a filter, the list of
// lines (stdout and stderr told apart), follow, copy, open log folder.
type logsPanel struct {
	d    logsDeps
	root fyne.CanvasObject

	picker  *widget.Select
	streams *widget.Select
	filter  *widget.Entry
	follow  *widget.Check
	copySel *widget.Button
	copyAll *widget.Button
	clear   *widget.Button
	folder  *widget.Button
	status  *widget.Label
	path    *widget.Label // the sidecar's log file, whole and selectable
	pathRow *fyne.Container
	detail  *widget.Label // the selected line in full
	list    *widget.List

	detailBox *fyne.Container // detail, scrolled past detailRows

	views  map[string]*logView
	cur    *logView
	active bool

	selected int  // selected row, -1 when none
	userOff  bool // the user turned follow off with the check
	autoOff  float32
	rowH     float32
	setting  bool // we are changing the follow check ourselves

	// pace is the wait between two batches (tests hand out the ticks).
	pace func() <-chan time.Time
}

// logView is one sidecar's lines as the viewer holds them.
type logView struct {
	p    *logsPanel
	name string
	ring *logs.Ring

	// Shared between the follower goroutine and the UI thread.
	mu       sync.Mutex
	incoming []logs.Line
	stop     chan struct{} // non-nil while a follower runs (UI thread owns it)

	seen  uint64        // the ring's last line taken; under mu
	ended chan struct{} // closed when the current follower returned
	tail  *fileTail     // Outrigger's own log: fills ring from the file while followed

	// UI thread only.
	lines    []logs.Line // the kept lines, oldest first
	base     int         // absolute number of lines[0]
	shown    []int       // absolute numbers of the lines passing the filter; nil = all
	query    string
	stream   int // -1 all, else logs.Stream
	appended int // lines appended so far (tests, benchmarks)
	flushes  int // batches applied so far (tests)
}

// logsDeps is what the Logs tab needs of the app.
type logsDeps struct {
	names      []string                     // the sidecars, in configuration order
	logDir     string                       // where Outrigger's own log is; "": not offered
	ring       func(name string) *logs.Ring // a sidecar's lines; nil: none
	logFile    func(name string) string     // a sidecar's log file; "": none
	openFolder func()
	copy       func(text string) // to the clipboard
	do         func(func())      // to the UI thread
	done       <-chan struct{}   // closed when the UI stops listening: followers end
	applied    func()            // UI thread, after each batch (tests)
}

func newLogsPanel(d logsDeps) *logsPanel {
	p := &logsPanel{d: d, views: map[string]*logView{}, selected: -1,
		pace: func() <-chan time.Time { return time.After(logFrame) }}
	choices := append([]string(nil), d.names...)
	if d.logDir != "" {
		choices = append(choices, ownLogName)
	}
	p.picker = widget.NewSelect(choices, func(name string) { p.show(name) })
	p.picker.PlaceHolder = "Sidecar"
	p.streams = widget.NewSelect([]string{"All output", "stdout", "stderr"}, func(string) { p.refilter() })
	p.streams.SetSelectedIndex(0)
	p.filter = widget.NewEntry()
	p.filter.SetPlaceHolder("Filter lines…")
	p.filter.ActionItem = widget.NewIcon(theme.SearchIcon())
	p.filter.OnChanged = func(string) { p.refilter() }
	p.follow = widget.NewCheck("Follow", func(on bool) {
		if p.setting {
			return
		}
		p.userOff = !on
		if on && p.list != nil {
			p.scrollToEnd()
		}
	})
	p.follow.SetChecked(true)
	p.copySel = widget.NewButtonWithIcon("Copy line", theme.ContentCopyIcon(), p.copySelected)
	p.copySel.Disable()
	p.copyAll = widget.NewButtonWithIcon("Copy all", theme.ContentCopyIcon(), p.copyShown)
	p.clear = widget.NewButtonWithIcon("Clear", theme.ContentClearIcon(), p.clearView)
	p.folder = widget.NewButtonWithIcon("Log folder", theme.FolderOpenIcon(), d.openFolder)
	for _, b := range []*widget.Button{p.copySel, p.copyAll, p.clear, p.folder} {
		b.Importance = widget.LowImportance
	}
	p.status = widget.NewLabel("")
	p.status.Truncation = fyne.TextTruncateEllipsis
	// The log file's path on a row of its own, wrapped rather than cut,
	// and selectable to copy it.
	p.path = widget.NewLabel("")
	p.path.Wrapping = fyne.TextWrapBreak
	p.path.Selectable = true
	fullLog := widget.NewLabel("Full log:")
	fullLog.Importance = widget.LowImportance
	p.pathRow = container.NewBorder(nil, nil, fullLog, nil, p.path)
	p.pathRow.Hide()

	p.rowH = rowHeight()
	p.list = widget.NewList(p.length, func() fyne.CanvasObject { return newLogRow() }, p.update)
	p.list.HideSeparators = true
	// The selected line in full, wrapped: a row shows one line, cut at
	// the edge.
	p.detail = widget.NewLabel("")
	p.detail.Wrapping = fyne.TextWrapBreak
	p.detail.Selectable = true
	p.detail.TextStyle = fyne.TextStyle{Monospace: true}
	// At most detailRows high, scrolled beyond: a long line (a traceback
	// on one line) would otherwise take the tab and leave the list a row.
	p.detailBox = container.New(&capHeight{of: p.detail, rows: detailRows}, container.NewVScroll(p.detail))
	p.detailBox.Hide()
	p.list.OnSelected = func(id widget.ListItemID) {
		p.selected = id
		p.copySel.Enable()
		p.showDetail()
	}
	p.list.OnUnselected = func(widget.ListItemID) {
		p.selected = -1
		p.copySel.Disable()
		p.showDetail()
	}

	bg := canvas.NewRectangle(colorOf(theme.ColorNameInputBackground))
	bg.CornerRadius = theme.InputRadiusSize()
	listArea := container.NewStack(bg, container.NewPadded(p.list))
	bar := container.NewBorder(nil, nil,
		container.NewHBox(minWidth(180, p.picker), minWidth(120, p.streams)),
		p.follow,
		p.filter)
	foot := container.NewVBox(p.detailBox, container.NewBorder(nil, nil, nil,
		container.NewHBox(p.copySel, p.copyAll, p.clear, p.folder),
		p.status), p.pathRow)
	p.root = container.NewPadded(container.NewBorder(bar, foot, nil, nil, listArea))
	if len(d.names) > 0 {
		p.picker.SetSelected(d.names[0])
	}
	return p
}

// rowHeight is the height of one log row: one line of monospace caption text.
func rowHeight() float32 {
	return fyne.MeasureText("Mg", logTextSize(), fyne.TextStyle{Monospace: true}).Height + 2
}

func logTextSize() float32 { return theme.TextSize() - 1 }

func (p *logsPanel) view(name string) *logView {
	v := p.views[name]
	if v == nil {
		v = &logView{p: p, name: name, stream: -1}
		switch {
		case name == ownLogName:
			v.ring = logs.NewRing(5000)
			v.tail = &fileTail{path: filepath.Join(p.d.logDir, ownLogFile), ring: v.ring}
		default:
			v.ring = p.d.ring(name)
		}
		p.views[name] = v
	}
	return v
}

// mark puts a notable event (a crash, a restart, a give-up) into the
// sidecar's log as a line of Outrigger's own. UI thread.
func (p *logsPanel) mark(e supervisor.Event) {
	if text := markText(e); text != "" {
		p.view(e.Sidecar).marker(e.Time, text)
	}
}

// markText is the marker line of an event, or "" for none.
func markText(e supervisor.Event) string {
	switch e.Kind {
	case supervisor.EventRestarting:
		s := "Outrigger: " + firstNonEmpty(e.Status.LastError, "exited") + "; restarting"
		if e.Delay >= time.Second {
			s += " in " + e.Delay.Round(time.Second).String()
		}
		if e.Attempt > 0 {
			s += fmt.Sprintf(" (attempt %d)", e.Attempt)
		}
		return s
	case supervisor.EventGaveUp:
		return "Outrigger: gave up restarting it — " + firstNonEmpty(e.Reason, e.Status.LastError)
	case supervisor.EventUnhealthy:
		return "Outrigger: not answering its health check — " + e.Reason
	case supervisor.EventRecovered:
		return "Outrigger: ready again"
	}
	return ""
}

// showDetail shows the selected line in full below the list. UI thread.
func (p *logsPanel) showDetail() {
	var l logs.Line
	ok := p.cur != nil && p.selected >= 0
	if ok {
		l, ok = p.cur.at(p.selected)
	}
	if !ok {
		if p.detailBox.Visible() {
			p.detailBox.Hide()
		}
		return
	}
	if w := p.list.Size().Width; p.detail.Size().Width < w {
		// Wrap at about the width the box will give it: a scroll never
		// laid out leaves its content at its minimum, a few pixels, and
		// wrapping a long line at that width would take the UI thread
		// for seconds.
		p.detail.Resize(fyne.NewSize(w, p.detail.Size().Height))
	}
	p.detail.SetText(l.Text)
	p.detailBox.Show()
}

// detailRows is the most text rows the selected line's detail takes.
const detailRows = 5

// capHeight lays its one object (a scroll over of) out as high as of
// needs, up to rows text rows.
type capHeight struct {
	of   *widget.Label
	rows int
}

func (c *capHeight) MinSize(objs []fyne.CanvasObject) fyne.Size {
	most := float32(c.rows)*fyne.MeasureText("M", theme.TextSize(), c.of.TextStyle).Height + 2*theme.InnerPadding()
	return fyne.NewSize(objs[0].MinSize().Width, min(c.of.MinSize().Height, most))
}

func (c *capHeight) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	objs[0].Move(fyne.NewPos(0, 0))
	objs[0].Resize(size)
}

// selectSidecar shows name's lines. UI thread.
func (p *logsPanel) selectSidecar(name string) {
	if p.picker.Selected != name {
		p.picker.SetSelected(name) // calls show
	}
}

func (p *logsPanel) show(name string) {
	if p.cur != nil && p.cur.name == name {
		return
	}
	if p.cur != nil {
		p.cur.stopFollowing()
	}
	p.cur = p.view(name)
	p.cur.setFilter(p.query(), p.streamFilter())
	p.list.UnselectAll()
	p.list.Refresh()
	p.scrollToEnd()
	if p.active {
		p.cur.startFollowing()
	}
	p.updateStatus()
}

// setActive starts following the shown sidecar's ring while the Logs tab
// is visible, and stops when it is not: a hidden viewer costs nothing.
func (p *logsPanel) setActive(on bool) {
	if on == p.active {
		return
	}
	p.active = on
	if p.cur == nil {
		return
	}
	if on {
		p.cur.startFollowing()
	} else {
		p.cur.stopFollowing()
	}
}

func (p *logsPanel) query() string { return strings.TrimSpace(p.filter.Text) }

func (p *logsPanel) streamFilter() int {
	switch p.streams.SelectedIndex() {
	case 1:
		return int(logs.Stdout)
	case 2:
		return int(logs.Stderr)
	}
	return -1
}

func (p *logsPanel) refilter() {
	if p.cur == nil || p.list == nil {
		return
	}
	p.cur.setFilter(p.query(), p.streamFilter())
	p.list.UnselectAll()
	p.list.Refresh()
	if p.following() {
		p.scrollToEnd()
	}
	p.updateStatus()
}

func (p *logsPanel) length() int {
	if p.cur == nil {
		return 0
	}
	return p.cur.count()
}

func (p *logsPanel) update(id widget.ListItemID, o fyne.CanvasObject) {
	if p.cur == nil {
		return
	}
	l, ok := p.cur.at(id)
	if !ok {
		return
	}
	row := o.(*logRow)
	row.prefix = p.cur.name
	row.set(l)
}

func (p *logsPanel) following() bool { return p.follow.Checked }

// maxOffset is the scroll offset that shows the last row.
func (p *logsPanel) maxOffset() float32 {
	n := float32(p.length())
	if n == 0 {
		return 0
	}
	pad := p.list.Theme().Size(theme.SizeNamePadding)
	content := n*(p.rowH+pad) - pad
	return max(0, content-p.list.Size().Height)
}

func (p *logsPanel) scrollToEnd() {
	p.list.ScrollToBottom()
	p.autoOff = p.list.GetScrollOffset()
}

func (p *logsPanel) setFollow(on bool) {
	if p.follow.Checked == on {
		return
	}
	p.setting = true
	p.follow.SetChecked(on)
	p.setting = false
}

// beforeAppend decides, from where the user left the scroll position,
// whether the tail is followed: scrolling up stops following, scrolling
// back to the end resumes it (unless the user unticked Follow).
func (p *logsPanel) beforeAppend() {
	off := p.list.GetScrollOffset()
	atEnd := off >= p.maxOffset()-p.rowH/2
	switch {
	case p.following() && off < p.autoOff-1 && !atEnd:
		p.setFollow(false)
	case !p.following() && !p.userOff && atEnd:
		p.setFollow(true)
	}
}

func (p *logsPanel) updateStatus() {
	v := p.cur
	if v == nil {
		p.status.SetText("")
		return
	}
	total := len(v.lines)
	var s string
	switch {
	case v.shown != nil:
		s = fmt.Sprintf("%s of %s lines match", thousands(len(v.shown)), thousands(total))
	default:
		s = thousands(total) + " lines"
	}
	if v.ring != nil {
		s += " · " + v.name
	}
	if total >= maxViewLines {
		s += fmt.Sprintf(" · the oldest lines are dropped past %s", thousands(maxViewLines))
	}
	p.status.SetText(s)
	f := p.d.logFile(v.name)
	if v.tail != nil {
		f = v.tail.path
	}
	switch {
	case f == "":
		p.pathRow.Hide()
	case f != p.path.Text || !p.pathRow.Visible():
		p.path.SetText(f)
		p.pathRow.Show()
	}
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

func (p *logsPanel) copySelected() {
	if p.cur == nil || p.selected < 0 {
		return
	}
	if l, ok := p.cur.at(p.selected); ok {
		p.d.copy(l.Text)
	}
}

// copyShown copies every line that passes the filter, as
// "15:04:05.000 err text".
func (p *logsPanel) copyShown() {
	if p.cur == nil {
		return
	}
	var b strings.Builder
	n := p.cur.count()
	for i := 0; i < n; i++ {
		l, _ := p.cur.at(i)
		b.WriteString(formatLine(l))
		b.WriteByte('\n')
	}
	p.d.copy(b.String())
}

func formatLine(l logs.Line) string {
	return l.Time.Format("15:04:05.000") + " " + streamTag(l.Stream) + " " + l.Text
}

func streamTag(s logs.Stream) string {
	switch s {
	case logs.Stderr:
		return "err"
	case gapStream:
		return "···"
	case markStream:
		return "app"
	}
	return "out"
}

func (p *logsPanel) clearView() {
	if p.cur == nil {
		return
	}
	p.cur.clear()
	p.list.UnselectAll()
	p.list.Refresh()
	p.updateStatus()
}

// startFollowing starts the goroutine that reads the ring. UI thread.
func (v *logView) startFollowing() {
	if v.ring == nil || v.stop != nil {
		return
	}
	stop, ended := make(chan struct{}), make(chan struct{})
	v.stop, v.ended = stop, ended
	if v.tail != nil {
		go v.tail.run(stop, v.p.d.done)
	}
	go func() {
		defer close(ended)
		v.follow(stop)
	}()
}

// stopFollowing ends it; lines it already took stay pending and are
// applied. UI thread.
func (v *logView) stopFollowing() {
	if v.stop != nil {
		close(v.stop)
		v.stop = nil
	}
}

// follow moves new ring lines to incoming, one batch per logFrame at most
// (the one batcher between log lines and the screen): the ring wakes it
// (Notify), and it waits for the next pace between batches, so a sidecar
// writing 10 000 lines a second costs ten small copies a second.
func (v *logView) follow(stop chan struct{}) {
	done := v.p.d.done
	for {
		ch := v.ring.Notify()
		if v.take() {
			v.p.d.do(v.flush)
		}
		select {
		case <-ch:
		case <-stop:
			return
		case <-done:
			return
		}
		select {
		case <-v.p.pace():
		case <-stop:
			return
		case <-done:
			return
		}
	}
}

// take moves what the ring has past seen to incoming; it reports whether
// there was anything. Any goroutine.
func (v *logView) take() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	seen := v.seen
	lines, dropped := v.ring.Since(seen)
	if len(lines) == 0 {
		return false
	}
	first := lines[0].Seq
	if dropped && seen > 0 {
		v.incoming = append(v.incoming, logs.Line{Seq: 0, Time: lines[0].Time, Stream: gapStream,
			Text: fmt.Sprintf("%d lines were not kept by the ring while the viewer was away; the log file has them", first-seen-1)})
	}
	v.incoming = append(v.incoming, lines...)
	if over := len(v.incoming) - maxViewLines; over > 0 {
		v.incoming = append(v.incoming[:0:0], v.incoming[over:]...)
	}
	v.seen = lines[len(lines)-1].Seq
	return true
}

// marker adds a line of Outrigger's own after everything the sidecar wrote
// so far: a crash, a restart, a give-up. UI thread.
func (v *logView) marker(at time.Time, text string) {
	if v.ring != nil {
		v.take()
	}
	v.mu.Lock()
	v.incoming = append(v.incoming, logs.Line{Time: at, Stream: markStream, Text: text})
	v.mu.Unlock()
	v.flush()
}

// flush appends the incoming lines to the list. UI thread.
func (v *logView) flush() {
	v.mu.Lock()
	in := v.incoming
	v.incoming = nil
	v.mu.Unlock()
	if len(in) == 0 {
		return
	}
	v.flushes++
	p := v.p
	isCur := p.cur == v
	if isCur {
		p.beforeAppend()
	}
	gone := v.append(in)
	if isCur {
		p.list.Refresh()
		if gone > 0 {
			p.rowsDropped(gone)
		}
		if p.following() {
			p.scrollToEnd()
		}
		p.updateStatus()
	}
	p.d.applied()
}

// rowsDropped keeps the selection and, while not following, the reading
// place on their lines after the first gone rows were dropped: the rows
// after them moved up by as many. UI thread.
func (p *logsPanel) rowsDropped(gone int) {
	off := p.list.GetScrollOffset()
	if !p.following() {
		pad := p.list.Theme().Size(theme.SizeNamePadding)
		off = max(0, off-float32(gone)*(p.rowH+pad))
	}
	switch id := p.selected - gone; {
	case p.selected < 0:
	case id < 0:
		p.list.UnselectAll() // the selected line itself was dropped
	default:
		p.list.Select(id) // scrolls to it when out of view: the offset is set below
	}
	p.list.ScrollToOffset(off)
}

// append adds lines, keeping at most maxViewLines; it returns how many of
// the first rows shown (lines passing the filter) were dropped. UI
// thread.
func (v *logView) append(in []logs.Line) (gone int) {
	start := v.base + len(v.lines)
	v.lines = append(v.lines, in...)
	v.appended += len(in)
	if v.shown != nil {
		for i, l := range in {
			if v.match(l) {
				v.shown = append(v.shown, start+i)
			}
		}
	}
	// Drop the oldest in chunks, so that appends stay cheap: at most
	// maxViewLines plus a tenth are ever held.
	if len(v.lines) > maxViewLines+maxViewLines/10 {
		return v.trim(len(v.lines) - maxViewLines)
	}
	return 0
}

// trim drops the n oldest lines; it returns how many rows shown were
// dropped with them.
func (v *logView) trim(n int) (gone int) {
	kept := make([]logs.Line, len(v.lines)-n, maxViewLines+maxViewLines/10+1)
	copy(kept, v.lines[n:])
	v.lines = kept
	v.base += n
	if v.shown != nil {
		i := 0
		for i < len(v.shown) && v.shown[i] < v.base {
			i++
		}
		v.shown = append(v.shown[:0:0], v.shown[i:]...)
		return i
	}
	return n
}

func (v *logView) clear() {
	v.base += len(v.lines)
	v.lines = nil
	if v.shown != nil {
		v.shown = v.shown[:0]
	}
}

func (v *logView) count() int {
	if v.shown != nil {
		return len(v.shown)
	}
	return len(v.lines)
}

// at returns the id-th shown line.
func (v *logView) at(id int) (logs.Line, bool) {
	if id < 0 {
		return logs.Line{}, false
	}
	if v.shown != nil {
		if id >= len(v.shown) {
			return logs.Line{}, false
		}
		id = v.shown[id] - v.base
	}
	if id >= len(v.lines) {
		return logs.Line{}, false
	}
	return v.lines[id], true
}

func (v *logView) setFilter(q string, stream int) {
	q = strings.ToLower(q)
	if q == v.query && stream == v.stream && (v.shown != nil) == (q != "" || stream >= 0) {
		return
	}
	v.query, v.stream = q, stream
	if q == "" && stream < 0 {
		v.shown = nil
		return
	}
	shown := make([]int, 0, 1024)
	for i, l := range v.lines {
		if v.match(l) {
			shown = append(shown, v.base+i)
		}
	}
	v.shown = shown
}

func (v *logView) match(l logs.Line) bool {
	if v.stream >= 0 && int(l.Stream) != v.stream && l.Stream != gapStream {
		return false
	}
	return v.query == "" || containsFold(l.Text, v.query)
}

// containsFold reports whether s contains the lower-case q, ignoring case,
// without allocating for ASCII text.
func containsFold(s, q string) bool {
	if len(q) > len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Contains(strings.ToLower(s), q)
		}
	}
	n := len(q)
outer:
	for i := 0; i+n <= len(s); i++ {
		for j := 0; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != q[j] {
				continue outer
			}
		}
		return true
	}
	return false
}

// logRow draws one line: time, stream tag, text. Plain canvas texts in a
// fixed layout keep a row cheap enough for fast scrolling.
type logRow struct {
	widget.BaseWidget
	time, tag, text *canvas.Text
	mark            *canvas.Rectangle
	timeW, tagW     float32
	prefix          string // the sidecar's name, dropped from the front of its lines
}

func newLogRow() *logRow {
	r := &logRow{}
	size := logTextSize()
	mono := fyne.TextStyle{Monospace: true}
	r.time = canvas.NewText("00:00:00.000", colorOf(theme.ColorNamePlaceHolder))
	r.tag = canvas.NewText("out", colorOf(theme.ColorNamePlaceHolder))
	r.text = canvas.NewText("", colorOf(theme.ColorNameForeground))
	for _, t := range []*canvas.Text{r.time, r.tag, r.text} {
		t.TextSize = size
		t.TextStyle = mono
	}
	r.mark = canvas.NewRectangle(colorOf(theme.ColorNameWarning))
	r.mark.Hide()
	r.timeW = fyne.MeasureText("00:00:00.000", size, mono).Width
	r.tagW = fyne.MeasureText("err", size, mono).Width
	r.ExtendBaseWidget(r)
	return r
}

func (r *logRow) set(l logs.Line) {
	r.time.Text = l.Time.Format("15:04:05.000")
	r.time.Color = colorOf(theme.ColorNamePlaceHolder)
	text := l.Text
	if r.prefix != "" {
		text = displayText(r.prefix, text)
	}
	if utf8.RuneCountInString(text) > maxShownRunes {
		text = string([]rune(text)[:maxShownRunes]) + " …"
	}
	r.text.Text = text
	r.text.TextStyle = fyne.TextStyle{Monospace: true}
	switch l.Stream {
	case logs.Stderr:
		r.tag.Text = "err"
		r.tag.Color = colorOf(theme.ColorNameWarning)
		r.text.Color = colorOf(theme.ColorNameForeground)
		r.mark.FillColor = colorOf(theme.ColorNameWarning)
		r.mark.Show()
	case gapStream:
		r.tag.Text = "···"
		r.tag.Color = colorOf(theme.ColorNamePlaceHolder)
		r.text.Color = colorOf(theme.ColorNamePlaceHolder)
		r.text.TextStyle = fyne.TextStyle{Monospace: true, Italic: true}
		r.mark.Hide()
	case markStream:
		r.tag.Text = "app"
		r.tag.Color = colorOf(theme.ColorNamePrimary)
		r.text.Color = colorOf(theme.ColorNamePrimary)
		r.text.TextStyle = fyne.TextStyle{Monospace: true, Bold: true}
		r.mark.FillColor = colorOf(theme.ColorNamePrimary)
		r.mark.Show()
	default:
		r.tag.Text = "out"
		r.tag.Color = colorOf(theme.ColorNamePlaceHolder)
		r.text.Color = colorOf(theme.ColorNameForeground)
		r.mark.Hide()
	}
	r.time.Refresh()
	r.tag.Refresh()
	r.text.Refresh()
	r.mark.Refresh()
}

func (r *logRow) height() float32 { return rowHeight() }

func (r *logRow) CreateRenderer() fyne.WidgetRenderer {
	return &logRowRenderer{r: r, objs: []fyne.CanvasObject{r.mark, r.time, r.tag, r.text}}
}

type logRowRenderer struct {
	r    *logRow
	objs []fyne.CanvasObject
}

func (rr *logRowRenderer) Layout(s fyne.Size) {
	r := rr.r
	pad := theme.InnerPadding() / 2
	tw, gw := r.timeW, r.tagW
	h := s.Height
	r.mark.Move(fyne.NewPos(0, 1))
	r.mark.Resize(fyne.NewSize(3, h-2))
	x := pad + 3
	r.time.Move(fyne.NewPos(x, 0))
	r.time.Resize(fyne.NewSize(tw, h))
	x += tw + pad*2
	r.tag.Move(fyne.NewPos(x, 0))
	r.tag.Resize(fyne.NewSize(gw, h))
	x += gw + pad*2
	r.text.Move(fyne.NewPos(x, 0))
	r.text.Resize(fyne.NewSize(max(0, s.Width-x), h))
}

func (rr *logRowRenderer) MinSize() fyne.Size { return fyne.NewSize(200, rr.r.height()) }
func (rr *logRowRenderer) Refresh()           { rr.Layout(rr.r.Size()) }
func (rr *logRowRenderer) Objects() []fyne.CanvasObject {
	return rr.objs
}
func (rr *logRowRenderer) Destroy() {}

// displayText is a sidecar's line as a row shows it: without a leading
// "name: " and a leading timestamp, which the time column already says
// ("xgen-embedding: 2026/01/02 15:04:05.000000 model loaded" → "model
// loaded"). Copy keeps the whole line.
func displayText(name, text string) string {
	rest := strings.TrimPrefix(text, name+": ")
	rest = strings.TrimPrefix(rest, "["+name+"] ")
	if strings.HasPrefix(rest, "time=") { // slog's text handler, logfmt
		if n := leadingTimestamp(rest[len("time="):]); n > 0 {
			rest = strings.TrimLeft(rest[len("time=")+n:], " ")
		}
	}
	if n := leadingTimestamp(rest); n > 0 {
		rest = strings.TrimLeft(rest[n:], " ")
	}
	if rest == "" {
		return text
	}
	return rest
}

// leadingTimestamp is the length of a date-and-time at the start of s in
// the shapes Go's log, Python's logging and RFC 3339 print, or 0.
func leadingTimestamp(s string) int {
	// 2006/01/02 15:04:05, 2006-01-02 15:04:05, 2006-01-02T15:04:05
	if len(s) < 19 || !digits(s[0:4]) || (s[4] != '/' && s[4] != '-') || !digits(s[5:7]) || s[7] != s[4] ||
		!digits(s[8:10]) || (s[10] != ' ' && s[10] != 'T') || !digits(s[11:13]) || s[13] != ':' ||
		!digits(s[14:16]) || s[16] != ':' || !digits(s[17:19]) {
		return 0
	}
	n := 19
	if n < len(s) && (s[n] == '.' || s[n] == ',') { // fraction
		n++
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
	}
	if n < len(s) && s[n] == 'Z' {
		n++
	} else if n+6 <= len(s) && (s[n] == '+' || s[n] == '-') && s[n+3] == ':' {
		n += 6
	}
	if n < len(s) && s[n] != ' ' {
		return 0
	}
	return n
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
