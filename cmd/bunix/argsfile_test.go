package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestArgsPositional: build and validate take the args file as ARGS, -f
// is its alias, and both give the same image.
func TestArgsPositional(t *testing.T) {
	dir := project(t)
	file := filepath.Join(dir, "args.json")
	byFlag, byArg := filepath.Join(dir, "flag.tar"), filepath.Join(dir, "arg.tar")
	if code, _, stderr := cli(t, nil, "build", "-f", file, "-o", byFlag); code != 0 {
		t.Fatalf("build -f: exit %d: %s", code, stderr)
	}
	if code, stdout, stderr := cli(t, nil, "build", file, "-o", byArg); code != 0 || strings.TrimSpace(stdout) != "urunc/redis:t1" {
		t.Fatalf("build ARGS: exit %d: %q %s", code, stdout, stderr)
	}
	if !bytes.Equal([]byte(mustRead(t, byFlag)), []byte(mustRead(t, byArg))) {
		t.Error("build ARGS and build -f ARGS give different bytes")
	}
	// The same file both ways, spelled differently, is one file.
	if code, _, stderr := cli(t, nil, "build", file, "-f", filepath.Join(dir, ".", "args.json"), "-o", byArg); code != 0 {
		t.Errorf("build ARGS -f ARGS: exit %d: %s", code, stderr)
	}
	for _, argv := range [][]string{{"validate", file}, {"validate", "-f", file}, {"validate", "--file", file}} {
		code, stdout, stderr := cli(t, nil, argv...)
		if code != 0 || stdout != file+": ok: urunc/redis:t1, 3 layers\n" {
			t.Errorf("%v: exit %d: %q %s", argv, code, stdout, stderr)
		}
	}
}

// TestArgsUsageErrors: two descriptions, too many arguments and a missing
// description are the user's mistakes, exit 2, and say what was wrong.
func TestArgsUsageErrors(t *testing.T) {
	dir := project(t)
	json, hcl := filepath.Join(dir, "args.json"), filepath.Join(dir, "args.hcl")
	out := filepath.Join(dir, "image.tar")
	missing := filepath.Join(dir, "nope.json")
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"build", json, "-f", hcl, "-o", out}, `bunix: build: two image descriptions, "` + json + `" and -f "` + hcl + `": give one`},
		{[]string{"validate", hcl, "--file", json}, `bunix: validate: two image descriptions, "` + hcl + `" and -f "` + json + `": give one`},
		{[]string{"build", json, hcl, "-o", out}, "bunix: build: accepts at most 1 arg(s), received 2"},
		{[]string{"validate", json, hcl}, "bunix: validate: accepts at most 1 arg(s), received 2"},
		{[]string{"build", missing, "-o", out}, "bunix: reading " + missing + ": stat " + missing + ": no such file or directory"},
		{[]string{"validate", missing}, "bunix: reading " + missing + ": stat " + missing + ": no such file or directory"},
		{[]string{"build", strings.Repeat("a", 200) + ".json", "-f", json, "-o", out}, `bunix: build: two image descriptions, "` + strings.Repeat("a", 80) + `"... (205 bytes) and -f`},
	} {
		code, stdout, stderr := cli(t, nil, tc.argv...)
		if code != exitBadInput || stdout != "" || !strings.HasPrefix(stderr, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.argv, code, stdout, stderr, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a usage error wrote the output")
	}
}

// TestArgsDefault: with no ARGS, build and validate read ./args.nix, and
// where there is none say how to give or write one.
func TestArgsDefault(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		for _, argv := range [][]string{{"validate"}, {"build", "-o", "image.tar"}} {
			code, stdout, stderr := cli(t, nil, argv...)
			want := "bunix: " + argv[0] + ": no args.nix in " + dir + ": give the image description as ARGS, or write one with bunix init\n"
			if code != exitBadInput || stdout != "" || stderr != want {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", argv, code, stdout, stderr, want)
			}
		}
	})
	t.Run("nix", func(t *testing.T) {
		testenv.Require(t, "nix-instantiate")
		dir := project(t)
		t.Chdir(dir)
		if code, stdout, stderr := cli(t, nil, "validate"); code != 0 || stdout != "args.nix: ok: urunc/redis:t1, 3 layers\n" {
			t.Errorf("validate: exit %d: %q %s", code, stdout, stderr)
		}
		if code, _, stderr := cli(t, nil, "build", "-o", "image.tar"); code != 0 {
			t.Fatalf("build: exit %d: %s", code, stderr)
		}
		if code, _, stderr := cli(t, nil, "build", "-f", "args.json", "-o", "json.tar"); code != 0 {
			t.Fatalf("build -f args.json: exit %d: %s", code, stderr)
		}
		if mustRead(t, "image.tar") != mustRead(t, "json.tar") {
			t.Error("build with no ARGS did not build args.nix")
		}
	})
}
