package modes

import (
	"errors"
	"fmt"

	"outrigger/core/config"
)

// Remember returns a Persist function that writes the mode into the
// settings file through store: atomically, keeping the previous version as
// .bak, writing nothing when nothing changes, and touching nothing but
// mode, gateway_url and service. Standalone and Service keep gateway_url,
// so the UI can offer the last gateway again. Those keys are the mode's
// own, so a file edited outside Outrigger meanwhile is reloaded and the
// mode written over it rather than refused: the outside edit is kept.
func Remember(store *config.Store) func(Mode) error {
	return func(m Mode) error {
		if err := m.validate(); err != nil {
			return fmt.Errorf("remember mode: %w", err)
		}
		edit := func(f *config.File) error {
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
		}
		err := store.Update(edit)
		if errors.Is(err, config.ErrChangedOnDisk) {
			if err = store.Reload(); err == nil {
				err = store.Update(edit)
			}
		}
		return err
	}
}
