package nix_test

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// copyCheckout copies what nix-build reads of the checkout at root
// (default.nix, nix/, pkg/args/positions.nix, the default args.nix and
// examples/) to dir, as another checkout of the same commit would be.
func copyCheckout(t *testing.T, root, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "pkg", "args"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cp", "-a", "default.nix", "args.nix", "nix", "examples", dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copying the checkout to %s: %v\n%s", dir, err, out)
	}
	cmd = exec.Command("cp", "-a", "pkg/args/positions.nix", filepath.Join(dir, "pkg", "args"))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copying the checkout to %s: %v\n%s", dir, err, out)
	}
}

// instantiate returns the .drv path of the expression args give
// nix-instantiate in dir.
func instantiate(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, _, err := testenv.NixInstantiate(t, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, ".drv") {
		t.Fatalf("nix-instantiate %s printed %q, not a .drv path", strings.Join(args, " "), out)
	}
	return out
}

// TestSameDerivationFromAnyCheckout: the same args build the same
// derivation whichever checkout of bunix evaluates them, wherever it lives
// and wherever the args file lives: with the checkout's own args.nix, with
// an args file outside it (the positions of the fields default.nix adds,
// bunix and cacert, once put default.nix's absolute path in the spec), and
// through streamImage and pushScript, which take the image's spec.
func TestSameDerivationFromAnyCheckout(t *testing.T) {
	root := testenv.ModuleRoot(t)
	prefix := testenv.Bunix(t)
	base := t.TempDir()
	a := filepath.Join(base, "a")
	b := filepath.Join(base, "second", "checkout", "of-bunix")
	copyCheckout(t, root, a)
	copyCheckout(t, root, b)

	// An args file of the user's own, outside both checkouts.
	user := filepath.Join(base, "user", "project")
	if err := os.MkdirAll(user, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(user, "kernel"), []byte("a kernel"), 0o644)
	os.WriteFile(filepath.Join(user, "args.nix"), []byte(`{
  name = "user/project";
  files."./kernel" = "/unikernel/kernel";
  annotations = {
    unikernelType = "unikraft";
    hypervisor = "qemu";
    binary = "/unikernel/kernel";
  };
}
`), 0o644)
	userArgs := filepath.Join(user, "args.nix")

	stream := func(checkout string) []string {
		return []string{"--expr", `{ checkout, bunix, args }:
  (import (checkout + "/nix/lib.nix")).streamImage ((import args) // { root = dirOf args; inherit bunix; })`,
			"--arg", "checkout", checkout, "--arg", "bunix", prefix, "--arg", "args", userArgs}
	}
	push := func(checkout string) []string {
		return []string{"--expr", `{ checkout, bunix, args }:
  (import (checkout + "/nix/lib.nix")).pushScript {
    image = import (checkout + "/default.nix") { inherit bunix args; };
    ref = "registry.example.com/user/project:latest";
    inherit bunix;
  }`,
			"--arg", "checkout", checkout, "--arg", "bunix", prefix, "--arg", "args", userArgs}
	}
	for _, c := range []struct {
		name string
		args func(checkout string) []string
	}{
		{"the checkout's args.nix", func(checkout string) []string {
			return []string{filepath.Join(checkout, "default.nix"), "--arg", "bunix", prefix}
		}},
		{"an example's args.nix", func(checkout string) []string {
			return []string{filepath.Join(checkout, "default.nix"), "--arg", "bunix", prefix, "--arg", "args", filepath.Join(checkout, "examples", "rumprun-raw", "args.nix")}
		}},
		{"an args file outside the checkout", func(checkout string) []string {
			return []string{filepath.Join(checkout, "default.nix"), "--arg", "bunix", prefix, "--arg", "args", userArgs}
		}},
		{"streamImage", stream},
		{"pushScript", push},
	} {
		t.Run(c.name, func(t *testing.T) {
			da := instantiate(t, base, c.args(a)...)
			db := instantiate(t, base, c.args(b)...)
			if da != db {
				t.Errorf("checkout %s gives %s, checkout %s gives %s", a, da, b, db)
				for _, d := range []string{da, db} {
					if out, err := exec.Command("nix", "--extra-experimental-features", "nix-command", "show-derivation", d).Output(); err == nil {
						t.Logf("%s:\n%s", d, out)
					}
				}
			}
		})
	}
}

// TestPositionsLeaveOutInherit: the spec names where each field is
// written, relative to the args file's directory, except a field given by
// `inherit`, whose position Nix 2.8 and Nix 2.26+ put in different places
// (so that the derivation would depend on the Nix version).
func TestPositionsLeaveOutInherit(t *testing.T) {
	root := testenv.ModuleRoot(t)
	args := filepath.Join(root, "nix", "testdata", "positions", "args.nix")
	out, _, err := testenv.NixInstantiate(t, root, "--eval", "--strict", "--json", "--expr",
		`{ root, args, bunix }: (import (root + "/default.nix") { inherit args bunix; }).bunixSpec.positions`,
		"--arg", "root", root, "--arg", "args", args, "--arg", "bunix", testenv.Bunix(t))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]string{
		"tag":                                    "args.nix:12:3",
		"files":                                  "args.nix:12:16",
		`files."../../../examples/hello/kernel"`: "args.nix:12:16",
		"annotations":                            "args.nix:13:3",
		"annotations.unikernelType":              "args.nix:17:5",
		"annotations.binary":                     "args.nix:18:5",
		"env":                                    "args.nix:20:3",
		"env.GREETING":                           "args.nix:20:3",
	}
	if !maps.Equal(got, want) {
		t.Errorf("positions:\n got %v\nwant %v", got, want)
	}
}
