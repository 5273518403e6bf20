//go:build !unix

package testutil

// claimPort has no machine-wide claim here: the listen probe alone decides.
func claimPort(int) bool { return true }
