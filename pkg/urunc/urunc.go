// Package urunc holds what urunc reads from an image: the annotation keys, the
// guests and monitors it knows, which pairs it can run, and the /urunc.json
// file format. It is data and small pure functions; nothing here touches disk.
package urunc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nubificus/bunix/internal/msg"
)

// Prefix is the common prefix of every urunc annotation key.
const Prefix = "com.urunc.unikernel."

// JSONPath is where urunc looks for its settings inside the container rootfs
// when the image's annotations did not reach it (Docker Engine drops them).
const JSONPath = "/urunc.json"

// Short names of the urunc annotation keys (the part after Prefix).
const (
	UnikernelType    = "unikernelType"
	Hypervisor       = "hypervisor"
	Binary           = "binary"
	Cmdline          = "cmdline"
	UnikernelVersion = "unikernelVersion"
	Initrd           = "initrd"
	Block            = "block"
	BlkMntPoint      = "blkMntPoint"
	UseDMBlock       = "useDMBlock"
	MountRootfs      = "mountRootfs"
	Solo5NetDev      = "solo5NetDev"
	Solo5BlkDev      = "solo5BlkDev"
)

// Keys lists the short names of every key urunc reads from an image, in the
// order they are documented.
var Keys = []string{
	UnikernelType, Hypervisor, Binary, Cmdline, UnikernelVersion, Initrd,
	Block, BlkMntPoint, UseDMBlock, MountRootfs, Solo5NetDev, Solo5BlkDev,
}

// KeyDocs says in a few words what each key of Keys sets; bunix init and
// convert write it after the key.
var KeyDocs = map[string]string{
	UnikernelType:    "the guest: " + strings.Join(Guests, ", "),
	Hypervisor:       "the monitor; it must run the guest",
	Binary:           "the guest kernel, a target above",
	Cmdline:          "the guest command line; also the image's Cmd",
	UnikernelVersion: "the framework version",
	Initrd:           "an initrd in the image",
	Block:            "a block image in the image",
	BlkMntPoint:      "where the guest mounts block",
	UseDMBlock:       "hand the container snapshot to the guest (needs devmapper)",
	MountRootfs:      "hand the container snapshot to the guest (needs devmapper)",
	Solo5NetDev:      "the solo5 network device name",
	Solo5BlkDev:      "the solo5 block device name",
}

// Required lists the keys every image must set.
var Required = []string{UnikernelType, Hypervisor, Binary}

// PathKeys lists the keys whose value is a file path inside the image.
var PathKeys = []string{Binary, Initrd, Block}

// RuntimeOnly lists keys urunc takes from the runtime, never from an image.
var RuntimeOnly = []string{"vAccel", "RPCAddress", "bootKernel", "bootInitrd"}

// Monitors maps each monitor (hypervisor) urunc knows to the guests
// (unikernel types) it can run.
var Monitors = map[string][]string{
	"hvt":                 {"rumprun", "mirage"},
	"spt":                 {"rumprun", "mirage"},
	"qemu":                {"mewz", "mirage", "unikraft", "linux", "hermit", "freebsd"},
	"firecracker":         {"linux", "unikraft", "freebsd"},
	"cloud-hypervisor":    {"linux"},
	"hyperlight-unikraft": {"unikraft"},
}

// Guests lists the unikernel types urunc knows.
var Guests = []string{"rumprun", "mirage", "mewz", "unikraft", "linux", "hermit", "freebsd"}

// MonitorNames returns the known monitors in a fixed order.
func MonitorNames() []string {
	return []string{"qemu", "firecracker", "cloud-hypervisor", "hvt", "spt", "hyperlight-unikraft"}
}

// Runs reports whether urunc can run guest on monitor.
func Runs(guest, monitor string) bool {
	for _, g := range Monitors[monitor] {
		if g == guest {
			return true
		}
	}
	return false
}

// MonitorsFor returns the monitors that can run guest, in MonitorNames order.
func MonitorsFor(guest string) []string {
	var out []string
	for _, m := range MonitorNames() {
		if Runs(guest, m) {
			out = append(out, m)
		}
	}
	return out
}

// The root file system types bunix builds.
const (
	// RootfsInitrd is an initrd (a cpio archive) named by the initrd key.
	RootfsInitrd = "initrd"
	// RootfsRaw is the container rootfs itself, handed to the guest as a
	// block device when mountRootfs (useDMBlock) is "true"; it needs the
	// devmapper snapshotter.
	RootfsRaw = "raw"
	// RootfsBlock is a block image (ext2, ext4) named by the block key.
	RootfsBlock = "block"
)

// RootfsTypes lists the root file system types bunix builds.
var RootfsTypes = []string{RootfsInitrd, RootfsRaw, RootfsBlock}

// GuestRootfs maps each guest to the root file system types urunc can hand
// it. A raw rootfs reaches guests without block support only as files of
// the container, through a shared file system (9pfs, virtiofs), which is
// why it is allowed for them (GuestFSTypes lists the guests that mount a
// block rootfs).
var GuestRootfs = map[string][]string{
	"unikraft": {RootfsInitrd, RootfsRaw},
	"rumprun":  {RootfsRaw, RootfsBlock},
	"mirage":   {RootfsBlock},
	"linux":    {RootfsInitrd, RootfsRaw, RootfsBlock},
	"freebsd":  {RootfsRaw, RootfsBlock},
	"hermit":   {RootfsInitrd, RootfsRaw},
	"mewz":     {},
}

// DefaultRootfs returns the root file system type bunix builds for guest
// when a description names none: the first type GuestRootfs lists that is
// not raw (raw needs the devmapper snapshotter), raw if that is all the
// guest takes, and "" for a guest that takes no root file system (mewz) or
// that urunc does not know.
func DefaultRootfs(guest string) string {
	types := GuestRootfs[guest]
	for _, t := range types {
		if t != RootfsRaw {
			return t
		}
	}
	if len(types) > 0 {
		return types[0]
	}
	return ""
}

// Architectures maps every spelling of an architecture that bunix accepts
// (Go/OCI names, uname -m and bunny's) to its OCI name. urunc runs guests
// on amd64 and arm64 only; 32-bit "arm" is not one of them.
var Architectures = map[string]string{
	"amd64": "amd64", "x86_64": "amd64", "x86": "amd64",
	"arm64": "arm64", "aarch64": "arm64",
}

// ArchitectureNames lists the OCI architecture names, in a fixed order.
var ArchitectureNames = []string{"amd64", "arm64"}

// GuestFSTypes maps each guest that mounts a block rootfs to the file
// system types it reads, the one bunix makes by default first. mirage is
// not one: its block is a raw device (see RawBlock).
var GuestFSTypes = map[string][]string{
	"rumprun": {"ext2"},
	"freebsd": {"ext2"},
	"linux":   {"ext4", "ext2", "ext3"},
}

// RawBlock reports whether guest reads its block as a raw device, with no
// file system on it: mirage, whose SupportsFS is false in urunc.
func RawBlock(guest string) bool { return guest == "mirage" }

// BlockMountPoint returns where guest mounts a block rootfs by default:
// "/", except for rumprun, which cannot mount one there and uses "/data".
func BlockMountPoint(guest string) string {
	if guest == "rumprun" {
		return "/data"
	}
	return "/"
}

// IsKey reports whether short is a key urunc reads from an image.
func IsKey(short string) bool {
	for _, k := range Keys {
		if k == short {
			return true
		}
	}
	return false
}

// EncodeJSON returns the /urunc.json content for settings, a map from short
// key names to plain values: one JSON object whose keys carry Prefix and
// whose values are standard, padded base64. Keys are sorted; the output ends
// with a newline.
func EncodeJSON(settings map[string]string) []byte {
	enc := make(map[string]string, len(settings))
	for k, v := range settings {
		enc[Prefix+k] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	if err := e.Encode(enc); err != nil {
		// A map of strings always encodes.
		panic(err)
	}
	return buf.Bytes()
}

// MaxJSONSize is the largest /urunc.json DecodeJSON reads; urunc's own
// settings are a few hundred bytes.
const MaxJSONSize = 1 << 20

// DecodeJSON reads /urunc.json content back into plain values keyed by short
// names. Keys without Prefix are kept as they are; a key given both with and
// without Prefix, content over MaxJSONSize or anything but one JSON object
// of strings is an error.
func DecodeJSON(data []byte) (map[string]string, error) {
	if len(data) > MaxJSONSize {
		return nil, fmt.Errorf("decoding %s: %d bytes, more than the %d it may hold", JSONPath, len(data), MaxJSONSize)
	}
	var raw map[string]string
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", JSONPath, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("decoding %s: null, want an object", JSONPath)
	}
	out := make(map[string]string, len(raw))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		plain, err := base64.StdEncoding.DecodeString(raw[k])
		if err != nil {
			return nil, fmt.Errorf("decoding %s: key %s: value %s is not standard base64: %w", JSONPath, clip(k), clip(raw[k]), err)
		}
		short := strings.TrimPrefix(k, Prefix)
		if _, ok := out[short]; ok {
			return nil, fmt.Errorf("decoding %s: key %s is given both as %s and %s", JSONPath, clip(short), clip(short), clip(Prefix+short))
		}
		out[short] = string(plain)
	}
	return out, nil
}

// clip quotes s for a message, at most 80 bytes of it (see msg.Quote).
func clip(s string) string { return msg.Quote(s, 80) }

// Labels returns settings as image labels: full key names, plain values.
func Labels(settings map[string]string) map[string]string {
	out := make(map[string]string, len(settings))
	for k, v := range settings {
		out[Prefix+k] = v
	}
	return out
}
