package ui

import (
	"archive/zip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/config"
	"outrigger/core/diagnostics"
	"outrigger/core/supervisor"
)

// TestSaveDiagnostics goes through the real save dialog: it opens with a
// report's file name, Save writes a zip there with every part, and the
// user is told where it went.
func TestSaveDiagnostics(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	test.NewTempApp(t)
	win := test.NewTempWindow(t, widget.NewLabel("Outrigger"))
	win.Resize(fyne.NewSize(1024, 600))

	const secret = "ui-test-secret-4411"
	cfg := config.Config{Mode: config.ModeStandalone, Service: "alpha",
		Sidecars: []config.Spec{config.DefaultSpec("alpha", 18001)}}
	cfg.Sidecars[0].Env = map[string]string{"API_TOKEN": secret}
	// A supervisor that was never started: statuses without processes.
	sup, err := supervisor.New(supervisor.Options{Config: cfg, BinDirs: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sup.Close() })
	appLog := filepath.Join(t.TempDir(), "outrigger.log")
	if err := os.WriteFile(appLog, []byte(`{"msg":"started"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	type result struct {
		where string
		err   error
	}
	results := make(chan result, 1)
	var asked bool
	onUI(func() {
		SaveDiagnostics(win, func() diagnostics.Options {
			asked = true
			return diagnostics.Options{Config: cfg, Sidecars: sup, AppLog: appLog, Versions: diagnostics.Versions{App: "test", Fyne: FyneVersion()}}
		}, func(where string, err error) { results <- result{where, err} })
	})
	onUI(func() {
		if asked {
			t.Error("options were gathered before the user chose a file")
		}
		entry := find[*widget.Entry](win.Canvas().Overlays().Top(), func(e *widget.Entry) bool {
			return strings.HasPrefix(e.Text, "outrigger-diagnostics-") && strings.HasSuffix(e.Text, ".zip")
		})
		if entry == nil {
			t.Fatal("the save dialog does not offer a report's file name")
		}
		save := find[*widget.Button](win.Canvas().Overlays().Top(), func(b *widget.Button) bool { return b.Text == "Save" })
		if save == nil {
			t.Fatal("no Save button in the dialog")
		}
		test.Tap(save)
	})

	var r result
	select {
	case r = <-results:
	case <-time.After(wait):
		t.Fatal("the report was not saved")
	}
	if r.err != nil {
		t.Fatalf("save: %v", r.err)
	}
	if filepath.Dir(r.where) != home {
		t.Errorf("saved to %s, want the dialog's folder %s", r.where, home)
	}
	zr, err := zip.OpenReader(r.where)
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	for _, want := range []string{diagnostics.EntryConfig, diagnostics.EntryStatus, diagnostics.EntrySystem,
		diagnostics.EntryAppLog, diagnostics.SidecarLogEntry("alpha")} {
		if !slices.Contains(names, want) {
			t.Errorf("the report has no %s (has %v)", want, names)
		}
	}
	onUI(func() {
		info := find[*widget.Label](win.Canvas().Overlays().Top(), func(l *widget.Label) bool {
			return strings.Contains(l.Text, "Saved to "+r.where)
		})
		if info == nil {
			t.Error("the user is not told where the report went")
		}
	})
}

// find returns the first widget of type W under o for which ok holds,
// looking inside containers and widgets' renderers as the canvas does.
func find[W fyne.CanvasObject](o fyne.CanvasObject, ok func(W) bool) W {
	var zero W
	if o == nil {
		return zero
	}
	if w, is := o.(W); is && ok(w) {
		return w
	}
	var children []fyne.CanvasObject
	switch c := o.(type) {
	case *fyne.Container:
		children = c.Objects
	case *container.Scroll:
		children = []fyne.CanvasObject{c.Content}
	case fyne.Widget:
		children = test.WidgetRenderer(c).Objects()
	}
	for _, ch := range children {
		if w := find(ch, ok); any(w) != any(zero) {
			return w
		}
	}
	return zero
}
