package e2e

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Screenshots of every tab at 1024 × 600 are compared with the masters in
// testdata/ (committed, so a reviewer sees the window). A plain run writes
// its pictures outside the tree (OUTRIGGER_E2E_ARTIFACTS, or a temp dir)
// and leaves git status clean; OUTRIGGER_E2E_UPDATE_SHOTS=1 rewrites the
// masters.
const (
	artefactsEnv = "OUTRIGGER_E2E_ARTIFACTS"
	updateEnv    = "OUTRIGGER_E2E_UPDATE_SHOTS"
)

var tabShots = []string{"services.png", "logs.png", "settings.png", "workflows.png"}

// Shot tolerance: the picture is cut into tiles; a tile differs when its
// mean colour distance from the master's passes tileDiff. Uptimes, PIDs,
// ports and log lines change from run to run; a blank, cut or re-laid-out
// window changes far more tiles than maxTiles (a self-check below proves
// that a blank picture fails).
const (
	tile     = 16
	tileDiff = 6.0 // mean of |Δr|+|Δg|+|Δb| per pixel, 0..765
	maxTiles = 0.12
)

// artefacts is where this run's pictures go: outside the tree.
func artefacts(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv(artefactsEnv); dir != "" {
		dir = filepath.Join(dir, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// Standalone → Service from the tray's Mode menu brings both stand-ins up
// Ready (every auto-start sidecar, not only the service's own), and the
// window, pictured tab by tab at 1024 × 600, matches its masters.
func TestModeSwitchAndTabShots(t *testing.T) {
	skipUnlessE2E(t)
	w := startFakeWatcher(t)
	dir := artefacts(t)
	r := launchIn(t, "standalone", "OUTRIGGER_SCREENSHOT="+dir)
	menu := w.menuOf(t)

	// dbusmenu item ids change whenever the app rebuilds its menu (each
	// state change), so a click can name an id that was just replaced:
	// click the Service item of the current layout until the menu says the
	// mode changed, as a person would click again.
	deadline := time.Now().Add(upTimeout)
	clicked := false
	for {
		root, err := layout(menu)
		if err != nil {
			t.Fatalf("GetLayout: %v", err)
		}
		standalone := root.find(func(m menuItem) bool { return m.Label == "Mode: Standalone" }) != nil
		if clicked && !standalone {
			break
		}
		// A read can catch the menu mid-rebuild (Fyne sends it item by
		// item): the Mode item without its submenu yet. Read again.
		if service := root.find(func(m menuItem) bool { return m.Label == "Service" }); standalone && service != nil {
			click(t, menu, service)
			clicked = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tray never left Standalone (clicked: %v): %q", clicked, root.labels())
		}
		time.Sleep(500 * time.Millisecond) // polling the menu over D-Bus
	}
	urls := r.waitReady()
	t.Logf("both ready after Standalone → Service: %v", urls)

	// The app takes its pictures once every card draws its sparklines (two
	// metrics samples each), and the supervisor reports a sample only when
	// the CPU or memory figure changed: an idle stand-in may not change
	// for a minute. Health probes (not logged at the default level) give
	// them a little varying work meanwhile.
	stopProbes := probe(urls)
	t.Cleanup(stopProbes) // also when a wait below fails
	for _, name := range tabShots {
		waitFile(t, r, filepath.Join(dir, name), upTimeout)
	}
	waitLog(t, r, "workflows.png", upTimeout)
	stopProbes()
	for _, name := range tabShots {
		compareWithMaster(t, filepath.Join(dir, name), filepath.Join("testdata", name))
	}

	r.quitCleanly()
}

// probe asks each URL's /health in a loop until the returned func is
// called; that func (which may be called again) returns once the probing
// goroutines have ended.
func probe(urls map[string]string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 2 * time.Second}
	for _, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pace := time.NewTicker(10 * time.Millisecond) // some work, not a whole core
			defer pace.Stop()
			for {
				select {
				case <-done:
					return
				case <-pace.C:
				}
				if resp, err := client.Get(u + "/health"); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

// waitLog waits until the app's log mentions s (the last picture is
// written completely: the app renames it into place and then logs it).
func waitLog(t testing.TB, r *running, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(r.logText(), s) {
		select {
		case <-r.wake:
		case <-r.done:
			t.Fatalf("the app exited before logging %q", s)
		case <-deadline:
			t.Fatalf("no %q in the log after %v", s, timeout)
		}
	}
}

// compareWithMaster compares the picture at got with the master, or
// writes the master when asked to.
func compareWithMaster(t *testing.T, got, master string) {
	t.Helper()
	if os.Getenv(updateEnv) == "1" {
		if err := os.MkdirAll(filepath.Dir(master), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := copyFile(got, master); err != nil {
			t.Fatal(err)
		}
		t.Logf("master updated: %s", master)
		return
	}
	want, err := readPNG(master)
	if err != nil {
		t.Fatalf("%v (run with %s=1 to write the masters)", err, updateEnv)
	}
	img, err := readPNG(got)
	if err != nil {
		t.Fatal(err)
	}
	// The tolerance must be able to fail: a blank picture of the
	// master's background differs in more tiles than it allows.
	if blank := differingTiles(uniform(want), want); blank <= maxTiles {
		t.Fatalf("%s: a blank picture differs in only %.0f%% of the tiles; the tolerance proves nothing", master, blank*100)
	}
	if img.Bounds() != want.Bounds() {
		t.Errorf("%s is %v, its master %v", got, img.Bounds().Size(), want.Bounds().Size())
		keepFailed(t, got, master)
		return
	}
	diff := differingTiles(img, want)
	t.Logf("%s: %.1f%% of the tiles differ from the master", filepath.Base(got), diff*100)
	if diff > maxTiles {
		t.Errorf("%s differs from %s in %.0f%% of the tiles (at most %.0f%%)", got, master, diff*100, maxTiles*100)
		keepFailed(t, got, master)
	}
}

// keepFailed copies a picture that did not match to testdata/failed/
// (ignored by git) for a look.
func keepFailed(t *testing.T, got, master string) {
	dst := filepath.Join(filepath.Dir(master), "failed", filepath.Base(master))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err == nil && copyFile(got, dst) == nil {
		t.Logf("the picture is in %s", dst)
	}
}

// differingTiles is the share of tiles whose mean colour distance passes
// tileDiff.
func differingTiles(a, b image.Image) float64 {
	r := a.Bounds().Intersect(b.Bounds())
	var tiles, differ int
	for y0 := r.Min.Y; y0 < r.Max.Y; y0 += tile {
		for x0 := r.Min.X; x0 < r.Max.X; x0 += tile {
			var sum, n float64
			for y := y0; y < min(y0+tile, r.Max.Y); y++ {
				for x := x0; x < min(x0+tile, r.Max.X); x++ {
					sum += dist(a.At(x, y), b.At(x, y))
					n++
				}
			}
			tiles++
			if sum/n > tileDiff {
				differ++
			}
		}
	}
	if tiles == 0 {
		return 1
	}
	return float64(differ) / float64(tiles)
}

func dist(a, b color.Color) float64 {
	ar, ag, ab, _ := a.RGBA()
	br, bg, bb, _ := b.RGBA()
	d := func(x, y uint32) float64 {
		if x > y {
			return float64(x-y) / 257
		}
		return float64(y-x) / 257
	}
	return d(ar, br) + d(ag, bg) + d(ab, bb)
}

// uniform is a picture of img's size in its top-left colour: what a blank
// window would give.
func uniform(img image.Image) image.Image {
	return image.NewUniform(img.At(img.Bounds().Min.X, img.Bounds().Min.Y))
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".copy-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// No "Fyne error: Error parsing user locale C" at start under LANG=C.UTF-8
// (Fyne reads the locale before main runs), with --version as with the
// window.
func TestNoLocaleErrorAtStart(t *testing.T) {
	skipUnlessE2E(t)
	app, _ := binaries(t)
	for _, env := range []string{"LANG=C.UTF-8", "LC_ALL=C.UTF-8", "LANG=POSIX.UTF-8"} {
		cmd := exec.Command(app, "--version")
		cmd.Env = append(os.Environ(), "LC_ALL=", "LC_MESSAGES=", "LANGUAGE=", env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s outrigger --version: %v\n%s", env, err, out)
		}
		if strings.Contains(string(out), "Fyne error") {
			t.Errorf("%s: %s", env, out)
		}
	}
}
