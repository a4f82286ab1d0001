package testenv

import (
	"bytes"
	"fmt"
	"os/exec"
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
