//go:build linux

package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"outrigger/core/config"
	"outrigger/core/health"
)

// The idle floor of liveness. Most of an idle supervisor's CPU is its
// liveness probes, which the spec requires (every 10 s, Kubernetes'
// default), and on this machine what a wake-up costs moves several times
// over a day. So the idle run measures, over the same seconds as the app,
// a process that does only those probes: benchscale itself with
// -probe-floor N, which starts N fixtures of its own and probes each the
// way the app does (one goroutine per sidecar, health.Prober on a kept
// connection, on the period's boundaries). The app's figure less this one
// is the supervisor's own idle cost.
var probeFloorN = flag.Int("probe-floor", 0, "internal: be the liveness floor with this many fixtures (-fixture) until stdin closes")

// probeFloorMax is the largest size the floor runs at (it starts as many
// fixtures again as the app runs).
const probeFloorMax = 200

func probeFloorMain(n int, fx string) error {
	period := config.DefaultLiveness().Period
	timeout := config.DefaultLiveness().Timeout
	ports := freePorts(n, 45000)
	var urls []string
	var fixtures []*exec.Cmd
	defer func() { // ours to end; Pdeathsig covers our being killed
		for _, c := range fixtures {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}()
	for _, p := range ports {
		c := exec.Command(fx)
		c.Env = append(os.Environ(), "APP_PORT="+strconv.Itoa(p))
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			return err
		}
		fixtures = append(fixtures, c)
		urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d/health", p))
	}
	if err := awaitAnswers(ports, time.Now(), nil); err != nil {
		return fmt.Errorf("probe floor: %w", err)
	}
	for _, u := range urls {
		go func() {
			pr, err := health.NewProber(u)
			if err != nil {
				return
			}
			for {
				now := time.Now()
				time.Sleep(now.Truncate(period).Add(period).Sub(now))
				pr.Check(context.Background(), timeout)
			}
		}()
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it, or dies; the probes end with the process
	return nil
}

// startProbeFloor starts the floor beside an app of n sidecars; stop ends
// it and its fixtures (and may be called again).
func startProbeFloor(fx string, n int) (pid int, stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, nil, err
	}
	cmd := exec.Command(self, "-probe-floor", strconv.Itoa(n), "-fixture", fx)
	in, err := cmd.StdinPipe()
	if err != nil {
		return 0, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	var once sync.Once
	stop = func() { once.Do(func() { in.Close(); _ = cmd.Wait() }) }
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		stop()
		return 0, nil, fmt.Errorf("probe floor said %q", line)
	}
	return cmd.Process.Pid, stop, nil
}
