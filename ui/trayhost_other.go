//go:build !(linux || freebsd || netbsd || openbsd)

package ui

import "fyne.io/fyne/v2/driver/desktop"

func platformTrayHost(desk desktop.App) trayHost { return &fyneTrayHost{desk: desk} }
