package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file is urunc's pkg/unikontainers/unikernels: for each guest, the
// kernel command line (CommandString) and what it adds to the monitor's
// (MonitorNetCli, MonitorBlockCli, MonitorCli), each from the file and
// commit named at its function.

// blockDev is urunc's types.BlockDevParams: a block device for the guest.
type blockDev struct {
	ID, Source, MountPoint string
}

// blockArg is urunc's types.MonitorBlockArgs: a block device as a monitor
// takes it, by ID and path, or as exact arguments (qemu).
type blockArg struct {
	ID, Path string
	Exact    string
}

// monitorCli is urunc's types.MonitorCliArgs: a second initrd, and other
// arguments (a string of space-led words, as urunc's qemu.go splits it).
type monitorCli struct {
	ExtraInitrd string
	Other       string
}

// netParams are urunc's types.NetDevParams, as a guest sees them: empty
// without a network.
type netParams struct{ IP, Gateway, Mask string }

// guestParts is what a guest adds to the monitor's command line.
type guestParts struct {
	command string
	blocks  []blockArg
	cli     monitorCli
	// netCli builds the guest's own network arguments for qemu from the
	// netdev with the given id (urunc's "tap,id=…"; bunix's "user,id=…"),
	// nil for qemu's default.
	netCli func(netdev func(id string) string, mac string) string
	// files are written into the Machine's Dir before the monitor starts,
	// by name; appendInitrd is appended to the guest's initrd.
	files        map[string][]byte
	appendInitrd []byte
}

// The names of the files urunc writes beside the monitor.
const (
	// urunitConfName is urunit's config (unikernels/linux.go urunitConfPath).
	urunitConfName = "urunit.conf"
	// fcConfigName is firecracker's config (hypervisors/firecracker.go
	// FCJsonFilename, which urunc writes in /tmp).
	fcConfigName = "fc.json"
)

// blockIDRootfs names the block rootfs (unikontainers/block.go,
// handleBlockBasedRootfs); blockIDAnnotation a block image mounted
// elsewhere, next to another rootfs (measured with urunc 0.7: qemu gets
// serial=annot_vol).
const (
	blockIDRootfs     = "rootfs"
	blockIDAnnotation = "annot_vol"
)

// blockDevs are the block devices urunc hands g.
func (g *Guest) blockDevs() []blockDev {
	switch {
	case g.Rootfs == RootfsBlock:
		return []blockDev{{ID: blockIDRootfs, Source: g.Block, MountPoint: "/"}}
	case g.Block != "" && g.BlockMount != "":
		return []blockDev{{ID: blockIDAnnotation, Source: g.Block, MountPoint: g.BlockMount}}
	}
	return nil
}

// parts returns what guest g adds on m: its CommandString and monitor
// arguments.
func (g *Guest) parts(m *Machine, n netParams) (*guestParts, error) {
	switch g.Type {
	case "linux":
		return linuxParts(g, m, n)
	case "unikraft":
		return unikraftParts(g, m, n), nil
	case "rumprun":
		return rumprunParts(g, n)
	case "mirage":
		return mirageParts(g, n), nil
	case "mewz":
		return mewzParts(g, n), nil
	case "hermit":
		return hermitParts(g, n), nil
	case "freebsd":
		return freebsdParts(g, m, n), nil
	}
	return nil, fmt.Errorf("unikernelType = %q: not a guest urunc knows", g.Type)
}

// linuxParts is unikernels/linux.go at commit 1b26bc7c (urunc-dev/urunc).
func linuxParts(g *Guest, m *Machine, n netParams) (*guestParts, error) {
	if len(g.Args) == 0 {
		// parseCmdLine.
		return nil, errors.New("no init was specified: the image has no Entrypoint or Cmd, and none was given after IMAGE")
	}
	// parseCmdLine wraps an argument with a space in single quotes, for
	// urunit; a plain kernel splits it.
	args := make([]string, len(g.Args))
	for i, a := range g.Args {
		a = strings.TrimSpace(a)
		if strings.Contains(a, " ") {
			a = "'" + a + "'"
		}
		args[i] = a
	}
	app, command := args[0], strings.Join(args[1:], " ")
	urunit := strings.Contains(app, "urunit")
	p := &guestParts{files: map[string][]byte{}}

	// CommandString.
	rdinit := ""
	boot := "panic=-1"
	console := "console=ttyS0"
	if m.Arch == "arm64" && g.Monitor == "qemu" {
		console = "console=ttyAMA0"
	}
	boot += " " + console
	switch g.Rootfs {
	case RootfsBlock:
		boot += " root=/dev/vda rw"
	case RootfsInitrd:
		boot += " root=/dev/ram0 rw"
		rdinit = "rd"
	case Rootfs9p:
		boot += " root=fs0 rw rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=5000000,cache=mmap,posixacl"
	}
	if n.IP != "" {
		boot += fmt.Sprintf(" ip=%s::%s:%s:urunc:eth0:off", n.IP, n.Gateway, n.Mask)
	}
	if !urunit {
		for _, e := range g.Env {
			boot += " " + e
		}
	} else if g.Rootfs == RootfsInitrd {
		boot += " URUNIT_CONFIG=/" + urunitConfName
	} else {
		boot += " retain_initrd URUNIT_CONFIG=/sys/firmware/initrd"
	}
	if !ipInSubnet(n) {
		boot += " URUNIT_DEFROUTE=1"
	}
	boot += " " + rdinit + "init=" + app + " -- " + command
	p.command = boot

	// MonitorBlockCli.
	for _, b := range g.blockDevs() {
		switch g.Monitor {
		case "qemu":
			p.blocks = append(p.blocks, blockArg{Exact: fmt.Sprintf(" -device virtio-blk-pci,serial=%s,drive=%s -drive format=raw,if=none,id=%s,file=%s", b.ID, b.ID, b.ID, b.Source)})
		case "firecracker":
			p.blocks = append(p.blocks, blockArg{ID: "FC" + b.ID, Path: b.Source})
		}
	}

	// MonitorCli.
	extra := ""
	if urunit && g.Rootfs != RootfsInitrd {
		extra = m.path(urunitConfName)
	}
	switch g.Monitor {
	case "qemu":
		p.cli = monitorCli{Other: " -no-reboot -nodefaults", ExtraInitrd: extra}
	case "firecracker":
		p.cli = monitorCli{ExtraInitrd: extra}
	}

	// setupUrunitConfig: into the initrd, else a file handed as a second
	// initrd.
	if urunit {
		conf := linuxUrunitConfig(g, g.blockDevs())
		if g.Rootfs == RootfsInitrd {
			p.appendInitrd = newcFile(urunitConfName, conf)
		} else {
			p.files[urunitConfName] = conf
		}
	}
	return p, nil
}

// linuxUrunitConfig is unikernels/linux.go buildUrunitConfig (commit
// 1b26bc7c).
func linuxUrunitConfig(g *Guest, blocks []blockDev) []byte {
	var sb strings.Builder
	sb.WriteString("UES\n")
	for _, e := range g.Env {
		sb.WriteString(e + "\n")
	}
	sb.WriteString("UEE\nUCS\n")
	fmt.Fprintf(&sb, "UID:%d\nGID:%d\nWD:%s\n", g.UID, g.GID, g.WorkingDir)
	sb.WriteString("UCE\nUBS\n")
	for _, b := range blocks {
		if b.ID == blockIDRootfs {
			continue
		}
		id := b.ID
		if g.Monitor == "firecracker" {
			id = "FC" + id
		}
		fmt.Fprintf(&sb, "ID:%s\nMP:%s\n", id, b.MountPoint)
	}
	sb.WriteString("UBE\n")
	return []byte(sb.String())
}

// ipInSubnet is unikernels/linux.go IsIPInSubnet: true without a network.
func ipInSubnet(n netParams) bool {
	ip, gw := parseIP(n.IP), parseIP(n.Gateway)
	mask := parseIP(n.Mask)
	if ip == nil || gw == nil || mask == nil {
		return ip == nil && gw == nil
	}
	for i := range 4 {
		if ip[i]&mask[i] != gw[i]&mask[i] {
			return false
		}
	}
	return true
}

// parseIP reads a dotted IPv4 address, nil if s is not one.
func parseIP(s string) []byte {
	f := strings.Split(s, ".")
	if len(f) != 4 {
		return nil
	}
	ip := make([]byte, 4)
	for i, x := range f {
		v, err := strconv.ParseUint(x, 10, 8)
		if err != nil {
			return nil
		}
		ip[i] = byte(v)
	}
	return ip
}

// maskBits is unikernels/utils.go subnetMaskToCIDR.
func maskBits(mask string) int {
	n := 0
	for _, b := range parseIP(mask) {
		for ; b != 0; b <<= 1 {
			n++
		}
	}
	return n
}

// unikraftCompat is unikernels/unikraft.go UnikraftCompatVersion: older
// Unikraft gets the compatibility arguments and no environment.
const unikraftCompat = "0.16.1"

// unikraftParts is unikernels/unikraft.go at commit 46a96a5f.
func unikraftParts(g *Guest, m *Machine, n netParams) *guestParts {
	env := g.Env
	var address, gateway, mask, vfs string
	if g.Version != "" && !versionAtLeast(g.Version, unikraftCompat) {
		// setCompatArgs.
		address = "netdev.ipv4_addr=" + n.IP
		gateway = "netdev.ipv4_gw_addr=" + n.Gateway
		mask = "netdev.ipv4_subnet_mask=" + n.Mask
		if g.Rootfs == RootfsInitrd {
			vfs = "vfs.rootfs=initrd"
		}
		env = nil
	} else {
		// setCurrentArgs.
		address = "netdev.ip=" + n.IP + "/24:" + n.Gateway + ":8.8.8.8"
		switch g.Rootfs {
		case RootfsInitrd:
			vfs = `vfs.fstab=[ "initrd0:/:extract:::" ]`
		case Rootfs9p:
			vfs = `vfs.fstab=[ "fs0:/:9pfs:::" ]`
		}
	}
	console := ""
	if m.Arch == "arm64" {
		console = "console=ttyS0"
	}
	envVars := ""
	if len(env) > 0 {
		envVars = "env.vars=[ " + strings.Join(env, " ") + " ]"
	}
	// Init: the application name is always "Unikraft"; every process
	// argument follows "--". Before 0.7 (commit f412631) the first
	// argument was the name.
	app, args := "Unikraft", g.Args
	if !g.UnikraftArgv0 && len(args) > 0 {
		app, args = args[0], args[1:]
	}
	return &guestParts{command: fmt.Sprintf("%s %s %s %s %s %s %s -- %s", app, console, envVars,
		address, gateway, mask, vfs, strings.Join(args, " "))}
}

// rumprunParts is unikernels/rumprun.go at commit 46a96a5f.
func rumprunParts(g *Guest, n netParams) (*guestParts, error) {
	// CommandString: rumprun's not-quite-JSON, built by hand.
	cmd, err := json.Marshal(struct {
		CmdLine string `json:"cmdline"`
	}{strings.Join(g.Args, " ")})
	if err != nil {
		return nil, err
	}
	s := strings.TrimSuffix(string(cmd), "}")
	var envs []string
	for _, e := range g.Env {
		b, err := json.Marshal(struct {
			Env string `json:"env"`
		}{e})
		if err != nil {
			return nil, err
		}
		envs = append(envs, strings.TrimSuffix(strings.TrimPrefix(string(b), "{"), "}"))
	}
	if len(envs) > 0 {
		s += "," + strings.Join(envs, ",")
	}
	if n.Mask != "" {
		net, _ := json.Marshal(struct {
			Interface string `json:"if"`
			Cloner    string `json:"cloner"`
			Type      string `json:"type"`
			Method    string `json:"method"`
			Address   string `json:"addr"`
			Mask      string `json:"mask"`
			Gateway   string `json:"gw"`
		}{"ukvmif0", "True", "inet", "static", n.IP, strconv.Itoa(maskBits("128.0.0.0")), n.Gateway})
		s += `,"net":` + string(net)
	}
	p := &guestParts{}
	hostPath := ""
	if blocks := g.blockDevs(); len(blocks) > 0 {
		blk, _ := json.Marshal(struct {
			Source     string `json:"source"`
			Path       string `json:"path"`
			FsType     string `json:"fstype"`
			Mountpoint string `json:"mountpoint"`
		}{"etfs", "/dev/ld0a", "blk", blocks[0].MountPoint})
		s += `,"blk":` + string(blk)
		hostPath = blocks[0].Source
	}
	p.command = s + "}"
	// MonitorBlockCli: one block, named rootfs, for solo5.
	p.blocks = []blockArg{{ID: "rootfs", Path: hostPath}}
	return p, nil
}

// mirageParts is unikernels/mirage.go at commit 46a96a5f.
func mirageParts(g *Guest, n netParams) *guestParts {
	var address, gateway string
	if n.Mask != "" {
		address = "--ipv4=" + n.IP + "/24"
		gateway = "--ipv4-gateway=" + n.Gateway
	}
	p := &guestParts{command: fmt.Sprintf("%s %s %s", address, gateway, strings.Join(g.Args, " "))}
	// MonitorBlockCli: one block, named storage, for solo5 only.
	if blocks := g.blockDevs(); len(blocks) > 0 && (g.Monitor == "hvt" || g.Monitor == "spt") {
		p.blocks = []blockArg{{ID: "storage", Path: blocks[0].Source}}
	}
	return p
}

// mewzParts is unikernels/mewz.go at commit 46a96a5f (qemu only).
func mewzParts(_ *Guest, n netParams) *guestParts {
	mask := 24
	if n.Mask != "" {
		mask = maskBits(n.Mask)
	}
	return &guestParts{
		command: fmt.Sprintf("ip=%s/%d gateway=%s ", n.IP, mask, n.Gateway),
		cli:     monitorCli{Other: " -no-reboot -device isa-debug-exit,iobase=0x501,iosize=2"},
		netCli: func(netdev func(string) string, mac string) string {
			return " -device virtio-net-pci,netdev=net0,disable-legacy=on,disable-modern=off,mac=" + mac +
				" -netdev " + netdev("net0")
		},
	}
}

// hermitParts is unikernels/hermit_rs.go at commit 78c63f12 (qemu only).
func hermitParts(g *Guest, n netParams) *guestParts {
	var words []string
	if n.Mask != "" {
		words = append(words, fmt.Sprintf("ip=%s/%d", n.IP, maskBits(n.Mask)), "gateway="+n.Gateway)
	}
	app := strings.TrimSpace(strings.Join(g.Args, " "))
	if len(words) > 0 && app != "" {
		words = append(words, "--")
	}
	if app != "" {
		words = append(words, app)
	}
	return &guestParts{
		command: strings.Join(words, " "),
		cli:     monitorCli{Other: " -no-reboot"},
		netCli: func(netdev func(string) string, mac string) string {
			return " -netdev " + netdev("net0") + " -device virtio-net-pci,netdev=net0,disable-legacy=on,mac=" + mac
		},
	}
}

// freebsdParts is unikernels/freebsd.go at commit b8f61a81: the root is
// the first virtio block device; on firecracker urunit's config is a
// second drive (on qemu urunc attaches neither yet).
func freebsdParts(g *Guest, m *Machine, n netParams) *guestParts {
	p := &guestParts{command: "vfs.root.mountfrom=/dev/vtbd0", files: map[string][]byte{}}
	if g.Monitor == "firecracker" {
		for _, b := range g.blockDevs() {
			p.blocks = append(p.blocks, blockArg{ID: "FC" + b.ID, Path: b.Source})
		}
		p.blocks = append(p.blocks, blockArg{ID: "FC_URUNIT_CONFIG", Path: m.path(urunitConfName)})
	}
	var sb strings.Builder
	sb.WriteString("UES\n")
	for _, e := range g.Env {
		sb.WriteString(e + "\n")
	}
	fmt.Fprintf(&sb, "UEE\nUCS\nUID:%d\nGID:%d\nWD:%s\nARC:%d\n", g.UID, g.GID, g.WorkingDir, len(g.Args))
	for _, a := range g.Args {
		sb.WriteString("ARV:" + a + "\n")
	}
	sb.WriteString("UCE\nUBS\n")
	for _, b := range g.blockDevs() {
		if b.ID == blockIDRootfs {
			continue
		}
		id := b.ID
		if g.Monitor == "firecracker" {
			id = "FC" + id
		}
		fmt.Fprintf(&sb, "ID:%s\nMP:%s\n", id, b.MountPoint)
	}
	fmt.Fprintf(&sb, "UBE\nUNS\nIP:%s\nGW:%s\nMSK:%s\nUNE\n", n.IP, n.Gateway, n.Mask)
	for range 128 {
		sb.WriteString("PAD\n")
	}
	p.files[urunitConfName] = []byte(sb.String())
	return p
}

// newcFile is a newc cpio segment holding one file, name, at the root
// (mode 0644, owned by root), and the trailer: what urunc's
// initrd.AddFileToInitrd appends to a guest's initrd.
func newcFile(name string, data []byte) []byte {
	var b strings.Builder
	header := func(name string, mode, size, ino int) {
		fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(name)+1, 0)
		b.WriteString(name + "\x00")
		pad(&b)
	}
	header(name, 0o100644, len(data), 1)
	b.Write(data)
	pad(&b)
	header("TRAILER!!!", 0, 0, 0)
	return []byte(b.String())
}

// pad aligns b to four bytes, as newc wants.
func pad(b *strings.Builder) {
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
}
