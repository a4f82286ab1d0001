package nix_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestFlakePureEvaluation: in a flake (pure evaluation) the mistakes a
// flake's author makes are named with what to do, not with Nix's bare
// "attribute 'currentSystem' missing" or a "does not exist" for a file that
// exists; lib given both bunix and system takes system for bunix; and the flake's
// apps carry meta, which `nix flake check` wants.
func TestFlakePureEvaluation(t *testing.T) {
	root := testenv.ModuleRoot(t)
	nixCmd := testenv.Require(t, "nix")
	prefix := testenv.Bunix(t)
	features := []string{"--extra-experimental-features", "nix-command flakes"}

	outside := filepath.Join(t.TempDir(), "kernel")
	os.WriteFile(outside, []byte("a kernel outside the flake"), 0o644)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("a kernel"), 0o644)
	os.WriteFile(filepath.Join(dir, "flake.nix"), []byte(fmt.Sprintf(`{
  inputs.bunix.url = "path:%s";
  inputs.prebuilt = { url = "path:%s"; flake = false; };
  outputs = { self, bunix, prebuilt }:
    let
      args = {
        name = "flake/pure";
        root = ./.;
        files."./kernel" = "/unikernel/kernel";
        annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/unikernel/kernel"; };
      };
    in {
      noSystem = bunix.lib.buildImage (args // { bunix = prebuilt; });
      withSystem = bunix.lib.buildImage (args // { bunix = prebuilt // { system = "x86_64-linux"; }; });
      bothGiven = bunix.lib.buildImage (args // { bunix = prebuilt; system = "x86_64-linux"; });
      outside = bunix.lib.buildImage (args // {
        bunix = prebuilt // { system = "x86_64-linux"; };
        files = { %q = "/unikernel/kernel"; };
      });
    };
}
`, root, prefix, outside)), 0o644)

	eval := func(attr string) (string, error) {
		cmd := exec.Command(nixCmd, append(features, "eval", "--raw", "path:"+dir+"#"+attr)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return stderr.String(), err
		}
		return string(out), nil
	}
	withSystem, err := eval("withSystem.drvPath")
	if err != nil || !strings.HasSuffix(strings.TrimSpace(withSystem), ".drv") {
		t.Fatalf("nix eval .#withSystem.drvPath: %v\n%s", err, withSystem)
	}
	// lib's system, given with a bunix that names none, is bunix's.
	if out, err := eval("bothGiven.drvPath"); err != nil || out != withSystem {
		t.Errorf("nix eval .#bothGiven.drvPath: %v\n%s\nwant %s", err, out, withSystem)
	}
	for attr, want := range map[string]string{
		"noSystem.drvPath": "which system is it for? It names none, and in pure evaluation (a flake) Nix does not know the system it runs on: give bunix a system, e.g. `bunix = prebuilt // { system = \"x86_64-linux\"; }`",
		"outside.drvPath":  "source " + outside + " does not exist, or is outside the flake: pure evaluation (a flake) sees no file outside it; copy it into the flake",
	} {
		out, err := eval(attr)
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("nix eval .#%s: %v\n%s\nwant %q", attr, err, out, want)
		}
	}

	ref := "path:" + root
	for _, sys := range []string{"x86_64-linux", "aarch64-linux"} {
		cmd := exec.Command(nixCmd, append(features, "eval", "--raw", ref+"#apps."+sys+".default.meta.description")...)
		if out, err := cmd.CombinedOutput(); err != nil || len(out) == 0 {
			t.Errorf("the flake's apps.%s.default has no meta.description (nix flake check warns): %v\n%s", sys, err, out)
		}
	}
}
