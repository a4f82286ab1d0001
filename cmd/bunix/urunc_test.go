package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUruncFlag: --urunc on validate and build overrides the args' urunc
// field; a release that cannot run the monitor is refused (exit 2, no
// output), an unknown release is a usage error.
func TestUruncFlag(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	file := filepath.Join(dir, "args.json")
	os.WriteFile(file, []byte(`{"name":"x","urunc":"0.8","files":{"./kernel":"/k"},"cmd":["/init"],
	  "annotations":{"unikernelType":"linux","hypervisor":"cloud-hypervisor","binary":"/k"}}`), 0o644)
	if code, _, stderr := cli(t, nil, "validate", file); code != 0 {
		t.Fatalf("validate: exit %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "image.tar")
	const want = `annotations.hypervisor = "cloud-hypervisor": urunc 0.7 cannot run cloud-hypervisor (it came in 0.8 with PR #393); set urunc = "0.8", or choose qemu or firecracker`
	for _, argv := range [][]string{{"validate", "--urunc", "0.7", file}, {"build", "--urunc", "0.7", file, "-o", out}} {
		code, stdout, stderr := cli(t, nil, argv...)
		if code != exitBadInput || stdout != "" || !strings.Contains(stderr, want) {
			t.Errorf("%v: exit %d, %q, %s", argv, code, stdout, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v wrote %s", argv, out)
		}
	}
	code, _, stderr := cli(t, nil, "validate", "--urunc", "0.9", file)
	if code != exitBadInput || !strings.Contains(stderr, `bunix: validate: --urunc: unknown urunc release "0.9" (known: "0.5", "0.6", "0.7", "0.8", or "main"`) {
		t.Errorf("--urunc 0.9: exit %d: %s", code, stderr)
	}
}

// TestConvertUrunc: convert --urunc writes the urunc field; an unknown
// release is a usage error.
func TestConvertUrunc(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "k"), []byte("k"), 0o644)
	cf := filepath.Join(dir, "Containerfile")
	os.WriteFile(cf, []byte("FROM scratch\nCOPY k /unikernel/k\nWORKDIR /srv\nLABEL com.urunc.unikernel.unikernelType=linux com.urunc.unikernel.hypervisor=qemu com.urunc.unikernel.binary=/unikernel/k\n"), 0o644)
	code, stdout, stderr := cli(t, nil, "convert", "--urunc", "0.7", cf)
	if code != 0 || !strings.Contains(stdout, "  urunc = \"0.7\";") || !strings.Contains(stdout, "  workingDir = \"/srv\";") {
		t.Errorf("convert --urunc 0.7: exit %d: %s%s", code, stdout, stderr)
	}
	code, stdout, stderr = cli(t, nil, "convert", "--urunc", "1.0", cf)
	if code != exitBadInput || stdout != "" || !strings.Contains(stderr, `bunix: convert: --urunc: unknown urunc release "1.0"`) {
		t.Errorf("convert --urunc 1.0: exit %d: %q %s", code, stdout, stderr)
	}
}
