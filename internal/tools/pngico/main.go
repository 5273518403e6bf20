// Command pngico writes a Windows .ico holding a PNG, for the Windows
// package's resource file (packaging/windows.sh):
//
//	go run ./internal/tools/pngico assets/icon.png build/outrigger.ico
//
// An .ico entry may hold PNG data as is (Windows Vista and later), so the
// only work is to bring the image down to the format's largest size,
// 256×256, halving with a 2×2 box filter while it is larger.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pngico in.png out.ico")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "pngico:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	b := img.Bounds()
	if b.Dx() != b.Dy() {
		return fmt.Errorf("%s: %dx%d is not square", in, b.Dx(), b.Dy())
	}
	for img.Bounds().Dx() > 256 {
		img = halve(img)
	}
	if n := img.Bounds().Dx(); n != 256 && n&(n-1) != 0 {
		return fmt.Errorf("%s: side %d does not halve down to 256", in, b.Dx())
	}
	var pngData bytes.Buffer
	if err := png.Encode(&pngData, img); err != nil {
		return err
	}
	side := img.Bounds().Dx()
	var ico bytes.Buffer
	le := binary.LittleEndian
	binary.Write(&ico, le, [3]uint16{0, 1, 1}) // reserved, type icon, one image
	dim := uint8(side)                         // 0 means 256
	binary.Write(&ico, le, struct {
		W, H, Colors, Reserved uint8
		Planes, BPP            uint16
		Size, Offset           uint32
	}{dim, dim, 0, 0, 1, 32, uint32(pngData.Len()), 6 + 16})
	ico.Write(pngData.Bytes())
	return os.WriteFile(out, ico.Bytes(), 0o644)
}

// halve averages each 2×2 block (premultiplied RGBA, so edges stay clean).
func halve(src image.Image) image.Image {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	for y := 0; y < b.Dy()/2; y++ {
		for x := 0; x < b.Dx()/2; x++ {
			var r, g, bl, a uint32
			for _, d := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				cr, cg, cb, ca := src.At(b.Min.X+2*x+d[0], b.Min.Y+2*y+d[1]).RGBA()
				r, g, bl, a = r+cr, g+cg, bl+cb, a+ca
			}
			dst.Set(x, y, color.RGBA64{uint16(r / 4), uint16(g / 4), uint16(bl / 4), uint16(a / 4)})
		}
	}
	return dst
}
