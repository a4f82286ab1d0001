package nix_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/scaffold"
)

// TestTemplateFlakePrebuilt: the flake.nix `bunix init --flake` writes (the
// template's) builds its args.nix with a prebuilt bunix given as the
// prebuilt input, with no nixpkgs; the bytes are default.nix's for the same
// args.nix and bunix.
func TestTemplateFlakePrebuilt(t *testing.T) {
	root := testenv.ModuleRoot(t)
	nixCmd := testenv.Require(t, "nix")
	prefix := testenv.Bunix(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "flake.nix"), scaffold.Flake(), 0o644)
	os.WriteFile(filepath.Join(dir, "args.nix"), testenv.ReadFile(t, filepath.Join(root, "pkg", "scaffold", "template", "args.nix")), 0o644)
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("a kernel"), 0o644)
	result := filepath.Join(t.TempDir(), "result")
	cmd := exec.Command(nixCmd, "--extra-experimental-features", "nix-command flakes", "build",
		"--option", "substituters", "", "--option", "sandbox", "true",
		"--override-input", "bunix", "path:"+root, "--override-input", "prebuilt", "path:"+prefix,
		"-o", result, "path:"+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nix build of the template's flake with a prebuilt bunix: %v\n%s", err, out)
	}
	viaFlake, err := os.Readlink(result)
	if err != nil {
		t.Fatal(err)
	}
	viaDefault, stderr, err := testenv.NixBuild(t, root, filepath.Join(root, "default.nix"), "--arg", "bunix", prefix, "--arg", "args", filepath.Join(dir, "args.nix"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !bytes.Equal(testenv.ReadFile(t, viaFlake), testenv.ReadFile(t, viaDefault)) {
		t.Errorf("the template's flake (%s) and default.nix (%s) build different bytes", viaFlake, viaDefault)
	}
}

// TestTemplateFlakePrebuiltFollows: left alone, the template's prebuilt
// input follows the bunix input, so that locking the flake fetches nothing
// for it (it once fetched github:nubificus/bunix a second time, unused).
func TestTemplateFlakePrebuiltFollows(t *testing.T) {
	root := testenv.ModuleRoot(t)
	nixCmd := testenv.Require(t, "nix")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "flake.nix"), scaffold.Flake(), 0o644)
	cmd := exec.Command(nixCmd, "--extra-experimental-features", "nix-command flakes", "flake", "lock",
		"--override-input", "bunix", "path:"+root, "path:"+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nix flake lock of the template's flake: %v\n%s", err, out)
	}
	var lock struct {
		Root  string
		Nodes map[string]struct {
			Inputs map[string]any
		}
	}
	if err := json.Unmarshal(testenv.ReadFile(t, filepath.Join(dir, "flake.lock")), &lock); err != nil {
		t.Fatal(err)
	}
	got := lock.Nodes[lock.Root].Inputs["prebuilt"]
	if l, ok := got.([]any); !ok || len(l) != 1 || l[0] != "bunix" {
		t.Errorf("flake.lock: the prebuilt input is %v, want [\"bunix\"] (following bunix)", got)
	}
}
