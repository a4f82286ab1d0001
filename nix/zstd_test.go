package nix_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestNixZstdDockerArchive: nix-build refuses compression = "zstd" in
// the default docker-archive format, as bunix validate does, with the
// field's position and the formats that hold zstd; with format =
// "oci-archive" it builds.
func TestNixZstdDockerArchive(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	p := filepath.Join(dir, "args.nix")
	root := testenv.ModuleRoot(t)
	build := func(extra string) (string, string, error) {
		os.WriteFile(p, []byte(`{ name = "x"; files = { "./kernel" = "/k"; };
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/k"; };
  `+extra+` }`), 0o644)
		return testenv.NixBuild(t, root, filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t), "--arg", "args", p)
	}
	out, stderr, err := build(`compression = "zstd";`)
	want := `bunix: args.nix:3:3: compression = "zstd": the docker-archive format cannot hold zstd layers (docker load refuses them): set format = "oci-archive" or "oci", or compression = "gzip"`
	if err == nil || !strings.Contains(stderr, want) {
		t.Errorf("zstd in a docker-archive: built %q (%v), stderr lacks %q:\n%s", out, err, want, stderr)
	}
	if _, _, err := build(`compression = "zstd"; format = "oci-archive";`); err != nil {
		t.Errorf("zstd in an oci-archive: %v", err)
	}
}
