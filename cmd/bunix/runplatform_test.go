package main

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/build"
	"github.com/nubificus/bunix/pkg/image"
)

// TestRunPlatform: bunix run --platform picks the entry of an index and
// gives urunc's command line for its architecture: qemu-system-aarch64
// with -M virt and console=ttyAMA0 for linux/arm64, under TCG on a machine
// of another architecture (linux/arm64/v8, as docker prints it, is the
// same platform); an unknown platform or variant, and KVM for another
// machine's guest, exit 2.
func TestRunPlatform(t *testing.T) {
	dir := writeFiles(t, map[string]string{"kernel": "placeholder kernel", "init": "placeholder init"})
	var descs []*args.Args
	for _, arch := range []string{"amd64", "arm64"} {
		a, err := args.DecodeJSON([]byte(`{"name":"bunix/multi","architecture":"`+arch+`","files":{"./kernel":"/unikernel/vmlinuz"},
  "rootfs":{"type":"initrd","include":{"./init":"/init"}},
  "annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/unikernel/vmlinuz","cmdline":"/init hi from `+arch+`"}}`), "args.json", dir)
		if err != nil {
			t.Fatal(err)
		}
		descs = append(descs, a)
	}
	index := filepath.Join(dir, "index.tar")
	if _, err := build.Write(context.Background(), index, descs, build.WithFormat(image.OCIArchive)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		platform string
		want     []string
		not      string
	}{
		{"linux/arm64", []string{"qemu-system-aarch64 -m 256M ", " -M virt -kernel ", "-append 'panic=-1 console=ttyAMA0 root=/dev/ram0 rw ", "rdinit=/init -- hi from arm64"}, ""},
		{"linux/aarch64", []string{"qemu-system-aarch64 ", "rdinit=/init -- hi from arm64"}, ""},
		{"linux/arm64/v8", []string{"qemu-system-aarch64 ", "rdinit=/init -- hi from arm64"}, ""},
		{"linux/amd64", []string{"qemu-system-x86_64 -m 256M ", "-append 'panic=-1 console=ttyS0 root=/dev/ram0 rw ", "rdinit=/init -- hi from amd64"}, " -M virt"},
	} {
		code, stdout, stderr := cli(t, nil, "run", "--dry-run", "--platform", tc.platform, index)
		if code != 0 {
			t.Fatalf("--platform %s: exit %d: %s", tc.platform, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("--platform %s: the command line lacks %q:\n%s", tc.platform, w, stdout)
			}
		}
		if tc.not != "" && strings.Contains(stdout, tc.not) {
			t.Errorf("--platform %s: the command line has %q:\n%s", tc.platform, tc.not, stdout)
		}
		if !strings.HasSuffix(tc.platform, runtime.GOARCH) && !strings.Contains(stdout, " -cpu max -accel tcg ") {
			t.Errorf("--platform %s on %s: not under TCG:\n%s", tc.platform, runtime.GOARCH, stdout)
		}
	}
	other := "linux/arm64"
	if runtime.GOARCH == "arm64" {
		other = "linux/amd64"
	}
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"run", "--dry-run", "--platform", "linux/riscv64", index}, `--platform "linux/riscv64": want linux/amd64 or linux/arm64`},
		{[]string{"run", "--dry-run", "--platform", "arm64", index}, `--platform "arm64": want linux/amd64 or linux/arm64`},
		{[]string{"run", "--dry-run", "--platform", "linux/arm64/v7", index}, `--platform "linux/arm64/v7": want linux/amd64 or linux/arm64 (or linux/arm64/v8)`},
		{[]string{"run", "--dry-run", "--platform", "linux/amd64/", index}, `--platform "linux/amd64/": want`},
		{[]string{"run", "--dry-run", "--rm=false", index}, "--rm=false: bunix run always removes what it unpacked"},
		{[]string{"run", "--dry-run", "--accel", "kvm", "--platform", other, index}, "--accel kvm: a " + other + " guest cannot use KVM on this " + runtime.GOARCH + " machine: use --accel tcg"},
	} {
		code, stdout, stderr := cli(t, nil, c.argv...)
		if code != exitBadInput || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 saying %q", c.argv, code, stdout, stderr, c.want)
		}
	}
}
