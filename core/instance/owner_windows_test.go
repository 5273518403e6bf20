//go:build windows

package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// TestWindowsPipeOwner: the pipe listen creates is owned by the current
// user, so Dial takes it; checked against any other owner (LocalSystem
// here, as another user's pipe would be) it is refused. A second user
// cannot be had under Wine, so the refusal is shown by asking for one.
func TestWindowsPipeOwner(t *testing.T) {
	addr := fmt.Sprintf(`\\.\pipe\outrigger-test-owner-%d-%d`, os.Getpid(), time.Now().UnixNano())
	l, err := listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan error, 1)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				accepted <- err
				return
			}
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := Dial(ctx, addr)
	if err != nil {
		t.Fatalf("Dial of our own pipe: %v", err)
	}
	c.Close()

	raw, err := winio.DialPipeContext(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	system, err := windows.CreateWellKnownSid(windows.WinLocalSystemSid)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkOwner(raw, system); !errors.Is(err, ErrForeignPipe) {
		t.Fatalf("a pipe checked against another owner: %v, want ErrForeignPipe", err)
	}
	me, err := currentUser()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkOwner(raw, me); err != nil {
		t.Fatalf("checkOwner against ourselves: %v", err)
	}
	l.Close()
	<-accepted
}
