package nixbuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/args"
)

// lookup returns the builder named name, or nil.
func lookup(name string) *Builder {
	for i := range Builders {
		if Builders[i].Name == name {
			return &Builders[i]
		}
	}
	return nil
}

// run runs the builder name on argv with env as its whole environment and
// returns its error; a run that takes 30 seconds (blocked on a FIFO) fails
// the test.
func run(t *testing.T, env map[string]string, name string, argv ...string) error {
	t.Helper()
	b := lookup(name)
	if b == nil {
		t.Fatalf("no builder %s", name)
	}
	done := make(chan error, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		done <- b.Run(context.Background(), func(k string) string { return env[k] }, argv, &stdout, &stderr)
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("%s %q blocked", name, argv)
		return nil
	}
}

// TestBuilders: the table names each builder once and documents it.
func TestBuilders(t *testing.T) {
	var names []string
	for _, b := range Builders {
		if !strings.HasPrefix(b.Name, "nix-") || b.Short == "" || !strings.HasPrefix(b.Long, b.Name+" ") || b.Example == "" || b.run == nil {
			t.Errorf("%s: name, docs or run missing: %+v", b.Name, b)
		}
		names = append(names, b.Name)
	}
	if slices.Sort(names); len(slices.Compact(names)) != len(Builders) {
		t.Errorf("a name appears twice: %v", names)
	}
}

// TestUsage: a builder without the variables nix/lib.nix sets, with the
// wrong number of arguments, or with an unknown compression fails with a
// *UsageError that says which.
func TestUsage(t *testing.T) {
	dir := t.TempDir()
	k := filepath.Join(dir, "k")
	os.WriteFile(k, []byte("k"), 0o644)
	out := map[string]string{"out": filepath.Join(dir, "out")}
	for _, tc := range []struct {
		env  map[string]string
		argv []string
		want string
	}{
		{nil, []string{"nix-builder"}, "nix-builder: $specPath and $out must be set: this command runs inside a derivation made by nix/lib.nix"},
		{nil, []string{"nix-rootfs-layer"}, "nix-rootfs-layer: $specPath and $out must be set"},
		{out, []string{"nix-builder"}, "nix-builder: $specPath and $out must be set"},
		{nil, []string{"nix-layer", k, "/k", "none"}, "nix-layer: $out must be set"},
		{out, []string{"nix-layer", k, "/k", "lz4"}, `nix-layer: COMPRESSION: unknown compression "lz4"`},
		{out, []string{"nix-layer", k, "/k"}, "nix-layer: accepts 3 arg(s) (SOURCE TARGET COMPRESSION), received 2"},
		{nil, []string{"nix-script"}, "nix-script: $textPath and $out must be set"},
		{nil, []string{"nix-stream-script"}, "nix-stream-script: $textPath and $out must be set"},
		{map[string]string{"ref": "r", "digest": "d", "out": "o"}, []string{"nix-pull"}, "nix-pull: $ref, $digest, $architecture and $out must be set"},
		{nil, []string{"nix-stream"}, "nix-stream: accepts 1 arg(s) (SCRIPT), received 0"},
	} {
		err := run(t, tc.env, tc.argv[0], tc.argv[1:]...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !IsUsageError(err) {
			t.Errorf("%q: %v; want a usage error saying %q", tc.argv, err, tc.want)
		}
	}
	if _, err := os.Lstat(out["out"]); !os.IsNotExist(err) {
		t.Errorf("$out: %v", err)
	}
	// What is wrong with a file, not with how the builder was run, is no
	// usage error.
	if err := run(t, out, "nix-stream", k); err == nil || !strings.Contains(err.Error(), "does not start with a #! line") || IsUsageError(err) {
		t.Errorf("nix-stream of a file that is no script: %v", err)
	}
}

// TestPassedFilesAreRegularAndBounded: every file nix/lib.nix passes a
// builder ($specPath, $textPath) that is a FIFO is refused at once, without
// blocking for a writer, and one over args.MaxEvalOutput by its size; $out
// is left alone.
func TestPassedFilesAreRegularAndBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "passed.fifo")
	testenv.Mkfifo(t, fifo)
	big := filepath.Join(dir, "passed")
	if err := os.WriteFile(big, bytes.Repeat([]byte(" "), args.MaxEvalOutput+1), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for _, tc := range []struct{ builder, variable, what string }{
		{"nix-builder", "specPath", "builder spec"},
		{"nix-rootfs-layer", "specPath", "builder spec"},
		{"nix-stream-script", "textPath", "stream script"},
		{"nix-script", "textPath", "script"},
	} {
		for path, want := range map[string]string{
			fifo: fifo + " is a named pipe (FIFO), not a regular file",
			big:  fmt.Sprintf("%s: %s: the %s is larger than %d bytes", tc.builder, big, tc.what, args.MaxEvalOutput),
		} {
			err := run(t, map[string]string{tc.variable: path, "out": out}, tc.builder)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s with %s: %v; want %q", tc.builder, path, err, want)
			}
			if _, err := os.Lstat(out); !os.IsNotExist(err) {
				t.Errorf("%s with %s: $out: %v", tc.builder, path, err)
			}
		}
	}
}

// TestScripts: nix-stream-script and nix-script write to $out, executable,
// the very bytes of $textPath; a description the check refuses leaves no
// $out of nix-stream-script.
func TestScripts(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	script := func(binary string) string {
		return "#!/nix/store/x-bunix/bin/bunix nix-stream\n" + `{"spec":{"version":` + strconv.Itoa(args.SpecVersion) +
			`,"name":"x/y","contents":[{"source":"` + dir + `/kernel","target":"/unikernel/kernel","field":"contents[0]"}],` +
			`"annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"` + binary + `"}},"layers":[]}` + "\n"
	}
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	os.WriteFile(good, []byte(script("/unikernel/kernel")), 0o644)
	os.WriteFile(bad, []byte(script("/unikernel/missing")), 0o644)

	for _, builder := range []string{"nix-stream-script", "nix-script"} {
		out := filepath.Join(dir, builder)
		if err := run(t, map[string]string{"textPath": good, "out": out}, builder); err != nil {
			t.Fatalf("%s: %v", builder, err)
		}
		if got := string(testenv.ReadFile(t, out)); got != script("/unikernel/kernel") {
			t.Errorf("%s: $out = %q, want the script text", builder, got)
		}
		if fi, err := os.Stat(out); err != nil || fi.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s: $out is not executable: %v %v", builder, fi.Mode(), err)
		}
	}
	out := filepath.Join(dir, "out-bad")
	if err := run(t, map[string]string{"textPath": bad, "out": out}, "nix-stream-script"); err == nil || !strings.Contains(err.Error(), "/unikernel/missing") {
		t.Errorf("nix-stream-script of a bad description: %v", err)
	}
	if _, err := os.Lstat(out); !os.IsNotExist(err) {
		t.Errorf("nix-stream-script of a bad description: $out: %v", err)
	}
}
