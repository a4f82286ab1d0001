// Command init is the /init of the initrd the boot test builds with bunix:
// the first process of a Linux guest. It prints a marker to the console,
// lists the initrd's root, its arguments and the environment variables
// whose names start with BUNIX_, and powers the machine off.
package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

func main() {
	fmt.Println("BUNIX-INITRD-BOOTED")
	ents, _ := os.ReadDir("/")
	for _, e := range ents {
		fmt.Println("initrd has /" + e.Name())
	}
	fmt.Printf("argv: %q\n", os.Args)
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "BUNIX_") {
			fmt.Printf("env: %s\n", e)
		}
	}
	if b, err := os.ReadFile("/conf/marker.txt"); err == nil {
		fmt.Printf("marker.txt: %s", b)
	}
	syscall.Sync()
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Println("power off:", err)
	}
	select {}
}
