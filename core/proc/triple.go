package proc

import "runtime"

// Triple is the Tauri-compatible target triple sidecar binaries are named
// with ({name}-{triple}[.exe]), so PyInstaller artifacts built for the seed
// drop in unchanged. Unknown pairs get a stable "<arch>-unknown-<os>".
func Triple(goos, goarch string) string {
	switch goos + "/" + goarch {
	case "linux/amd64":
		return "x86_64-unknown-linux-gnu"
	case "linux/arm64":
		return "aarch64-unknown-linux-gnu"
	case "darwin/arm64":
		return "aarch64-apple-darwin"
	case "darwin/amd64":
		return "x86_64-apple-darwin"
	case "windows/amd64":
		return "x86_64-pc-windows-msvc"
	case "windows/arm64":
		return "aarch64-pc-windows-msvc"
	}
	return goarch + "-unknown-" + goos
}

// HostTriple is Triple for the running program.
func HostTriple() string { return Triple(runtime.GOOS, runtime.GOARCH) }

// ExeSuffix is ".exe" on Windows and "" elsewhere.
func ExeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}
