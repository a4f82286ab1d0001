// Command guest is the /init of the linux-boot example: the first process
// of a Linux guest booted from an initrd that bunix built. It prints what
// it was started with (its args and environment), then powers the machine
// off, which ends the qemu run (urunc starts qemu with -no-reboot). Given
// the one argument "wait", it stays up instead, until the monitor is
// stopped (bunix run's tests stop it with SIGINT).
package main

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

func main() {
	fmt.Println("bunix linux-boot: hello from /init, pid", os.Getpid())
	fmt.Printf("bunix linux-boot: args %q\n", os.Args)
	fmt.Printf("bunix linux-boot: env %q\n", os.Environ())
	fmt.Println("bunix linux-boot: PATH=" + os.Getenv("PATH"))
	if b, err := os.ReadFile("/etc/motd"); err == nil {
		fmt.Printf("bunix linux-boot: /etc/motd: %s", b)
	}
	if len(os.Args) == 2 && os.Args[1] == "wait" {
		fmt.Println("bunix linux-boot: waiting to be stopped")
		for {
			time.Sleep(time.Hour)
		}
	}
	fmt.Println("bunix linux-boot: powering off")
	syscall.Sync()
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Println("bunix linux-boot: power off:", err)
	}
	// PID 1 must not exit: the kernel would panic.
	select {}
}
