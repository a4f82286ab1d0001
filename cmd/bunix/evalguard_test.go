package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestOutputGuardNixReads: -o onto a file that evaluating args.nix read
// (imported, read with builtins.readFile, or read by a file it imports)
// exits 2 and leaves the file as it was; a build to another path still
// works.
func TestOutputGuardNixReads(t *testing.T) {
	testenv.Require(t, "nix-instantiate")
	dir := writeFiles(t, map[string]string{
		"kernel":       "\x7fELF not really a kernel",
		"cmd.txt":      "hello",
		"ann.nix":      `{ unikernelType = "linux"; hypervisor = "qemu"; binary = "/unikernel/kernel"; }`,
		"lib/env.nix":  `{ GREETING = builtins.readFile ./greeting; }`,
		"lib/greeting": "hi",
		"listed/a.txt": "",
		"args.nix": `{
  name = "x";
  files = { "./kernel" = "/unikernel/kernel"; };
  annotations = import ./ann.nix;
  cmd = [ (builtins.readFile ./cmd.txt) ];
  env = import ./lib/env.nix // { N = toString (builtins.length (builtins.attrNames (builtins.readDir ./listed))); };
}`,
	})
	args := filepath.Join(dir, "args.nix")
	for _, name := range []string{"ann.nix", "cmd.txt", "lib/env.nix", "lib/greeting"} {
		out := filepath.Join(dir, name)
		before := snapshot(t, out)
		code, _, stderr := cli(t, nil, "build", args, "-o", out)
		if code != exitBadInput || !strings.Contains(stderr, "(evaluating "+args+" read it), which the build reads") {
			t.Errorf("-o %s: exit %d: %s", name, code, stderr)
		}
		if snapshot(t, out) != before {
			t.Errorf("-o %s: a refused build changed it", name)
		}
	}
	// A directory the evaluation only listed may take a new file.
	if code, _, stderr := cli(t, nil, "build", args, "-o", filepath.Join(dir, "listed", "image.tar")); code != exitOK {
		t.Errorf("-o listed/image.tar: exit %d: %s", code, stderr)
	}
}

// snapshot returns the content of the file at p, or for a directory the
// names in it.
func snapshot(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		return "missing"
	}
	if fi.IsDir() {
		ents, _ := os.ReadDir(p)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return "dir: " + strings.Join(names, ",")
	}
	return mustRead(t, p)
}

// TestEvalCaps: an args.nix whose evaluation takes more memory or time
// than BUNIX_EVAL_MEMORY or BUNIX_EVAL_TIMEOUT allow is stopped, exit 2,
// with a message naming the cap; a bad value of either is exit 2 too.
func TestEvalCaps(t *testing.T) {
	testenv.Require(t, "nix-instantiate")
	dir := writeFiles(t, map[string]string{
		// A list of lists that grows without end: stopped by a cap long
		// before it takes much of the machine.
		"big.nix": `{ name = "x"; tag = toString (builtins.length (builtins.genList (x: [ x ]) 200000000)); }`,
		// A regular expression that backtracks for hours in little memory.
		"slow.nix": `{ name = "x"; tag = toString (builtins.match "(a|aa)*b" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); }`,
	})
	for _, tc := range []struct {
		env  map[string]string
		file string
		want string
	}{
		{map[string]string{"BUNIX_EVAL_MEMORY": "64MiB"}, "big.nix", "evaluating " + filepath.Join(dir, "big.nix") + " used more than 64 MiB of memory, the cap: set BUNIX_EVAL_MEMORY to allow more (e.g. BUNIX_EVAL_MEMORY=128MiB)"},
		{map[string]string{"BUNIX_EVAL_MEMORY": "64MiB", "BUNIX_EVAL_TIMEOUT": "1s"}, "slow.nix", "evaluating " + filepath.Join(dir, "slow.nix") + " took more than 1s, the cap: set BUNIX_EVAL_TIMEOUT to allow longer (e.g. BUNIX_EVAL_TIMEOUT=2s)"},
		{map[string]string{"BUNIX_EVAL_MEMORY": "lots"}, "big.nix", `environment: BUNIX_EVAL_MEMORY = "lots": want a positive size`},
		{map[string]string{"BUNIX_EVAL_TIMEOUT": "-3s"}, "big.nix", `environment: BUNIX_EVAL_TIMEOUT = "-3s": want a positive duration`},
	} {
		for _, cmd := range []string{"validate", "build"} {
			argv := []string{cmd, filepath.Join(dir, tc.file)}
			if cmd == "build" {
				argv = append(argv, "-o", filepath.Join(dir, "out.tar"))
			}
			code, _, stderr := cli(t, tc.env, argv...)
			if code != exitBadInput || !strings.Contains(stderr, tc.want) {
				t.Errorf("%s %s with %v: exit %d: %s\nwant %q", cmd, tc.file, tc.env, code, stderr, tc.want)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.tar")); err == nil {
		t.Error("a stopped evaluation left an output")
	}
}
