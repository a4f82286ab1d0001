package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLongArguments runs each command with a 120 KB argument in each place
// a user can put one: every message is cut by internal/msg's rule (a few
// hundred bytes a value, "... (120000 bytes)"), not echoed back whole.
func TestLongArguments(t *testing.T) {
	dir := project(t)
	os.WriteFile(filepath.Join(dir, "Containerfile"), []byte("FROM scratch\nCOPY kernel /kernel\n"), 0o644)
	t.Chdir(dir)
	long := strings.Repeat("a", 120_000)
	initFlags := []string{"init", "--dir", "d", "--type", "linux", "--hypervisor", "qemu", "--binary", "kernel"}
	for _, argv := range [][]string{
		{"build", "@", "-o", "x.tar"},
		{"build", "-f", "@", "-o", "x.tar"},
		{"build", "args.json", "-o", "@"},
		{"build", "args.json", "-o", "x.tar", "--format", "@"},
		{"build", "args.json", "-o", "x.tar", "--@"},
		{"build", "@.json", "-o", "x.tar"},
		{"validate", "@"},
		{"validate", "@.json"},
		{"inspect", "@"},
		{"inspect", "docker://@"},
		{"push", "@", "localhost:5000/x:y"},
		{"push", "kernel", "@"},
		{"prefetch", "@"},
		{"prefetch", "alpine", "--arch", "@"},
		{"convert", "@"},
		{"convert", "Containerfile", "-o", "@"},
		{"init", "--dir", "@", "--type", "linux", "--hypervisor", "qemu", "--binary", "kernel"},
		append(initFlags[:7:7], "--binary", "@"),
		append(initFlags[:5:5], "--hypervisor", "@", "--binary", "kernel"),
		append(initFlags, "--initrd", "@"),
		{"@"},
	} {
		args := make([]string, len(argv))
		for i, a := range argv {
			args[i] = strings.ReplaceAll(a, "@", long)
		}
		code, _, stderr := cli(t, nil, args...)
		name := strings.ReplaceAll(strings.Join(argv, " "), "@", "<120 KB>")
		if code == exitOK {
			t.Errorf("%s: exit 0", name)
		}
		if len(stderr) > 4<<10 || !strings.Contains(stderr, "bytes)") {
			t.Errorf("%s: %d bytes of stderr, the value not cut:\n%.600s", name, len(stderr), stderr)
		}
	}
}

// TestLongPath: a path past PATH_MAX is cut in the message, and the cause,
// "file name too long", stays, in a message of bunix's and in a field
// error's reason alike.
func TestLongPath(t *testing.T) {
	dir := project(t)
	t.Chdir(dir)
	long := strings.Repeat("a", 4140)
	os.WriteFile("long.json", []byte(`{"name": "x", "files": {"./`+long+`": "/k"},
  "annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/k"}}`), 0o644)
	for _, argv := range [][]string{
		{"build", long + ".json", "-o", "x.tar"},
		{"build", "args.json", "-o", long},
		{"inspect", long},
		{"validate", "long.json"},
	} {
		code, _, stderr := cli(t, nil, argv...)
		name := strings.ReplaceAll(strings.Join(argv, " "), long, "<4140 bytes>")
		if code == exitOK || !strings.Contains(stderr, "file name too long") || !strings.Contains(stderr, "bytes)") || len(stderr) > 2<<10 {
			t.Errorf("%s: exit %d, %d bytes:\n%s", name, code, len(stderr), stderr)
		}
	}
}
