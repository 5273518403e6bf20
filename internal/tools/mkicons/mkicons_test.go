package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedIconsAreCurrent checks the PNG files in assets/ are what
// this program draws, on a grid of pixels (all of them would take seconds). Colours may differ by a little,
// as floating point may round differently on another CPU.
func TestCommittedIconsAreCurrent(t *testing.T) {
	for _, ic := range Icons() {
		t.Run(ic.File, func(t *testing.T) {
			f, err := os.Open(filepath.Join("..", "..", "..", "assets", ic.File))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b != image.Rect(0, 0, ic.Size, ic.Size) {
				t.Fatalf("bounds %v, want %dx%d", b, ic.Size, ic.Size)
			}
			step := 2
			if ic.Size > 128 {
				step = 7
			}
			bad := 0
			for y := 0; y < ic.Size; y += step {
				for x := 0; x < ic.Size; x += step {
					want := pixel(ic.Picture, ic.Size, ic.Samples, x, y)
					got := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
					if !near(got, want) {
						if bad++; bad <= 5 {
							t.Errorf("pixel (%d,%d) is %v, mkicons draws %v", x, y, got, want)
						}
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d pixels differ: run go run ./internal/tools/mkicons", bad)
			}
		})
	}
}

func near(a, b color.NRGBA) bool {
	d := func(x, y uint8) int {
		if x > y {
			return int(x - y)
		}
		return int(y - x)
	}
	if d(a.A, b.A) > 2 {
		return false
	}
	if a.A < 8 { // colour is meaningless when nearly transparent
		return true
	}
	return d(a.R, b.R) <= 2 && d(a.G, b.G) <= 2 && d(a.B, b.B) <= 2
}

// TestShapes checks what makes an icon usable: transparent outside the
// tile's rounded corners, opaque inside, and the tray states told apart by
// their colour.
func TestShapes(t *testing.T) {
	for _, ic := range Icons() {
		img := render(ic.Picture, 32, 2)
		if a := img.NRGBAAt(0, 0).A; a != 0 {
			t.Errorf("%s: corner alpha %d, want 0", ic.File, a)
		}
		if a := img.NRGBAAt(16, 16).A; a != 255 {
			t.Errorf("%s: centre alpha %d, want 255", ic.File, a)
		}
	}
	seen := map[color.NRGBA]string{}
	for _, ic := range Icons()[1:] {
		// The float's middle: the state's colour.
		c := ic.Picture.at(trayCanoe.floatCentre())
		k := color.NRGBA{to8(c.r), to8(c.g), to8(c.b), to8(c.a)}
		if other, dup := seen[k]; dup {
			t.Errorf("%s and %s have the same float colour %v", ic.File, other, k)
		}
		seen[k] = ic.File
	}
}

func TestLensDistance(t *testing.T) {
	s := lens(vec{0, 0}, 0.4, 0.1, 0)
	for _, c := range []struct {
		p    vec
		want float64
	}{
		{vec{0, 0}, -0.1},  // centre: half-width inside
		{vec{0.4, 0}, 0},   // tip
		{vec{0.5, 0}, 0.1}, // beyond the tip
		{vec{0, 0.1}, 0},   // side
		{vec{0, 0.3}, 0.2}, // above the side
	} {
		if got := s(c.p); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("lens distance at %v = %v, want %v", c.p, got, c.want)
		}
	}
}
