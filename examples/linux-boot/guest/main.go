// Command guest is the /init of the linux-boot example: the first process
// of a Linux guest booted from an initrd that bunix built. It prints what
// it was started with, then powers the machine off, which ends the qemu
// run (urunc starts qemu with -no-reboot).
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
)

func main() {
	fmt.Println("bunix linux-boot: hello from /init, pid", os.Getpid())
	fmt.Printf("bunix linux-boot: args %q\n", os.Args)
	fmt.Println("bunix linux-boot: built for " + runtime.GOARCH)
	fmt.Println("bunix linux-boot: PATH=" + os.Getenv("PATH"))
	if b, err := os.ReadFile("/etc/motd"); err == nil {
		fmt.Printf("bunix linux-boot: /etc/motd: %s", b)
	}
	fmt.Println("bunix linux-boot: powering off")
	syscall.Sync()
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Println("bunix linux-boot: power off:", err)
	}
	// PID 1 must not exit: the kernel would panic.
	select {}
}
