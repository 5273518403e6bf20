//go:build !nogui

package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"outrigger/ui"
)

// hasWindow: this build can open the window (see gui_nogui.go for one
// that cannot).
const hasWindow = true

// gui opens the window. SIGINT and SIGTERM take the same quit path as the
// tray and the window menu.
func (o *outrigger) gui(front *relay, hidden bool) int {
	// The name is what the tray shows as its title (a plain go build has
	// no FyneApp.toml metadata, so Fyne would show the app's ID).
	fyneapp.SetMetadata(fyne.AppMetadata{ID: "io.outrigger.app", Name: "Outrigger", Version: version})
	a := fyneapp.NewWithID("io.outrigger.app")
	dropStoppedHook(a)
	u := ui.New(a, ui.Deps{
		Sup:         o.sup,
		Modes:       o.modes,
		Config:      o.store.Config(), // as at launch; the settings panel reads the store
		ConfigFile:  o.paths.ConfigFile,
		Store:       o.store,
		LogDir:      o.paths.LogDir,
		Logger:      o.log,
		Watch:       func() func() { return o.wd.Watch(0) },
		Shutdown:    o.shutdown,
		StartHidden: hidden,
	})
	front.set(u.Show)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	stop := make(chan struct{})
	go func() {
		select {
		case s := <-sig:
			o.log.Info("signal received", "signal", s.String())
			u.Quit()
		case <-o.quitReq:
			o.log.Info("quit requested through the control API")
			u.Quit()
		case <-stop:
		}
	}()
	u.Run()
	close(stop)
	signal.Stop(sig)
	// Run returns after the quit path; make sure it ran even if the app
	// loop ended some other way.
	if err := o.shutdown(context.Background()); err != nil {
		return 1
	}
	return 0
}

// dropStoppedHook leaves Fyne no "stopped" hook to run as its loop ends.
// Fyne 2.7.1 queues that hook (its own: a save of Fyne's preferences) on
// its lifecycle goroutine while the loop shuts down, and that goroutine
// hands it back to the loop just as the loop drains and closes its queue.
// A hand-over that lands after the last drain is never run, and Run waits
// for it forever (Driver.Run → WaitForEvents): the app hung after a
// finished quit, and the race detector reported the send racing the close
// (e2e TestTrayMenuQuit, one CI rehearsal). One that lands after the close
// panics. With no hook nothing is queued. Outrigger keeps its settings in
// outrigger.toml and never uses Fyne's preferences, so nothing is lost.
// The setter is not part of fyne.Lifecycle; should a Fyne release rename
// it, TestStoppedHookDropped fails instead of the quit hanging again.
func dropStoppedHook(a fyne.App) {
	if l, ok := a.Lifecycle().(interface{ SetOnStoppedHookExecuted(func()) }); ok {
		l.SetOnStoppedHookExecuted(nil)
	}
}
