package ui

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"outrigger/core/config"
	"outrigger/core/logs"
	"outrigger/core/supervisor"
)

// previewStatuses are one status per interesting state, for the design
// previews and the render masters.
func previewStatuses(now time.Time) []supervisor.Status {
	started := now.Add(-3*time.Minute - 12*time.Second)
	next := now.Add(4 * time.Second)
	return []supervisor.Status{
		{Name: "xgen-workflow", State: supervisor.Ready, PID: 48213, Port: 8011, URL: "http://127.0.0.1:8011",
			HealthOK: true, StartedAt: &started, CPUPercent: 1.4, RSSBytes: 48 << 20, Reason: "port 8001 busy, using 8011"},
		{Name: "xgen-embedding", State: supervisor.Starting, PID: 48230, Port: 8002, URL: "http://127.0.0.1:8002",
			StartedAt: &started, CPUPercent: 87, RSSBytes: 312 << 20},
		{Name: "ocr", State: supervisor.Backoff, Port: 8003, URL: "http://127.0.0.1:8003", Restarts: 3, Attempt: 3,
			NextRestartAt: &next, LastExit: &supervisor.Exit{Code: 1}, Reason: "exited with code 1"},
		{Name: "reranker", State: supervisor.Failed, Port: 8004, URL: "http://127.0.0.1:8004", Restarts: 10,
			LastError: "binary not found: reranker-x86_64-unknown-linux-gnu in ./binaries"},
		{Name: "speech", State: supervisor.Stopped, Port: 8005, URL: "http://127.0.0.1:8005"},
	}
}

func previewConfig(sts []supervisor.Status) config.Config {
	cfg := config.Config{Mode: config.ModeService, Service: sts[0].Name}
	for _, s := range sts {
		cfg.Sidecars = append(cfg.Sidecars, config.DefaultSpec(s.Name, s.Port))
	}
	return cfg
}

// TestShots writes design previews of the window to $UI_SHOTS (skipped
// when unset): light and dark, one card per state.
func TestShots(t *testing.T) {
	dir := os.Getenv("UI_SHOTS")
	if dir == "" {
		t.Skip("UI_SHOTS not set")
	}
	for _, variant := range []string{"light", "dark"} {
		a := test.NewTempApp(t)
		if variant == "dark" {
			a.Settings().SetTheme(theme.DarkTheme())
		} else {
			a.Settings().SetTheme(theme.LightTheme())
		}
		now := time.Now()
		sts := previewStatuses(now)
		u := New(a, Deps{Config: previewConfig(sts)})
		onUI(func() {
			u.build()
			for _, st := range sts {
				u.statuses[st.Name] = st
				u.cards[st.Name].apply(st)
			}
			u.refreshOverall()
			u.win.Resize(fyne.NewSize(920, 1000))
			u.win.Show()
		})
		shot(t, u, filepath.Join(dir, "window-"+variant+".png"))
		onUI(func() {
			u.win.Resize(fyne.NewSize(920, 640))
			v := u.logs.view("xgen-workflow")
			v.append(sampleLines(now, 400))
			u.logs.show("xgen-workflow")
			u.logs.list.Refresh()
			u.tabs.Select(u.logsTab)
			u.logs.scrollToEnd()
		})
		shot(t, u, filepath.Join(dir, "logs-"+variant+".png"))
		onUI(func() {
			u.sets.selectSidecar("xgen-workflow")
			u.sets.known["POSTGRES_HOST"].SetText("db.internal")
			r := u.sets.addRow("OPENAI_API_KEY", "sk-very-secret", false)
			_ = r
			u.sets.addRow("LOG_LEVEL", "debug", false)
			u.sets.port.SetText("80011")
			u.tabs.Select(u.setTab)
		})
		shot(t, u, filepath.Join(dir, "settings-"+variant+".png"))
	}
}

func shot(t *testing.T, u *UI, path string) {
	t.Helper()
	var img image.Image
	onUI(func() { img = u.win.Canvas().Capture() })
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// sampleLines is a plausible sidecar output: uvicorn on stderr, prints on
// stdout.
func sampleLines(now time.Time, n int) []logs.Line {
	out := make([]logs.Line, 0, n)
	msgs := []struct {
		s    logs.Stream
		text string
	}{
		{logs.Stderr, "INFO:     Started server process [48213]"},
		{logs.Stderr, "INFO:     Waiting for application startup."},
		{logs.Stdout, "loading workflow catalogue from /data/xgen-workflow/catalogue.json (12 workflows)"},
		{logs.Stderr, "INFO:     Application startup complete."},
		{logs.Stderr, "INFO:     Uvicorn running on http://127.0.0.1:8011 (Press CTRL+C to quit)"},
		{logs.Stdout, "workflow run 7f3a completed in 1.24 s: 5 nodes, result stored"},
		{logs.Stderr, "INFO:     127.0.0.1:51234 - \"GET /health HTTP/1.1\" 200 OK"},
		{logs.Stderr, "WARNING:  embedding service slow to answer (2.1 s)"},
		{logs.Stdout, "deploy_9c1e: streaming 3 chunks to the client"},
	}
	for i := 0; i < n; i++ {
		m := msgs[i%len(msgs)]
		out = append(out, logs.Line{Seq: uint64(i + 1), Time: now.Add(time.Duration(i-n) * 137 * time.Millisecond), Stream: m.s, Text: m.text})
	}
	return out
}
