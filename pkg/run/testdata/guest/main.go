// Command guest is the /init of bunix run's device tests: a Linux guest
// that loads the modules it finds in /modules (in name order, again until
// none loads more), then, as its arguments say, and powers off:
//
//	serve             sets eth0's address from the ip= kernel parameter
//	                  urunc writes (ip=ADDR::GATEWAY:MASK:urunc:eth0:off)
//	                  and answers one HTTP request on port 80;
//	mount SERIAL DIR  mounts the virtio disk whose serial is SERIAL (ext4)
//	                  at DIR and prints the files in it;
//	/init config      (started as /urunit) prints /urunit.conf and the
//	                  URUNIT_CONFIG and ADDED variables.
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
	err := setup()
	if err == nil {
		switch {
		case len(os.Args) == 2 && os.Args[1] == "serve":
			err = serve()
		case len(os.Args) == 4 && os.Args[1] == "mount":
			err = mount(os.Args[2], os.Args[3])
		case len(os.Args) == 3 && os.Args[2] == "config":
			var b []byte
			if b, err = os.ReadFile("/urunit.conf"); err == nil {
				fmt.Printf("guest: /urunit.conf: %q\n", b)
				fmt.Printf("guest: URUNIT_CONFIG=%q ADDED=%q\n", os.Getenv("URUNIT_CONFIG"), os.Getenv("ADDED"))
			}
		default:
			err = fmt.Errorf("arguments %q: want serve, mount SERIAL DIR or /init config", os.Args[1:])
		}
	}
	if err != nil {
		fmt.Println("guest: failed:", err)
	}
	syscall.Sync()
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

// setup mounts /proc, /sys and /dev and loads the modules.
func setup() error {
	for _, m := range []struct{ fs, dir string }{{"proc", "/proc"}, {"sysfs", "/sys"}, {"devtmpfs", "/dev"}} {
		os.Mkdir(m.dir, 0o755)
		if err := unix.Mount(m.fs, m.dir, m.fs, 0, ""); err != nil {
			return fmt.Errorf("mounting %s: %w", m.dir, err)
		}
	}
	loadModules()
	return nil
}

// mount mounts the virtio disk with serial at dir and lists it.
func mount(serial, dir string) error {
	var dev string
	deadline := time.Now().Add(20 * time.Second)
	for dev == "" {
		disks, _ := filepath.Glob("/sys/block/vd*")
		for _, d := range disks {
			if b, err := os.ReadFile(filepath.Join(d, "serial")); err == nil && strings.TrimSpace(string(b)) == serial {
				dev = "/dev/" + filepath.Base(d)
			}
		}
		if dev == "" {
			if time.Now().After(deadline) {
				return fmt.Errorf("no virtio disk with serial %q (%v)", serial, disks)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	os.MkdirAll(dir, 0o755)
	if err := unix.Mount(dev, dir, "ext4", 0, ""); err != nil {
		return fmt.Errorf("mounting %s at %s: %w", dev, dir, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			fmt.Printf("guest: %s (%s): %s", filepath.Join(dir, e.Name()), dev, b)
		}
	}
	return nil
}

func serve() error {
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
	fmt.Printf("guest: listening on %s:80\n", addr)
	done := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over -p from %s\n", addr)
		close(done)
	})}
	go srv.Serve(ln)
	<-done
	time.Sleep(500 * time.Millisecond)
	fmt.Println("guest: answered, powering off")
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
				fmt.Println("guest: could not load", m, unix.FinitModule(int(f.Fd()), "", 0))
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
