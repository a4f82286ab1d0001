package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/nixbuild"
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
	nixSBOM := filepath.Join(dir, "nix.spdx.json")
	if n := syncs([]string{"out=" + nixOut, "sbom=" + nixSBOM, "specPath=" + filepath.Join(dir, "spec.json"), "bunixLayers=" + layer}, "nix-builder"); n != 0 {
		t.Errorf("nix-builder synced %d times", n)
	}
	cliOut, cliSBOM := filepath.Join(dir, "cli.tar"), filepath.Join(dir, "cli.spdx.json")
	if n := syncs(nil, "build", "-f", filepath.Join(dir, "args.json"), "-o", cliOut, "--sbom", cliSBOM); n < 2 {
		t.Errorf("bunix build synced %d times, not its output and its SBOM", n)
	}
	if !bytes.Equal(testenv.ReadFile(t, nixOut), testenv.ReadFile(t, cliOut)) {
		t.Error("nix-builder with a prebuilt layer and bunix build wrote different bytes")
	}
	// $sbom, the derivation's second output, is what build --sbom writes.
	if a, b := testenv.ReadFile(t, nixSBOM), testenv.ReadFile(t, cliSBOM); !bytes.Equal(a, b) || !bytes.Contains(a, []byte(`"spdxVersion": "SPDX-2.3"`)) {
		t.Errorf("nix-builder's $sbom and build --sbom differ:\n%s\n%s", a, b)
	}
}

// TestNixBuildersWiring: each of pkg/nixbuild's builders is a hidden
// command of its name; one run without the variables nix/lib.nix sets, or
// with too few arguments, is a usage error (exit 2), as is an unknown
// compression; what is wrong with a file is not (exit 1).
func TestNixBuildersWiring(t *testing.T) {
	root := newRoot(nil)
	dir := t.TempDir()
	k := filepath.Join(dir, "k")
	os.WriteFile(k, []byte("k"), 0o644)
	for _, b := range nixbuild.Builders {
		c, rest, err := root.Find([]string{b.Name})
		if err != nil || c.Name() != b.Name || len(rest) != 0 || !c.Hidden || c.Long != b.Long {
			t.Errorf("%s: command %v %q %v", b.Name, c, rest, err)
		}
		argv := append([]string{b.Name}, slices.Repeat([]string{k}, len(b.Args))...)
		if b.Name == "nix-stream" {
			continue // needs no variable
		}
		if code, _, stderr := cli(t, nil, argv...); code != exitBadInput || !strings.Contains(stderr, "must be set") {
			t.Errorf("%q without its variables: exit %d, %q", argv, code, stderr)
		}
	}
	out := map[string]string{"out": filepath.Join(dir, "out")}
	for _, tc := range []struct {
		argv []string
		code int
		want string
	}{
		{[]string{"nix-layer", k, "/k"}, exitBadInput, "nix-layer: accepts 3 arg(s) (SOURCE TARGET COMPRESSION), received 2"},
		{[]string{"nix-builder", "x"}, exitBadInput, "nix-builder: takes no arguments, received 1"},
		{[]string{"nix-layer", k, "/k", "lz4"}, exitBadInput, `COMPRESSION: unknown compression "lz4"`},
		{[]string{"nix-stream", k}, exitFailure, "does not start with a #! line"},
	} {
		if code, _, stderr := cli(t, out, tc.argv...); code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, %q; want exit %d and %q", tc.argv, code, stderr, tc.code, tc.want)
		}
	}
}
