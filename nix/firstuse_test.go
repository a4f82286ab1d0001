package nix_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/scaffold"
)

// TestNoNixpkgs evaluates default.nix as a newcomer would first run it,
// without --arg bunix on a machine without nixpkgs: Nix ends with what to do
// (make image, --arg bunix), not with "file 'nixpkgs' was not found".
func TestNoNixpkgs(t *testing.T) {
	root := testenv.ModuleRoot(t)
	t.Setenv("NIX_PATH", "")
	_, _, err := testenv.NixInstantiate(t, root, "--option", "nix-path", "", filepath.Join(root, "default.nix"))
	if err == nil {
		t.Fatal("default.nix evaluated without nixpkgs and without --arg bunix")
	}
	for _, want := range []string{"default.nix: there is no nixpkgs on the Nix search path", "make image", "make image ARGS=path/to/args.nix",
		"nix-build default.nix --arg bunix ./out --option substituters '' --option sandbox true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "was not found") {
		t.Errorf("Nix's own error came through:\n%v", err)
	}
}

// TestBunixNotAPrefix passes --arg bunix a directory without bin/bunix (the
// checkout, a mistake the README's old wording invited), the binary itself
// and a path that does not exist: each is named, with what to pass instead.
func TestBunixNotAPrefix(t *testing.T) {
	root := testenv.ModuleRoot(t)
	binary := filepath.Join(testenv.Bunix(t), "bin", "bunix")
	missing := filepath.Join(t.TempDir(), "nothing")
	for _, c := range []struct{ arg, want string }{
		{root, "bunix = " + root + ": has no bin/bunix: pass the directory that holds bin/bunix (`make bunix` writes out/bin/bunix: --arg bunix ./out)"},
		{binary, "bunix = " + binary + ": has no bin/bunix: pass the directory that holds bin/bunix, " + testenv.Bunix(t)},
		{missing, "bunix = " + missing + ": no such directory"},
	} {
		_, _, err := testenv.NixInstantiate(t, root, filepath.Join(root, "default.nix"), "--arg", "bunix", c.arg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--arg bunix %s: want %q, got %v", c.arg, c.want, err)
		}
	}
}

// checkoutCopy copies what `make image` needs of the checkout to a new
// directory, so that make can write out/ and result there.
func checkoutCopy(t *testing.T) string {
	t.Helper()
	root := testenv.ModuleRoot(t)
	dst := t.TempDir()
	args := []string{"-r"}
	for _, p := range []string{"Makefile", "default.nix", "args.nix", "go.mod", "go.sum", "nix", "scripts", "cmd", "pkg", "internal", "examples"} {
		args = append(args, filepath.Join(root, p))
	}
	if out, err := exec.Command("cp", append(args, dst)...).CombinedOutput(); err != nil {
		t.Fatalf("copying the checkout: %v\n%s", err, out)
	}
	return dst
}

// TestMakeImageArgs runs `make image ARGS=...` in a copy of the checkout:
// with a path relative to the checkout, and as the comment that `bunix init`
// writes says to, from the args file's directory. Each builds the bytes
// `bunix build` builds; a missing ARGS fails before anything is built,
// naming it.
func TestMakeImageArgs(t *testing.T) {
	makeTool := testenv.Require(t, "make")
	testenv.Require(t, "nix-build")
	testenv.Require(t, "go")
	// make image runs scripts/deps.sh nix, which installs packages when it
	// finds no nixbld group: not something a test may do.
	if _, err := user.LookupGroup("nixbld"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no nixbld group (%v): scripts/deps.sh has not set Nix up", err)
		}
		t.Skipf("no nixbld group (%v), so make image would install nix-setup-systemd: run scripts/deps.sh nix first", err)
	}
	checkout := checkoutCopy(t)

	run := func(dir string, script string) (string, error) {
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PWD="+dir, "MAKE="+makeTool)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(checkout, `"$MAKE" image ARGS=examples/contents/args.nix`); err != nil {
		t.Fatalf("make image ARGS=examples/contents/args.nix: %v\n%s", err, out)
	}
	want := filepath.Join(t.TempDir(), "contents.tar")
	bunixCLI(t, checkout, nil, "build", "-f", "examples/contents/args.nix", "-o", want)
	if !bytes.Equal(testenv.ReadFile(t, filepath.Join(checkout, "result")), testenv.ReadFile(t, want)) {
		t.Error("make image ARGS=examples/contents/args.nix and bunix build differ")
	}

	// A project of its own, away from the checkout, as bunix init writes it.
	project := t.TempDir()
	os.WriteFile(filepath.Join(project, "vmlinuz"), []byte("not a kernel\n"), 0o644)
	bunixCLI(t, project, nil, "init", "--type", "linux", "--hypervisor", "qemu", "--binary", "./vmlinuz", "--cmdline", "/init")
	var makeLine string
	for _, line := range strings.Split(string(testenv.ReadFile(t, filepath.Join(project, "args.nix"))), "\n") {
		if l := strings.TrimSpace(strings.TrimPrefix(line, "#")); strings.HasPrefix(l, "make ") {
			makeLine = l
		}
	}
	if makeLine == "" {
		t.Fatalf("bunix init wrote no make line:\n%s", testenv.ReadFile(t, filepath.Join(project, "args.nix")))
	}
	makeLine = strings.ReplaceAll(makeLine, scaffold.CheckoutPlaceholder, checkout)
	// docker load is the reader's next step, not this test's.
	makeLine, _, _ = strings.Cut(makeLine, " && docker load")
	makeLine = strings.Replace(makeLine, "make ", `"$MAKE" `, 1)
	if out, err := run(project, makeLine); err != nil {
		t.Fatalf("%s: %v\n%s", makeLine, err, out)
	}
	want = filepath.Join(t.TempDir(), "init.tar")
	bunixCLI(t, project, nil, "build", "-f", "args.nix", "-o", want)
	if !bytes.Equal(testenv.ReadFile(t, filepath.Join(checkout, "result")), testenv.ReadFile(t, want)) {
		t.Errorf("%s and bunix build differ", makeLine)
	}

	out, err := run(checkout, `"$MAKE" image ARGS=no/such/args.nix`)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(out, "make image: ARGS=no/such/args.nix: no such file ("+filepath.Join(checkout, "no/such/args.nix")+")") {
		t.Errorf("make image ARGS=no/such/args.nix: %v\n%s", err, out)
	}
}

// TestDefaultNixFromElsewhere: nix-build /path/to/bunix/default.nix run in
// the user's own directory builds that directory's args.nix, and says so;
// run in a directory without one, it says that it builds the checkout's
// placeholder, and how to name another. Run in the checkout, it says
// nothing.
func TestDefaultNixFromElsewhere(t *testing.T) {
	root := testenv.ModuleRoot(t)
	defaultNix := filepath.Join(root, "default.nix")
	mine := t.TempDir()
	os.WriteFile(filepath.Join(mine, "kernel"), []byte("my kernel"), 0o644)
	os.WriteFile(filepath.Join(mine, "args.nix"), []byte(`{
  name = "user/mine";
  files."./kernel" = "/unikernel/kernel";
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/unikernel/kernel"; };
  cmd = [ "x" ];
}
`), 0o644)
	out, stderr, err := testenv.NixBuild(t, mine, defaultNix, "--arg", "bunix", testenv.Bunix(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, "-user-mine-latest.tar") {
		t.Errorf("nix-build default.nix in %s built %s, not its args.nix", mine, out)
	}
	if want := "default.nix: building " + mine + "/args.nix, the current directory's (--arg args FILE builds another)"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}

	empty := t.TempDir()
	out, stderr, err = testenv.NixBuild(t, empty, defaultNix, "--arg", "bunix", testenv.Bunix(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, "-bunix-hello-latest.tar") {
		t.Errorf("nix-build default.nix in %s built %s, not the placeholder", empty, out)
	}
	if want := "default.nix: there is no args.nix in the current directory " + empty + ": building " + root + "/args.nix, this checkout's placeholder example (--arg args ./path/to/args.nix builds yours)"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}

	if _, stderr, err := testenv.NixBuild(t, root, defaultNix, "--arg", "bunix", testenv.Bunix(t)); err != nil {
		t.Fatal(err)
	} else if strings.Contains(stderr, "default.nix: ") {
		t.Errorf("in the checkout, nix-build default.nix says:\n%s", stderr)
	}
}
