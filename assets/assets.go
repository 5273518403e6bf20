// Package assets holds Outrigger's artwork, embedded in the binary: the
// application icon and the tray icon of each state. The PNG files are drawn
// by internal/tools/mkicons; regenerate them with
//
//	go run ./internal/tools/mkicons
//
// The package does not import Fyne: wrap a slice with
// fyne.NewStaticResource(name, bytes) where one is needed.
package assets

import _ "embed"

// Icon is the 512×512 application icon (also FyneApp.toml's icon).
//
//go:embed icon.png
var Icon []byte

// TrayReady is the 64×64 tray icon when every sidecar is Ready (green).
//
//go:embed tray-ready.png
var TrayReady []byte

// TrayStarting is the tray icon while a sidecar is starting or restarting
// (amber).
//
//go:embed tray-starting.png
var TrayStarting []byte

// TrayFailed is the tray icon when a sidecar has failed (red).
//
//go:embed tray-failed.png
var TrayFailed []byte

// TrayIdle is the tray icon in Standalone or Connected mode, when no
// sidecar is supervised (neutral grey-blue).
//
//go:embed tray-idle.png
var TrayIdle []byte
