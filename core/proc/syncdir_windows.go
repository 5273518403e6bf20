//go:build windows

package proc

// syncDir is a no-op: Windows cannot fsync a directory handle, and
// MoveFileEx (os.Rename) is already durable enough there.
func syncDir(string) {}
