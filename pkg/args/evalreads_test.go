package args

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

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

// FuzzReadScanner: whatever nix-instantiate writes on stderr, in whatever
// chunks, the scanner keeps only absolute paths from lines with its
// marker, and finds a marked line however the writes split it.
func FuzzReadScanner(f *testing.F) {
	f.Add([]byte("trace: M file \"/a/b\"\nerror: x\n"), 3)
	f.Add([]byte("trace: M import \"/a\\nb\"\ntrace: M tree \"file:///r\"\n"), 1)
	f.Add([]byte("trace: M dir \"rel\"\ntrace: N file \"/x\"\n\xff\xfe"), 7)
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		if chunk <= 0 {
			chunk = 1
		}
		s := newReadScanner("M", 1<<10)
		for p := data; len(p) > 0; {
			n := min(chunk, len(p))
			s.Write(p[:n])
			p = p[n:]
		}
		s.Write([]byte("\ntrace: M file \"/known\"\n"))
		found := false
		for _, r := range s.reads("") {
			if !filepath.IsAbs(r.Path) || filepath.Clean(r.Path) != r.Path {
				t.Errorf("read %q is not a clean absolute path", r.Path)
			}
			found = found || r.Path == "/known"
		}
		if !found {
			t.Error("a marked line was missed")
		}
		if s.other.buf.Len() > 1<<10 {
			t.Errorf("kept %d bytes of other output", s.other.buf.Len())
		}
	})
}

func TestEvalFromEnv(t *testing.T) {
	for _, tc := range []struct {
		mem, timeout string
		want         evalLimits
		err          string
	}{
		{"", "", evalLimits{DefaultEvalMemory, DefaultEvalTimeout}, ""},
		{"64MiB", "90s", evalLimits{64 << 20, 90 * time.Second}, ""},
		{"8g", "5", evalLimits{8 << 30, 5 * time.Second}, ""},
		{"1048576", "2m", evalLimits{1 << 20, 2 * time.Minute}, ""},
		{"512 KiB", "1h", evalLimits{512 << 10, time.Hour}, ""},
		{"3MB", "", evalLimits{}, `BUNIX_EVAL_MEMORY = "3MB": want a positive size`},
		{"0", "", evalLimits{}, `BUNIX_EVAL_MEMORY = "0": want a positive size`},
		{"99999999999G", "", evalLimits{}, `BUNIX_EVAL_MEMORY = "99999999999G": want a positive size`},
		{"", "0s", evalLimits{}, `BUNIX_EVAL_TIMEOUT = "0s": want a positive duration`},
		{"", "soon", evalLimits{}, `BUNIX_EVAL_TIMEOUT = "soon": want a positive duration`},
	} {
		env := map[string]string{"BUNIX_EVAL_MEMORY": tc.mem, "BUNIX_EVAL_TIMEOUT": tc.timeout}
		opts, err := EvalFromEnv(func(k string) string { return env[k] })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !IsUserError(err) {
				t.Errorf("%q, %q: %v, want %q", tc.mem, tc.timeout, err, tc.err)
			}
			continue
		}
		got := evalLimits{DefaultEvalMemory, DefaultEvalTimeout}
		for _, o := range opts {
			o(&got)
		}
		if err != nil || got != tc.want {
			t.Errorf("%q, %q: %+v, %v, want %+v", tc.mem, tc.timeout, got, err, tc.want)
		}
	}
}

// TestHCLReadsNoFiles: args.hcl and args.json are evaluated with no
// functions, so they cannot read a file (HCL's file()), and a description
// in them has no Reads for the output guard to know.
func TestHCLReadsNoFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cmd.txt"), []byte("secret"), 0o644)
	for name, src := range map[string]string{
		"args.hcl":  `name = "x"` + "\n" + `tag = file("./cmd.txt")`,
		"t.hcl":     `name = "x"` + "\n" + `tag = "${file("./cmd.txt")}"`,
		"args.json": `{"name": "x", "tag": "${file(\"./cmd.txt\")}"}`,
	} {
		a, err := DecodeHCL([]byte(src), name, dir)
		if a != nil && (len(a.Reads) > 0 || strings.Contains(a.Tag, "secret")) {
			t.Errorf("%s read a file: tag %q, reads %v", name, a.Tag, a.Reads)
		}
		if strings.HasSuffix(name, ".hcl") && (err == nil || !strings.Contains(err.Error(), "Function calls not allowed")) {
			t.Errorf("%s: %v, want function calls refused", name, err)
		}
	}
}
