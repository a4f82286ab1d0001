package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// bunixBuild builds bunix once per test binary.
var bunixBuild = sync.OnceValues(func() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	return buildBunix(root)
})

// Bunix builds ./cmd/bunix statically, once per test binary, and returns the
// prefix that holds bin/bunix: what default.nix takes as `--arg bunix PREFIX`.
//
// The prefix is $TMPDIR/bunix-testenv-UID/PID/bunix. Its last element is
// always "bunix", so Nix gives the same store path to the same binary from
// one run to the next. Each build removes those of processes that are gone.
func Bunix(t testing.TB) string {
	t.Helper()
	prefix, err := bunixBuild()
	if err != nil {
		t.Fatal(err)
	}
	return prefix
}

func buildBunix(root string) (string, error) {
	base := filepath.Join(os.TempDir(), fmt.Sprintf("bunix-testenv-%d", os.Getuid()))
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", fmt.Errorf("building bunix: %w", err)
	}
	removeStale(base)
	prefix := filepath.Join(base, strconv.Itoa(os.Getpid()), "bunix")
	if err := goBuild(root, "./cmd/bunix", filepath.Join(prefix, "bin", "bunix")); err != nil {
		return "", err
	}
	return prefix, nil
}

// removeStale removes the builds in base of test processes that have exited.
func removeStale(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(filepath.Join(base, e.Name()))
		}
	}
}

// goBuild builds the main package pkg of the module in dir into the static
// binary out, the way the Makefile builds bunix.
func goBuild(dir, pkg, out string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s in %s (CGO_ENABLED=0 go build -trimpath -ldflags='-s -w'): %w\n%s", pkg, dir, err, output)
	}
	return nil
}
