//go:build linux

package cpustat

import (
	"os"
	"testing"
	"time"
)

// The count grows while this process runs on a CPU (spinning until it has
// grown by 10 ms, however busy the machine), and a process that does not
// exist is an error.
func TestRunNanos(t *testing.T) {
	a, err := RunNanos(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		b, err := RunNanos(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if b >= a+uint64(10*time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ran %d ns in 30 s of spinning", b-a)
		}
	}
	if _, err := RunNanos(1 << 30); err == nil {
		t.Fatal("no error for a pid that cannot exist")
	}
}
