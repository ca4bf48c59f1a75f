package main

import "syscall"

// childAttr makes the kernel stop the demo upstream if this process dies without cleaning up.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
