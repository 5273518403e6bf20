package supervisor

import (
	"testing"
	"time"
)

// exitOf of a nil ProcessState (cmd.Wait failed before it had a status, as
// when something else reaped the child) is an unknown exit, not a panic
// that would take the whole app down.
func TestExitOfNilProcessState(t *testing.T) {
	at := time.Now()
	if e := exitOf(nil, at); e.Code != -1 || e.Signal != "" || !e.At.Equal(at) {
		t.Errorf("exitOf(nil) = %+v, want code -1 at %v", e, at)
	}
}
