package supervisor

import (
	"context"
	"log/slog"
	"reflect"
	"time"

	"outrigger/core/config"
)

// removedNote is the status reason of a sidecar that is no longer in the
// settings file (removed, or enabled = false) while this run supervises it.
const removedNote = "no longer in the settings file: still supervised until Outrigger restarts"

// followTimeout bounds how long one config change waits for the sidecars'
// loops to take their new specs (a loop busy with a slow stop holds it).
const followTimeout = 10 * time.Second

// Follow makes store the one source of the sidecars' specs: from now on
// every change of its config (a settings-panel save, the control API, a
// Reload after an outside edit) reaches the supervisor through one path.
// It is the store's synchronous OnChange hook, so once store.Update has
// returned the new specs are in place, and a Restart issued after it
// starts the sidecar with them (the settings panel's "Restart now").
//
// What a change does:
//   - a sidecar whose [[sidecar]] entry changed gets the new spec; it
//     applies at its next start, as UpdateSpec does. A spec the mode
//     controller changed in memory is replaced only when the file's entry
//     for that sidecar changes;
//   - a sidecar removed from the file (or enabled = false) is not stopped:
//     its status reason says so and it stays until Outrigger restarts;
//   - a sidecar added to the file is logged: it is supervised from the
//     next launch (the set of sidecars is fixed when the supervisor is made);
//   - top-level keys the supervisor reads (sequential_start) and the
//     [api] listener apply at the next launch; that is logged too.
//
// Call it right after New, with the store the config came from. stop ends
// following; Shutdown needs no call to it (the hook then does nothing).
func (s *Supervisor) Follow(store *config.Store) (stop func()) {
	f := &follower{sup: s, log: s.log.With("config", store.Path()), gone: map[string]bool{}, added: map[string]bool{}}
	return store.OnChange(f.apply)
}

// follower is the state of one Follow. The store runs its hook one call
// at a time, so its maps need no lock.
type follower struct {
	sup   *Supervisor
	log   *slog.Logger
	gone  map[string]bool // supervised, not in the file: noted on its status
	added map[string]bool // in the file, not supervised: logged
}

func (f *follower) apply(old, cur config.Config) {
	s := f.sup
	select {
	case <-s.done:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), followTimeout)
	defer cancel()
	first := old.Sidecars == nil && reflect.DeepEqual(old, config.Config{})
	for _, n := range s.order {
		c := s.cars[n]
		sp, ok := cur.Sidecar(n)
		switch {
		case !ok && !f.gone[n]:
			f.gone[n] = true
			f.log.Warn("a sidecar was removed from the settings file; it stays supervised until Outrigger restarts", "sidecar", n)
			if err := s.request(ctx, c, command{kind: cmdNote, what: removedNote}); err != nil {
				f.log.Warn("could not note the removal on the sidecar's status", "sidecar", n, "err", err)
			}
			continue
		case !ok:
			continue
		case f.gone[n]:
			delete(f.gone, n)
			if err := s.request(ctx, c, command{kind: cmdNote}); err != nil {
				f.log.Warn("could not clear the removal note", "sidecar", n, "err", err)
			}
		}
		if prev, was := old.Sidecar(n); was && reflect.DeepEqual(prev, sp) {
			continue // its entry did not change: keep what runs (and a mode's in-memory env)
		}
		if reflect.DeepEqual(c.specCopy(), sp) {
			continue
		}
		if err := s.UpdateSpec(ctx, sp); err != nil {
			f.log.Error("the new settings did not reach the sidecar; they apply after Outrigger restarts", "sidecar", n, "err", err)
			continue
		}
		f.log.Info("new settings taken; they apply at the sidecar's next start", "sidecar", n)
	}
	inFile := map[string]bool{}
	for _, sp := range cur.Sidecars {
		inFile[sp.Name] = true
		if _, ok := s.cars[sp.Name]; !ok && !f.added[sp.Name] {
			f.added[sp.Name] = true
			f.log.Warn("a sidecar was added to the settings file; Outrigger supervises it from its next launch", "sidecar", sp.Name)
		}
	}
	for n := range f.added {
		if !inFile[n] {
			delete(f.added, n)
		}
	}
	if first {
		return
	}
	if old.SequentialStart != cur.SequentialStart {
		f.log.Info("sequential_start changed; it applies at the next launch", "sequential_start", cur.SequentialStart)
	}
	if !reflect.DeepEqual(old.API, cur.API) {
		f.log.Info("the [api] settings changed; they apply at the next launch")
	}
}

// note sets (reason != "") or clears (reason == "") the removed-from-file
// note on the status; a clear leaves any other reason alone. Loop only.
func (s *sidecar) note(reason string) error {
	switch {
	case reason == "" && s.st.Reason != removedNote, reason != "" && s.st.Reason == reason:
		return nil
	}
	s.st.Reason = reason
	s.publish(EventState, nil)
	return nil
}
