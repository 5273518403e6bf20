package workflows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"outrigger/internal/workflow/wfapi"
)

// widgets are the panel's widgets; touched on the UI goroutine only.
type widgets struct {
	root, content, placeholder fyne.CanvasObject
	phTitle, phNote            *widget.Label // the placeholder's text (see showPlaceholder)

	engine                            *widget.Label
	where                             *widget.Label // which engine, over what, with which token
	sel                               *widget.Select
	desc                              *widget.RichText
	hint                              *widget.Label
	input                             *widget.Entry
	run, disconnect, fetch, cancelRun *widget.Button
	copyID                            *widget.Button
	id, state, err, resultHead        *widget.Label
	events, results                   *widget.List
}

func (p *Panel) build() {
	w := &p.w
	w.engine = widget.NewLabel("")
	w.engine.Truncation = fyne.TextTruncateEllipsis
	w.where = wrapped("")
	w.where.Importance = widget.LowImportance
	w.sel = widget.NewSelect(nil, p.onSelect)
	w.sel.PlaceHolder = "Pick a workflow"
	// Descriptions use `code` spans: shown as code, not as backticks.
	w.desc = widget.NewRichTextFromMarkdown("")
	w.desc.Wrapping = fyne.TextWrapWord
	w.hint = wrapped("")
	w.hint.Importance = widget.LowImportance
	w.input = widget.NewEntry()
	w.input.SetPlaceHolder(`{"text": "…"}`)
	w.run = widget.NewButtonWithIcon("Run", theme.MediaPlayIcon(), p.run)
	w.run.Importance = widget.HighImportance
	w.disconnect = widget.NewButtonWithIcon("Disconnect", theme.LogoutIcon(), p.disconnect)
	w.fetch = widget.NewButtonWithIcon("Fetch result", theme.DownloadIcon(), p.fetch)
	w.cancelRun = widget.NewButtonWithIcon("Cancel execution", theme.CancelIcon(), p.cancelRun)
	w.copyID = widget.NewButtonWithIcon("", theme.ContentCopyIcon(), func() {
		if a := fyne.CurrentApp(); a != nil && p.runID != "" {
			a.Clipboard().SetContent(p.runID)
		}
	})
	w.id = widget.NewLabelWithStyle("none yet", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	w.id.Selectable = true
	w.state = wrapped("Pick a workflow and press Run.")
	w.err = wrapped("")
	w.err.Importance = widget.DangerImportance
	w.err.Hide()
	w.resultHead = wrapped("Not fetched yet.")
	w.events = rowList(&p.events, 5)
	w.results = rowList(&p.results, 8)

	// The form scrolls above the outputs, so the tab fits a 600 px high
	// window instead of forcing its own height on it.
	top := container.NewVScroll(container.NewVBox(p.picker(), p.controls()))
	split := container.NewVSplit(top, p.outputs())
	split.Offset = 0.6
	w.content = container.NewBorder(p.engineBar(), nil, nil, nil, quietSplit(split))
	w.placeholder, w.phTitle, w.phNote = placeholder()
	w.placeholder.Hide()
	w.root = container.NewStack(w.content, w.placeholder)
	p.updateButtons()
}

func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

func heading(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

// engineBar: the engine's load and a refresh button, and which engine it
// is.
func (p *Panel) engineBar() fyne.CanvasObject {
	reload := widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), p.Refresh)
	return container.NewVBox(container.NewBorder(nil, nil, heading("Workflows"), reload, p.w.engine), p.w.where)
}

// showEndpoint says which engine the panel talks to: where, how it is
// reached, and where the token comes from (never the token). UI goroutine.
func (p *Panel) showEndpoint(ep Endpoint) {
	w := p.w.where
	if ep.URL == "" {
		w.SetText("")
		return
	}
	what := ep.What
	if what == "" {
		what = "the engine"
	}
	text := "Talking to " + what + " at " + ep.URL
	switch {
	case ep.Token != "" && ep.TokenFrom != "":
		text += " · token from " + ep.TokenFrom
	case ep.Token != "":
		text += " · with a token"
	}
	w.Importance = widget.LowImportance
	if wfapi.Plaintext(ep.URL) {
		w.Importance = widget.WarningImportance
		if ep.Token != "" {
			text += " · plain http: the token is not sent to a remote host; use https://"
		} else {
			text += " · plain http: not encrypted"
		}
	}
	w.SetText(text)
}

// picker: the workflow, what it does, and its input.
func (p *Panel) picker() fyne.CanvasObject {
	w := &p.w
	form := container.New(layout.NewFormLayout(),
		widget.NewLabel("Workflow"), w.sel,
		layout.NewSpacer(), container.NewVBox(w.desc, w.hint),
		widget.NewLabel("Input (JSON)"), w.input)
	return form
}

// controls: the buttons, the run's interaction id, its state and errors.
func (p *Panel) controls() fyne.CanvasObject {
	w := &p.w
	buttons := container.NewHBox(w.run, w.disconnect, widget.NewSeparator(), w.fetch, w.cancelRun)
	id := container.NewBorder(nil, nil, container.NewHBox(widget.NewLabel("Interaction ID"), w.copyID), nil, w.id)
	why := wrapped("The engine keeps each run under its interaction ID: Fetch result and Cancel execution use it, also after Disconnect.")
	why.Importance = widget.LowImportance
	return container.NewVBox(buttons, id, why, w.state, w.err)
}

// outputs: the live stream beside the stored result.
func (p *Panel) outputs() fyne.CanvasObject {
	w := &p.w
	stream := container.NewBorder(heading("Stream"), nil, nil, nil, w.events)
	result := container.NewBorder(container.NewVBox(heading("Stored result"), w.resultHead), nil, nil, nil, w.results)
	split := container.NewHSplit(stream, result)
	split.Offset = 0.55
	return quietSplit(split)
}

func placeholder() (obj fyne.CanvasObject, title, note *widget.Label) {
	title = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	note = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	note.Importance = widget.LowImportance
	return container.NewCenter(container.NewVBox(widget.NewIcon(theme.InfoIcon()), title, note)), title, note
}

// Placeholder texts: no engine in this mode, or the mode's engine not
// Ready yet (Endpoint.Waiting says what it is doing).
const (
	noEngineTitle = "Switch to Service or Connected mode to run workflows"
	noEngineNote  = "Service mode runs the workflow engine (xgen-workflow) here; Connected mode uses your gateway's."
	waitingNote   = "Workflows open here as soon as it is Ready; the Services tab shows what it is doing."
)

// showPlaceholder says why there is no engine to talk to. UI thread.
func (p *Panel) showPlaceholder(ep Endpoint) {
	if ep.Waiting != "" {
		p.w.phTitle.SetText(ep.Waiting)
		p.w.phNote.SetText(waitingNote)
	} else {
		p.w.phTitle.SetText(noEngineTitle)
		p.w.phNote.SetText(noEngineNote)
	}
	p.w.content.Hide()
	p.w.placeholder.Show()
}

// rowList is a list of rows: a monospace tag in a column tagWidth
// characters wide (longer tags are cut) and a one-line text.
func rowList(rows *[]row, tagWidth int) *widget.List {
	return widget.NewList(
		func() int { return len(*rows) },
		func() fyne.CanvasObject {
			mono := fyne.TextStyle{Monospace: true}
			tag := widget.NewLabelWithStyle("", fyne.TextAlignLeading, mono)
			tag.Truncation = fyne.TextTruncateEllipsis
			width := fyne.MeasureText(strings.Repeat("m", tagWidth), theme.TextSize(), mono).Width + 2*theme.InnerPadding()
			text := widget.NewLabel("")
			text.Truncation = fyne.TextTruncateEllipsis
			return container.NewBorder(nil, nil, container.New(fixedWidth(width), tag), nil, text)
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < 0 || i >= len(*rows) {
				return
			}
			r := (*rows)[i]
			c := o.(*fyne.Container)
			text, tag := c.Objects[0].(*widget.Label), c.Objects[1].(*fyne.Container).Objects[0].(*widget.Label)
			tag.SetText(r.tag)
			text.Importance = r.imp
			text.SetText(r.text)
		})
}

// fixedWidth lays out its one object at this width (a list column).
type fixedWidth float32

func (f fixedWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(float32(f), objs[0].MinSize().Height)
}

func (f fixedWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	objs[0].Move(fyne.NewPos(0, 0))
	objs[0].Resize(size)
}

// ---- formatting ----

// eventRow is one stream event as a list row.
func eventRow(ev wfapi.StreamEvent) row {
	switch {
	case ev.Log != nil:
		imp := widget.MediumImportance
		if strings.HasSuffix(ev.Log.Status, "failed") || strings.HasSuffix(ev.Log.Status, "cancelled") {
			imp = widget.DangerImportance
		}
		return row{tag: "log", text: ev.Log.Message, imp: imp}
	case ev.Node != nil:
		n := ev.Node
		return row{tag: "data", text: fmt.Sprintf("%s (%d/%d, %s) → %s", n.NodeID, n.Index+1, n.Total, ms(n.DurationMS), compact(n.Output, 300))}
	case ev.End != nil:
		text := ev.End.Status + " in " + ms(ev.End.DurationMS)
		if ev.End.Error != "" {
			text += ": " + ev.End.Error
		}
		return row{tag: "end", text: text, imp: statusImportance(ev.End.Status)}
	}
	return row{tag: ev.Type, text: compact(ev.Raw, 300)}
}

func resultHead(r wfapi.Result) string {
	s := fmt.Sprintf("Status: %s · %d nodes · %s", r.Status, len(r.Nodes), ms(r.DurationMS))
	if r.Error != "" {
		s += " · " + r.Error
	}
	return s
}

// resultRows: every node's status and output, then the execution's output.
func resultRows(r wfapi.Result) []row {
	rows := make([]row, 0, len(r.Nodes)+1)
	for _, n := range r.Nodes {
		text := n.Status + " · " + ms(n.DurationMS)
		switch {
		case n.Error != "":
			text += " · " + n.Error
		case len(n.Output) > 0:
			text += " → " + compact(n.Output, 300)
		}
		imp := statusImportance(n.Status)
		if imp == widget.SuccessImportance {
			imp = widget.MediumImportance // the head says it; rows stay readable
		}
		rows = append(rows, row{tag: n.NodeID, text: text, imp: imp})
	}
	if len(r.Output) > 0 {
		rows = append(rows, row{tag: "output", text: compact(r.Output, 300)})
	}
	return rows
}

func statusImportance(status string) widget.Importance {
	switch status {
	case wfapi.StatusCompleted:
		return widget.SuccessImportance
	case wfapi.StatusFailed, wfapi.StatusInterrupted, wfapi.StatusStoreFailed:
		return widget.DangerImportance
	case wfapi.StatusCancelled:
		return widget.WarningImportance
	}
	return widget.MediumImportance
}

func ms(d int64) string {
	return (time.Duration(d) * time.Millisecond).String()
}

// compact is raw as one line of JSON, cut to max runes (0: no limit).
func compact(raw json.RawMessage, max int) string {
	var b bytes.Buffer
	s := string(raw)
	if json.Compact(&b, raw) == nil {
		s = b.String()
	}
	if r := []rune(s); max > 0 && len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}

// inputHint summarises a JSON schema's top-level properties in their
// order: "text: string (required) · delay_ms: integer 0–60000, default 200".
func inputHint(schema json.RawMessage) string {
	var s struct {
		Properties json.RawMessage `json:"properties"`
		Required   []string        `json:"required"`
	}
	if json.Unmarshal(schema, &s) != nil || len(s.Properties) == 0 {
		return ""
	}
	type prop struct {
		Type    string          `json:"type"`
		Enum    []any           `json:"enum"`
		Min     *float64        `json:"minimum"`
		Max     *float64        `json:"maximum"`
		Default json.RawMessage `json:"default"`
	}
	dec := json.NewDecoder(bytes.NewReader(s.Properties))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	var parts []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		name, _ := t.(string)
		var p prop
		if dec.Decode(&p) != nil {
			break
		}
		part := name + ": " + p.Type
		if len(p.Enum) > 0 {
			part += " " + strings.Trim(strings.ReplaceAll(fmt.Sprint(p.Enum), " ", "|"), "[]")
		}
		switch {
		case p.Min != nil && p.Max != nil:
			part += fmt.Sprintf(" %g–%g", *p.Min, *p.Max)
		case p.Min != nil:
			part += fmt.Sprintf(" ≥ %g", *p.Min)
		}
		for _, r := range s.Required {
			if r == name {
				part += " (required)"
			}
		}
		if len(p.Default) > 0 {
			part += ", default " + compact(p.Default, 40)
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return ""
	}
	return "Input: " + strings.Join(parts, " · ")
}
