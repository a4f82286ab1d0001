package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/args"
)

// TestNixBuilderDoesNotSync runs the real binary under strace: bunix
// build syncs its output before renaming it into place, nix-builder (whose
// output Nix registers without a sync) does not, and both write the same
// bytes, from prebuilt layers (nix-layer) in the nix-builder's case.
func TestNixBuilderDoesNotSync(t *testing.T) {
	strace := testenv.Require(t, "strace")
	bin := filepath.Join(testenv.Bunix(t), "bin", "bunix")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), bytes.Repeat([]byte("k"), 1<<20), 0o644)
	spec := `{"version":` + strconv.Itoa(args.SpecVersion) + `,"name":"x/y","contents":[{"source":"` + dir + `/kernel","target":"/unikernel/kernel","field":"contents[0]"}],
		"annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"/unikernel/kernel"}}`
	os.WriteFile(filepath.Join(dir, "spec.json"), []byte(spec), 0o644)
	os.WriteFile(filepath.Join(dir, "args.json"), []byte(`{"name":"x/y","files":{"./kernel":"/unikernel/kernel"},
		"annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"/unikernel/kernel"}}`), 0o644)
	syncs := func(env []string, args ...string) int {
		t.Helper()
		cmd := exec.Command(strace, append([]string{"-f", "-e", "trace=fsync,fdatasync,sync_file_range", "-o", filepath.Join(dir, "trace"), bin}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("bunix %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		n := 0
		for _, l := range strings.Split(string(testenv.ReadFile(t, filepath.Join(dir, "trace"))), "\n") {
			if strings.Contains(l, "sync") && !strings.Contains(l, "exited") {
				n++
			}
		}
		return n
	}
	layer := filepath.Join(dir, "layer")
	if n := syncs([]string{"out=" + layer}, "nix-layer", filepath.Join(dir, "kernel"), "/unikernel/kernel", "none"); n != 0 {
		t.Errorf("nix-layer synced %d times", n)
	}
	nixOut := filepath.Join(dir, "nix.tar")
	if n := syncs([]string{"out=" + nixOut, "specPath=" + filepath.Join(dir, "spec.json"), "bunixLayers=" + layer}, "nix-builder"); n != 0 {
		t.Errorf("nix-builder synced %d times", n)
	}
	cliOut := filepath.Join(dir, "cli.tar")
	if n := syncs(nil, "build", "-f", filepath.Join(dir, "args.json"), "-o", cliOut); n == 0 {
		t.Error("bunix build did not sync its output")
	}
	if !bytes.Equal(testenv.ReadFile(t, nixOut), testenv.ReadFile(t, cliOut)) {
		t.Error("nix-builder with a prebuilt layer and bunix build wrote different bytes")
	}
}

// TestNixLayerUsage: nix-layer without $out, or with an unknown
// compression, is a usage error (exit 2) that says which.
func TestNixLayerUsage(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "k"), []byte("k"), 0o644)
	for _, tc := range []struct {
		env  map[string]string
		argv []string
		want string
	}{
		{nil, []string{"nix-layer", filepath.Join(dir, "k"), "/k", "none"}, "$out must be set"},
		{map[string]string{"out": filepath.Join(dir, "out")}, []string{"nix-layer", filepath.Join(dir, "k"), "/k", "lz4"}, `COMPRESSION: unknown compression "lz4"`},
		{map[string]string{"out": filepath.Join(dir, "out")}, []string{"nix-stream", filepath.Join(dir, "k")}, "does not start with a #! line"},
	} {
		code, _, stderr := cli(t, tc.env, tc.argv...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, %q; want an error saying %q", tc.argv, code, stderr, tc.want)
		}
		if tc.argv[0] == "nix-layer" && code != exitBadInput {
			t.Errorf("%q: exit %d, want %d", tc.argv, code, exitBadInput)
		}
	}
}

// TestSpecReadIsRegularAndBounded: nix-builder and nix-rootfs-layer refuse
// a $specPath that is a FIFO at once, without blocking for a writer, and
// one over args.MaxEvalOutput by its size; $out is left alone.
func TestSpecReadIsRegularAndBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "spec.fifo")
	testenv.Mkfifo(t, fifo)
	big := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(big, bytes.Repeat([]byte(" "), args.MaxEvalOutput+1), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for _, cmd := range []string{"nix-builder", "nix-rootfs-layer"} {
		for spec, want := range map[string]string{
			fifo: fifo + " is a named pipe (FIFO), not a regular file",
			big:  fmt.Sprintf("%s: the builder spec %s is larger than %d bytes", cmd, big, args.MaxEvalOutput),
		} {
			done := make(chan struct{})
			go func() {
				defer close(done)
				code, _, stderr := cli(t, map[string]string{"specPath": spec, "out": out}, cmd)
				if code == 0 || !strings.Contains(stderr, want) {
					t.Errorf("%s with %s: exit %d, stderr %q; want %q", cmd, spec, code, stderr, want)
				}
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: reading a FIFO spec blocked", cmd)
			}
			if _, err := os.Lstat(out); !os.IsNotExist(err) {
				t.Errorf("%s with %s: $out: %v", cmd, spec, err)
			}
		}
	}
}

// TestNixStreamScript: nix-stream-script writes to $out, executable, the
// very bytes of $textPath it checked; a description the check refuses, or
// a FIFO as $textPath (refused at once, without blocking), leaves no $out.
func TestNixStreamScript(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	script := func(binary string) string {
		return "#!/nix/store/x-bunix/bin/bunix nix-stream\n" + `{"spec":{"version":` + strconv.Itoa(args.SpecVersion) +
			`,"name":"x/y","contents":[{"source":"` + dir + `/kernel","target":"/unikernel/kernel","field":"contents[0]"}],` +
			`"annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"` + binary + `"}},"layers":[]}` + "\n"
	}
	good, bad, fifo := filepath.Join(dir, "good"), filepath.Join(dir, "bad"), filepath.Join(dir, "fifo")
	os.WriteFile(good, []byte(script("/unikernel/kernel")), 0o644)
	os.WriteFile(bad, []byte(script("/unikernel/missing")), 0o644)
	testenv.Mkfifo(t, fifo)

	out := filepath.Join(dir, "out")
	code, _, stderr := cli(t, map[string]string{"textPath": good, "out": out}, "nix-stream-script")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := string(testenv.ReadFile(t, out)); got != script("/unikernel/kernel") {
		t.Errorf("$out = %q, want the script text", got)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("$out is not executable: %v %v", fi.Mode(), err)
	}

	for path, want := range map[string]string{bad: "/unikernel/missing", fifo: fifo + " is a named pipe (FIFO), not a regular file"} {
		out := filepath.Join(dir, "out-"+filepath.Base(path))
		done := make(chan struct{})
		go func() {
			defer close(done)
			code, _, stderr := cli(t, map[string]string{"textPath": path, "out": out}, "nix-stream-script")
			if code == 0 || !strings.Contains(stderr, want) {
				t.Errorf("%s: exit %d, stderr %q; want %q", path, code, stderr, want)
			}
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: nix-stream-script blocked", path)
		}
		if _, err := os.Lstat(out); !os.IsNotExist(err) {
			t.Errorf("%s: $out: %v", path, err)
		}
	}
}
