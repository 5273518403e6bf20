//go:build unix

package testutil

import (
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
	// A port nobody holds (below FreePort's range, not used before in
	// this process) can be claimed by the other process, and is free
	// again for us once it has exited.
	handedOut.Lock()
	free := 0
	for q := 1; q < 1000 && free == 0; q++ {
		if !handedOut.ports[q] {
			free = q
		}
	}
	handedOut.Unlock()
	p = free
	if code := other(); code != 0 {
		t.Fatalf("another process could not claim the unclaimed port %d (exit %d)", p, code)
	}
	handedOut.Lock()
	ok := claimPort(p)
	handedOut.ports[p] = true // claimed by us now: not a free one for the next run
	handedOut.Unlock()
	if !ok {
		t.Errorf("port %d still claimed after the process that claimed it ended", p)
	}
}
