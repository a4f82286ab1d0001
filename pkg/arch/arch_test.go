package arch_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/arch"
)

// ELF returns the first 64 bytes of a little-endian 64-bit ELF executable
// for the ELF machine m.
func ELF(m uint16) []byte {
	b := make([]byte, 64)
	copy(b, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(b[16:], 2)
	binary.LittleEndian.PutUint16(b[18:], m)
	return b
}

// bzImage returns the first bytes of an x86 Linux kernel with boot
// protocol 2.15 and, when x64, the 64-bit entry point flag.
func bzImage(x64 bool) []byte {
	b := make([]byte, 0x400)
	copy(b, "MZ")
	b[0x1fe], b[0x1ff] = 0x55, 0xaa
	copy(b[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(b[0x206:], 0x020f)
	if x64 {
		b[0x236] = 1
	}
	return b
}

// arm64Image returns the first bytes of an arm64 Linux Image with an EFI
// stub: "MZ", a PE header at 0x40, and the Image magic at 56.
func arm64Image() []byte {
	b := make([]byte, 0x100)
	copy(b, "MZ")
	copy(b[56:], "ARM\x64")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x40)
	copy(b[0x40:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x44:], 0xaa64)
	return b
}

// peImage returns a PE image for machine m, "zimg" at 4 when zboot.
func peImage(m uint16, zboot bool) []byte {
	b := make([]byte, 0x200)
	copy(b, "MZ")
	if zboot {
		copy(b[4:], "zimg")
	}
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x84:], m)
	return b
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(b)
	z.Write(make([]byte, 1<<20))
	z.Close()
	return buf.Bytes()
}

func TestDetect(t *testing.T) {
	bigEndianARM := ELF(40)
	bigEndianARM[5] = 2
	binary.BigEndian.PutUint16(bigEndianARM[16:], 2)
	binary.BigEndian.PutUint16(bigEndianARM[18:], 40)
	for _, tc := range []struct {
		name   string
		b      []byte
		format string
		arch   string
	}{
		{"ELF amd64", ELF(62), "an ELF executable", "amd64"},
		{"ELF arm64", ELF(183), "an ELF executable", "arm64"},
		{"ELF 386", ELF(3), "an ELF executable", "386"},
		{"ELF riscv64", ELF(243), "an ELF executable", "riscv64"},
		{"ELF big-endian arm", bigEndianARM, "an ELF executable", "arm"},
		{"ELF unknown machine", ELF(94), "an ELF executable", "ELF machine 94"},
		{"bzImage 64-bit", bzImage(true), "an x86 Linux kernel (bzImage)", "amd64"},
		{"bzImage 32-bit", bzImage(false), "an x86 Linux kernel (bzImage)", "386"},
		{"arm64 Image", arm64Image(), "an arm64 Linux kernel (Image)", "arm64"},
		{"PE amd64", peImage(0x8664, false), "a PE/EFI image", "amd64"},
		{"zboot arm64", peImage(0xaa64, true), "a compressed EFI Linux kernel (zboot)", "arm64"},
		{"gzip arm64 Image", gz(t, arm64Image()), "a gzip-compressed arm64 Linux kernel (Image)", "arm64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, ok := arch.Detect(tc.b)
			if !ok || k.Format != tc.format || k.Arch != tc.arch {
				t.Errorf("Detect = %+v, %v; want %s for %s", k, ok, tc.format, tc.arch)
			}
		})
	}
}

func TestDetectUnknown(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":         nil,
		"text":          []byte("this is a placeholder kernel\n"),
		"short ELF":     []byte("\x7fELF\x02\x01"),
		"ELF bad data":  append([]byte("\x7fELF\x02\x07"), make([]byte, 60)...),
		"MZ without PE": append([]byte("MZ"), make([]byte, 0x100)...),
		"PE out of range": func() []byte {
			b := peImage(0x8664, false)
			binary.LittleEndian.PutUint32(b[0x3c:], 0xffffffff)
			return b
		}(),
		"gzip of text":   gz(t, []byte("not a kernel")),
		"gzip truncated": gz(t, arm64Image())[:12],
		"gzip of gzip":   gz(t, gz(t, arm64Image())),
		"cpio":           []byte("070701000000010000"),
	} {
		if k, ok := arch.Detect(b); ok {
			t.Errorf("%s: Detect = %+v, want unknown", name, k)
		}
	}
}

func TestRuns(t *testing.T) {
	for _, tc := range []struct {
		kind, image string
		want        bool
	}{
		{"amd64", "amd64", true}, {"arm64", "arm64", true}, {"386", "amd64", true},
		{"amd64", "arm64", false}, {"arm64", "amd64", false}, {"386", "arm64", false}, {"arm", "arm64", false},
	} {
		if got := (arch.Kind{Arch: tc.kind}).Runs(tc.image); got != tc.want {
			t.Errorf("Kind{Arch: %s}.Runs(%s) = %v", tc.kind, tc.image, got)
		}
	}
}

// TestReadBounded checks Read stops at PrefixSize: a reader that fails past
// it is never read there.
func TestReadBounded(t *testing.T) {
	r := &limitedFail{data: ELF(183), n: arch.PrefixSize}
	k, ok, err := arch.Read(r)
	if err != nil || !ok || k.Arch != "arm64" {
		t.Fatalf("Read = %+v, %v, %v", k, ok, err)
	}
}

// limitedFail reads data, then zeros up to n bytes, then fails.
type limitedFail struct {
	data []byte
	n    int
	off  int
}

func (l *limitedFail) Read(p []byte) (int, error) {
	if l.off >= l.n {
		return 0, os.ErrInvalid
	}
	p = p[:min(len(p), l.n-l.off)]
	for i := range p {
		p[i] = 0
		if l.off+i < len(l.data) {
			p[i] = l.data[l.off+i]
		}
	}
	l.off += len(p)
	return len(p), nil
}

// TestReadThisBinary reads the test binary itself: an ELF file for the
// machine it runs on.
func TestReadThisBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	k, ok, err := arch.Read(f)
	if err != nil || !ok || k.Arch != runtime.GOARCH || !strings.HasPrefix(k.Format, "an ELF") {
		t.Errorf("Read(%s) = %+v, %v, %v; want an ELF file for %s", filepath.Base(exe), k, ok, err, runtime.GOARCH)
	}
}

func FuzzDetect(f *testing.F) {
	for _, b := range [][]byte{ELF(62), ELF(183), bzImage(true), arm64Image(), peImage(0xaa64, true), gz(f, arm64Image())[:400]} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, ok := arch.Detect(b)
		if ok && (k.Format == "" || k.Arch == "") {
			t.Errorf("Detect = %+v, true: a known format must say what it is", k)
		}
		if !ok && k != (arch.Kind{}) {
			t.Errorf("Detect = %+v, false", k)
		}
	})
}

// TestReadMore: Read reads past HeaderSize only for a gzip stream or a PE
// header further on, and then finds them.
func TestReadMore(t *testing.T) {
	far := make([]byte, 3*arch.HeaderSize)
	copy(far, "MZ")
	binary.LittleEndian.PutUint32(far[0x3c:], uint32(2*arch.HeaderSize))
	copy(far[2*arch.HeaderSize:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(far[2*arch.HeaderSize+4:], 0xaa64)
	for name, tc := range map[string]struct {
		b    []byte
		want string
		read int
	}{
		"ELF":        {append(ELF(62), make([]byte, arch.PrefixSize)...), "amd64", arch.HeaderSize},
		"far PE":     {far, "arm64", len(far)},
		"gzip Image": {gz(t, arm64Image()), "arm64", -1},
		"unknown":    {make([]byte, arch.PrefixSize*2), "", arch.HeaderSize},
		"short":      {ELF(183), "arm64", len(ELF(183))},
	} {
		r := &countingReader{r: bytes.NewReader(tc.b)}
		k, ok, err := arch.Read(r)
		if err != nil || ok != (tc.want != "") || k.Arch != tc.want {
			t.Errorf("%s: Read = %+v, %v, %v; want %q", name, k, ok, err, tc.want)
		}
		if r.n > arch.PrefixSize || (tc.read >= 0 && r.n != tc.read) {
			t.Errorf("%s: read %d bytes, want %d", name, r.n, tc.read)
		}
	}
}

type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
