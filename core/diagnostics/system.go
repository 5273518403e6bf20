package diagnostics

import (
	"context"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/host"
	"github.com/shirou/gopsutil/v3/mem"
)

// System is system.json: what built the app and what it runs on. The host
// name and host ID are left out on purpose: the report is meant to be
// attached to a public issue.
type System struct {
	Created  time.Time `json:"created"`
	App      string    `json:"app"`
	Revision string    `json:"revision,omitempty"` // VCS revision of the build, "+dirty" if modified
	Go       string    `json:"go"`
	Fyne     string    `json:"fyne,omitempty"`

	OS              string `json:"os"`   // runtime.GOOS
	Arch            string `json:"arch"` // runtime.GOARCH
	Platform        string `json:"platform,omitempty"`
	PlatformVersion string `json:"platformVersion,omitempty"`
	Kernel          string `json:"kernel,omitempty"`
	KernelArch      string `json:"kernelArch,omitempty"`

	CPUs            int    `json:"cpus"` // logical CPUs usable by the process
	CPUModel        string `json:"cpuModel,omitempty"`
	MemoryTotal     uint64 `json:"memoryTotal,omitempty"` // bytes
	MemoryAvailable uint64 `json:"memoryAvailable,omitempty"`

	Problems []string `json:"problems,omitempty"` // parts of the report that could not be gathered
}

// systemTimeout bounds the OS queries (WMI on Windows can stall).
const systemTimeout = 10 * time.Second

func gatherSystem(v Versions, now time.Time) System {
	ctx, cancel := context.WithTimeout(context.Background(), systemTimeout)
	defer cancel()
	s := System{
		Created: now,
		App:     v.App,
		Go:      runtime.Version(),
		Fyne:    v.Fyne,
		OS:      runtime.GOOS,
		Arch:    runtime.GOARCH,
		CPUs:    runtime.NumCPU(),
	}
	problem := func(part string, err error) { s.Problems = append(s.Problems, part+": "+err.Error()) }
	if bi, ok := debug.ReadBuildInfo(); ok {
		var dirty bool
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				s.Revision = kv.Value
			case "vcs.modified":
				dirty = kv.Value == "true"
			}
		}
		if dirty && s.Revision != "" {
			s.Revision += "+dirty"
		}
	}
	if p, _, ver, err := host.PlatformInformationWithContext(ctx); err != nil {
		problem("platform", err)
	} else {
		s.Platform, s.PlatformVersion = p, ver
	}
	if k, err := host.KernelVersionWithContext(ctx); err != nil {
		problem("kernel", err)
	} else {
		s.Kernel = k
	}
	if a, err := host.KernelArch(); err == nil {
		s.KernelArch = a
	}
	if infos, err := cpu.InfoWithContext(ctx); err != nil {
		problem("cpu", err)
	} else if len(infos) > 0 {
		s.CPUModel = infos[0].ModelName
	}
	if vm, err := mem.VirtualMemoryWithContext(ctx); err != nil {
		problem("memory", err)
	} else {
		s.MemoryTotal, s.MemoryAvailable = vm.Total, vm.Available
	}
	return s
}
