package modes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"outrigger/core/config"
)

// Remember returns a Persist function that writes the mode into the
// settings file at configPath (the user's outrigger.toml, or --config) with
// config.Update: atomically, keeping the previous version as .bak, writing
// nothing when nothing changes, and touching nothing but mode, gateway_url
// and service. Standalone and Service keep gateway_url, so the UI can offer
// the last gateway again.
func Remember(configPath string) func(Mode) error {
	return func(m Mode) error {
		if err := m.validate(); err != nil {
			return fmt.Errorf("remember mode: %w", err)
		}
		return config.Update(configPath, func(f *config.File) error {
			f.Mode = config.Ptr(string(m.Kind))
			switch m.Kind {
			case Service:
				// Keep the file minimal: the default service is written
				// only when the file already names one.
				if name := deref(m.ServiceName); name != config.DefaultService || f.Service != nil {
					f.Service = config.Ptr(name)
				}
			case Connected:
				f.GatewayURL = config.Ptr(deref(m.ServerURL))
			}
			return nil
		})
	}
}

// RecoverCorrupt deals with a settings file that config.Load rejected
// (loadErr): the file is renamed to path + ".corrupt-YYYYMMDD-HHMMSS" (with
// "-1", "-2", ... when that exists) so the defaults can be used and saved
// without losing what the user wrote. It is never deleted or overwritten.
// It returns where the file went. A loadErr that is not about the file's
// content (it could not be read at all) moves nothing and is returned as
// the error; so does a nil loadErr or a missing file ("" and nil).
//
// The caller — main, for the everyday settings file only, not for a file
// named with --config — logs loadErr (it names the file, line and key) and
// movedTo, and goes on with config.Defaults().
func RecoverCorrupt(path string, loadErr error) (movedTo string, err error) {
	if loadErr == nil {
		return "", nil
	}
	var ce *config.Error
	if !errors.As(loadErr, &ce) {
		return "", fmt.Errorf("not moving %s aside: it could not be read, which does not make it corrupt: %w", path, loadErr)
	}
	if _, err := os.Lstat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("move %s aside: %w", path, err)
	}
	base := path + ".corrupt-" + time.Now().Format("20060102-150405")
	dst := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		if i > 1000 {
			return "", fmt.Errorf("move %s aside: too many %s* files", path, base)
		}
		dst = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(path, dst); err != nil {
		return "", fmt.Errorf("move %s aside: %w", path, err)
	}
	return dst, nil
}
