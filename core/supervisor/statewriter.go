package supervisor

import (
	"sync"

	"outrigger/core/proc"
)

// stateWriter gathers the state-file changes of sidecars that start or stop
// together into one write (group commit). Each write rewrites the file with
// an fsync, milliseconds on a busy disk; one write per change, under the
// file's lock, made fifty sidecars starting together wait for each other
// (about 400 ms for 50) before any could be probed. A change still returns
// only once it is on disk, as before: whoever finds no write under way
// writes everything queued so far, the others wait for that write.
type stateWriter struct {
	file    *proc.StateFile
	mu      sync.Mutex
	cond    sync.Cond
	queued  []proc.Record // a Record with PID 0 forgets its Name
	writing bool
	started uint64 // batches taken for writing
	written uint64 // batches on disk
	errs    map[uint64]error
}

func newStateWriter(file *proc.StateFile) *stateWriter {
	w := &stateWriter{file: file, errs: map[uint64]error{}}
	w.cond.L = &w.mu
	return w
}

func (w *stateWriter) put(r proc.Record) error { return w.change(r) }

func (w *stateWriter) delete(name string) error { return w.change(proc.Record{Name: name}) }

func (w *stateWriter) change(r proc.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queued = append(w.queued, r)
	mine := w.started + 1 // the next batch to be taken holds this change
	for w.written < mine {
		if w.writing {
			w.cond.Wait()
			continue
		}
		batch := w.queued
		w.queued = nil
		w.writing = true
		w.started++
		n := w.started
		w.mu.Unlock()
		err := w.file.Update(batch)
		w.mu.Lock()
		w.writing = false
		w.written = n
		if err != nil {
			w.errs[n] = err
		}
		for k := range w.errs { // long read by their waiters, who wake at once
			if k+64 < n {
				delete(w.errs, k)
			}
		}
		w.cond.Broadcast()
	}
	return w.errs[mine]
}
