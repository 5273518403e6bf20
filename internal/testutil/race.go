//go:build race

package testutil

// RaceEnabled says the binary was built with -race. Figures of memory and
// speed mean little then: the detector's shadow memory multiplies RSS and
// its checks slow every access.
const RaceEnabled = true
