package nix_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nubificus/bunix/internal/testenv"
)

// nixpkgsSource lists what nix/package.nix's fileset gives buildGoModule.
var nixpkgsSource = []string{"go.mod", "go.sum", "cmd", "pkg", "internal"}

// TestVendorHash recomputes nix/package.nix's vendorHash the way nixpkgs'
// buildGoModule does: `go mod vendor` over the package's source, then the
// sha256 of the NAR serialization of vendor/, in SRI form. nixpkgs cannot be
// fetched here, so this keeps the nixpkgs build honest. To update it, put
// the hash this test prints into nix/package.nix.
func TestVendorHash(t *testing.T) {
	root := testenv.ModuleRoot(t)
	src := t.TempDir()
	for _, p := range nixpkgsSource {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			continue
		}
		if out, err := exec.Command("cp", "-r", filepath.Join(root, p), src).CombinedOutput(); err != nil {
			t.Fatalf("copying %s: %v\n%s", p, err, out)
		}
	}
	cmd := exec.Command("go", "mod", "vendor")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	vendor := filepath.Join(src, "vendor")
	got := narHash(t, vendor)

	// Cross-check go-nix against Nix itself where Nix is installed.
	if _, err := exec.LookPath("nix-hash"); err == nil || os.Getenv("CI") == "true" {
		out, err := exec.Command(testenv.Require(t, "nix-hash"), "--type", "sha256", vendor).Output()
		if err != nil {
			t.Fatalf("nix-hash: %v", err)
		}
		sum, err := hex.DecodeString(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("nix-hash printed %q: %v", out, err)
		}
		if want := "sha256-" + base64.StdEncoding.EncodeToString(sum); want != got {
			t.Fatalf("go-nix NAR hash %s, nix-hash says %s", got, want)
		}
	}

	pkg, err := os.ReadFile(filepath.Join(root, "nix", "package.nix"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*vendorHash = "(sha256-[A-Za-z0-9+/=]+)";`).FindSubmatch(pkg)
	if m == nil {
		t.Fatal(`nix/package.nix has no line vendorHash = "sha256-...";`)
	}
	if string(m[1]) != got {
		t.Errorf("nix/package.nix has vendorHash = %q, but go mod vendor gives %q: update nix/package.nix", m[1], got)
	}
}

func narHash(t *testing.T, dir string) string {
	t.Helper()
	// Nix hashes what is on disk; make sure vendor/ holds no file of a type
	// a NAR cannot carry.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.Type().IsRegular() && !d.IsDir() && d.Type()&fs.ModeSymlink == 0 {
			t.Fatalf("%s: a NAR cannot hold %v", p, d.Type())
		}
		return err
	})
	h := sha256.New()
	if err := nar.DumpPath(h, dir); err != nil {
		t.Fatalf("serializing %s as a NAR: %v", dir, err)
	}
	return "sha256-" + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// TestParse parses every .nix file of the repository.
func TestParse(t *testing.T) {
	root := testenv.ModuleRoot(t)
	var files []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "out" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, ".nix") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 5 {
		t.Fatalf("found only %d .nix files: %v", len(files), files)
	}
	for _, f := range files {
		if _, stderr, err := testenv.NixInstantiate(t, root, "--parse", f); err != nil {
			t.Errorf("%s does not parse: %v\n%s", f, err, stderr)
		}
	}
}
