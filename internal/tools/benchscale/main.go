//go:build linux

// Command benchscale measures the headless app at scale: it runs
// bin/outrigger --headless with N fixture sidecars (internal/fixture) in a
// temporary OUTRIGGER_HOME and prints a table of what the supervisor process
// costs — idle CPU (utime+stime from /proc/PID/stat), CPU while sidecars
// log, VmRSS, start → all Ready, kill -9 → Ready, SIGTERM → exit — each
// beside its target. It prints figures; it asserts nothing.
//
// `make bench-scale` runs it; -app measures any build (e.g. main's, for a
// before/after table).
package main

import (
	"bufio"
	"context"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"outrigger/internal/cpustat"
)

var (
	appPath   = flag.String("app", "bin/outrigger", "the app to measure")
	fixture   = flag.String("fixture", "", "fixture binary (default: built from ./internal/fixture)")
	sizesFlag = flag.String("sizes", "2,50,200", "comma-separated sidecar counts")
	idleFor   = flag.Duration("idle", 30*time.Second, "idle CPU window")
	logFor    = flag.Duration("log-window", 20*time.Second, "CPU window while sidecars log")
	loggers   = flag.Int("loggers", 50, "sidecars that log during the logging run (0: skip it)")
	lineRate  = flag.Int("lines-per-sec", 20, "lines per second per logging sidecar")
	settle    = flag.Duration("settle", 3*time.Second, "wait after all Ready before measuring logging CPU and the floors' memory")
	// idleSettle covers the containment scan's back-off (1 s doubling to
	// core/proc's 1 min ceiling while it finds nothing): measured sooner,
	// "idle" is that warm-up (0.10 % of a core at 50 sidecars after 3 s,
	// 0.026 % after 70 s, on a quiet machine).
	idleSettle = flag.Duration("idle-settle", 70*time.Second, "wait after all Ready before measuring idle CPU (past the containment scan's back-off)")
	maxStartup = flag.Duration("startup", 5*time.Minute, "give up waiting for all Ready after this")
	label      = flag.String("label", "", "printed above the table")
	noLiveness = flag.Bool("no-liveness", false, "disable liveness probes (to see what they cost)")
	starts     = flag.Int("starts", 5, "start → all Ready is measured this many times per size up to 50 sidecars, each beside a start of the bare floor (a single start on a 2-core machine swings by tens of ms)")
	hold       = flag.Duration("hold", 0, "instead of measuring: start the first size (with -loggers of them logging), print the app's pid once all are Ready, keep it running this long (for perf, strace, pprof)")
)

func main() {
	flag.Parse()
	if runtime.GOOS != "linux" {
		fmt.Fprintln(os.Stderr, "benchscale: Linux only (/proc)")
		os.Exit(2)
	}
	if *probeFloorN > 0 {
		if err := probeFloorMain(*probeFloorN, *fixture); err != nil {
			fmt.Fprintln(os.Stderr, "benchscale:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		os.Exit(1)
	}
}

func run() error {
	app, err := filepath.Abs(*appPath)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "outrigger-benchscale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	binDir := filepath.Join(tmp, "binaries")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	fx := filepath.Join(binDir, "fixture")
	if *fixture != "" {
		data, err := os.ReadFile(*fixture)
		if err != nil {
			return err
		}
		if err := os.WriteFile(fx, data, 0o755); err != nil {
			return err
		}
	} else {
		build := exec.Command("go", "build", "-o", fx, "./internal/fixture")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build fixture: %w", err)
		}
	}
	var sizes []int
	for _, s := range strings.Split(*sizesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-sizes: %q is not a count", s)
		}
		sizes = append(sizes, n)
	}
	if *hold > 0 {
		return holdRun(app, binDir, tmp, sizes[0], min(*loggers, sizes[0]))
	}
	switch *peerFlag {
	case "":
	case "supervisord":
		if _, err := exec.LookPath("supervisord"); err != nil {
			return fmt.Errorf("-peer supervisord: %w (Debian: apt-get install supervisor)", err)
		}
	default:
		return fmt.Errorf("-peer %q: the one peer measured is supervisord", *peerFlag)
	}
	floors, err := measureFloors(tmp)
	if err != nil {
		return err
	}
	var rows []row
	var peers []peerRow
	for _, n := range sizes {
		fmt.Fprintf(os.Stderr, "benchscale: %d sidecars, idle run\n", n)
		r, err := idleRun(app, binDir, tmp, fx, n)
		if err != nil {
			return fmt.Errorf("%d sidecars: %w", n, err)
		}
		if err := startRuns(&r, app, binDir, tmp); err != nil {
			return fmt.Errorf("%d sidecars, start runs: %w", n, err)
		}
		if *loggers > 0 && n >= 50 {
			k := min(*loggers, n)
			fmt.Fprintf(os.Stderr, "benchscale: %d sidecars, %d logging %d lines/s\n", n, k, *lineRate)
			cpu, rss, err := logRun(app, binDir, tmp, n, k)
			if err != nil {
				return fmt.Errorf("%d sidecars logging: %w", n, err)
			}
			r.logCPU, r.logRSS, r.loggers = cpu, rss, k
		}
		rows = append(rows, r)
		if *peerFlag != "" {
			fmt.Fprintf(os.Stderr, "benchscale: %d sidecars under %s\n", n, *peerFlag)
			p, err := peerRun(fx, tmp, n)
			if err != nil {
				return fmt.Errorf("%s, %d fixtures: %w", *peerFlag, n, err)
			}
			peers = append(peers, p)
		}
	}
	print(rows, floors, ownFloor(app, floors))
	if *peerFlag != "" {
		printPeer(peerVersion(*peerFlag), rows, peers)
	}
	return nil
}

type row struct {
	n          int
	startReady time.Duration // app exec → the last sidecar's "ready" line, in the idle run
	idleCPU    float64       // % of one core
	idleSched  float64       // % of one core, from the threads' schedstat (ns, not 10 ms ticks)
	probeFloor float64       // the same liveness probes alone over the same seconds (schedstat); < 0: not run
	rss        uint64        // VmRSS after the idle window, bytes
	mem        memInfo       // its parts
	killReady  time.Duration // kill -9 of one sidecar → its "ready" line (median of 3 first crashes)
	stopAll    time.Duration // SIGTERM → the app has exited (every sidecar stopped)
	loggers    int
	logCPU     float64
	logRSS     uint64

	// startReadies are fresh starts (startRuns); bareReadies the same
	// sidecars started by a bare loop → all answer HTTP (their own floor),
	// each measured right after the start beside it; aboveFloor the
	// differences of those pairs.
	startReadies, bareReadies, aboveFloor []time.Duration
	// startCPU and sidecarsCPU are the CPU time (schedstat) the app and
	// the sidecars had used by the time all were Ready, start by start:
	// on a machine saturated while they start, their sum over the cores
	// bounds the start from below, whoever supervises.
	startCPU, sidecarsCPU []time.Duration
}

func print(rows []row, floors []floor, own *floor) {
	if *label != "" {
		fmt.Println(*label)
	}
	fmt.Printf("\nOutrigger headless, fixture sidecars, %d CPUs; idle over %s after %s settled, logging over %s (utime+stime from /proc/PID/stat, 10 ms ticks)\n\n",
		runtime.NumCPU(), *idleFor, *idleSettle, *logFor)
	fmt.Println("| sidecars | figure | value | target |")
	fmt.Println("| ---: | --- | ---: | ---: |")
	for _, r := range rows {
		target := func(n int, t string) string {
			if r.n == n {
				return t
			}
			return ""
		}
		fmt.Printf("| %d | start → all Ready (ms), median (min–max) of %d | %s | %s |\n", r.n, len(r.startReadies), spread(r.startReadies), target(50, "≤ 100"))
		if len(r.bareReadies) > 0 {
			fmt.Printf("| %d | floor: the sidecars alone, started by a bare loop → all answer HTTP (ms), median (min–max) of %d | %s | |\n", r.n, len(r.bareReadies), spread(r.bareReadies))
			fmt.Printf("| %d | ours above that floor, start by start (ms), median (min–max) | %s | |\n", r.n, spread(r.aboveFloor))
		}
		if len(r.startCPU) > 0 {
			fmt.Printf("| %d | CPU used by all Ready: the app / the sidecars (ms of CPU), median (min–max) | %s / %s | |\n", r.n, spread(r.startCPU), spread(r.sidecarsCPU))
			fmt.Printf("| %d | … the sidecars' CPU over %d cores: no start can be shorter (ms), median | %.0f | |\n", r.n, runtime.NumCPU(), ms(median(r.sidecarsCPU))/float64(runtime.NumCPU()))
		}
		fmt.Printf("| %d | idle CPU (%% of a core) | %.3f | ≤ 0.05 |\n", r.n, r.idleCPU)
		rssTarget := target(50, "≤ 25")
		if r.n == 2 {
			rssTarget = "≤ 18"
		}
		fmt.Printf("| %d | idle CPU, from schedstat (%% of a core, ns-precise) | %.4f | ≤ 0.05 |\n", r.n, r.idleSched)
		if r.probeFloor >= 0 {
			fmt.Printf("| %d | floor: the same liveness probes alone, a bare loop, same seconds (%% of a core, schedstat) | %.4f | |\n", r.n, r.probeFloor)
			fmt.Printf("| %d | ours above that floor (%% of a core) | %.4f | |\n", r.n, r.idleSched-r.probeFloor)
		}
		fmt.Printf("| %d | VmRSS idle (MiB) | %.1f | %s |\n", r.n, mib(r.rss), rssTarget)
		fmt.Printf("| %d | … RssAnon / RssFile (of it PMD-mapped file) (MiB) | %.1f / %.1f (%.1f) | |\n", r.n, mib(r.mem.anon), mib(r.mem.file), mib(r.mem.filePMD))
		fmt.Printf("| %d | … OS threads | %d | |\n", r.n, r.mem.threads)
		if own != nil {
			f := own.mem
			fmt.Printf("| %d | ours above the floor (%s): VmRSS / RssAnon / RssFile (MiB) | %.1f / %.1f / %.1f | |\n", r.n, own.name,
				mib(r.rss)-mib(f.rss), mib(r.mem.anon)-mib(f.anon), mib(r.mem.file)-mib(f.file))
		}
		if r.loggers > 0 {
			fmt.Printf("| %d | CPU, %d × %d lines/s (%% of a core) | %.2f | ≤ 2.0 |\n", r.n, r.loggers, *lineRate, r.logCPU)
			fmt.Printf("| %d | VmRSS logging (MiB) | %.1f | |\n", r.n, mib(r.logRSS))
		}
		fmt.Printf("| %d | kill -9 → Ready, first crash (ms, median of 3) | %.1f | |\n", r.n, ms(r.killReady))
		fmt.Printf("| %d | stop-all: SIGTERM → app exited (ms) | %.0f | |\n", r.n, ms(r.stopAll))
	}
	for _, f := range floors {
		fmt.Printf("| floor | %s: VmRSS (RssAnon / RssFile) (MiB), threads | %.1f (%.1f / %.1f), %d | |\n", f.name,
			mib(f.mem.rss), mib(f.mem.anon), mib(f.mem.file), f.mem.threads)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// spread is "median (min–max)" in ms, or just the one value.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "–"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 1 {
		return fmt.Sprintf("%.0f", ms(s[0]))
	}
	return fmt.Sprintf("%.0f (%.0f–%.0f)", ms(s[len(s)/2]), ms(s[0]), ms(s[len(s)-1]))
}

// startRuns measures start → all Ready -starts times, each start followed
// by a start of the bare floor so that a pair shares the machine's load of
// the moment. Past 50 sidecars, where a start takes seconds, the idle run's
// start is the one figure.
func startRuns(r *row, app, binDir, tmp string) error {
	for i := 0; i < *starts || i == 0; i++ {
		d := r.startReady
		if r.n <= 50 {
			var err error
			var cpu, sidecars time.Duration
			if d, cpu, sidecars, err = startOnce(app, binDir, tmp, r.n); err != nil {
				return err
			}
			r.startCPU = append(r.startCPU, cpu)
			r.sidecarsCPU = append(r.sidecarsCPU, sidecars)
		} else if i > 0 {
			break
		}
		r.startReadies = append(r.startReadies, d)
		bare, err := bareStart(filepath.Join(binDir, "fixture"), r.n)
		if err != nil {
			// A floor we could not take (a port taken by someone else
			// meanwhile, on a shared machine) leaves the rest of the table.
			fmt.Fprintf(os.Stderr, "benchscale: %d bare sidecars: %v\n", r.n, err)
			continue
		}
		r.bareReadies = append(r.bareReadies, bare)
		r.aboveFloor = append(r.aboveFloor, d-bare)
	}
	return nil
}

// startOnce launches the app, waits for all Ready and stops it. It also
// returns the CPU time the app and the sidecars had used by then.
func startOnce(app, binDir, tmp string, n int) (d, cpu, sidecars time.Duration, err error) {
	in, err := launch(app, binDir, tmp, n, 0)
	if err != nil {
		return 0, 0, 0, err
	}
	d, err = in.allReady(n)
	if err != nil {
		in.kill()
		return 0, 0, 0, err
	}
	cpu = time.Duration(schedNanos(in.cmd.Process.Pid))
	for _, pid := range in.pids {
		sidecars += time.Duration(schedNanos(pid))
	}
	_, err = in.stop()
	return d, cpu, sidecars, err
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// writeConfig writes an outrigger.toml with n fixture sidecars (the first
// logging ones printing lines), Service mode on the first, the built-in
// sidecars disabled; restart always, stop timeout 2 s, liveness as default.
func writeConfig(path string, n, logging int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "mode = \"service\"\nservice = \"fix-0001\"\n\n")
	for _, name := range []string{"xgen-workflow", "xgen-embedding"} {
		fmt.Fprintf(&b, "[[sidecar]]\nname = %q\nenabled = false\n\n", name)
	}
	for j, port := range freePorts(n, 20000) {
		i := j + 1 // sidecars are numbered from 1
		fmt.Fprintf(&b, "[[sidecar]]\nname = \"fix-%04d\"\nbinary = \"fixture\"\nport = %d\nstop_timeout = \"2s\"\n", i, port)
		fmt.Fprintf(&b, "restart = { policy = \"always\" }\n")
		if *noLiveness {
			b.WriteString("liveness = { disabled = true }\n")
		}
		if i <= logging {
			fmt.Fprintf(&b, "args = [\"-lines-per-sec\", \"%d\"]\n", *lineRate)
		}
		b.WriteString("\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// freePorts picks n ports free now, from a base plus up to 10 000 (so that
// runs one after the other do not take the ports the last one just let go).
func freePorts(n, base int) []int {
	ports := make([]int, n)
	p := base + int(time.Now().UnixNano()%10000)
	for i := range ports {
		for !portFree(p) {
			p++
		}
		ports[i] = p
		p++
	}
	return ports
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// instance is one running app and what its console said.
type instance struct {
	cmd    *exec.Cmd
	start  time.Time
	events chan event
	done   chan error
	ready  map[string]bool
	pids   map[string]int
}

type event struct {
	kind    string // "ready" or "started"
	sidecar string
	pid     int
	at      time.Time
}

// tint's console format: "15:04:05.000 INF ready sidecar=fix-0001 ...".
var lineRE = regexp.MustCompile(`^\S+ INF (ready|started) sidecar=(\S+)(?: pid=(\d+))?`)

func launch(app, binDir, tmp string, n, logging int) (*instance, error) {
	home, err := os.MkdirTemp(tmp, "home-")
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(home, "outrigger.toml")
	if err := writeConfig(cfg, n, logging); err != nil {
		return nil, err
	}
	cmd := exec.Command(app, "--headless", "--config", cfg)
	cmd.Env = append(os.Environ(), "OUTRIGGER_HOME="+home, "OUTRIGGER_BINARIES="+binDir, "NO_COLOR=1",
		"XDG_RUNTIME_DIR="+home, "XDG_CONFIG_HOME="+home, "XDG_STATE_HOME="+home, "XDG_CACHE_HOME="+home)
	cmd.Dir = home
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	in := &instance{cmd: cmd, events: make(chan event, 4096), done: make(chan error, 1),
		ready: map[string]bool{}, pids: map[string]int{}}
	in.start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			m := lineRE.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			pid, _ := strconv.Atoi(m[3])
			in.events <- event{kind: m[1], sidecar: m[2], pid: pid, at: time.Now()}
		}
		_, _ = io.Copy(io.Discard, stderr)
		close(in.events)
		in.done <- cmd.Wait()
	}()
	return in, nil
}

// next waits for an event matching f.
func (in *instance) next(timeout time.Duration, f func(event) bool) (event, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case e, ok := <-in.events:
			if !ok {
				return event{}, errors.New("the app ended")
			}
			if e.kind == "ready" {
				in.ready[e.sidecar] = true
			}
			if e.kind == "started" {
				in.pids[e.sidecar] = e.pid
			}
			if f(e) {
				return e, nil
			}
		case <-t.C:
			return event{}, fmt.Errorf("timed out after %s (%d ready)", timeout, len(in.ready))
		}
	}
}

func (in *instance) allReady(n int) (time.Duration, error) {
	e, err := in.next(*maxStartup, func(event) bool { return len(in.ready) == n })
	if err != nil {
		return 0, err
	}
	return e.at.Sub(in.start), nil
}

// drain keeps reading the console in the background, so the app never
// blocks on a full pipe while we only watch the clock.
func (in *instance) drain(ctx context.Context) <-chan struct{} {
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case _, ok := <-in.events:
				if !ok {
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return stopped
}

// stop sends SIGTERM and returns how long the app took to exit.
func (in *instance) stop() (time.Duration, error) {
	t0 := time.Now()
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	go func() {
		for range in.events {
		}
	}()
	select {
	case err := <-in.done:
		return time.Since(t0), err
	case <-time.After(2 * time.Minute):
		_ = in.cmd.Process.Kill()
		return 0, errors.New("the app did not exit within 2 minutes of SIGTERM")
	}
}

func (in *instance) kill() {
	_ = in.cmd.Process.Kill()
}

// cpuOver returns the app's CPU use over d, in % of one core.
func cpuOver(pid int, d time.Duration) (float64, error) {
	a, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	time.Sleep(d)
	b, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	return float64(b-a) / 100 / time.Since(t0).Seconds() * 100, nil // USER_HZ is 100 on Linux
}

// cpuTicks is utime+stime of pid from /proc/PID/stat.
func cpuTicks(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return ut + st, nil
}

func vmRSS(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, err := strconv.ParseUint(strings.Fields(l)[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

func idleRun(app, binDir, tmp, fx string, n int) (r row, err error) {
	r.n, r.probeFloor = n, -1
	floorPid, stopFloor := 0, func() {} // the liveness floor, measured beside the app (probefloor.go)
	if !*noLiveness && n <= probeFloorMax {
		if floorPid, stopFloor, err = startProbeFloor(fx, n); err != nil {
			return r, err
		}
		defer stopFloor()
	}
	in, err := launch(app, binDir, tmp, n, 0)
	if err != nil {
		return r, err
	}
	defer func() {
		if err != nil {
			in.kill()
		}
	}()
	if r.startReady, err = in.allReady(n); err != nil {
		return r, err
	}
	pid := in.cmd.Process.Pid
	ctx, cancel := context.WithCancel(context.Background())
	drained := in.drain(ctx)
	time.Sleep(*idleSettle)
	s0 := schedNanos(pid)
	var fl0 uint64
	if floorPid > 0 {
		fl0 = schedNanos(floorPid)
	}
	t0 := time.Now()
	r.idleCPU, err = cpuOver(pid, *idleFor)
	elapsed := float64(time.Since(t0))
	r.idleSched = float64(schedNanos(pid)-s0) / elapsed * 100
	if floorPid > 0 {
		r.probeFloor = float64(schedNanos(floorPid)-fl0) / elapsed * 100
	}
	stopFloor() // only for the idle window: not beside the kills and the stop below
	if err == nil {
		r.mem, err = readMem(pid)
		r.rss = r.mem.rss
	}
	cancel()
	<-drained
	if err != nil {
		return r, err
	}
	var kills []time.Duration
	for i := 1; i <= min(3, n); i++ {
		name := fmt.Sprintf("fix-%04d", i)
		old := in.pids[name]
		if old <= 0 {
			return r, fmt.Errorf("no pid seen for %s", name)
		}
		t0 := time.Now()
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			return r, err
		}
		if _, err := in.next(time.Minute, func(e event) bool {
			return e.kind == "ready" && e.sidecar == name && in.pids[name] != old
		}); err != nil {
			return r, fmt.Errorf("kill → ready of %s: %w", name, err)
		}
		kills = append(kills, time.Since(t0))
	}
	slices.Sort(kills)
	r.killReady = kills[len(kills)/2]
	r.stopAll, err = in.stop()
	return r, err
}

func logRun(app, binDir, tmp string, n, k int) (cpu float64, rss uint64, err error) {
	in, err := launch(app, binDir, tmp, n, k)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if err != nil {
			in.kill()
		}
	}()
	if _, err = in.allReady(n); err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	drained := in.drain(ctx)
	time.Sleep(*settle)
	pid := in.cmd.Process.Pid
	cpu, err = cpuOver(pid, *logFor)
	if err == nil {
		rss, err = vmRSS(pid)
	}
	cancel()
	<-drained
	if err != nil {
		return 0, 0, err
	}
	_, err = in.stop()
	return cpu, rss, err
}

// holdRun keeps one app running for a look from outside.
func holdRun(app, binDir, tmp string, n, k int) (err error) {
	in, err := launch(app, binDir, tmp, n, k)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			in.kill()
		}
	}()
	took, err := in.allReady(n)
	if err != nil {
		return err
	}
	fmt.Printf("pid %d: %d sidecars Ready after %s, the app's CPU by then %.0f ms; holding for %s\n", in.cmd.Process.Pid, n,
		took.Round(time.Millisecond), float64(schedNanos(in.cmd.Process.Pid))/1e6, *hold)
	ctx, cancel := context.WithCancel(context.Background())
	drained := in.drain(ctx)
	time.Sleep(*hold)
	cancel()
	<-drained
	took, err = in.stop()
	if err == nil {
		fmt.Printf("stop-all: SIGTERM → app exited in %s\n", took.Round(time.Millisecond))
	}
	return err
}

// schedNanos is the CPU time of pid's live threads in nanoseconds
// (cpustat): utime+stime count 10 ms ticks, too coarse for an idle app
// over 30 s. A process already gone counts 0.
func schedNanos(pid int) uint64 {
	n, _ := cpustat.RunNanos(pid)
	return n
}

// memInfo is where a process's resident memory is: anonymous (heap,
// stacks: ours) and file-backed (the executable and libraries, shared with
// the page cache), from /proc/PID/status and smaps_rollup.
type memInfo struct {
	rss, anon, file, filePMD uint64
	threads                  int
}

func readMem(pid int) (memInfo, error) {
	var m memInfo
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	rollup, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	for _, l := range strings.Split(string(status)+string(rollup), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseUint(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.rss = v << 10
		case "RssAnon:":
			m.anon = v << 10
		case "RssFile:":
			m.file = v << 10
		case "FilePmdMapped:":
			m.filePMD = v << 10
		case "Threads:":
			m.threads = int(v)
		}
	}
	if m.rss == 0 {
		return m, errors.New("no VmRSS")
	}
	return m, nil
}

// ownFloor is the floor that has the app's own dependencies: the Fyne/GL
// one for the windowed build (it links libGL and X11), the core one for a
// statically linked build (make headless-app: -tags nogui, no cgo).
func ownFloor(app string, floors []floor) *floor {
	if len(floors) < 2 {
		return nil
	}
	f, err := elf.Open(app)
	if err != nil {
		return &floors[0]
	}
	defer f.Close()
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) == 0 {
		return &floors[1]
	}
	return &floors[0]
}

// floor is a do-nothing binary's memory: what the dependencies cost alone.
type floor struct {
	name string
	mem  memInfo
}

// measureFloors builds and runs the do-nothing binaries (floorgui: the
// app's dependencies, Fyne and OpenGL included; floorcore: core's pure-Go
// ones, CGO_ENABLED=0) and reads their memory once they are up.
func measureFloors(tmp string) ([]floor, error) {
	var out []floor
	for _, f := range []struct {
		name, pkg string
		cgo       bool
	}{
		{"same deps as the app (Fyne, GL), doing nothing", "./internal/tools/benchscale/floorgui", true},
		{"core's deps only, CGO_ENABLED=0, doing nothing", "./internal/tools/benchscale/floorcore", false},
	} {
		bin := filepath.Join(tmp, filepath.Base(f.pkg))
		build := exec.Command("go", "build", "-trimpath", "-o", bin, f.pkg)
		build.Env = os.Environ()
		if !f.cgo {
			build.Env = append(build.Env, "CGO_ENABLED=0")
		}
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build %s: %w", f.pkg, err)
		}
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "LC_ALL=en_US.UTF-8")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		time.Sleep(*settle)
		m, err := readMem(cmd.Process.Pid)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if err != nil || strings.TrimSpace(line) != "ready" {
			return nil, fmt.Errorf("%s: %q %v", f.pkg, line, err)
		}
		out = append(out, floor{f.name, m})
	}
	return out, nil
}

// bareStart starts n fixtures with nothing around them (no app: exec in a
// loop) and returns how long until every one answers GET /health: what the
// sidecars' own start costs on this machine, the floor under start → all
// Ready.
func bareStart(fx string, n int) (time.Duration, error) {
	var cmds []*exec.Cmd
	ports := freePorts(n, 40000)
	t0 := time.Now()
	exited := make([]chan struct{}, 0, n) // closed once each is reaped
	defer func() {
		for i, c := range cmds {
			_ = c.Process.Kill()
			<-exited[i]
		}
	}()
	for _, port := range ports {
		c := exec.Command(fx)
		c.Env = append(os.Environ(), "APP_PORT="+strconv.Itoa(port))
		if err := c.Start(); err != nil {
			return 0, err
		}
		cmds = append(cmds, c)
		done := make(chan struct{})
		exited = append(exited, done)
		go func() { _ = c.Wait(); close(done) }()
	}
	err := awaitAnswers(ports, t0, func(i int) bool {
		select {
		case <-exited[i]:
			return true
		default:
			return false
		}
	})
	if err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// awaitAnswers polls each port's GET /health until it answers (in order;
// a start is done only when the last one answers), giving up past
// -startup from t0 or when gone says port i's process has exited.
func awaitAnswers(ports []int, t0 time.Time, gone func(i int) bool) error {
	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	for i, port := range ports {
		for {
			if gone != nil && gone(i) {
				return fmt.Errorf("the fixture on port %d exited (port taken meanwhile?)", port)
			}
			resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Since(t0) > *maxStartup {
				return fmt.Errorf("port %d: %w", port, err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}
