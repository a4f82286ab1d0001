// Command netguest is the /init of bunix run's -p test: a Linux guest that
// loads the virtio network modules it finds in /modules (in name order,
// again until none loads more), sets eth0's address from the ip= kernel
// parameter urunc writes (ip=ADDR::GATEWAY:MASK:urunc:eth0:off), answers
// one HTTP request on port 80 and powers off.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if err := serve(); err != nil {
		fmt.Println("netguest: failed:", err)
	}
	syscall.Sync()
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

func serve() error {
	os.Mkdir("/proc", 0o555)
	if err := unix.Mount("proc", "/proc", "proc", 0, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	loadModules()
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return err
	}
	var addr, mask string
	for _, f := range strings.Fields(string(cmdline)) {
		if v, ok := strings.CutPrefix(f, "ip="); ok {
			parts := strings.Split(v, ":")
			if len(parts) >= 4 {
				addr, mask = parts[0], parts[3]
			}
		}
	}
	if addr == "" {
		return fmt.Errorf("no ip= in %q", cmdline)
	}
	if err := configure("eth0", addr, mask); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", ":80")
	if err != nil {
		return err
	}
	fmt.Printf("netguest: listening on %s:80\n", addr)
	done := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over -p from %s\n", addr)
		close(done)
	})}
	go srv.Serve(ln)
	<-done
	time.Sleep(500 * time.Millisecond)
	fmt.Println("netguest: answered, powering off")
	return nil
}

// loadModules loads every /modules/*.ko, retrying those whose
// dependencies were not loaded yet.
func loadModules() {
	mods, _ := filepath.Glob("/modules/*.ko")
	sort.Strings(mods)
	for len(mods) > 0 {
		var left []string
		for _, m := range mods {
			f, err := os.Open(m)
			if err != nil {
				continue
			}
			err = unix.FinitModule(int(f.Fd()), "", 0)
			f.Close()
			if err != nil && err != unix.EEXIST {
				left = append(left, m)
			}
		}
		if len(left) == len(mods) {
			for _, m := range left {
				f, _ := os.Open(m)
				fmt.Println("netguest: could not load", m, unix.FinitModule(int(f.Fd()), "", 0))
				f.Close()
			}
			return
		}
		mods = left
	}
}

// configure sets name's address and netmask and brings it up, waiting
// for it to appear.
func configure(name, addr, mask string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := net.InterfaceByName(name); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	set := func(req uint, ip string) error {
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		if err := ifr.SetInet4Addr(net.ParseIP(ip).To4()); err != nil {
			return err
		}
		return unix.IoctlIfreq(fd, req, ifr)
	}
	if err := set(unix.SIOCSIFADDR, addr); err != nil {
		return fmt.Errorf("SIOCSIFADDR: %w", err)
	}
	if err := set(unix.SIOCSIFNETMASK, mask); err != nil {
		return fmt.Errorf("SIOCSIFNETMASK: %w", err)
	}
	ifr, _ := unix.NewIfreq(name)
	ifr.SetUint16(unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS: %w", err)
	}
	// Loopback too, for a tidy stack.
	lo, _ := unix.NewIfreq("lo")
	lo.SetUint16(unix.IFF_UP | unix.IFF_RUNNING)
	unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, lo)
	return nil
}
