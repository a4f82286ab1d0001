package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/urunc"
)

// This file is urunc's pkg/unikontainers/hypervisors: each monitor's
// command line, from the file and commit named at its function.

// Plan is how a guest is started: the monitor's argv, and the files to
// write first.
type Plan struct {
	// Argv is the monitor's command line; Argv[0] is the monitor's name,
	// looked up on PATH when it runs.
	Argv []string
	// Files are written into the Machine's Dir before the monitor starts,
	// by name: firecracker's config, urunit's.
	Files map[string][]byte
	// AppendInitrd is appended to the guest's initrd (a private copy)
	// before the monitor starts: urunit's config, as urunc appends it.
	AppendInitrd []byte
	// NeedsKVM says the monitor cannot run without /dev/kvm.
	NeedsKVM bool
}

// DefaultMemoryMiB is urunc's default guest memory (its config's
// default_memory_mb, and hypervisors' DefaultMemory).
const DefaultMemoryMiB = 256

// path is where the file name urunc writes beside the monitor is here.
func (m *Machine) path(name string) string { return filepath.Join(m.Dir, name) }

// cpuLimit returns the most vCPUs monitor takes for a guest of arch, as
// bunix (and urunc) starts it, and what the limit is of; 0 where it passes
// no vCPU count or the monitor checks it alone. qemu 7.2 refuses -smp 256
// on x86's pc machine, and -smp 9 on -M virt, whose default GICv2 serves
// 8 CPUs (512 with gic-version=3, which urunc does not set).
func cpuLimit(monitor, arch string) (uint, string) {
	switch {
	case monitor == "qemu" && arch == "arm64":
		return 8, "qemu's arm64 virt machine (with its default GICv2, as urunc starts it)"
	case monitor == "qemu":
		return 255, "qemu's x86 pc machine"
	case monitor == "firecracker":
		return 32, "firecracker"
	}
	return 0, ""
}

// qemuArch is the suffix of qemu-system- for an architecture.
var qemuArch = map[string]string{"amd64": "x86_64", "arm64": "aarch64"}

// Command returns the plan to boot g on m: urunc's command line for g's
// guest, monitor and rootfs.
func Command(g *Guest, m *Machine) (*Plan, error) {
	if !urunc.Runs(g.Type, g.Monitor) {
		return nil, fmt.Errorf("unikernelType = %q on hypervisor = %q: urunc does not run that pair (%s runs: %s)", g.Type, g.Monitor, g.Monitor, strings.Join(urunc.Monitors[g.Monitor], ", "))
	}
	if _, ok := qemuArch[m.Arch]; !ok {
		return nil, fmt.Errorf("architecture %q: bunix run boots amd64 or arm64 guests", m.Arch)
	}
	if m.Net != nil && g.Monitor != "qemu" {
		return nil, fmt.Errorf("-p: %s has no user-mode network to forward a port with (urunc gives it a tap device, which needs root); only qemu guests take -p here", g.Monitor)
	}
	for _, f := range []struct{ what, path string }{{"the kernel", g.Kernel}, {"the initrd", g.Initrd}, {"the block image", g.Block},
		{"the shared rootfs", g.Shared}, {"the run's private directory", m.Dir}} {
		if err := argSafe(f.path); err != nil {
			return nil, fmt.Errorf("%s %s: %w", f.what, msg.Quote(f.path, 120), err)
		}
	}
	if max, what := cpuLimit(g.Monitor, m.Arch); max > 0 && m.CPUs > max {
		return nil, fmt.Errorf("--cpus %d: %s takes at most %d vCPUs", m.CPUs, what, max)
	}
	if m.MemoryMiB == 0 {
		m.MemoryMiB = DefaultMemoryMiB
	}
	var n netParams
	if m.Net != nil {
		n = netParams{IP: UserNetIP, Gateway: UserNetGateway, Mask: UserNetMask}
	}
	p, err := g.parts(m, n)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Files: p.files, AppendInitrd: p.appendInitrd}
	if plan.Files == nil {
		plan.Files = map[string][]byte{}
	}
	switch g.Monitor {
	case "qemu":
		plan.Argv = qemuArgv(g, m, p)
		plan.NeedsKVM = m.Accel != AccelTCG
	case "firecracker":
		plan.Argv, plan.Files[fcConfigName], err = firecrackerArgv(g, m, p)
		plan.NeedsKVM = true
	case "hvt", "spt":
		plan.Argv = solo5Argv(g, m, p)
		plan.NeedsKVM = g.Monitor == "hvt"
	case "cloud-hypervisor":
		plan.Argv = cloudHypervisorArgv(g, m, p)
		plan.NeedsKVM = true
	case "hyperlight-unikraft":
		plan.Argv = hyperlightArgv(g, m)
		plan.NeedsKVM = true
	}
	if err != nil {
		return nil, err
	}
	return plan, nil
}

// argSafe says why host path p cannot go on a monitor's command line, or
// nil: urunc builds qemu's and solo5's as one string split at spaces, and
// qemu reads a comma in an option's value (-drive file=, -fsdev path=,
// -initrd's list) as the start of the next option, so a file named
// "k -fsdev local,path=/etc …" would hand the guest a host directory.
func argSafe(p string) error {
	for _, r := range p {
		switch {
		case unicode.IsSpace(r):
			return errors.New("holds white space, which would split the monitor's command line into more arguments")
		case r == ',':
			return errors.New("holds a comma, which qemu would read as the start of another option on its command line")
		case unicode.IsControl(r):
			return errors.New("holds a control character, which has no place on the monitor's command line")
		}
	}
	return nil
}

// userNetdev is qemu's user-mode network, with id when not "", and n's
// ports forwarded: what bunix puts where urunc puts a tap netdev.
func userNetdev(n *Net, id string) string {
	s := "user"
	if id != "" {
		s += ",id=" + id
	}
	for _, p := range n.Ports {
		s += fmt.Sprintf(",hostfwd=tcp::%d-:%d", p.Host, p.Guest)
	}
	return s
}

// qemuArgv is hypervisors/qemu.go BuildExecCmd at commit d7f875e5: built
// as one string, split at spaces, then -append and the kernel command
// line. With TCG, "-cpu max -accel tcg" replaces "-cpu host -enable-kvm";
// a user-mode network replaces the tap device.
func qemuArgv(g *Guest, m *Machine, p *guestParts) []string {
	mem := strconv.FormatUint(m.MemoryMiB, 10)
	s := "qemu-system-" + qemuArch[m.Arch] + " -m " + mem + "M"
	s += " -L /usr/share/qemu"
	if m.Accel == AccelTCG {
		s += " -cpu max -accel tcg"
	} else {
		s += " -cpu host -enable-kvm"
	}
	s += " -display none -vga none -serial stdio -monitor null"
	if m.CPUs > 0 {
		s += fmt.Sprintf(" -smp %d", m.CPUs)
	}
	if m.Arch == "arm64" {
		s += " -M virt"
	}
	s += " -kernel " + g.Kernel
	if m.Net != nil {
		mac := m.Net.MAC
		if mac == "" {
			mac = UserNetMAC
		}
		if p.netCli != nil {
			s += p.netCli(func(id string) string { return userNetdev(m.Net, id) }, mac)
		} else {
			s += " -net nic,model=virtio,macaddr=" + mac + " -net " + userNetdev(m.Net, "")
		}
	} else {
		s += " -nic none"
	}
	for _, b := range p.blocks {
		cli := b.Exact
		if cli == "" && b.ID != "" && b.Path != "" {
			cli = fmt.Sprintf(" -device virtio-blk-pci,serial=%s,drive=%s,scsi=off -drive format=raw,if=none,id=%s,file=%s", b.ID, b.ID, b.ID, b.Path)
		}
		s += cli
	}
	if g.Initrd != "" && g.Rootfs == RootfsInitrd {
		s += " -initrd " + g.Initrd
	}
	if g.Rootfs == Rootfs9p {
		s += " -fsdev local,id=rootfs9p,security_model=none,path=" + g.Shared
		s += " -device virtio-9p-pci,fsdev=rootfs9p,mount_tag=fs0"
	}
	if p.cli.ExtraInitrd != "" {
		s += " -initrd " + p.cli.ExtraInitrd
	}
	s += p.cli.Other
	return append(strings.Split(s, " "), "-append", p.command)
}

// firecrackerConfig is hypervisors/firecracker.go FirecrackerConfig at
// commit 3272d982.
type firecrackerConfig struct {
	Source struct {
		ImagePath  string `json:"kernel_image_path"`
		BootArgs   string `json:"boot_args"`
		InitrdPath string `json:"initrd_path,omitempty"`
	} `json:"boot-source"`
	Machine struct {
		VcpuCount       uint   `json:"vcpu_count"`
		MemSizeMiB      uint64 `json:"mem_size_mib"`
		Smt             bool   `json:"smt"`
		TrackDirtyPages bool   `json:"track_dirty_pages"`
	} `json:"machine-config"`
	Drives []firecrackerDrive `json:"drives"`
	NetIfs []struct {
		IfaceID  string `json:"iface_id"`
		GuestMAC string `json:"guest_mac,omitempty"`
		HostIF   string `json:"host_dev_name"`
	} `json:"network-interfaces,omitempty"`
	// VSock is always written: omitempty does not omit a struct.
	VSock struct {
		GuestCID int    `json:"guest_cid"`
		UDSPath  string `json:"uds_path"`
		VSockID  string `json:"vsock_id"`
	} `json:"vsock,omitempty"`
}

type firecrackerDrive struct {
	DriveID   string `json:"drive_id"`
	IsRO      bool   `json:"is_read_only"`
	IsRootDev bool   `json:"is_root_device"`
	HostPath  string `json:"path_on_host"`
}

// firecrackerArgv is hypervisors/firecracker.go BuildExecCmd at commit
// 3272d982: firecracker --no-api --config-file FILE --no-seccomp, and the
// config urunc writes to /tmp/fc.json, here to fc.json in m.Dir.
func firecrackerArgv(g *Guest, m *Machine, p *guestParts) ([]string, []byte, error) {
	var c firecrackerConfig
	c.Source.ImagePath = g.Kernel
	c.Source.BootArgs = p.command
	if g.Rootfs == RootfsInitrd {
		c.Source.InitrdPath = g.Initrd
	}
	if c.Source.InitrdPath == "" {
		c.Source.InitrdPath = p.cli.ExtraInitrd
	}
	c.Machine.VcpuCount = m.CPUs
	c.Machine.MemSizeMiB = m.MemoryMiB
	c.Drives = []firecrackerDrive{}
	for _, b := range p.blocks {
		c.Drives = append(c.Drives, firecrackerDrive{DriveID: b.ID, HostPath: b.Path, IsRootDev: b.ID == "rootfs"})
	}
	config, err := json.Marshal(&c)
	if err != nil {
		return nil, nil, fmt.Errorf("writing firecracker's config: %w", err)
	}
	return []string{"firecracker", "--no-api", "--config-file", m.path(fcConfigName), "--no-seccomp"}, config, nil
}

// solo5Argv is hypervisors/hvt.go and spt.go Execve at commit 46a96a5f:
// one string, split at spaces, the kernel command line's words included.
func solo5Argv(g *Guest, m *Machine, p *guestParts) []string {
	s := "solo5-" + g.Monitor + " --mem=" + strconv.FormatUint(m.MemoryMiB, 10)
	for _, b := range p.blocks {
		if b.Path != "" {
			s += " --block:" + b.ID + "=" + b.Path
		}
	}
	if p.cli.Other != "" {
		s += " " + p.cli.Other
	}
	s += " " + g.Kernel + " " + p.command
	return strings.Split(s, " ")
}

// cloudHypervisorArgv is hypervisors/cloud_hypervisor.go BuildExecCmd at
// commit 00475213.
func cloudHypervisorArgv(g *Guest, m *Machine, p *guestParts) []string {
	argv := []string{"cloud-hypervisor", "--memory", "size=" + strconv.FormatUint(m.MemoryMiB, 10) + "M"}
	if m.CPUs > 0 {
		argv = append(argv, "--cpus", "boot="+strconv.FormatUint(uint64(m.CPUs), 10))
	}
	argv = append(argv, "--kernel", g.Kernel, "--console", "off", "--serial", "tty", "--seccomp", "false")
	for _, b := range p.blocks {
		if b.Exact != "" {
			argv = append(argv, strings.Fields(b.Exact)...)
		} else if b.Path != "" {
			disk := "path=" + b.Path
			if b.ID != "" {
				disk += ",id=" + b.ID
			}
			argv = append(argv, "--disk", disk)
		}
	}
	if g.Initrd != "" && g.Rootfs == RootfsInitrd {
		argv = append(argv, "--initramfs", g.Initrd)
	}
	if p.cli.ExtraInitrd != "" {
		argv = append(argv, "--initramfs", p.cli.ExtraInitrd)
	}
	argv = append(argv, strings.Fields(p.cli.Other)...)
	return append(argv, "--cmdline", p.command)
}

// hyperlightArgv is hypervisors/hyperlight.go BuildExecCmd at commit
// 1dee0cd7: the kernel, the initrd, the memory in bytes; no command line.
func hyperlightArgv(g *Guest, m *Machine) []string {
	argv := []string{"hyperlight-unikraft", g.Kernel}
	if g.Initrd != "" && g.Rootfs == RootfsInitrd {
		argv = append(argv, "--initrd", g.Initrd)
	}
	return append(argv, "--memory", strconv.FormatUint(m.MemoryMiB<<20, 10))
}
