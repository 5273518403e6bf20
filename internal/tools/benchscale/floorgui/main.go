// Command floorgui is the RSS floor of the app's dependencies: it links
// what the app links (Fyne, GLFW/OpenGL, the tray, D-Bus, gopsutil, ...)
// and runs their package initialisation, then does nothing until SIGTERM.
// benchscale measures it beside the app: the app's memory above this is
// ours.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "fyne.io/fyne/v2"
	_ "fyne.io/fyne/v2/app"
	_ "fyne.io/fyne/v2/canvas"
	_ "fyne.io/fyne/v2/container"
	_ "fyne.io/fyne/v2/dialog"
	_ "fyne.io/fyne/v2/driver/desktop"
	_ "fyne.io/fyne/v2/driver/software"
	_ "fyne.io/fyne/v2/layout"
	_ "fyne.io/fyne/v2/storage"
	_ "fyne.io/fyne/v2/theme"
	_ "fyne.io/fyne/v2/widget"
	_ "fyne.io/systray"
	_ "github.com/BurntSushi/toml"
	_ "github.com/go-gl/glfw/v3.3/glfw"
	_ "github.com/godbus/dbus/v5"
	_ "github.com/lmittmann/tint"
	_ "github.com/mattn/go-isatty"
	_ "github.com/shirou/gopsutil/v3/cpu"
	_ "github.com/shirou/gopsutil/v3/host"
	_ "github.com/shirou/gopsutil/v3/mem"
	_ "github.com/shirou/gopsutil/v3/process"
	_ "github.com/tklauser/go-sysconf"
	_ "golang.org/x/sys/unix"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	fmt.Println("ready")
	<-sig
}
