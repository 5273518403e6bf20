package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"outrigger/core/config"
	"outrigger/internal/workflow/wfapi"
)

// tokenField edits gateway_token, the bearer token the Workflows tab sends
// to the gateway in Connected mode. It sits beside the gateway URL. The
// entry is a password entry (its eye reveals the text on demand); the
// token is saved through the config.Store (outrigger.toml, written 0600)
// and is never logged or shown elsewhere: the note says where the token
// comes from, not what it is.
type tokenField struct {
	store   *config.Store
	getenv  func(string) string
	do      func(func()) // to the UI thread
	onSaved func()       // UI thread, after a save (the Workflows tab takes the token up)

	root  fyne.CanvasObject
	entry *widget.Entry
	save  *widget.Button
	note  *widget.Label

	// UI thread only.
	saved  string // the token in the file, as last read or written
	saving bool

	wg sync.WaitGroup // saves under way (tests wait for them)
	// beforeUpdate, when set (tests), runs in the saving goroutine just
	// before the store is asked to save: where a reload can land.
	beforeUpdate func()
}

func newTokenField(store *config.Store, cfg config.Config, do func(func()), onSaved func()) *tokenField {
	f := &tokenField{store: store, getenv: os.Getenv, do: do, onSaved: onSaved}
	if store != nil {
		cfg = store.Config()
	}
	f.saved = cfg.GatewayToken
	f.entry = widget.NewPasswordEntry()
	f.entry.SetPlaceHolder("none (the gateway's bearer token, if it wants one)")
	f.entry.SetText(f.saved)
	f.entry.Validator = func(s string) error { return config.CheckGatewayToken(strings.TrimSpace(s)) }
	f.entry.OnChanged = func(string) { f.render() }
	f.entry.OnSubmitted = func(string) { f.commit() }
	f.save = widget.NewButtonWithIcon("Save token", theme.DocumentSaveIcon(), f.commit)
	f.note = widget.NewLabel("")
	f.note.Wrapping = fyne.TextWrapWord
	f.note.Importance = widget.LowImportance
	label := widget.NewLabel("Token")
	label.TextStyle = fyne.TextStyle{Bold: true}
	f.root = container.NewVBox(container.NewBorder(nil, nil, label, f.save, f.entry), f.note)
	f.render()
	return f
}

func (f *tokenField) typed() string { return strings.TrimSpace(f.entry.Text) }

// render updates the button and the note. UI thread.
func (f *tokenField) render() {
	dirty := f.typed() != f.saved
	if dirty && !f.saving && f.store != nil && f.entry.Validator(f.entry.Text) == nil {
		f.save.Enable()
	} else {
		f.save.Disable()
	}
	f.note.Importance = widget.LowImportance
	switch {
	case f.store == nil:
		f.note.SetText("The token cannot be saved: no settings file.")
	case f.saving:
		f.note.SetText("Saving…")
	case dirty:
		f.note.SetText("Not saved yet: press Save token (or Enter, or Connect).")
	case f.saved != "":
		f.note.SetText("Sent as a bearer token to the gateway; saved in " + f.store.Path() + " (readable by you only).")
	default:
		_, from := wfapi.GatewayCredential("", f.getenv)
		if from != "" {
			f.note.SetText("None saved: the token in " + from + " is used.")
		} else {
			f.note.SetText("None saved: no token is sent. You may also set " + wfapi.GatewayTokenEnv + ".")
		}
	}
}

// commit saves the typed token when it changed and is valid; the file is
// written off the UI thread. UI thread.
func (f *tokenField) commit() {
	tok := f.typed()
	if tok == f.saved || f.saving || f.store == nil {
		return
	}
	if err := f.entry.Validator(tok); err != nil {
		f.entry.SetValidationError(err)
		return
	}
	f.saving = true
	f.render()
	store, hook, base := f.store, f.beforeUpdate, f.saved
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		if hook != nil {
			hook()
		}
		// The typed token replaces the one the field knew of (base), not
		// one another editor saved since: that is checked with the save,
		// under the store's lock, and refused as an outside change is.
		err := store.UpdateFrom(func(cur config.Config, file *config.File) error {
			if cur.GatewayToken != base {
				return fmt.Errorf("config: not saving %s: %w", store.Path(), config.ErrChangedOnDisk)
			}
			if tok == "" {
				file.GatewayToken = nil
			} else {
				file.GatewayToken = config.Ptr(tok)
			}
			return nil
		})
		// The token in the file was changed outside Outrigger too: read
		// that change in, so that the typed token replaces it only when
		// the user saves again, knowingly.
		var reloaded *string
		if errors.Is(err, config.ErrChangedOnDisk) {
			if rerr := store.Reload(); rerr != nil {
				err = rerr
			} else if now := store.Config().GatewayToken; now == tok {
				err = nil // the other writer saved the same token
			} else {
				reloaded = &now
			}
		}
		f.do(func() { f.afterSave(tok, err, reloaded) })
	}()
}

// storeChanged follows a saved change of gateway_token (one of ours, or
// an editor's the store read in): the entry shows it unless the user
// typed another token there, and the Workflows tab takes it up. UI
// thread.
func (f *tokenField) storeChanged(tok string) {
	if tok == f.saved || f.saving {
		return // ours: afterSave follows
	}
	if f.typed() == f.saved {
		f.entry.SetText(tok)
	}
	f.saved = tok
	f.render()
	if f.onSaved != nil {
		f.onSaved()
	}
}

// afterSave shows how a save went. reloaded, when not nil, is the token
// the file was found to hold after a change outside Outrigger. UI thread.
func (f *tokenField) afterSave(tok string, err error, reloaded *string) {
	f.saving = false
	if err != nil {
		if reloaded != nil {
			f.saved = *reloaded
			if f.onSaved != nil {
				f.onSaved() // the token in effect is the reloaded one now
			}
		}
		f.render()
		msg := "Token not saved: " + err.Error()
		if reloaded != nil {
			msg = "Token not saved: the token in " + filepath.Base(f.store.Path()) + " was changed outside Outrigger. " +
				"Save token again to replace it with the one typed here."
		}
		// The store's messages name file, line and key, never a value.
		f.note.Importance = widget.DangerImportance
		f.note.SetText(msg)
		return
	}
	f.saved = tok
	f.render()
	if f.onSaved != nil {
		f.onSaved()
	}
}
