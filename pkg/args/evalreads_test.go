package args

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestNixReads: Load records every file the evaluation of an args.nix
// reads, through each builtin that reads one and through files the args
// file imports, and nothing the evaluation only names.
func TestNixReads(t *testing.T) {
	testenv.Require(t, "nix-instantiate")
	dir := t.TempDir()
	files := map[string]string{
		"args.nix": `let b = builtins; in {
  name = "x";
  annotations = import ./ann.nix;
  cmd = [ (builtins.readFile ./cmd.txt) (__readFile ./under.txt) (b.builtins.readFile ./deep.txt) (import ./sub).word ];
  tag = if builtins.pathExists ./maybe then "a" else "b";
  env = { H = builtins.hashFile "sha256" ./hashed; S = toString (scopedImport { } ./scoped.nix); L = toString (builtins.length (builtins.attrNames (builtins.readDir ./listed))); };
  files = { "./named-only" = "/k"; };
}`,
		"ann.nix":         `{ unikernelType = "linux"; hypervisor = "qemu"; binary = "/k"; }`,
		"cmd.txt":         "hello",
		"under.txt":       "u",
		"deep.txt":        "d",
		"sub/default.nix": `{ word = builtins.readFile ./inner.txt; }`,
		"sub/inner.txt":   "w",
		"hashed":          "h",
		"scoped.nix":      `builtins.readFile ./scoped.txt`,
		"scoped.txt":      "s",
		"listed/a":        "",
		"named-only":      "k",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a, err := Load(context.Background(), filepath.Join(dir, "args.nix"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range a.Reads {
		got = append(got, strings.TrimPrefix(r.Path, dir+"/"))
	}
	want := []string{"ann.nix", "cmd.txt", "deep.txt", "hashed", "listed", "maybe", "scoped.nix", "scoped.txt", "sub", "sub/default.nix", "sub/inner.txt", "under.txt"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Reads = %q, want %q", got, want)
	}
}
