package nix_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestMakeImageEvalCaps runs scripts/nix-eval.sh, the evaluation step of
// `make image`, as the Makefile does: a description that takes more memory
// or time than BUNIX_EVAL_MEMORY or BUNIX_EVAL_TIMEOUT allow is stopped,
// exit 2, naming the file and the cap; one within them gives its .drv.
func TestMakeImageEvalCaps(t *testing.T) {
	testenv.Require(t, "nix-instantiate")
	testenv.Require(t, "timeout")
	root := testenv.ModuleRoot(t)
	bunix := testenv.Bunix(t)
	dir := t.TempDir()
	files := map[string]string{
		// A list of 200 million lists, refused when Nix asks for its
		// 1.6 GB at once.
		"big.nix": `{ name = "x"; tag = toString (builtins.length (builtins.genList (x: [ x ]) 200000000)); }`,
		// A regular expression that backtracks for hours in little memory.
		"slow.nix": `{ name = "x"; tag = toString (builtins.match "(a|aa)*b" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); }`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(desc string, env ...string) (string, string, int) {
		cmd := exec.Command(filepath.Join(root, "scripts", "nix-eval.sh"), desc, filepath.Join(root, "default.nix"),
			"--arg", "bunix", bunix, "--argstr", "args", desc, "--option", "substituters", "")
		cmd.Env = append(os.Environ(), env...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return stdout.String(), stderr.String(), exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), 0
	}
	for _, tc := range []struct {
		file string
		env  []string
		want string
	}{
		{"big.nix", []string{"BUNIX_EVAL_MEMORY=1GiB"}, "used more than 1GiB of address space, the cap: set BUNIX_EVAL_MEMORY"},
		{"slow.nix", []string{"BUNIX_EVAL_TIMEOUT=1"}, "took more than 1s, the cap: set BUNIX_EVAL_TIMEOUT"},
		{"big.nix", []string{"BUNIX_EVAL_MEMORY=lots"}, `BUNIX_EVAL_MEMORY = "lots": want a positive size`},
		{"big.nix", []string{"BUNIX_EVAL_TIMEOUT=0"}, `BUNIX_EVAL_TIMEOUT = "0": want a positive number of seconds`},
	} {
		desc := filepath.Join(dir, tc.file)
		_, stderr, code := eval(desc, tc.env...)
		if code != 2 || !strings.Contains(stderr, tc.want) || (strings.Contains(tc.want, "than") && !strings.Contains(stderr, "evaluating "+desc)) {
			t.Errorf("%s with %v: exit %d: %s\nwant %q", tc.file, tc.env, code, stderr, tc.want)
		}
	}
	args := filepath.Join(root, "examples", "contents", "args.nix")
	stdout, stderr, code := eval(args)
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(stdout), ".drv") || strings.Contains(stderr, "add-root") {
		t.Errorf("%s: exit %d, stdout %q, stderr %s", args, code, stdout, stderr)
	}
}
