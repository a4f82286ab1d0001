package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CosignVersion is the cosign release the tests check bunix's signatures
// with; scripts/deps.sh builds it into ToolsDir.
const CosignVersion = "v2.6.5"

// ToolsDir is where scripts/deps.sh installs the Go tools the tests run
// (go install with GOBIN set), built once and kept: $HOME/.cache/bunix-tools.
func ToolsDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "bunix-tools")
}

// Cosign returns the path of the real cosign: $BUNIX_COSIGN when set, else
// ToolsDir's, else the one on PATH. Without one it skips t, or fails it
// when CI=true.
func Cosign(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("BUNIX_COSIGN"); p != "" {
		return p
	}
	if dir := ToolsDir(); dir != "" {
		p := filepath.Join(dir, "cosign")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	unavailable(t, "cosign", errors.New("not in "+ToolsDir()+" nor on PATH"),
		"scripts/deps.sh builds it: GOBIN=$HOME/.cache/bunix-tools go install github.com/sigstore/cosign/v2/cmd/cosign@"+CosignVersion)
	return ""
}
