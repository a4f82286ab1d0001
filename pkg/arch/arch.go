// Package arch tells what machine a kernel or an executable is built for
// from its first bytes: an ELF file's e_machine, the arm64 Linux Image
// header ("ARM\x64" at offset 56), the x86 Linux boot header (a bzImage's
// "HdrS" at 0x202), a PE/EFI image's machine (an EFI-stub kernel, an EFI
// zboot kernel), and any of these gzip-compressed (Debian's arm64 vmlinuz).
// It reads at most PrefixSize bytes of a file, and at most MaxInflated
// bytes of a gzip stream's output; what it does not recognize is unknown,
// not an error.
package arch

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// PrefixSize is how many bytes of a file Read reads, at most: enough for
// every header it knows (a PE header is found within it, or not at all),
// and for the start of a gzip stream to inflate to a kernel's header.
// Read reads HeaderSize bytes first, and more only for a gzip stream or a
// PE header further on.
const PrefixSize = 64 << 10

// HeaderSize is how many bytes Read reads first: every header but a far
// PE one, or a compressed one, is within it.
const HeaderSize = 4 << 10

// MaxInflated is how many bytes of a gzip stream's output Read looks at.
const MaxInflated = 4 << 10

// Kind is what a file was found to be.
type Kind struct {
	// Format names the file's format for messages, e.g. "an ELF
	// executable", "an x86 Linux kernel (bzImage)".
	Format string
	// Arch is the Go/OCI name of the machine it is built for ("amd64",
	// "arm64", "386", "arm", "riscv64", ...), or the machine as the format
	// names it when Go has no name for it, e.g. "ELF machine 94".
	Arch string
}

// String says what k is, for a message: "an ELF executable for arm64".
func (k Kind) String() string {
	return k.Format + " for " + k.Arch
}

// Runs reports whether a guest built as k runs on an image of the OCI
// architecture arch: the same architecture, or 32-bit x86 on amd64 (qemu's
// x86_64 machine boots a 32-bit kernel, and an x86_64 kernel runs 32-bit
// executables).
func (k Kind) Runs(arch string) bool {
	return k.Arch == arch || (k.Arch == "386" && arch == "amd64")
}

// Read reads at most PrefixSize bytes of r and tells what they begin; ok
// is false when they begin no format Read knows. err is an error of r's
// only.
func Read(r io.Reader) (k Kind, ok bool, err error) {
	buf := make([]byte, HeaderSize, PrefixSize)
	n, err := io.ReadFull(r, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Kind{}, false, err
	}
	buf = buf[:n]
	if k, ok = Detect(buf); ok || n < HeaderSize || !(isGzip(buf) || string(buf[:2]) == "MZ") {
		return k, ok, nil
	}
	more := buf[n:PrefixSize]
	m, err := io.ReadFull(r, more)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Kind{}, false, err
	}
	k, ok = Detect(buf[:n+m])
	return k, ok, nil
}

func isGzip(b []byte) bool { return len(b) >= 10 && b[0] == 0x1f && b[1] == 0x8b }

// Detect tells what the bytes of a file's beginning, prefix, begin; ok is
// false when Detect does not know the format. It never reads past prefix.
func Detect(prefix []byte) (Kind, bool) {
	return detect(prefix, true)
}

func detect(b []byte, inflate bool) (Kind, bool) {
	switch {
	case len(b) >= 60 && string(b[56:60]) == "ARM\x64":
		return Kind{Format: "an arm64 Linux kernel (Image)", Arch: "arm64"}, true
	case len(b) >= 0x208 && string(b[0x202:0x206]) == "HdrS" && b[0x1fe] == 0x55 && b[0x1ff] == 0xaa:
		return bzImage(b), true
	case len(b) >= 20 && string(b[:4]) == "\x7fELF":
		return elf(b)
	case len(b) >= 0x40 && string(b[:2]) == "MZ":
		return pe(b)
	case inflate && isGzip(b):
		return gunzip(b)
	}
	return Kind{}, false
}

// bzImage is an x86 kernel with the Linux boot header: amd64 when its
// xloadflags say it has a 64-bit entry point (boot protocol 2.12 and
// later), else 32-bit x86.
func bzImage(b []byte) Kind {
	k := Kind{Format: "an x86 Linux kernel (bzImage)", Arch: "386"}
	version := binary.LittleEndian.Uint16(b[0x206:])
	if version >= 0x020c && len(b) >= 0x238 && binary.LittleEndian.Uint16(b[0x236:])&1 != 0 {
		k.Arch = "amd64"
	}
	return k
}

// elfMachines maps ELF e_machine values to Go architecture names.
var elfMachines = map[uint16]string{
	3:   "386",
	8:   "mips",
	20:  "ppc",
	21:  "ppc64",
	22:  "s390x",
	40:  "arm",
	62:  "amd64",
	183: "arm64",
	243: "riscv64",
	258: "loong64",
}

func elf(b []byte) (Kind, bool) {
	var order binary.ByteOrder
	switch b[5] {
	case 1:
		order = binary.LittleEndian
	case 2:
		order = binary.BigEndian
	default:
		return Kind{}, false
	}
	k := Kind{Format: "an ELF file"}
	switch order.Uint16(b[16:]) {
	case 1:
		k.Format = "an ELF object file"
	case 2:
		k.Format = "an ELF executable"
	case 3:
		k.Format = "an ELF shared object or executable"
	}
	m := order.Uint16(b[18:])
	arch, known := elfMachines[m]
	switch {
	case !known:
		arch = fmt.Sprintf("ELF machine %d", m)
	case arch == "ppc64" && b[5] == 1:
		arch = "ppc64le"
	case arch == "mips" && b[4] == 2:
		arch = "mips64"
	}
	if arch == "mips" || arch == "mips64" {
		if b[5] == 1 {
			arch += "le"
		}
	}
	k.Arch = arch
	return k, true
}

// peMachines maps PE/COFF machine values to Go architecture names.
var peMachines = map[uint16]string{
	0x014c: "386",
	0x8664: "amd64",
	0x01c0: "arm",
	0x01c4: "arm",
	0xaa64: "arm64",
	0x5064: "riscv64",
	0x6264: "loong64",
}

func pe(b []byte) (Kind, bool) {
	off := binary.LittleEndian.Uint32(b[0x3c:])
	if uint64(off)+6 > uint64(len(b)) || string(b[off:off+4]) != "PE\x00\x00" {
		return Kind{}, false
	}
	k := Kind{Format: "a PE/EFI image"}
	if len(b) >= 8 && string(b[4:8]) == "zimg" {
		k.Format = "a compressed EFI Linux kernel (zboot)"
	}
	m := binary.LittleEndian.Uint16(b[off+4:])
	arch, known := peMachines[m]
	if !known {
		arch = fmt.Sprintf("PE machine %#04x", m)
	}
	k.Arch = arch
	return k, true
}

// gunzip looks at the first MaxInflated bytes a gzip stream in b inflates
// to: a compressed kernel (arm64's vmlinuz) is what it holds.
func gunzip(b []byte) (Kind, bool) {
	z, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return Kind{}, false
	}
	out := make([]byte, MaxInflated)
	n, _ := io.ReadFull(z, out)
	k, ok := detect(out[:n], false)
	if !ok {
		return Kind{}, false
	}
	k.Format = "a gzip-compressed " + k.Format[len(article(k.Format)):]
	return k, true
}

// article returns the "a " or "an " format begins with.
func article(format string) string {
	for _, a := range []string{"an ", "a "} {
		if len(format) >= len(a) && format[:len(a)] == a {
			return a
		}
	}
	return ""
}
