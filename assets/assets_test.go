package assets

import (
	"bytes"
	"image/png"
	"testing"
)

func TestIconsDecode(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		size int
	}{
		{"Icon", Icon, 512},
		{"TrayReady", TrayReady, 64},
		{"TrayStarting", TrayStarting, 64},
		{"TrayFailed", TrayFailed, 64},
		{"TrayIdle", TrayIdle, 64},
	} {
		img, err := png.Decode(bytes.NewReader(c.data))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if b := img.Bounds(); b.Dx() != c.size || b.Dy() != c.size {
			t.Errorf("%s is %v, want %dx%d", c.name, b, c.size, c.size)
		}
	}
	if bytes.Equal(TrayReady, TrayFailed) || bytes.Equal(TrayReady, TrayStarting) || bytes.Equal(TrayReady, TrayIdle) {
		t.Error("tray icons of different states are identical")
	}
}
