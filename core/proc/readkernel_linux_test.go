package proc

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"testing"
)

// readKernelFile reads a file longer than the buffer it is given whole, and
// says a missing one is missing as os.ReadFile does.
func TestReadKernelFile(t *testing.T) {
	want, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		t.Skip(err)
	}
	var small [16]byte
	got, err := readKernelFile("/proc/filesystems", small[:0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("read %d bytes, want the %d of os.ReadFile:\n%s", len(got), len(want), got)
	}
	if _, err := readKernelFile("/proc/0/stat", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := ReadStat(os.Getpid()); err != nil {
		t.Errorf("ReadStat of ourselves: %v", err)
	}
}
