package supervisor

import (
	"sync"

	"outrigger/core/proc"
)

// stateWriter gathers the state-file changes of sidecars that start or stop
// together into one write (group commit). Each write rewrites the whole
// file; one write per change, under the file's lock (with an fsync each, as
// it was then), made fifty sidecars starting together wait for each other
// (about 400 ms for 50) before any could be probed. Changes are queued in
// the order they are made and reach the disk in that order: whoever awaits
// a change and finds no write under way writes everything queued so far,
// the others wait for that write.
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

// put queues a run's record and returns at once; wait returns once it is
// on disk. A sidecar's actor does not wait on the disk to go on with a
// start: its probes begin at once, and only its Ready waits for the record.
func (w *stateWriter) put(r proc.Record) (wait func() error) { return w.enqueue(r) }

// delete forgets name's record and returns once that is on disk: a run is
// over only when the file no longer names it.
func (w *stateWriter) delete(name string) error { return w.enqueue(proc.Record{Name: name})() }

func (w *stateWriter) enqueue(r proc.Record) (wait func() error) {
	w.mu.Lock()
	w.queued = append(w.queued, r)
	mine := w.started + 1 // the next batch to be taken holds this change
	w.mu.Unlock()
	return func() error { return w.await(mine) }
}

// await returns once batch mine is on disk, writing it if no one is.
func (w *stateWriter) await(mine uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
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
