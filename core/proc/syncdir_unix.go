//go:build unix

package proc

import "os"

// syncDir makes a rename durable: the new directory entry reaches the disk.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
