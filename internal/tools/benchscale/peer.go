//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"outrigger/core/proc"
)

// A peer measured beside us. The targets were set beside
// supervisord and process-compose on the day it was filed; what a process
// start costs on this machine has moved several times over since (50 bare
// fixtures: 78 ms one day, 500–600 ms another). So -peer supervisord runs
// the peer on the same fixtures, in the same hour, with the settings the
// issue measured it with (autorestart, stop timeout 2 s, the rest its
// defaults), and prints its figures beside ours.
//
// Its figures are taken from outside, as supervisord has no notion of
// ready: start → every fixture answers GET /health, and kill -9 → the new
// one answers. It probes nothing, so its idle figure has no liveness probes
// in it; ours has them.
var peerFlag = flag.String("peer", "", "also measure a peer on the same fixtures and print it beside us: supervisord (on PATH; Debian: apt-get install supervisor)")

type peerRow struct {
	n          int
	starts     []time.Duration // exec → every fixture answers
	idleSched  float64         // % of a core, schedstat
	rss        uint64
	mem        memInfo
	killAnswer time.Duration // kill -9 of one fixture → its successor answers (median of 3)
	stopAll    time.Duration
	loggers    int
	logCPU     float64
	logRSS     uint64
}

// supervisord is one running supervisord -n and its fixtures' ports.
type supervisord struct {
	cmd     *exec.Cmd
	started time.Time // just before exec, as ours is counted
	ports   []int
	done    chan error
}

func peerVersion(name string) string {
	out, err := exec.Command(name, "--version").Output()
	if err != nil {
		return name
	}
	return name + " " + strings.TrimSpace(string(out))
}

func startSupervisord(fx, tmp string, n, logging int) (*supervisord, error) {
	dir, err := os.MkdirTemp(tmp, "supervisord-")
	if err != nil {
		return nil, err
	}
	s := &supervisord{ports: freePorts(n, 30000), done: make(chan error, 1)}
	var b strings.Builder
	fmt.Fprintf(&b, "[supervisord]\nnodaemon=true\nlogfile=%s\npidfile=%s\nchildlogdir=%s\n\n",
		filepath.Join(dir, "supervisord.log"), filepath.Join(dir, "supervisord.pid"), dir)
	for i, port := range s.ports {
		cmd := fx
		if i < logging {
			cmd += " -lines-per-sec " + strconv.Itoa(*lineRate)
		}
		fmt.Fprintf(&b, "[program:fix-%04d]\ncommand=%s\nenvironment=APP_PORT=\"%d\"\nautorestart=true\nstopwaitsecs=2\n\n", i+1, cmd, port)
	}
	conf := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	s.cmd = exec.Command("supervisord", "-n", "-c", conf)
	s.cmd.Dir = dir
	// Ours to end: if benchscale dies, so does supervisord (and it stops
	// its programs).
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	s.started = time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start supervisord: %w", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	return s, nil
}

// answering waits until every fixture answers and returns how long after
// the start that was.
func (s *supervisord) answering() (time.Duration, error) {
	err := awaitAnswers(s.ports, s.started, func(int) bool {
		select {
		case err := <-s.done:
			s.done <- err
			return true
		default:
			return false
		}
	})
	return time.Since(s.started), err
}

// pidOn finds the fixture serving port: a child of supervisord whose
// environment has that APP_PORT.
func (s *supervisord) pidOn(port int) (int, error) {
	want := []byte("APP_PORT=" + strconv.Itoa(port) + "\x00")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || ppid(pid) != s.cmd.Process.Pid {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err == nil && strings.Contains(string(env), string(want)) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no child of supervisord serves port %d", port)
}

// ppid is pid's parent, 0 if pid is gone.
func ppid(pid int) int {
	st, err := proc.ReadStat(pid)
	if err != nil {
		return 0
	}
	return st.PPID
}

// killToAnswer kills the fixture on port with SIGKILL and returns how long
// until its successor answers.
func (s *supervisord) killToAnswer(port int) (time.Duration, error) {
	pid, err := s.pidOn(port)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return 0, err
	}
	// The old one must be gone before an answer can be the new one's:
	// a zombie (not yet reaped) holds no socket.
	for ppid(pid) == s.cmd.Process.Pid && !zombie(pid) {
		if time.Since(t0) > time.Minute {
			return 0, fmt.Errorf("pid %d outlived SIGKILL by a minute", pid)
		}
		time.Sleep(time.Millisecond)
	}
	err = awaitAnswers([]int{port}, t0, nil)
	return time.Since(t0), err
}

func zombie(pid int) bool {
	st, err := proc.ReadStat(pid)
	return err != nil || st.State == 'Z'
}

// stop sends SIGTERM and returns how long supervisord took to exit.
func (s *supervisord) stop() (time.Duration, error) {
	t0 := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	select {
	case err := <-s.done:
		return time.Since(t0), err
	case <-time.After(2 * time.Minute):
		s.kill()
		return 0, errors.New("supervisord did not exit within 2 minutes of SIGTERM")
	}
}

func (s *supervisord) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM) // it takes its programs down
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
	}
}

// peerRun measures supervisord with n fixtures: the same windows as ours.
func peerRun(fx, tmp string, n int) (r peerRow, err error) {
	r.n = n
	runs := 1 // past 50, where a start takes seconds, one
	if n <= 50 {
		runs = max(*starts, 1)
	}
	for i := range runs {
		s, err := startSupervisord(fx, tmp, n, 0)
		if err != nil {
			return r, err
		}
		d, err := s.answering()
		if err != nil {
			s.kill()
			return r, fmt.Errorf("start: %w", err)
		}
		r.starts = append(r.starts, d)
		if i < runs-1 {
			if _, err := s.stop(); err != nil {
				return r, err
			}
			continue
		}
		// The last start stays for the idle window, the kills and the stop.
		if err := peerIdle(&r, s); err != nil {
			s.kill()
			return r, err
		}
	}
	if *loggers > 0 && n >= 50 {
		k := min(*loggers, n)
		s, err := startSupervisord(fx, tmp, n, k)
		if err != nil {
			return r, err
		}
		if _, err := s.answering(); err != nil {
			s.kill()
			return r, err
		}
		time.Sleep(*settle)
		pid := s.cmd.Process.Pid
		r.logCPU, err = cpuOver(pid, *logFor)
		if err == nil {
			r.logRSS, err = vmRSS(pid)
		}
		if err != nil {
			s.kill()
			return r, err
		}
		r.loggers = k
		if _, err := s.stop(); err != nil {
			return r, err
		}
	}
	return r, nil
}

func peerIdle(r *peerRow, s *supervisord) (err error) {
	pid := s.cmd.Process.Pid
	time.Sleep(*idleSettle)
	s0, t0 := schedNanos(pid), time.Now()
	time.Sleep(*idleFor)
	r.idleSched = float64(schedNanos(pid)-s0) / float64(time.Since(t0)) * 100
	if r.mem, err = readMem(pid); err != nil {
		return err
	}
	r.rss = r.mem.rss
	var kills []time.Duration
	for _, port := range s.ports[:min(3, len(s.ports))] {
		d, err := s.killToAnswer(port)
		if err != nil {
			return fmt.Errorf("kill → answer on port %d: %w", port, err)
		}
		kills = append(kills, d)
	}
	slices.Sort(kills)
	r.killAnswer = kills[len(kills)/2]
	r.stopAll, err = s.stop()
	return err
}

// printPeer puts the peer's figures beside ours, size by size.
func printPeer(name string, ours []row, peers []peerRow) {
	fmt.Printf("\nBeside a peer, the same fixtures, the same hour: %s (autorestart, stopwaitsecs 2, else its defaults). It has no readiness or liveness of its own: its start and kill figures are to every fixture answering GET /health, and its idle figure has no probes in it.\n\n", name)
	fmt.Printf("| sidecars | figure | Outrigger | %s | target (50) |\n", name)
	fmt.Println("| ---: | --- | ---: | ---: | ---: |")
	for i, p := range peers {
		o := ours[i]
		t := func(s string) string {
			if p.n == 50 {
				return s
			}
			return ""
		}
		fmt.Printf("| %d | start → all Ready / all answer (ms), median (min–max) | %s | %s | %s |\n", p.n, spread(o.startReadies), spread(p.starts), t("≤ 100"))
		fmt.Printf("| %d | idle CPU, schedstat (%% of a core) | %.4f | %.4f | %s |\n", p.n, o.idleSched, p.idleSched, t("≤ 0.05"))
		if p.loggers > 0 {
			fmt.Printf("| %d | CPU, %d × %d lines/s (%% of a core) | %.2f | %.2f | %s |\n", p.n, p.loggers, *lineRate, o.logCPU, p.logCPU, t("≤ 2.0"))
		}
		fmt.Printf("| %d | VmRSS idle (MiB) | %.1f | %.1f | %s |\n", p.n, mib(o.rss), mib(p.rss), t("≤ 25"))
		fmt.Printf("| %d | kill -9 → Ready / answers (ms, median of 3) | %.1f | %.1f | |\n", p.n, ms(o.killReady), ms(p.killAnswer))
		fmt.Printf("| %d | stop-all: SIGTERM → exited (ms) | %.0f | %.0f | |\n", p.n, ms(o.stopAll), ms(p.stopAll))
	}
}
