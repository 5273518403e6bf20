package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"outrigger/core/config"
	"outrigger/core/diagnostics"
	"outrigger/core/instance"
	"outrigger/core/safefile"
)

// maxReport bounds what the CLI accepts from GET /v1/diagnostics: a
// report is a few megabytes (1 000 lines per log).
const maxReport = 256 << 20

// diagnostics saves the report a user attaches to a bug. With an instance
// running it is the instance's (live statuses and output rings); with none
// it is built here from the settings file and the log folder, which is
// when it is needed most: the app would not start.
func (r *runner) diagnostics(args []string) int {
	fs := r.flags("diagnostics")
	rest, code := parse(fs, args)
	if code >= 0 {
		return code
	}
	if len(rest) > 1 {
		return r.usageErr(fs, "takes at most one file name")
	}
	now := time.Now()
	path := diagnostics.FileName(now)
	if len(rest) == 1 {
		path = rest[0]
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			path = filepath.Join(path, diagnostics.FileName(now))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	resp, err := r.c.open(ctx, "GET", "/v1/diagnostics", nil, "application/zip")
	if errors.Is(err, instance.ErrNotRunning) {
		return r.offlineReport(path, now)
	}
	if err != nil {
		return r.failed("diagnostics", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReport+1))
	switch {
	case err != nil:
		return r.failed("diagnostics", fmt.Errorf("reading the report: %w", err))
	case len(data) > maxReport:
		return r.failed("diagnostics", fmt.Errorf("the report is larger than %d MiB", maxReport>>20))
	}
	if _, err := zip.NewReader(bytes.NewReader(data), int64(len(data))); err != nil {
		return r.failed("diagnostics", fmt.Errorf("the instance's answer is not a zip: %w", err))
	}
	// 0600: logs may hold a secret no masking rule recognises.
	if err := safefile.Write(path, data, 0o600); err != nil {
		return r.failed("diagnostics", fmt.Errorf("save %s: %w", path, err))
	}
	r.out("Saved diagnostics of the running instance to %s\n", path)
	return ExitOK
}

// offlineReport builds the report with no supervisor: the effective config
// from the settings file (read only: a broken file is reported, never set
// aside), the sidecars' and the app's last output from their log files.
func (r *runner) offlineReport(path string, now time.Time) int {
	cfg := config.Defaults()
	if r.env.ConfigFile != "" {
		store, err := config.Open(r.env.ConfigFile, false)
		if err != nil {
			fmt.Fprintf(r.env.Stderr, "outrigger: diagnostics: %v\n(the report holds the built-in defaults instead)\n", err)
		} else {
			cfg = store.Config()
		}
	}
	o := diagnostics.Options{Config: cfg, LogDir: r.env.LogDir, AppLog: r.env.AppLog,
		Versions: diagnostics.Versions{App: r.env.Version}, Now: now}
	if err := diagnostics.Save(path, o); err != nil {
		return r.failed("diagnostics", err)
	}
	r.out("No Outrigger instance is running: built the report from %s and the logs in %s.\nSaved diagnostics to %s\n",
		r.env.ConfigFile, r.env.LogDir, path)
	return ExitOK
}
