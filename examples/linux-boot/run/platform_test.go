package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/build"
	"github.com/nubificus/bunix/pkg/image"
)

// TestOpenPlatform: in an oci-archive index of an amd64 and an arm64
// image, open picks the entry of the platform asked for, load reads its
// architecture and files, and qemuArgs gives urunc's command line for it:
// -M virt and console=ttyAMA0 on arm64 only. A platform the index lacks
// is an error naming those it has.
func TestOpenPlatform(t *testing.T) {
	dir := t.TempDir()
	var descs []*args.Args
	for _, arch := range []string{"amd64", "arm64"} {
		os.WriteFile(filepath.Join(dir, "kernel-"+arch), []byte("kernel for "+arch), 0o644)
		os.WriteFile(filepath.Join(dir, "init-"+arch), []byte("init for "+arch), 0o755)
		js := `{"name":"x","architecture":"` + arch + `","files":{"./kernel-` + arch + `":"/unikernel/vmlinuz"},` +
			`"rootfs":{"type":"initrd","include":{"./init-` + arch + `":"/init"}},` +
			`"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/unikernel/vmlinuz","cmdline":"/init hi"}}`
		a, err := args.DecodeJSON([]byte(js), "args.json", dir)
		if err != nil {
			t.Fatal(err)
		}
		descs = append(descs, a)
	}
	index := filepath.Join(dir, "index.tar")
	if _, err := build.Write(context.Background(), index, descs, build.WithFormat(image.OCIArchive)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ arch, kernel, console string }{
		{"amd64", "kernel for amd64", "console=ttyS0"},
		{"arm64", "kernel for arm64", "console=ttyAMA0"},
	} {
		work := t.TempDir()
		img, err := open(index, tc.arch, work)
		if err != nil {
			t.Fatalf("%s: %v", tc.arch, err)
		}
		g, err := load(img, work)
		if err != nil {
			t.Fatalf("%s: %v", tc.arch, err)
		}
		if b, _ := os.ReadFile(g.files["/unikernel/vmlinuz"]); g.arch != tc.arch || string(b) != tc.kernel {
			t.Errorf("%s: loaded the %s image, kernel %q", tc.arch, g.arch, b)
		}
		argv, err := qemuArgs(g, "tcg")
		if err != nil {
			t.Fatal(err)
		}
		line := strings.Join(argv, " ")
		virt := strings.Contains(line, " -serial stdio -M virt -kernel ")
		if virt != (tc.arch == "arm64") || !strings.Contains(line, "-append panic=-1 "+tc.console+" root=/dev/ram0 rw ") {
			t.Errorf("%s: qemu args %s", tc.arch, line)
		}
	}
	if _, err := open(index, "riscv64", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no image for linux/riscv64 (it has: linux/amd64, linux/arm64)") {
		t.Errorf("riscv64: %v", err)
	}
}
