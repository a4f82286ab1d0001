package nix_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestMakeBunixSaysFirstBuild: on a Go cache without bunix's modules, make
// bunix (and so make image) says that Go fetches and compiles for a while
// before it goes quiet; on a warm cache it does not.
func TestMakeBunixSaysFirstBuild(t *testing.T) {
	makeTool := testenv.Require(t, "make")
	goTool := testenv.Require(t, "go")
	root := testenv.ModuleRoot(t)
	const line = "make bunix: Go is fetching bunix's modules and compiling it for the first time"
	// A go that runs list for real and pretends to build: the test is about
	// what make says first, not the build.
	fake := filepath.Join(t.TempDir(), "go")
	os.WriteFile(fake, []byte("#!/bin/sh\ncase \"$1\" in list) exec "+goTool+" \"$@\";; esac\nexit 0\n"), 0o755)
	for _, tc := range []struct {
		name string
		env  []string
		says bool
	}{
		{"cold cache", []string{"GOMODCACHE=" + t.TempDir(), "GOPROXY=off"}, true},
		{"warm cache", nil, false},
	} {
		cmd := exec.Command(makeTool, "-s", "-C", root, "bunix", "GO="+fake)
		cmd.Env = append(os.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: make bunix: %v\n%s", tc.name, err, out)
		}
		if strings.Contains(string(out), line) != tc.says {
			t.Errorf("%s: make bunix says (want the first-build line: %v):\n%s", tc.name, tc.says, out)
		}
	}
}
