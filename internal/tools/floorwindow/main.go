// Command floorwindow is the CPU floor of an idle Fyne window: a bare Fyne
// app with one static label, shown, or hidden with a tray icon and menu
// (-hidden), doing nothing else. The e2e benchmarks measure it beside the
// app (BenchmarkIdleCPUFloor): the app's idle CPU above it is ours.
package main

import (
	"flag"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

func main() {
	hidden := flag.Bool("hidden", false, "keep the window hidden, with a tray icon and menu")
	flag.Parse()
	a := app.NewWithID("io.outrigger.floorwindow")
	w := a.NewWindow("floorwindow")
	w.SetContent(widget.NewLabel("A static label: the floor of an idle Fyne window."))
	w.Resize(fyne.NewSize(960, 600))
	if desk, ok := a.(desktop.App); ok && *hidden {
		desk.SetSystemTrayMenu(fyne.NewMenu("floorwindow", fyne.NewMenuItem("Show", w.Show)))
	}
	if !*hidden {
		w.Show()
	}
	a.Lifecycle().SetOnStarted(func() { fmt.Println("ready") })
	a.Run()
}
