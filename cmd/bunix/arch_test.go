package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArchMismatchExits2: validate and build of an arm64 image holding an
// x86 kernel exit 2, naming the kernel, what it is and what the image
// says, and build writes nothing; set to amd64, the same files validate.
func TestArchMismatchExits2(t *testing.T) {
	kernel := make([]byte, 0x400)
	kernel[0x1fe], kernel[0x1ff] = 0x55, 0xaa
	copy(kernel[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(kernel[0x206:], 0x020f)
	kernel[0x236] = 1
	desc := func(arch string) string {
		return `{"name":"x","architecture":"` + arch + `","files":{"./vmlinuz":"/unikernel/vmlinuz"},
  "annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/unikernel/vmlinuz","cmdline":"/init"}}`
	}
	dir := writeFiles(t, map[string]string{"vmlinuz": string(kernel), "arm64.json": desc("arm64"), "amd64.json": desc("amd64")})
	want := `arm64.json:1:45: files."./vmlinuz" = "` + dir + `/vmlinuz": the kernel /unikernel/vmlinuz (` + dir + `/vmlinuz) is an x86 Linux kernel (bzImage) for amd64, but the image's architecture is arm64: set architecture = "amd64", or copy in a kernel built for arm64`
	code, _, stderr := cli(t, nil, "validate", filepath.Join(dir, "arm64.json"))
	if code != exitBadInput || !strings.Contains(stderr, want) {
		t.Errorf("validate: exit %d, stderr %q\nwant exit %d and %q", code, stderr, exitBadInput, want)
	}
	out := filepath.Join(dir, "out.tar")
	code, _, stderr = cli(t, nil, "build", "-f", filepath.Join(dir, "arm64.json"), "-o", out)
	if code != exitBadInput || !strings.Contains(stderr, want) {
		t.Errorf("build: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Lstat(out); err == nil {
		t.Errorf("build wrote %s", out)
	}
	if code, _, stderr := cli(t, nil, "validate", filepath.Join(dir, "amd64.json")); code != 0 {
		t.Errorf("validate amd64: exit %d: %s", code, stderr)
	}
}
