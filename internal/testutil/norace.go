//go:build !race

package testutil

// RaceEnabled says the binary was built with -race (see race.go).
const RaceEnabled = false
