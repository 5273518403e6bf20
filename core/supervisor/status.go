package supervisor

import (
	"fmt"
	"time"
)

// State is where a sidecar is in its life.
type State string

const (
	Stopped   State = "stopped"   // not running, nobody asked it to
	Starting  State = "starting"  // process up, not yet answering its health probe
	Ready     State = "ready"     // answering its health probe
	Unhealthy State = "unhealthy" // process alive, liveness probes failing
	Backoff   State = "backoff"   // crashed, restart scheduled
	Stopping  State = "stopping"  // SIGTERM sent, waiting for the tree to end
	Exited    State = "exited"    // ended by itself and not to be restarted
	Failed    State = "failed"    // gave up: missing binary, start timeout, crash loop, no port
)

// Running reports whether the sidecar is up or on its way up: Starting,
// Ready or Unhealthy. A Stopping sidecar is on its way down, so it is not
// running (its process still exists: see HasProcess).
func (s State) Running() bool {
	return s == Starting || s == Ready || s == Unhealthy
}

// HasProcess reports whether a process of the sidecar exists: it is
// running or still stopping.
func (s State) HasProcess() bool { return s.Running() || s == Stopping }

// Exit describes how a process ended.
type Exit struct {
	Code   int       `json:"code"`             // -1 when ended by a signal
	Signal string    `json:"signal,omitempty"` // e.g. "killed", "terminated"
	At     time.Time `json:"at"`
}

func (e Exit) String() string {
	if e.Signal != "" {
		return "signal " + e.Signal
	}
	return fmt.Sprintf("exit code %d", e.Code)
}

// Status is an immutable snapshot of one sidecar. The sidecar's goroutine
// publishes a fresh value on every change; readers never lock.
type Status struct {
	Name          string     `json:"name"`
	State         State      `json:"state"`
	Wanted        bool       `json:"wanted"` // the user wants it running
	PID           int        `json:"pid"`
	PGID          int        `json:"pgid"`
	Cgroup        string     `json:"cgroup,omitempty"` // the run's cgroup directory (Linux, where one could be made)
	CreateTime    int64      `json:"createTime"`       // ms since epoch, identifies PID
	Port          int        `json:"port"`             // the port in use (may differ from the configured one)
	URL           string     `json:"url"`
	HealthOK      bool       `json:"healthOk"`
	HealthPath    string     `json:"healthPath,omitempty"`
	Restarts      int        `json:"restarts"` // restarts since the last manual start
	Attempt       int        `json:"attempt"`  // consecutive failed starts
	LastExit      *Exit      `json:"lastExit"`
	StartedAt     *time.Time `json:"startedAt"`
	ReadyAt       *time.Time `json:"readyAt"`
	Uptime        float64    `json:"uptime"` // seconds since StartedAt, when running
	NextRestartAt *time.Time `json:"nextRestartAt"`
	CPUPercent    float64    `json:"cpuPercent"`
	RSSBytes      uint64     `json:"rssBytes"`
	LastError     string     `json:"lastError"`
	Reason        string     `json:"reason"` // why it is in this state, e.g. "port 8001 busy, using 8011"
	Binary        string     `json:"binary,omitempty"`
	LogFile       string     `json:"logFile,omitempty"`
}

// withUptime fills Uptime as of now.
func (s Status) withUptime(now time.Time) Status {
	if s.StartedAt != nil && s.State.HasProcess() {
		s.Uptime = now.Sub(*s.StartedAt).Seconds()
	} else {
		s.Uptime = 0
	}
	return s
}

// EventKind tells what happened. Every kind carries the Status after it.
type EventKind string

const (
	EventState      EventKind = "state"      // state or status fields changed
	EventMetrics    EventKind = "metrics"    // only CPU / memory changed
	EventRestarting EventKind = "restarting" // a restart is scheduled: Attempt, Delay, Reason
	EventGaveUp     EventKind = "gaveUp"     // the crash loop limit was reached: Reason
	EventUnhealthy  EventKind = "unhealthy"  // liveness failed: Reason
	EventRecovered  EventKind = "recovered"  // Ready again after a crash or unhealthy spell
)

// notable kinds are never coalesced away by the bus.
func (k EventKind) notable() bool {
	return k != EventState && k != EventMetrics
}

// Event is one fact about one sidecar.
type Event struct {
	Sidecar string        `json:"sidecar"`
	Kind    EventKind     `json:"kind"`
	Time    time.Time     `json:"time"`
	Status  Status        `json:"status"`
	Attempt int           `json:"attempt,omitempty"`
	Delay   time.Duration `json:"delay,omitempty"`
	Reason  string        `json:"reason,omitempty"`
}
