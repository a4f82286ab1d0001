package testenv

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nixOptions keep builds hermetic: nothing is fetched from a binary cache,
// and builders run in the sandbox whatever /etc/nix/nix.conf says.
var nixOptions = []string{"--option", "substituters", "", "--option", "sandbox", "true"}

// NixBuild runs nix-build --no-out-link with args in dir, without
// substituters and in the sandbox. It returns the store path nix-build
// printed, and its stderr; the error, when the build fails, holds stderr too.
func NixBuild(t testing.TB, dir string, args ...string) (outPath, stderr string, err error) {
	t.Helper()
	return nix(t, "nix-build", dir, append([]string{"--no-out-link"}, args...))
}

// NixInstantiate runs nix-instantiate with args in dir, with the options of
// NixBuild. It returns stdout, trimmed, and stderr; the error, when
// nix-instantiate fails, holds stderr too. With --eval it evaluates an
// expression, which is how a test reaches the errors of the Nix functions.
func NixInstantiate(t testing.TB, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return nix(t, "nix-instantiate", dir, args)
}

func nix(t testing.TB, tool, dir string, args []string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(Require(t, tool), append(append([]string{}, nixOptions...), args...)...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(out.String()), errOut.String(),
			fmt.Errorf("%s %s (in %s): %w\n%s", tool, strings.Join(args, " "), dir, err, strings.TrimSpace(errOut.String()))
	}
	return strings.TrimSpace(out.String()), errOut.String(), nil
}

// NixStoreDir returns a new, empty directory for a second Nix store
// (`nix-build --store DIR`), removed when t ends. It is not under $TMPDIR:
// Nix 2.30 and later refuse, as root, a store whose path passes through a
// world-writable directory such as /tmp ("Path /tmp is world-writable or a
// symlink"). It lives in the user's cache directory ($XDG_CACHE_HOME, else
// $HOME/.cache), under bunix-test-stores.
func NixStoreDir(t testing.TB) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("making a directory for a Nix store: %v (set HOME or XDG_CACHE_HOME)", err)
	}
	base := filepath.Join(cache, "bunix-test-stores")
	if err := os.MkdirAll(base, 0o700); err != nil {
		t.Fatalf("making a directory for a Nix store: %v", err)
	}
	if p, err := worldWritableAncestor(base); err != nil {
		t.Fatal(err)
	} else if p != "" {
		t.Fatalf("making a directory for a Nix store under %s: %s is world-writable, which Nix 2.30 and later refuse for a store as root; set XDG_CACHE_HOME to a directory that no world-writable directory holds", base, p)
	}
	dir, err := os.MkdirTemp(base, strings.ReplaceAll(t.Name(), "/", "_")+"-")
	if err != nil {
		t.Fatalf("making a directory for a Nix store: %v", err)
	}
	t.Cleanup(func() {
		// Store paths are read-only: make them writable to remove them.
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the Nix store %s: %v", dir, err)
		}
	})
	return dir
}

// worldWritableAncestor returns the first of dir and its parents that is
// world-writable (or a symbolic link), or "".
func worldWritableAncestor(dir string) (string, error) {
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if err != nil {
			return "", fmt.Errorf("checking %s for a Nix store: %w", p, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 || fi.Mode().Perm()&0o002 != 0 {
			return p, nil
		}
		if filepath.Dir(p) == p {
			return "", nil
		}
	}
}
