package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestUnreadableInputs: a kernel init is told of, or a Containerfile to
// convert, that this user may not read is bad input (exit 2) naming the
// file, and nothing is written; before, init wrote an args.nix the build
// could not read the kernel of, and convert exited 1. Root reads any file,
// so as root the bunix binary runs as nobody.
func TestUnreadableInputs(t *testing.T) {
	dir := t.TempDir()
	// nobody must reach dir and the binary: open the test's temporary
	// directories, and copy the binary in.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o777)
	data, err := os.ReadFile(filepath.Join(testenv.Bunix(t), "bin", "bunix"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bunix")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o000)
	os.WriteFile(filepath.Join(dir, "Containerfile"), []byte("FROM scratch\n"), 0o000)
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"init", "--dir", dir, "--binary", "kernel", "--type", "hermit", "--hypervisor", "qemu"}, "kernel cannot be read: permission denied"},
		{[]string{"convert", filepath.Join(dir, "Containerfile")}, "Containerfile: open " + filepath.Join(dir, "Containerfile") + ": permission denied"},
	} {
		cmd := exec.Command(bin, tc.argv...)
		if os.Geteuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != exitBadInput || stdout.Len() > 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 saying %q", tc.argv, code, stdout.String(), stderr.String(), tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "args.nix")); err == nil {
		t.Error("init wrote args.nix for a kernel it cannot read")
	}
}
