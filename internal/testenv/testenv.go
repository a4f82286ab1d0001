package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Require returns the path of the command tool. When tool is not on PATH,
// or cannot work for this user (skopeo needs root, see rootFor; the Nix
// tools a Nix store to build in, see RequireNixStore), it skips the test,
// or fails it when the environment has CI=true.
func Require(t testing.TB, tool string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		unavailable(t, tool, err, "install it, or run make test which installs it")
	}
	if why, ok := rootFor[tool]; ok {
		RequireRoot(t, why)
	}
	if nixStoreTools[tool] {
		RequireNixStore(t, tool)
	}
	return path
}

// rootFor says why a tool the tests run works only as root.
var rootFor = map[string]string{
	"skopeo": "skopeo unpacks an oci-archive as the owners its tar records (root, in bunix's images), and only root may chown to them",
}

// nixStoreTools are the Nix commands that need a Nix store to build in:
// evaluating a path copies it to the store.
var nixStoreTools = map[string]bool{"nix": true, "nix-build": true, "nix-instantiate": true, "nix-store": true}

// geteuid is os.Geteuid; tests replace it.
var geteuid = os.Geteuid

// RequireRoot skips t, or fails it under CI=true, unless the test runs as
// root; why says what needs root, e.g. "dockerd needs root".
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if uid := geteuid(); uid != 0 {
		unavailable(t, "root", fmt.Errorf("running as uid %d, but %s", uid, why), "run the tests as root, as make test does")
	}
}

// RequireNixStore skips t, or fails it under CI=true, unless tool can build
// in the Nix store here: as root, as the owner of a single-user store (its
// database is writable), or through a nix-daemon that answers.
func RequireNixStore(t testing.TB, tool string) {
	t.Helper()
	if err := nixStoreUsable(geteuid(), nixStateDir()); err != nil {
		unavailable(t, "a Nix store for "+tool, err, "run the tests as root, as make test does, or as a user a running nix-daemon serves")
	}
}

// nixStateDir is Nix's state directory: $NIX_STATE_DIR, else /nix/var/nix.
func nixStateDir() string {
	if d := os.Getenv("NIX_STATE_DIR"); d != "" {
		return d
	}
	return "/nix/var/nix"
}

// nixStoreUsable returns nil when uid can build in the store whose state
// is in stateDir, else why not.
func nixStoreUsable(uid int, stateDir string) error {
	if uid == 0 {
		return nil
	}
	db := filepath.Join(stateDir, "db")
	if unix.Access(db, unix.W_OK) == nil {
		return nil
	}
	socket := filepath.Join(stateDir, "daemon-socket", "socket")
	c, err := net.DialTimeout("unix", socket, 2*time.Second)
	if err != nil {
		return fmt.Errorf("running as uid %d, the Nix database %s is not writable and no nix-daemon answers on %s: %v", uid, db, socket, err)
	}
	c.Close()
	return nil
}

// unavailable skips t, or fails it under CI=true, because what is missing.
func unavailable(t testing.TB, what string, why error, hint string) {
	t.Helper()
	if fatal, msg := verdict(os.Getenv("CI"), what, why, hint); fatal {
		t.Fatal(msg)
	} else {
		t.Skip(msg)
	}
}

// verdict decides how a test reacts when what is not available: with ci,
// the value of $CI, equal to "true" it fails, since CI installs everything
// the tests need; anywhere else it skips.
func verdict(ci, what string, why error, hint string) (fatal bool, msg string) {
	msg = fmt.Sprintf("%s not available: %v (%s)", what, why, hint)
	if ci == "true" {
		return true, msg + "; failing instead of skipping because CI=true"
	}
	return false, msg
}

// ModuleRoot returns the root of the module under test: the nearest
// directory holding a go.mod, from the working directory up.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("finding the module root: %w", err)
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("finding the module root: no go.mod in %s or any parent", wd)
		}
	}
}

// stopAtCleanup has t call stop when it ends, failing t when stop does.
func stopAtCleanup(t testing.TB, stop func() error) {
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
}

// environWithout returns this process's environment less the variables
// whose names start with prefix, plus extra.
func environWithout(prefix string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// runTool runs bin with args in env and returns its stdout; when it fails,
// the error names it by name and holds its stderr.
func runTool(name, bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// ReadFile returns the contents of the file p, failing t when it cannot be
// read.
func ReadFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
