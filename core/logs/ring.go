package logs

import (
	"sync"
	"time"
	"unsafe"
)

// DefaultCapacity is the Ring capacity used when NewRing is given 0 or less.
const DefaultCapacity = 5000

// DefaultMaxBytes bounds the text a Ring holds (NewRing's byte budget): with
// MaxRingLine it keeps a sidecar that prints megabyte lines to a couple of
// MiB, while 5 000 ordinary 100-byte lines (0.5 MB) still all fit.
const DefaultMaxBytes = 2 << 20

// MaxRingLine is the most bytes of one line's Text a Ring is given by
// SidecarLog: a longer line is kept in the ring (and shown in the window and
// on the console) cut to this size with TruncatedMark appended; the
// sidecar's log file keeps it whole (up to MaxLine).
const MaxRingLine = 8 << 10

// TruncatedMark ends the Text of a line that was cut to MaxRingLine.
const TruncatedMark = " …[line cut; whole in the log file]"

// lineOverhead is what a stored line costs beyond its text: the Line value
// in the slot (Seq, Time, Stream, the string header).
const lineOverhead = int(unsafe.Sizeof(Line{}))

// Ring is a bounded, concurrency-safe buffer of the newest lines of one
// sidecar, bounded both in lines and in bytes (text plus a per-line
// overhead). Appending never blocks on a reader: readers copy what they need
// under a short lock, and they learn about new lines from Notify.
type Ring struct {
	mu       sync.Mutex
	buf      []Line // circular; grows (doubling) up to cap slots, never allocated at it
	head     int    // index of the oldest line
	n        int    // lines stored
	cap      int
	bytes    int // sum over stored lines of len(Text)+lineOverhead
	maxBytes int
	last     uint64 // Seq of the newest line; 0 when nothing was ever appended
	// notify is closed by the next Append and then forgotten; nil while
	// nobody has asked. See Notify.
	notify chan struct{}
}

// NewRing returns an empty Ring that keeps the newest capacity lines
// (DefaultCapacity if capacity <= 0) within DefaultMaxBytes. Its storage
// grows with use, so a quiet sidecar costs little.
func NewRing(capacity int) *Ring { return NewRingLimits(capacity, 0) }

// NewRingLimits is NewRing with a byte budget. maxBytes <= 0 means
// DefaultMaxBytes, scaled up with a capacity above DefaultCapacity (a ring
// asked to hold 100 000 lines gets 20 times the budget, so it does hold
// 100 000 ordinary lines). The newest line is always kept, even alone over
// budget.
func NewRingLimits(capacity, maxBytes int) *Ring {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	if maxBytes <= 0 {
		maxBytes = int(int64(DefaultMaxBytes) * int64(max(capacity, DefaultCapacity)) / DefaultCapacity)
	}
	return &Ring{cap: capacity, maxBytes: maxBytes}
}

// Append stores l, evicting the oldest lines while the Ring is over its line
// or byte limit. It assigns l.Seq (overwriting any value), sets l.Time to now
// if it is zero, and returns the line as stored so that other sinks can show
// the same Seq and Time. It never blocks on readers.
func (r *Ring) Append(l Line) Line {
	if l.Time.IsZero() {
		l.Time = time.Now() // outside the lock: it is the slowest part
	}
	size := len(l.Text) + lineOverhead
	r.mu.Lock()
	r.last++
	l.Seq = r.last
	for r.n > 0 && (r.n == r.cap || r.bytes+size > r.maxBytes) {
		r.evictOldest()
	}
	if r.n == len(r.buf) {
		r.grow()
	}
	i := r.head + r.n
	if i >= len(r.buf) {
		i -= len(r.buf)
	}
	r.buf[i] = l
	r.n++
	r.bytes += size
	if r.notify != nil {
		close(r.notify) // wakes every waiter at once; close never blocks
		r.notify = nil
	}
	r.mu.Unlock()
	return l
}

// evictOldest drops the oldest line, releasing its text. r.mu must be held.
func (r *Ring) evictOldest() {
	r.bytes -= len(r.buf[r.head].Text) + lineOverhead
	r.buf[r.head] = Line{}
	r.head++
	if r.head == len(r.buf) {
		r.head = 0
	}
	r.n--
}

// grow doubles the storage but never beyond the capacity, so a full Ring
// holds exactly cap slots and no slack. It is only called when every slot
// is in use (r.n == len(r.buf) < r.cap).
func (r *Ring) grow() {
	size := min(max(2*len(r.buf), 64), r.cap)
	nb := make([]Line, size)
	k := copy(nb, r.buf[r.head:])
	copy(nb[k:], r.buf[:r.head])
	r.buf, r.head = nb, 0
}

// Lines returns a copy of every stored line, oldest first.
func (r *Ring) Lines() []Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.copyFrom(0)
}

// Since returns a copy of the stored lines with Seq > seq, oldest first.
// dropped reports that some lines after seq were evicted before this call,
// i.e. the reader fell behind by more than the capacity and should show a gap.
// Since(0) on a Ring that never evicted returns everything with dropped false.
func (r *Ring) Since(seq uint64) (lines []Line, dropped bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq >= r.last {
		return nil, false
	}
	oldest := r.last - uint64(r.n) + 1
	if seq+1 < oldest {
		dropped = true
		seq = oldest - 1
	}
	return r.copyFrom(int(seq + 1 - oldest)), dropped
}

// copyFrom copies the lines from logical position skip (0 = oldest) on.
// r.mu must be held.
func (r *Ring) copyFrom(skip int) []Line {
	n := r.n - skip
	if n <= 0 {
		return nil
	}
	out := make([]Line, n)
	start := r.head + skip
	if start >= len(r.buf) {
		start -= len(r.buf)
	}
	k := copy(out, r.buf[start:min(start+n, len(r.buf))])
	copy(out[k:], r.buf[:n-k])
	return out
}

// Last returns the Seq of the newest line, 0 if none was ever appended.
func (r *Ring) Last() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Len returns the number of stored lines.
func (r *Ring) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Bytes returns what the stored lines count against the byte budget.
func (r *Ring) Bytes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bytes
}

// Cap returns the most lines the Ring keeps.
func (r *Ring) Cap() int { return r.cap }

// Notify returns a channel that is closed by the next Append. Like
// context.Done, it needs no unsubscribe and any number of goroutines may wait
// on it; Append only closes a channel, so a writer never blocks however slow
// or absent the readers are. Take the channel before reading, so that a line
// appended in between is not missed:
//
//	for {
//		ch := ring.Notify()
//		lines, dropped := ring.Since(seen)
//		... show lines; seen = lines[len(lines)-1].Seq if any ...
//		select {
//		case <-ch:
//		case <-ctx.Done():
//			return
//		}
//	}
//
// A burst of appends closes one channel, so a UI wakes once per batch, not
// once per line.
func (r *Ring) Notify() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.notify == nil {
		r.notify = make(chan struct{})
	}
	return r.notify
}
