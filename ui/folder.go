package ui

import (
	"net/url"
	"path/filepath"

	"fyne.io/fyne/v2"
)

func openFolder(a fyne.App, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	return a.OpenURL(&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)})
}
