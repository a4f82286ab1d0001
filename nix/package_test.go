package nix_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
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

// TestGoVersion keeps the module buildable by nixpkgs' Go: go.mod's go line
// and every dependency's must be at most 1.25.
func TestGoVersion(t *testing.T) {
	root := testenv.ModuleRoot(t)
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod); m == nil || !goAtMost125(string(m[1])) {
		t.Errorf("go.mod's go line is %q, want 1.25 or older", m)
	}
	if regexp.MustCompile(`(?m)^toolchain `).Match(gomod) {
		t.Error("go.mod names a toolchain; nixpkgs builds with its own Go")
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Path}} {{.GoVersion}}", "all")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) == 2 && !goAtMost125(f[1]) {
			t.Errorf("%s needs go %s, newer than 1.25", f[0], f[1])
		}
	}
}

func goAtMost125(v string) bool {
	var major, minor int
	fmt.Sscanf(v, "%d.%d", &major, &minor)
	return major == 1 && minor <= 25
}
