package run

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Packages says where each monitor comes from, for the error when it is
// not installed.
var Packages = map[string]string{
	"qemu-system-x86_64":  "Debian's package qemu-system-x86 (apt-get install qemu-system-x86)",
	"qemu-system-aarch64": "Debian's package qemu-system-arm (apt-get install qemu-system-arm)",
	"firecracker":         "a firecracker release (github.com/firecracker-microvm/firecracker/releases; Debian has no package)",
	"solo5-hvt":           "Solo5 (github.com/Solo5/solo5: make; Debian has no package)",
	"solo5-spt":           "Solo5 (github.com/Solo5/solo5: make; Debian has no package)",
	"cloud-hypervisor":    "Debian's package cloud-hypervisor (Debian 13 and later) or a release from github.com/cloud-hypervisor/cloud-hypervisor",
	"hyperlight-unikraft": "hyperlight-unikraft (github.com/hyperlight-dev; no distribution packages it)",
}

// NotInstalledError is a monitor that is not on PATH.
type NotInstalledError struct{ Monitor string }

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("%s is not installed (not on PATH): it comes with %s; bunix run --dry-run prints the command line without it", e.Monitor, Packages[e.Monitor])
}

// GuestError is a run whose guest did not end well: the monitor failed,
// the guest panicked, or it did not power off in time.
type GuestError struct{ Err error }

func (e *GuestError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *GuestError) Unwrap() error { return e.Err }

// KVMUsable reports whether KVM runs a guest here, and why not: /dev/kvm
// must open, and a one-instruction guest (hlt) must run to its halt
// within KVMProbeTime. Making a VM is not enough: under some nested
// hypervisors it succeeds, and a guest then never runs.
func KVMUsable() error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		// The vCPU belongs to this thread while it runs.
		runtime.LockOSThread()
		done <- kvmHalt(int(f.Fd()))
	}()
	select {
	case err := <-done:
		f.Close()
		return err
	case <-time.After(KVMProbeTime):
		// The probe's thread stays blocked in KVM_RUN; f stays open for it.
		return fmt.Errorf("/dev/kvm: a one-instruction guest did not halt within %s", KVMProbeTime)
	}
}

// KVMProbeTime is how long KVMUsable waits for its guest to halt.
const KVMProbeTime = 2 * time.Second

// The KVM ioctls the probe uses (linux/kvm.h, x86-64).
const (
	kvmGetVcpuMmapSize     = 0xAE04
	kvmCreateVM            = 0xAE01
	kvmCreateVcpu          = 0xAE41
	kvmSetUserMemoryRegion = 0x4020AE46
	kvmGetSregs            = 0x8138AE83
	kvmSetSregs            = 0x4138AE84
	kvmSetRegs             = 0x4090AE82
	kvmRun                 = 0xAE80
	kvmExitHlt             = 5
)

// kvmHalt makes a VM of one page holding hlt, runs it in real mode from
// that page, and checks that it exits on the halt.
func kvmHalt(kvm int) error {
	ioctl := func(fd int, req, arg uintptr) (uintptr, error) {
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg)
		if errno != 0 {
			return 0, errno
		}
		return r, nil
	}
	vm, err := ioctl(kvm, kvmCreateVM, 0)
	if err != nil {
		return fmt.Errorf("/dev/kvm: KVM_CREATE_VM: %w", err)
	}
	defer unix.Close(int(vm))
	mem, err := unix.Mmap(-1, 0, 0x1000, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		return err
	}
	defer unix.Munmap(mem)
	mem[0] = 0xf4 // hlt
	region := struct {
		slot, flags      uint32
		addr, size, user uint64
	}{0, 0, 0x1000, 0x1000, uint64(uintptr(unsafe.Pointer(&mem[0])))}
	if _, err := ioctl(int(vm), kvmSetUserMemoryRegion, uintptr(unsafe.Pointer(&region))); err != nil {
		return fmt.Errorf("/dev/kvm: KVM_SET_USER_MEMORY_REGION: %w", err)
	}
	vcpu, err := ioctl(int(vm), kvmCreateVcpu, 0)
	if err != nil {
		return fmt.Errorf("/dev/kvm: KVM_CREATE_VCPU: %w", err)
	}
	defer unix.Close(int(vcpu))
	size, err := ioctl(kvm, kvmGetVcpuMmapSize, 0)
	if err != nil {
		return fmt.Errorf("/dev/kvm: KVM_GET_VCPU_MMAP_SIZE: %w", err)
	}
	run, err := unix.Mmap(int(vcpu), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer unix.Munmap(run)
	var sregs [312]byte
	if _, err := ioctl(int(vcpu), kvmGetSregs, uintptr(unsafe.Pointer(&sregs[0]))); err != nil {
		return fmt.Errorf("/dev/kvm: KVM_GET_SREGS: %w", err)
	}
	// cs: base 0 (bytes 0-7), selector 0 (bytes 12-13).
	clear(sregs[0:8])
	clear(sregs[12:14])
	if _, err := ioctl(int(vcpu), kvmSetSregs, uintptr(unsafe.Pointer(&sregs[0]))); err != nil {
		return fmt.Errorf("/dev/kvm: KVM_SET_SREGS: %w", err)
	}
	var regs [18]uint64
	regs[16], regs[17] = 0x1000, 2 // rip, rflags
	if _, err := ioctl(int(vcpu), kvmSetRegs, uintptr(unsafe.Pointer(&regs[0]))); err != nil {
		return fmt.Errorf("/dev/kvm: KVM_SET_REGS: %w", err)
	}
	if _, err := ioctl(int(vcpu), kvmRun, 0); err != nil {
		return fmt.Errorf("/dev/kvm: KVM_RUN: %w", err)
	}
	if reason := binary.NativeEndian.Uint32(run[8:12]); reason != kvmExitHlt {
		return fmt.Errorf("/dev/kvm: a one-instruction guest exited with reason %d, not its halt", reason)
	}
	return nil
}

// StopGrace is how long a monitor has to end after SIGTERM (on a signal
// or the timeout) before it is killed.
const StopGrace = 500 * time.Millisecond

// panicMarkers are console lines that say the guest panicked, though the
// monitor exits 0 (urunc boots Linux with panic=-1 and qemu with
// -no-reboot: a panic reboots, and qemu ends as on a power-off).
var panicMarkers = []string{"Kernel panic - not syncing"}

// Exec runs plan for g on m: writes its files into m.Dir, looks the
// monitor up on PATH, and runs it with the guest's console on stdout, its
// own messages on stderr and no input, until the guest powers off, ctx is
// done (SIGTERM, then SIGKILL after StopGrace: no monitor is left) or
// timeout (0: none) passes. A guest that does not end well is a
// *GuestError: the monitor's exit status, a panic seen on the console, or
// the timeout.
func Exec(ctx context.Context, plan *Plan, g *Guest, m *Machine, stdout, stderr io.Writer, timeout time.Duration) error {
	bin, err := exec.LookPath(plan.Argv[0])
	if err != nil {
		return &NotInstalledError{Monitor: plan.Argv[0]}
	}
	if plan.NeedsKVM {
		if err := KVMUsable(); err != nil {
			return fmt.Errorf("%s needs KVM, which this machine does not give (%v)", plan.Argv[0], err)
		}
	}
	for name, data := range plan.Files {
		if err := os.WriteFile(filepath.Join(m.Dir, name), data, 0o600); err != nil {
			return fmt.Errorf("writing %s for %s: %w", name, plan.Argv[0], err)
		}
	}
	if len(plan.AppendInitrd) > 0 {
		f, err := os.OpenFile(g.Initrd, os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {
			_, err = f.Write(plan.AppendInitrd)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("appending urunit's config to the initrd: %w", err)
		}
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, errTimeout)
		defer cancel()
	}
	console := &panicWatch{w: stdout}
	cmd := exec.CommandContext(ctx, bin, plan.Argv[1:]...)
	cmd.Args[0] = plan.Argv[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, console, stderr
	// Its own process group, so that a terminal's ^C reaches bunix, which
	// stops it; killed should bunix die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = StopGrace
	err = cmd.Run()
	console.flush()
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errTimeout):
		return &GuestError{Err: fmt.Errorf("the guest did not power off within %s: %s was stopped", timeout, plan.Argv[0])}
	case cause != nil:
		return cause
	case err != nil:
		return &GuestError{Err: fmt.Errorf("%s failed: %w", plan.Argv[0], err)}
	case console.panic != "":
		return &GuestError{Err: fmt.Errorf("the guest panicked: %q", console.panic)}
	}
	return nil
}

var errTimeout = errors.New("run: timeout")

// panicWatch passes the console through and remembers the first line
// holding a panic marker.
type panicWatch struct {
	w     io.Writer
	mu    sync.Mutex
	line  []byte
	panic string
}

func (p *panicWatch) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range b {
		if c == '\n' {
			p.check()
			p.line = p.line[:0]
		} else if len(p.line) < 4096 {
			p.line = append(p.line, c)
		}
	}
	return p.w.Write(b)
}

func (p *panicWatch) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.check()
}

func (p *panicWatch) check() {
	if p.panic != "" {
		return
	}
	for _, m := range panicMarkers {
		if i := bytes.Index(p.line, []byte(m)); i >= 0 {
			p.panic = strings.TrimSpace(string(p.line[i:]))
		}
	}
}
