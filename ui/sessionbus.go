package ui

import (
	"errors"
	"os"
	"path/filepath"
	"sync"

	"github.com/godbus/dbus/v5"
)

// errNoSessionBus: no session bus address is known.
var errNoSessionBus = errors.New("DBUS_SESSION_BUS_ADDRESS is not set and $XDG_RUNTIME_DIR/bus does not exist")

// sessionBusKnown reports whether a session bus exists to connect to.
// Without one, godbus "autolaunches" a bus daemon with dbus-launch, which
// outlives the app: Outrigger leaves no process behind, so it uses the
// desktop's bus or none.
func sessionBusKnown() bool {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return true
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "bus")); err == nil {
			return true
		}
	}
	return false
}

// connectSessionBus opens a private connection to the existing session bus.
func connectSessionBus() (*dbus.Conn, error) {
	if !sessionBusKnown() {
		return nil, errNoSessionBus
	}
	return dbus.ConnectSessionBus()
}

var shared struct {
	once sync.Once
	conn *dbus.Conn
	err  error
}

// sharedSessionBus is godbus's shared session connection, opened only if a
// session bus exists (decided once, like the connection itself).
func sharedSessionBus() (*dbus.Conn, error) {
	shared.once.Do(func() {
		if !sessionBusKnown() {
			shared.err = errNoSessionBus
			return
		}
		shared.conn, shared.err = dbus.SessionBus()
	})
	return shared.conn, shared.err
}
