package run

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/nubificus/bunix/pkg/urunc"
)

// The guest root file system types urunc hands a guest (its
// types.RootfsParams.Type), chosen by ChooseRootfs.
const (
	RootfsNone   = ""
	RootfsInitrd = "initrd"
	RootfsBlock  = "block"
	Rootfs9p     = "9pfs"
)

// Guest is what urunc takes from an image and its container to boot it:
// the settings, the process, and the host paths of the files it hands the
// monitor.
type Guest struct {
	// Type and Monitor are the unikernelType and hypervisor settings.
	Type, Monitor string
	// Version is the unikernelVersion setting ("" when unset).
	Version string
	// Args are the process args (Entrypoint + Cmd, or what replaced them);
	// Env the process environment.
	Args, Env []string
	// UID, GID and WorkingDir are the process user and working directory,
	// which urunc writes into urunit's config.
	UID, GID   uint32
	WorkingDir string
	// UnikraftArgv0 is the release's (Behaviour.UnikraftArgv0): a
	// Unikraft guest's argv[0] is "Unikraft", all process args after "--".
	UnikraftArgv0 bool
	// Rootfs is the guest root file system urunc chose (ChooseRootfs).
	Rootfs string
	// Kernel is the guest kernel on the host; Initrd the initrd (for
	// RootfsInitrd); Block the block image and BlockMount where the guest
	// mounts it (at "/" for RootfsBlock, elsewhere next to another rootfs);
	// Shared the directory shared over 9p (for Rootfs9p).
	Kernel, Initrd, Block, BlockMount, Shared string
}

// Machine is what urunc takes from the container spec, its own config and
// the host, which an image cannot carry.
type Machine struct {
	// MemoryMiB is the guest memory (urunc's default_memory_mb is 256).
	MemoryMiB uint64
	// CPUs is the number of vCPUs; 0 leaves it to the monitor, as urunc
	// does when the spec sets no CPU limit.
	CPUs uint
	// Accel is AccelKVM (what urunc uses) or AccelTCG (qemu's emulation,
	// in place of -cpu host -enable-kvm).
	Accel string
	// Arch is the guest architecture, "amd64" (arm64 comes later).
	Arch string
	// Net is the guest network, nil for none (urunc's -nic none).
	Net *Net
	// Dir is the private directory where the files urunc writes beside
	// the monitor (firecracker's fc.json, urunit's config) go.
	Dir string
}

// The accelerations.
const (
	AccelKVM = "kvm"
	AccelTCG = "tcg"
)

// Net is a guest network on qemu's user-mode stack, which bunix uses in
// place of urunc's tap device: the guest gets UserNetIP, as urunc gives it
// the container's address, and Ports are forwarded to it.
type Net struct {
	MAC   string
	Ports []Port
}

// The guest's address on qemu's user-mode network (qemu's defaults).
const (
	UserNetIP      = "10.0.2.15"
	UserNetGateway = "10.0.2.2"
	UserNetMask    = "255.255.255.0"
	// UserNetMAC is the guest's MAC address: qemu's default.
	UserNetMAC = "52:54:00:12:34:56"
)

// Port forwards Host, a TCP port on the host, to Guest in the guest.
type Port struct{ Host, Guest uint16 }

// defaultVariant is the variant an architecture's platform has when it
// names none, as containerd normalizes it.
var defaultVariant = map[string]string{"amd64": "v1", "arm64": "v8"}

// ParsePlatform reads --platform: "linux/ARCH" or "linux/ARCH/VARIANT"
// with the architecture's default variant, ARCH one urunc runs
// guests on (amd64, arm64, or another spelling urunc.Architectures knows);
// it returns the OCI architecture. "" is this machine's (amd64 on one
// urunc does not run on).
func ParsePlatform(s string) (string, error) {
	if s == "" {
		if slices.Contains(urunc.ArchitectureNames, runtime.GOARCH) {
			return runtime.GOARCH, nil
		}
		return "amd64", nil
	}
	goos, a, ok := strings.Cut(s, "/")
	a, variant, hasVariant := strings.Cut(a, "/")
	arch := urunc.Architectures[a]
	// A variant is taken when it is the architecture's default, the one
	// containerd's platform matcher fills in: docker prints linux/arm64/v8.
	if ok && goos == "linux" && arch != "" && (!hasVariant || variant == defaultVariant[arch]) {
		return arch, nil
	}
	return "", &UsageError{fmt.Errorf("--platform %q: want linux/amd64 or linux/arm64 (or linux/arm64/v8)", s)}
}

// ParsePort reads HOST:GUEST (or PORT for the same number on both) as
// docker run -p takes it, TCP only.
func ParsePort(s string) (Port, error) {
	spec := strings.TrimSuffix(s, "/tcp")
	host, guest, found := strings.Cut(spec, ":")
	if !found {
		guest = host
	}
	h, err1 := strconv.ParseUint(host, 10, 16)
	g, err2 := strconv.ParseUint(guest, 10, 16)
	if err1 != nil || err2 != nil || h == 0 || g == 0 || strings.Contains(guest, ":") {
		return Port{}, fmt.Errorf("-p %q: want HOST:GUEST, two TCP port numbers from 1 to 65535 (e.g. 8080:80)", s)
	}
	return Port{Host: uint16(h), Guest: uint16(g)}, nil
}

// Settings are urunc's settings of an image, by short key.
type Settings map[string]string

// ChooseRootfs returns the root file system urunc hands guest on monitor
// for s, in urunc's order (pkg/unikontainers/rootfs.go, commit 20a97c15):
// the initrd; the block image when it is mounted at "/" and the guest
// takes a block; the container rootfs (mountRootfs) as a block device or
// shared over virtiofs or 9p; none. bunix has no devmapper snapshot and
// no virtiofsd, so the container rootfs goes over 9p where urunc's
// fallback reaches it (qemu, for guests that mount 9pfs), and is an error
// elsewhere, as it is for urunc without a block snapshotter.
func ChooseRootfs(s Settings) (string, error) {
	guest, monitor := s[urunc.UnikernelType], s[urunc.Hypervisor]
	if s[urunc.Initrd] != "" {
		return RootfsInitrd, nil
	}
	if s[urunc.Block] != "" && s[urunc.BlkMntPoint] == "/" && supportsBlock(guest) {
		return RootfsBlock, nil
	}
	if mount, _ := strconv.ParseBool(s[urunc.MountRootfs]); mount {
		if supports9p(guest) && monitor == "qemu" {
			return Rootfs9p, nil
		}
		return "", fmt.Errorf("mountRootfs = \"true\": urunc hands the container rootfs to a %s guest on %s only as a devmapper block device, which bunix run cannot make (build the image with rootfs.type = \"block\" or \"initrd\")", guest, monitor)
	}
	if s[urunc.Block] != "" && s[urunc.BlkMntPoint] == "" {
		// unikontainers/block.go, handleExplicitBlockImage.
		return "", fmt.Errorf("block = %q without blkMntPoint: urunc refuses it (\"annotation for block device was set without a mountpoint\")", s[urunc.Block])
	}
	return RootfsNone, nil
}

// supportsBlock is each guest's SupportsBlock in urunc's unikernels/*.go.
func supportsBlock(guest string) bool {
	return slices.Contains([]string{"linux", "rumprun", "mirage", "freebsd"}, guest)
}

// supports9p is each guest's SupportsFS("9pfs") in urunc's unikernels/*.go.
func supports9p(guest string) bool { return guest == "linux" || guest == "unikraft" }

// versionAtLeast compares two dotted versions (unikraft's "0.16.1"),
// number by number; a version that does not parse is taken as new, as
// urunc's unikraft.go takes one (it logs and uses the current arguments).
func versionAtLeast(v, min string) bool {
	a, b := strings.Split(strings.TrimPrefix(v, "v"), "."), strings.Split(min, ".")
	for i := range max(len(a), len(b)) {
		x, y := 0, 0
		var err error
		if i < len(a) {
			if x, err = strconv.Atoi(strings.SplitN(a[i], "-", 2)[0]); err != nil {
				return true
			}
		}
		if i < len(b) {
			y, _ = strconv.Atoi(b[i])
		}
		if x != y {
			return x > y
		}
	}
	return true
}
