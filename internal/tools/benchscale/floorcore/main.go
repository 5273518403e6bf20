// Command floorcore is the RSS floor of a supervisor without a GUI: built
// with CGO_ENABLED=0, it links only the pure-Go dependencies of core/
// (gopsutil, TOML, the console logger) and runs their package
// initialisation, then does nothing until SIGTERM. benchscale measures it
// to show what the GUI's libraries (floorgui) add to the floor.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/BurntSushi/toml"
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
