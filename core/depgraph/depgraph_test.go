package depgraph

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func graphOf(deps ...[]string) Graph {
	// deps[i] = {name, dependency...}
	var nodes []Node
	for _, d := range deps {
		nodes = append(nodes, Node{Name: d[0], DependsOn: d[1:]})
	}
	return New(nodes)
}

func TestGraphClosure(t *testing.T) {
	g := graphOf(
		[]string{"app", "db", "cache"},
		[]string{"db"},
		[]string{"cache", "db"},
		[]string{"other"},
	)
	for _, tc := range []struct {
		names []string
		want  []string
	}{
		{[]string{"app"}, []string{"db", "cache", "app"}},
		{[]string{"cache"}, []string{"db", "cache"}},
		{[]string{"other", "app"}, []string{"other", "db", "cache", "app"}},
		{[]string{"db", "db"}, []string{"db"}},
		{nil, nil},
	} {
		got, err := g.Closure(tc.names)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Closure(%v) = %v, %v; want %v", tc.names, got, err, tc.want)
		}
	}
	// Every name comes after all it depends on.
	order, _ := g.Closure([]string{"app", "other"})
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	for _, n := range order {
		for _, d := range g.deps[n] {
			if pos[d] > pos[n] {
				t.Errorf("%s before its dependency %s in %v", n, d, order)
			}
		}
	}

	if _, err := g.Closure([]string{"nope"}); err == nil || !strings.Contains(err.Error(), `no sidecar named "nope"`) {
		t.Errorf("unknown name: %v", err)
	}
	bad := graphOf([]string{"a", "ghost"})
	if _, err := bad.Closure([]string{"a"}); err == nil || !strings.Contains(err.Error(), `a depends on "ghost"`) {
		t.Errorf("unknown dependency: %v", err)
	}
}

func TestGraphCycles(t *testing.T) {
	g := graphOf(
		[]string{"a", "b"},
		[]string{"b", "c"},
		[]string{"c", "a"},
		[]string{"d", "d"},
		[]string{"e", "a", "missing"},
	)
	_, err := g.Closure([]string{"e"})
	var ce *CycleError
	if !errors.As(err, &ce) || strings.Join(ce.Path, " -> ") != "a -> b -> c -> a" {
		t.Fatalf("Closure(e) = %v, want the cycle a -> b -> c -> a", err)
	}
	var got []string
	for _, c := range g.Cycles() {
		got = append(got, c.Error())
	}
	want := []string{"dependency cycle: a -> b -> c -> a", "dependency cycle: d -> d"}
	if !slices.Equal(got, want) {
		t.Errorf("Cycles = %q, want %q", got, want)
	}
	if c := g.Cycles(); len(c) == 2 && (c[0].Sidecar() != "c" || c[1].Sidecar() != "d") {
		t.Errorf("the sidecars that close the cycles are %s and %s, want c and d", c[0].Sidecar(), c[1].Sidecar())
	}
	if c := graphOf([]string{"a", "b"}, []string{"b"}).Cycles(); len(c) != 0 {
		t.Errorf("Cycles of an acyclic graph = %v", c)
	}
}

func TestGraphDependents(t *testing.T) {
	g := graphOf([]string{"app", "db"}, []string{"db"}, []string{"worker", "db", "app"})
	got := g.Dependents()
	if !slices.Equal(got["db"], []string{"app", "worker"}) || !slices.Equal(got["app"], []string{"worker"}) || len(got["worker"]) != 0 {
		t.Errorf("Dependents = %v", got)
	}
}

func TestAddressRefs(t *testing.T) {
	env := map[string]string{
		"EMBEDDING_URL": "${url:xgen-embedding}",
		"DB":            "postgres://localhost:${port:db}/x?fallback=${url:xgen-embedding}",
		"PLAIN":         "http://localhost:8002",
		"HOME_LIKE":     "${HOME}",
		"OTHER":         "${env:db}",
	}
	if got := AddressRefs(env); !slices.Equal(got, []string{"db", "xgen-embedding"}) {
		t.Errorf("AddressRefs = %v", got)
	}
	if AddressRefs(map[string]string{"A": "x"}) != nil {
		t.Errorf("AddressRefs of plain values is not empty")
	}
	if !HasAddressRef("${port:db}") || HasAddressRef("${HOME}") || HasAddressRef("8002") {
		t.Errorf("HasAddressRef")
	}
}
