// Package depgraph is the depends_on relation between sidecars: start
// order (closure), cycles, dependents, and the sidecars whose address an
// environment names. It is the one place these are computed: the config
// validator, the supervisor (start and stop order) and the mode controller
// (what a mode needs) all ask it.
package depgraph

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Graph is the depends_on relation of a set of sidecars.
type Graph struct {
	names []string            // configuration order: results are deterministic
	deps  map[string][]string // name → depends_on
}

// Node is one sidecar: its name and what it depends on.
type Node struct {
	Name      string
	DependsOn []string
}

// New builds the graph of nodes. A name that appears twice keeps its
// first node (the validator reports the duplicate).
func New(nodes []Node) Graph {
	g := Graph{deps: make(map[string][]string, len(nodes))}
	for _, n := range nodes {
		if _, dup := g.deps[n.Name]; dup {
			continue
		}
		g.names = append(g.names, n.Name)
		g.deps[n.Name] = n.DependsOn
	}
	return g
}

// CycleError is a dependency cycle, as the path that closes it:
// ["a", "b", "a"].
type CycleError struct{ Path []string }

// Sidecar is the sidecar whose depends_on closes the cycle: the one a
// validation error points at.
func (e *CycleError) Sidecar() string {
	if len(e.Path) < 2 {
		return ""
	}
	return e.Path[len(e.Path)-2]
}

func (e *CycleError) Error() string {
	return "dependency cycle: " + strings.Join(e.Path, " -> ")
}

// Closure returns names with everything they depend on, transitively, each
// after its dependencies (a valid start order; reverse it to stop), every
// name once. An unknown name or a cycle is an error (a *CycleError for a
// cycle).
func (g Graph) Closure(names []string) ([]string, error) {
	const (
		visiting = 1
		done     = 2
	)
	var order []string
	mark := map[string]int{}
	var path []string
	var visit func(n string) error
	visit = func(n string) error {
		deps, ok := g.deps[n]
		if !ok {
			if len(path) > 0 {
				return fmt.Errorf("%s depends on %q, which is not configured", path[len(path)-1], n)
			}
			return fmt.Errorf("no sidecar named %q", n)
		}
		switch mark[n] {
		case visiting:
			return &CycleError{Path: append(cycleFrom(path, n), n)}
		case done:
			return nil
		}
		mark[n] = visiting
		path = append(path, n)
		for _, d := range deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		mark[n] = done
		order = append(order, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// cycleFrom is the tail of path that starts at n.
func cycleFrom(path []string, n string) []string {
	for i, p := range path {
		if p == n {
			return append([]string(nil), path[i:]...)
		}
	}
	return nil
}

// Cycles returns every dependency cycle once, each as the path that closes
// it (["a", "b", "a"]), found in configuration order. Dependencies on
// unknown names are ignored here (they are a separate error).
func (g Graph) Cycles() []*CycleError {
	const (
		visiting = 1
		done     = 2
	)
	mark := map[string]int{}
	var path []string
	var out []*CycleError
	var visit func(n string)
	visit = func(n string) {
		mark[n] = visiting
		path = append(path, n)
		for _, d := range g.deps[n] {
			if _, known := g.deps[d]; !known {
				continue
			}
			switch mark[d] {
			case 0:
				visit(d)
			case visiting:
				out = append(out, &CycleError{Path: append(cycleFrom(path, d), d)})
			}
		}
		path = path[:len(path)-1]
		mark[n] = done
	}
	for _, n := range g.names {
		if mark[n] == 0 {
			visit(n)
		}
	}
	return out
}

// Dependents returns, for each sidecar, the sidecars that list it in
// depends_on, in configuration order.
func (g Graph) Dependents() map[string][]string {
	out := map[string][]string{}
	for _, n := range g.names {
		for _, d := range g.deps[n] {
			out[d] = append(out[d], n)
		}
	}
	return out
}

// AddressRefs lists, sorted, the sidecars whose address the
// environment env names through ${url:NAME} or ${port:NAME}: a sidecar with
// such an entry must be restarted when that address changes.
func AddressRefs(env map[string]string) []string {
	var out []string
	for _, v := range env {
		out = append(out, addressRefs(v)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// addressRefs is the sidecars one value names, in order.
func addressRefs(v string) []string {
	var out []string
	os.Expand(v, func(key string) string {
		if kind, name, ok := strings.Cut(key, ":"); ok && (kind == "url" || kind == "port") {
			out = append(out, name)
		}
		return ""
	})
	return out
}

// HasAddressRef reports whether the value v names another sidecar's
// address (${url:NAME} or ${port:NAME}).
func HasAddressRef(v string) bool { return len(addressRefs(v)) > 0 }
