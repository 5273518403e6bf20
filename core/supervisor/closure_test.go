package supervisor

import (
	"fmt"
	"slices"
	"testing"

	"outrigger/core/config"
	"outrigger/internal/testutil"
)

// The closure of some sidecars, built from only what they reach, is the
// closure the whole graph gives, for every one and every pair.
func TestClosureFromWhatItReaches(t *testing.T) {
	spec := func(name string, deps ...string) config.Spec {
		s := fixtureSpec(t, "fixture")
		s.Name, s.DependsOn, s.AutoStart = name, deps, false
		return s
	}
	h := newHarness(t, Options{BinDirs: []string{testutil.BinDir(t, "fixture")}},
		spec("c"), spec("b", "c"), spec("a", "b"), spec("d", "b", "c"),
		spec("e"), spec("f", "a", "e"), spec("g", "f", "d"))
	names := []string{"a", "b", "c", "d", "e", "f", "g"}
	check := func(want ...string) {
		t.Helper()
		whole, err := h.sup.graph().Closure(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := h.sup.Closure(want)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, whole) {
			t.Errorf("Closure(%v) = %v, the whole graph gives %v", want, got, whole)
		}
	}
	for i, x := range names {
		check(x)
		for _, y := range names[i+1:] {
			check(x, y)
			check(y, x)
		}
	}
	if _, err := h.sup.Closure([]string{"nobody"}); err == nil {
		t.Error("the closure of a sidecar that is not configured has no error")
	}
}

// BenchmarkClosureOfOne is what each Start asks for: the closure of one
// sidecar among many (a start of n sidecars asks n times).
func BenchmarkClosureOfOne(b *testing.B) {
	for _, n := range []int{50, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var specs []config.Spec
			for i := range n {
				s := fixtureSpec(b, "fixture")
				s.Name, s.AutoStart = fmt.Sprintf("fix-%04d", i), false
				if i > 0 && i%10 != 0 {
					s.DependsOn = []string{fmt.Sprintf("fix-%04d", i-i%10)} // groups of ten on a leader
				}
				specs = append(specs, s)
			}
			h := newHarness(b, Options{BinDirs: []string{testutil.BinDir(b, "fixture")}}, specs...)
			for i := 0; b.Loop(); i++ {
				if _, err := h.sup.Closure([]string{specs[i%n].Name}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
