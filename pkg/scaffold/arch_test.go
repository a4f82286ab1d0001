package scaffold

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// arm64Kernel writes the header of an arm64 Linux Image as dir/name.
func arm64Kernel(t *testing.T, dir, name string) {
	t.Helper()
	b := make([]byte, 0x100)
	copy(b[56:], "ARM\x64")
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInitArchitecture: init writes the architecture: the one given (any
// spelling urunc knows), else the kernel's own, else amd64 for a kernel
// whose format it does not know; it refuses an unknown one, and one the
// kernel is not built for.
func TestInitArchitecture(t *testing.T) {
	dir := t.TempDir()
	arm64Kernel(t, dir, "Image")
	os.WriteFile(filepath.Join(dir, "placeholder"), []byte("not a kernel"), 0o644)
	for _, tc := range []struct{ binary, arch, want string }{
		{"Image", "", `architecture = "arm64";`},
		{"./Image", "aarch64", `architecture = "arm64";`},
		{"placeholder", "", `architecture = "amd64";`},
		{"placeholder", "arm64", `architecture = "arm64";`},
		{"Image", "amd64", `--architecture "amd64": the kernel "Image" is an arm64 Linux kernel (Image) for arm64: give --architecture arm64, or a kernel built for amd64`},
		{"placeholder", "sparc", `--architecture "sparc": unknown architecture (known: amd64, arm64; x86_64 and aarch64 are accepted too)`},
	} {
		d, err := Init(Answers{Guest: "linux", Monitor: "qemu", Binary: tc.binary, Architecture: tc.arch, Dir: dir})
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = string(d.Nix())
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("--binary %s --architecture %q: got\n%s\nwant %q", tc.binary, tc.arch, got, tc.want)
		}
	}
}

// TestAskArchitecture: Ask offers the kernel's own architecture as the
// default.
func TestAskArchitecture(t *testing.T) {
	dir := t.TempDir()
	arm64Kernel(t, dir, "Image")
	a := Answers{Guest: "linux", Monitor: "qemu", Binary: "Image", Dir: dir, Env: []string{}}
	var prompts bytes.Buffer
	if err := Ask(strings.NewReader("\n/init\n"), &prompts, &a); err != nil {
		t.Fatal(err)
	}
	if a.Architecture != "arm64" || !strings.Contains(prompts.String(), "Architecture (amd64, arm64) [arm64]: ") {
		t.Errorf("architecture %q, prompts %q", a.Architecture, prompts.String())
	}
}
