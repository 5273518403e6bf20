// Package diagnostics writes the zip a user attaches to a bug report: the
// effective configuration, every sidecar's status, the newest lines of each
// sidecar's output and of Outrigger's own log, the versions, and the OS and
// hardware. Every entry passes through one redactor before it is written,
// so a secret is masked wherever it turns up, not only where we thought to
// look.
//
// The package takes what it reports as values and a small interface, so it
// needs no live window and no running supervisor of its own.
package diagnostics

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"

	"outrigger/core/config"
	"outrigger/core/logs"
	"outrigger/core/safefile"
	"outrigger/core/supervisor"
)

// DefaultLines is how many of the newest lines of each log the report keeps.
const DefaultLines = 1000

// Sidecars is what the report needs from the supervisor;
// *supervisor.Supervisor has both methods.
type Sidecars interface {
	Snapshot() []supervisor.Status
	Logs(name string) *logs.Ring
}

// Options say what goes into a report.
type Options struct {
	Config   config.Config // the effective (merged) configuration
	Sidecars Sidecars      // nil: no statuses; output from the log files in LogDir
	LogDir   string        // the sidecars' log files (<name>.log), read when there is no supervisor
	AppLog   string        // Outrigger's JSON log file; "" to leave it out
	Versions Versions
	Lines    int      // newest lines per log; 0 means DefaultLines
	Environ  []string // the app's environment, searched for secret values; nil means os.Environ()
	Now      time.Time
}

// Versions are the ones only the caller knows; the Go version and the
// build's VCS revision are added by the package.
type Versions struct {
	App  string // main.version
	Fyne string // "" when there is no window (headless, CLI)
}

// Entry names inside the zip.
const (
	EntryConfig = "config.toml"
	EntryStatus = "status.json"
	EntrySystem = "system.json"
	EntryAppLog = "logs/outrigger.log"
)

// SidecarLogEntry is the entry holding a sidecar's newest output lines.
func SidecarLogEntry(name string) string { return "logs/" + name + ".log" }

// FileName is the name a report saved at now is offered under.
func FileName(now time.Time) string {
	return "outrigger-diagnostics-" + now.Format("20060102-150405") + ".zip"
}

// Save writes the report to path atomically (a temporary file beside it,
// fsynced, then renamed), readable by the user only: logs may hold
// secrets a sidecar printed that no rule here recognises.
func Save(path string, o Options) error {
	var buf bytes.Buffer
	if err := Write(&buf, o); err != nil {
		return err
	}
	if err := safefile.Write(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("diagnostics: save %s: %w", path, err)
	}
	return nil
}

// Write writes the report as a zip to w. A part that cannot be gathered
// (an unreadable log, an OS query that fails) does not stop the report:
// it is listed under "problems" in system.json, because a partial report
// is what a user with a broken install needs most.
func Write(w io.Writer, o Options) error {
	if o.Lines <= 0 {
		o.Lines = DefaultLines
	}
	if o.Environ == nil {
		o.Environ = os.Environ()
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	var problems []string
	problem := func(part string, err error) {
		problems = append(problems, part+": "+err.Error())
	}
	raw, err := encodeConfig(o.Config)
	if err != nil {
		problem(EntryConfig, err)
	}
	z := &zipper{w: zip.NewWriter(w), now: o.Now, red: newRedactor(o.Config, raw, o.Environ)}
	masked := o.Config.Clone()
	if masked.GatewayToken != "" {
		masked.GatewayToken = config.Mask
	}
	for i := range masked.Sidecars {
		masked.Sidecars[i].Args, _ = config.MaskArgs(masked.Sidecars[i].Args)
		for k := range masked.Sidecars[i].Env {
			if config.Secret(k) {
				masked.Sidecars[i].Env[k] = config.Mask
			}
		}
	}
	cfg, _ := encodeConfig(masked)
	z.add(EntryConfig, cfg)

	if o.Sidecars != nil {
		statuses := o.Sidecars.Snapshot()
		js, err := json.MarshalIndent(statuses, "", "  ")
		if err != nil {
			problem(EntryStatus, err)
		}
		z.add(EntryStatus, append(js, '\n'))
		for _, st := range statuses {
			text, err := sidecarLines(o.Sidecars.Logs(st.Name), st.LogFile, o.Lines)
			if err != nil {
				problem(SidecarLogEntry(st.Name), err)
			}
			z.add(SidecarLogEntry(st.Name), text)
		}
	}

	if o.Sidecars == nil && o.LogDir != "" {
		// No running supervisor (the CLI with no app running): the files
		// hold the last run's output.
		for _, sc := range o.Config.Sidecars {
			text, err := tailLog(filepath.Join(o.LogDir, sc.Name+".log"), o.Lines)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				problem(SidecarLogEntry(sc.Name), err)
			}
			z.add(SidecarLogEntry(sc.Name), text)
		}
	}

	if o.AppLog != "" {
		text, err := tailLog(o.AppLog, o.Lines)
		if err != nil {
			problem(EntryAppLog, err)
		}
		z.add(EntryAppLog, text)
	}

	sys := gatherSystem(o.Versions, o.Now)
	sys.Problems = append(problems, sys.Problems...)
	js, err := json.MarshalIndent(sys, "", "  ")
	if err != nil {
		return fmt.Errorf("diagnostics: %w", err)
	}
	z.add(EntrySystem, append(js, '\n'))

	return errors.Join(z.err, z.w.Close())
}

// zipper adds redacted entries and keeps the first error.
type zipper struct {
	w   *zip.Writer
	now time.Time
	red *redactor
	err error
}

func (z *zipper) add(name string, data []byte) {
	if z.err != nil {
		return
	}
	f, err := z.w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: z.now})
	if err == nil {
		_, err = f.Write(z.red.redact(data))
	}
	if err != nil {
		z.err = fmt.Errorf("diagnostics: %s: %w", name, err)
	}
}

// encodeConfig writes cfg as TOML, the format the user edits. The entry is
// written from a copy whose secret environment values (config.Secret)
// were masked; the redactor then masks whatever else looks secret (a
// password in the gateway URL, a token field).
func encodeConfig(cfg config.Config) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# The effective configuration: outrigger.toml merged over the defaults; secrets masked.\n")
	if err := toml.NewEncoder(&b).Encode(cfg); err != nil {
		return b.Bytes(), fmt.Errorf("encode: %w", err)
	}
	return b.Bytes(), nil
}

// sidecarLines formats the newest n lines of a sidecar's ring the way its
// log file does. A ring that is empty (the sidecar has not run since the app
// started) says nothing about the last run, so the file is read instead.
func sidecarLines(ring *logs.Ring, file string, n int) ([]byte, error) {
	var lines []logs.Line
	if ring != nil {
		lines = ring.Lines()
	}
	if len(lines) == 0 && file != "" {
		return tailLog(file, n)
	}
	lines = lines[max(0, len(lines)-n):]
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l.Time.Format("2006-01-02T15:04:05.000Z07:00"))
		b.WriteByte(' ')
		b.WriteString(l.Stream.String())
		b.WriteByte(' ')
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// tailLog returns the last n lines of the log file path. When the file was
// rotated recently and holds fewer, the rest comes from the newest backup
// the rotation left beside it (logs.Backups: <name>-<time>.<ext>, never
// the log of another sidecar whose name starts the same).
func tailLog(path string, n int) ([]byte, error) {
	cur, got, err := tailFile(path, n)
	if err != nil || got >= n {
		return cur, err
	}
	backups := logs.Backups(path)
	if len(backups) == 0 {
		return cur, nil
	}
	prev, _, err := tailFile(backups[len(backups)-1], n-got)
	if err != nil {
		return cur, nil // the current file is what matters; the backup is a bonus
	}
	return append(prev, cur...), nil
}

// tailFile reads the last n lines of path from its end, in blocks, so a
// 10 MB log costs a few reads, not a full scan. It returns the lines and
// how many there are.
func tailFile(path string, n int) ([]byte, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	const block = 64 << 10
	end := fi.Size()
	var data []byte
	for end > 0 {
		start := max(0, end-block)
		chunk := make([]byte, end-start)
		if _, err := f.ReadAt(chunk, start); err != nil {
			return nil, 0, fmt.Errorf("read %s: %w", path, err)
		}
		data = append(chunk, data...)
		end = start
		// n+1 newlines: the last line's own end, then n separators before it.
		if bytes.Count(data, []byte{'\n'}) > n {
			break
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n') // a line still being written
	}
	count := bytes.Count(data, []byte{'\n'})
	for count > n {
		i := bytes.IndexByte(data, '\n')
		data = data[i+1:]
		count--
	}
	return data, count, nil
}
