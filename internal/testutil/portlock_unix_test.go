//go:build unix

package testutil

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// A port FreePort hands out stays claimed against other test binaries:
// another process cannot take the claim, and can once this one has ended.
func TestFreePortClaimsAcrossProcesses(t *testing.T) {
	if p := os.Getenv("OUTRIGGER_TEST_CLAIM_PORT"); p != "" {
		n, _ := strconv.Atoi(p)
		handedOut.Lock()
		defer handedOut.Unlock()
		if claimPort(n) {
			os.Exit(0)
		}
		os.Exit(3)
	}
	p := FreePort(t)
	other := func() int {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestFreePortClaimsAcrossProcesses$")
		cmd.Env = append(os.Environ(), "OUTRIGGER_TEST_CLAIM_PORT="+strconv.Itoa(p))
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if code := other(); code != 3 {
		t.Fatalf("another process could claim port %d (exit %d): it could have picked it too", p, code)
	}
	// A port nobody holds (below FreePort's range, never handed out here)
	// can be claimed by another process, and by a second one once the
	// first has exited: a claim ends with its process. Another test binary
	// running this test at the same moment (two make tests at once) may
	// take the same low port in between: then another port is tried.
	start := rand.IntN(997)
	for i := range 50 {
		p = 1 + (start+i)%997
		handedOut.Lock()
		used := handedOut.ports[p]
		handedOut.Unlock()
		if used {
			continue
		}
		switch code := other(); code {
		case 0:
		case 3: // held by another process
			continue
		default:
			t.Fatalf("the other process claiming port %d: exit %d", p, code)
		}
		if other() == 0 {
			return // claimed again after the first claimer ended
		}
	}
	t.Fatal("no port could be claimed by one process and again after it ended, in 50 tries: claims outlive their process")
}
