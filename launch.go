package main

import (
	"errors"
	"log/slog"
	"time"

	"outrigger/core/instance"
	"outrigger/core/supervisor"
	"outrigger/internal/cli"
)

// takeOverWait is how long a launch that waited for a quit tries to take
// the lock: beyond control.Server.Close's bound for its last connections.
const takeOverWait = 10 * time.Second

// becomePrimary makes this launch the single instance (inst; nil when the
// check is unavailable: the app runs without its endpoint), or hands the
// launch to the instance running (handed, with the exit code): that one
// shows its window. One that is quitting is waited for, and this launch
// then takes over; before, it exited saying Outrigger runs, and once the
// quit ended nothing did.
func becomePrimary(runtimeDir string, log *slog.Logger) (inst *instance.Instance, code int, handed bool) {
	addr := instance.Address(runtimeDir)
	inst, err := instance.Acquire(runtimeDir)
	for errors.Is(err, instance.ErrRunning) {
		shown, serr := cli.Show(addr, instance.AnswerWait)
		switch {
		case errors.Is(serr, supervisor.ErrQuitting):
			log.Info("Outrigger is quitting; this launch starts once it has ended")
			if werr := cli.AwaitQuit(addr); werr != nil {
				log.Error("Outrigger is quitting but did not answer", "err", werr)
				return nil, 1, true
			}
			// Its lock goes once its API has closed, which may take the API
			// a few seconds (control.Server.Close lets the last requests end).
			inst, err = instance.AcquireWithin(runtimeDir, takeOverWait)
			continue // another launch may have taken over first: defer to it
		case serr != nil:
			log.Error("Outrigger is already running but did not answer", "err", serr)
			return nil, 1, true
		case shown:
			log.Info("Outrigger is already running; asked it to show its window")
		default:
			log.Info("Outrigger is already running headless (no window to show); see `outrigger status`")
		}
		return nil, 0, true
	}
	if err != nil {
		log.Warn("single-instance check unavailable", "err", err)
		return nil, 0, false
	}
	return inst, 0, false
}
