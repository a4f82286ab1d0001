package scaffold

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestWorkdirUserConvert: WORKDIR and USER are carried over as workingDir
// and user (a relative WORKDIR joins the one before it, as in Docker), and
// WithUrunc writes urunc; Nix reads all three back.
func TestWorkdirUserConvert(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "k"), []byte("k"), 0o644)
	src := []byte("FROM scratch\nCOPY k /unikernel/k\nWORKDIR /srv\nWORKDIR www\nUSER 1000:100\nCMD [\"/init\"]\n")
	d, err := Convert(src, filepath.Join(dir, "Containerfile"), dir, "x", "t", WithUrunc("v0.7.0"))
	if err != nil {
		t.Fatal(err)
	}
	if d.WorkingDir != "/srv/www" || d.User != "1000:100" || d.Urunc != "0.7" {
		t.Fatalf("WorkingDir %q User %q Urunc %q", d.WorkingDir, d.User, d.Urunc)
	}
	nix := testenv.Require(t, "nix-instantiate")
	out, err := exec.Command(nix, "--eval", "--strict", "--json", "--expr", "let a = "+string(d.Nix())+"; in { inherit (a) workingDir user urunc; }").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s\n%s", err, out, d.Nix())
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil || got["workingDir"] != "/srv/www" || got["user"] != "1000:100" || got["urunc"] != "0.7" {
		t.Errorf("Nix reads back %s (%v)", out, err)
	}
	if _, err := Convert(src, filepath.Join(dir, "Containerfile"), dir, "x", "t", WithUrunc("0.9")); err == nil || !strings.Contains(err.Error(), `unknown urunc release "0.9"`) {
		t.Errorf("WithUrunc(0.9): %v", err)
	}
	for _, tc := range []struct{ src, want string }{
		{"FROM scratch\nWORKDIR srv\n", "Containerfile:2: WORKDIR srv: a relative WORKDIR needs an earlier one"},
		{"FROM scratch\nWORKDIR $HOME\n", "Containerfile:2: WORKDIR $HOME: variables cannot be carried over"},
		{"FROM scratch\nUSER nginx\n", `Containerfile:2: USER nginx: want "UID" or "UID:GID"`},
	} {
		if _, err := Containerfile([]byte(tc.src), "Containerfile"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.src, err, tc.want)
		}
	}
}
