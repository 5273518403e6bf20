package supervisor

import (
	"slices"
	"sort"
	"strings"

	"outrigger/core/depgraph"
)

// addrEntry is one environment entry that names another sidecar's address
// (${url:NAME}, ${port:NAME}): its template and the value a run got.
type addrEntry struct {
	template string
	value    string
}

// followAddresses is the supervisor's goroutine that keeps ${url:NAME} and
// ${port:NAME} true. A sidecar's address moves when its port preflight
// falls back to another port ("port 8002 busy, using 8012") or when its
// configured port changes and it restarts; a sidecar that was given the old
// address would go on calling it. So whenever a sidecar becomes Ready, every
// sidecar whose environment names it is asked to compare the address it
// was started with to the current one, and restarts if it moved (its card
// shows why). It ends when the supervisor closes.
//
// It reads the bus like any subscriber, so it never holds up a sidecar's
// loop; only the newest state of each sidecar matters to it, which is what
// the bus keeps.
func (s *Supervisor) followAddresses(events <-chan Event, unsubscribe func()) {
	defer unsubscribe()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			if e.Kind != EventState || e.Status.State != Ready {
				continue
			}
			for _, n := range s.order {
				c := s.cars[n]
				if n != e.Sidecar && slices.Contains(depgraph.AddressRefs(c.specCopy().Env), e.Sidecar) {
					s.post(c, command{kind: cmdAddresses})
				}
			}
		case <-s.done:
			return
		}
	}
}

// refreshAddresses restarts the current run if an address its environment
// names has moved since it started. Runs on the sidecar's loop. A run being
// ended, an adopted run (whose environment we never saw) and a quit
// (restarts disabled) are left alone.
func (s *sidecar) refreshAddresses() {
	r := s.run
	if r == nil || r.ending != endNone || r.adopted || !s.st.Wanted || s.sup.noRestart.Load() {
		return
	}
	var moved []string
	for k, a := range r.addrs {
		if now := s.sup.expand(a.template); now != a.value {
			moved = append(moved, k+" "+a.value+" → "+now)
		}
	}
	if len(moved) == 0 {
		return
	}
	sort.Strings(moved)
	reason := "restarting: the address it uses moved (" + strings.Join(moved, ", ") + ")"
	s.log.Info(reason)
	s.end(endRestart, reason)
}
