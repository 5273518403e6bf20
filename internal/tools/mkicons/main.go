// Command mkicons draws Outrigger's icons: the app icon and the four tray
// states. The artwork is code, so it is original, reviewable and
// reproducible:
//
//	go run ./internal/tools/mkicons            # writes assets/*.png
//	go run ./internal/tools/mkicons -o DIR     # somewhere else
//
// The mark is an outrigger canoe seen from above: the hull (the app), its
// float, the ama (the sidecar), and the two booms that hold them together.
// In the tray the float carries the state's colour.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
)

// Icon is one file mkicons writes.
type Icon struct {
	File    string
	Size    int // pixels, square
	Samples int // n×n samples per pixel
	Picture picture
}

// Icons lists every file, in the order they are written.
func Icons() []Icon {
	return []Icon{
		{"icon.png", 512, 6, appIcon()},
		{"tray-ready.png", 64, 12, trayIcon(ready)},
		{"tray-starting.png", 64, 12, trayIcon(starting)},
		{"tray-failed.png", 64, 12, trayIcon(failed)},
		{"tray-idle.png", 64, 12, trayIcon(idle)},
	}
}

// Encode renders an icon to PNG bytes.
func (ic Icon) Encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, render(ic.Picture, ic.Size, ic.Samples)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Image renders an icon.
func (ic Icon) Image() image.Image { return render(ic.Picture, ic.Size, ic.Samples) }

func main() {
	out := flag.String("o", "assets", "write the PNG files into `DIR`")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "mkicons:", err)
		os.Exit(1)
	}
	for _, ic := range Icons() {
		b, err := ic.Encode()
		if err == nil {
			err = os.WriteFile(filepath.Join(*out, ic.File), b, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "mkicons:", ic.File, err)
			os.Exit(1)
		}
		fmt.Printf("%s\t%dx%d\t%d bytes\n", filepath.Join(*out, ic.File), ic.Size, ic.Size, len(b))
	}
}
