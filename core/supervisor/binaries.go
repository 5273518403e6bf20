package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"outrigger/core/config"
	"outrigger/core/proc"
)

// devBuild is set to "yes" by `make build` (-ldflags -X), never by a
// package: only a development build also looks in ./binaries.
var devBuild string

// DefaultBinDirs lists the binaries folders in order: $OUTRIGGER_BINARIES,
// <executable dir>/binaries, the packaged locations of this OS and, in a
// development build only, ./binaries under the working directory — last,
// so that a binary planted in whatever folder the app is started from can
// never shadow the app's own. Duplicates are dropped.
func DefaultBinDirs() []string {
	var dirs []string
	if d := os.Getenv("OUTRIGGER_BINARIES"); d != "" {
		dirs = append(dirs, filepath.SplitList(d)...)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		exeDir := filepath.Dir(exe)
		dirs = append(dirs, filepath.Join(exeDir, "binaries"))
		dirs = append(dirs, packagedBinDirs(exeDir)...)
	}
	if devBuild == "yes" {
		if wd, err := os.Getwd(); err == nil {
			dirs = append(dirs, filepath.Join(wd, "binaries"))
		}
	}
	return dedupe(dirs)
}

// packagedBinDirs are where installers put the sidecars, relative to the
// installed executable.
func packagedBinDirs(exeDir string) []string {
	switch runtime.GOOS {
	case "darwin":
		// Outrigger.app/Contents/MacOS/outrigger → Contents/Resources/binaries
		return []string{filepath.Join(exeDir, "..", "Resources", "binaries")}
	case "windows":
		// The installer and the zip use <install dir>\binaries (above);
		// next to the .exe is Tauri's layout, where existing builds put them.
		return []string{exeDir}
	default:
		// <prefix>/bin/outrigger → <prefix>/lib/outrigger/binaries
		return []string{filepath.Join(exeDir, "..", "lib", "outrigger", "binaries")}
	}
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range in {
		d = filepath.Clean(d)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// NotFoundError says where a binary was looked for.
type NotFoundError struct {
	Binary string
	Tried  []string // every candidate path, in order
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("binary %q not found; looked for %s", e.Binary, strings.Join(e.Tried, ", "))
}

// Resolve finds {binary}-{triple}[.exe], then {binary}[.exe], in each
// folder in order.
func Resolve(binary string, dirs []string) (string, error) {
	if err := config.CheckBinary(binary); err != nil {
		return "", err
	}
	names := []string{binary + "-" + proc.HostTriple() + proc.ExeSuffix(), binary + proc.ExeSuffix()}
	var tried []string
	for _, d := range dirs {
		for _, n := range names {
			p := filepath.Join(d, n)
			tried = append(tried, p)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && executable(fi) {
				return p, nil
			}
		}
	}
	return "", &NotFoundError{Binary: binary, Tried: tried}
}

func executable(fi os.FileInfo) bool {
	return runtime.GOOS == "windows" || fi.Mode().Perm()&0o111 != 0
}
