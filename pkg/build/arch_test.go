package build

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/args"
)

// elfFile writes the header of a 64-bit little-endian ELF executable for
// ELF machine m (62 x86-64, 183 AArch64, 3 i386) as dir/name, with mode.
func elfFile(t *testing.T, dir, name string, m uint16, mode os.FileMode) {
	t.Helper()
	b := make([]byte, 64)
	copy(b, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(b[16:], 2)
	binary.LittleEndian.PutUint16(b[18:], m)
	writeFile(t, dir, name, b, mode)
}

// bzImageFile writes the boot header of a 64-bit x86 Linux kernel.
func bzImageFile(t *testing.T, dir, name string) {
	b := make([]byte, 0x400)
	copy(b, "MZ")
	b[0x1fe], b[0x1ff] = 0x55, 0xaa
	copy(b[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(b[0x206:], 0x020f)
	b[0x236] = 1
	writeFile(t, dir, name, b, 0o644)
}

// arm64ImageFile writes the header of an arm64 Linux Image.
func arm64ImageFile(t *testing.T, dir, name string) {
	b := make([]byte, 0x100)
	copy(b[56:], "ARM\x64")
	writeFile(t, dir, name, b, 0o644)
}

func writeFile(t *testing.T, dir, name string, b []byte, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, mode); err != nil {
		t.Fatal(err)
	}
}

// archDesc is a linux guest's description: the kernel ./kernel, the init
// ./init in an initrd (or, with raw, copied into the image), and arch.
func archDesc(dir, arch string, raw bool) string {
	arch = `"architecture":"` + arch + `",`
	ann := `"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/unikernel/kernel","cmdline":"/init a b"}`
	if raw {
		return `{"name":"x",` + arch + `"files":{"./kernel":"/unikernel/kernel","./init":"/init"},` + ann + `}`
	}
	return `{"name":"x",` + arch + `"files":{"./kernel":"/unikernel/kernel"},"rootfs":{"type":"initrd","include":{"./init":"/init","./bin":"/bin"}},` + ann + `}`
}

func checkDesc(t *testing.T, dir string, descs ...string) error {
	t.Helper()
	var as []*args.Args
	for _, js := range descs {
		a, err := args.DecodeJSON([]byte(js), "args.json", dir)
		if err != nil {
			t.Fatal(err)
		}
		as = append(as, a)
	}
	_, err := Check(context.Background(), as)
	return err
}

// TestArchMismatch: a kernel, an init (in the rootfs or the image) or an
// executable of the rootfs built for another machine than the image's
// architecture is a user error naming the file, what it is and what the
// image says; the same files under the right architecture pass.
func TestArchMismatch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		arch  string
		raw   bool
		want  string
	}{
		{"x86 kernel in an arm64 image", func(t *testing.T, dir string) {
			bzImageFile(t, dir, "kernel")
			elfFile(t, dir, "init", 183, 0o755)
		}, "arm64", false, `files."./kernel" = "DIR/kernel": the kernel /unikernel/kernel (DIR/kernel) is an x86 Linux kernel (bzImage) for amd64, but the image's architecture is arm64: set architecture = "amd64", or copy in a kernel built for arm64`},
		{"arm64 kernel in an amd64 image", func(t *testing.T, dir string) {
			arm64ImageFile(t, dir, "kernel")
			elfFile(t, dir, "init", 62, 0o755)
		}, "amd64", false, `the kernel /unikernel/kernel (DIR/kernel) is an arm64 Linux kernel (Image) for arm64, but the image's architecture is amd64: set architecture = "arm64"`},
		{"x86 init in an arm64 initrd", func(t *testing.T, dir string) {
			arm64ImageFile(t, dir, "kernel")
			elfFile(t, dir, "init", 62, 0o755)
		}, "arm64", false, `rootfs.include."./init" = "DIR/init": the guest's init /init in the rootfs (DIR/init) is an ELF executable for amd64, but the image's architecture is arm64`},
		{"non-executable init is checked too", func(t *testing.T, dir string) {
			arm64ImageFile(t, dir, "kernel")
			elfFile(t, dir, "init", 62, 0o644)
		}, "arm64", false, `/init in the rootfs (DIR/init) is an ELF executable for amd64`},
		{"x86 executable in an arm64 initrd", func(t *testing.T, dir string) {
			arm64ImageFile(t, dir, "kernel")
			elfFile(t, dir, "init", 183, 0o755)
			elfFile(t, dir, "bin/tool", 62, 0o755)
		}, "arm64", false, `rootfs.include."./bin" = "DIR/bin": the executable /bin/tool in the rootfs (DIR/bin/tool) is an ELF executable for amd64, but the image's architecture is arm64: set architecture = "amd64", or copy in an executable built for arm64`},
		{"arm64 init in the image of an amd64 guest", func(t *testing.T, dir string) {
			bzImageFile(t, dir, "kernel")
			elfFile(t, dir, "init", 183, 0o755)
		}, "amd64", true, `files."./init" = "DIR/init": the guest's init /init (DIR/init) is an ELF executable for arm64, but the image's architecture is amd64`},
		{"riscv init: no architecture to suggest", func(t *testing.T, dir string) {
			bzImageFile(t, dir, "kernel")
			elfFile(t, dir, "init", 243, 0o755)
		}, "amd64", true, `/init (DIR/init) is an ELF executable for riscv64, but the image's architecture is amd64: copy in an init built for amd64`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
			tc.setup(t, dir)
			err := checkDesc(t, dir, archDesc(dir, tc.arch, tc.raw))
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Check: %v\nwant %q", err, want)
			}
			if !IsUserError(err) {
				t.Errorf("not a user error: %v", err)
			}
			// Write refuses it too, writing nothing.
			out := filepath.Join(t.TempDir(), "out.tar")
			a, _ := args.DecodeJSON([]byte(archDesc(dir, tc.arch, tc.raw)), "args.json", dir)
			if _, err := Write(context.Background(), out, []*args.Args{a}); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Write: %v", err)
			}
			if _, err := os.Lstat(out); err == nil {
				t.Errorf("Write left %s", out)
			}
		})
	}
}

// TestArchMatchAndUnknown: files built for the image's architecture pass,
// so do 32-bit x86 files in an amd64 image, and files of a format bunix
// does not know (a placeholder kernel, a script).
func TestArchMatchAndUnknown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		arch  string
	}{
		{"amd64", func(t *testing.T, dir string) {
			bzImageFile(t, dir, "kernel")
			elfFile(t, dir, "init", 62, 0o755)
			elfFile(t, dir, "bin/i386", 3, 0o755)
		}, "amd64"},
		{"arm64", func(t *testing.T, dir string) {
			arm64ImageFile(t, dir, "kernel")
			elfFile(t, dir, "init", 183, 0o755)
			elfFile(t, dir, "bin/x86-data", 62, 0o644) // not executable, not the init
		}, "arm64"},
		{"unknown kernel and init formats", func(t *testing.T, dir string) {
			writeFile(t, dir, "kernel", []byte("a placeholder kernel\n"), 0o644)
			writeFile(t, dir, "init", []byte("#!/bin/sh\necho hi\n"), 0o755)
			writeFile(t, dir, "bin/empty", nil, 0o755)
		}, "arm64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
			tc.setup(t, dir)
			for _, raw := range []bool{false, true} {
				if err := checkDesc(t, dir, archDesc(dir, tc.arch, raw)); err != nil {
					t.Errorf("raw %v: %v", raw, err)
				}
			}
		})
	}
}

// TestArchIndex: each image of an index is checked against its own
// architecture; the error names the one that is wrong.
func TestArchIndex(t *testing.T) {
	dir := t.TempDir()
	bzImageFile(t, dir, "amd64/kernel")
	elfFile(t, dir, "amd64/init", 62, 0o755)
	arm64ImageFile(t, dir, "arm64/kernel")
	elfFile(t, dir, "arm64/init", 62, 0o755) // wrong: the x86 init
	desc := func(a string) string {
		return `{"name":"x","architecture":"` + a + `","files":{"./` + a + `/kernel":"/unikernel/kernel"},"rootfs":{"type":"initrd","include":{"./` + a + `/init":"/init"}},` +
			`"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/unikernel/kernel","cmdline":"/init"}}`
	}
	err := checkDesc(t, dir, desc("amd64"), desc("arm64"))
	want := `rootfs.include."./arm64/init" = "` + dir + `/arm64/init": the guest's init /init in the rootfs (` + dir + `/arm64/init) is an ELF executable for amd64, but the image's architecture is arm64`
	if err == nil || !strings.Contains(err.Error(), want) || strings.Count(err.Error(), "architecture is") != 1 {
		t.Fatalf("Check: %v\nwant only %q", err, want)
	}
	elfFile(t, dir, "arm64/init", 183, 0o755)
	if err := checkDesc(t, dir, desc("amd64"), desc("arm64")); err != nil {
		t.Errorf("Check with the arm64 init: %v", err)
	}
}
