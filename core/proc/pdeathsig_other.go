//go:build unix && !linux

package proc

import "syscall"

func prepareOS(*syscall.SysProcAttr) {}
