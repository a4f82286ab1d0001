package args

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// maxMessage bounds any error message from a description: MaxReported
// problems and a count, each cut short.
const maxMessage = (MaxReported + 1) * (3*(maxShown+32) + maxReason + 8)

// hclSeeds are args.hcl and args.json texts, good and bad.
var hclSeeds = []struct{ file, src string }{
	{"args.json", good},
	{"args.hcl", `name = "urunc/hello"
tag  = "v1"
files = { "./kernel" = "/unikernel/kernel" }
annotations = { unikernelType = "unikraft", hypervisor = "qemu", binary = "/unikernel/kernel", cmdline = "hello 'a b'" }
rootfs = {
  type = "block"
  include = { "./c" = "/c" }
  size = "8M"
}
`},
	{"args.hcl", `files = { for f in ["kernel", "conf"] : "./${f}" => "/unikernel/${f}" }` + "\n" + `tag = "${"x"}-%{ if true }y%{ endif }"` + "\n" + `x = <<EOT
heredoc ${1}
EOT
`},
	{"args.hcl", "name = [for a in [1, 2]: [for b in [3]: a + b]][*][0]\n"},
	{"args.json", `{"name": "x", "rootfs": {"type": "initrd", "include": [{"source": "./a", "target": "/a"}]}, "contents": [{"source": "/s", "target": "/t"}]}`},
	{"args.hcl", "name = \"x\"\nfiles = {\n"},
	{"args.hcl", `name = "x"
files = { "./k" = "/k" }
env = { PORT = "80", "1X" = "y", MSG = "two words" }
entrypoint = ["/init"]
cmd = ["hello", "two words", 1]
annotations = { unikernelType = "linux", hypervisor = "firecracker", binary = "/k", cmdline = "/init hello", mountRootfs = "true", blkMntPoint = "/mnt/my data" }
`},
	{"args.json", `{"name": "x", "files": {"./k": "/k"}, "env": {"A": "1\n"}, "cmd": [], "entrypoint": ["/a b"],
  "annotations": {"unikernelType": "mirage", "hypervisor": "hvt", "binary": "/k", "cmdline": "'/a b'"},
  "rootfs": {"type": "block", "from": "./disk", "mountPoint": "/data"}}`},
	{"args.json", `{"name": "x", "files": {"./k": "/k"}, "env": ["A=1"], "cmd": "x", "annotations": {"unikernelType": "freebsd", "hypervisor": "qemu", "binary": "/k"}}`},
}

var update = flag.Bool("update", false, "rewrite testdata/eval from the examples")

// TestEvalSeeds: testdata/eval holds what evalNix prints for each example
// (the checkout's directory written as /src), the fuzz seeds of
// FuzzDecodeNixEval. Regenerate with go test -run TestEvalSeeds -update.
func TestEvalSeeds(t *testing.T) {
	testenv.Require(t, "nix-instantiate")
	files, _ := filepath.Glob("../../examples/*/args.nix")
	root, _ := filepath.Abs("../..")
	for _, file := range files {
		abs, _ := filepath.Abs(file)
		b, _, err := evalNix(context.Background(), abs, file, evalLimits{memory: DefaultEvalMemory, timeout: DefaultEvalTimeout})
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte(root+"/"), []byte("/src/"))
		seed := filepath.Join("testdata", "eval", filepath.Base(filepath.Dir(file))+".json")
		if *update {
			os.MkdirAll(filepath.Dir(seed), 0o755)
			if err := os.WriteFile(seed, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if old, err := os.ReadFile(seed); err != nil || !bytes.Equal(old, b) {
			t.Errorf("%s is not what %s evaluates to (%v): run go test -run TestEvalSeeds -update", seed, file, err)
		}
	}
}

// exampleEvals returns testdata/eval: what evalNix prints for each example.
func exampleEvals() [][]byte {
	var out [][]byte
	for _, file := range must(filepath.Glob("testdata/eval/*.json")) {
		out = append(out, must(os.ReadFile(file)))
	}
	return out
}

// checkErr fails when err, from a description, is not a user error or has
// an unbounded message.
func checkErr(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if !IsUserError(err) {
		t.Errorf("%s: not a user error: %v", what, err)
	}
	if n := len(err.Error()); n > maxMessage {
		t.Errorf("%s: message of %d bytes", what, n)
	}
}

// FuzzDecodeHCL decodes args.hcl and args.json texts and resolves what
// decodes: every problem must be a user error with a bounded message, and
// nothing may panic, hang or overflow the stack.
func FuzzDecodeHCL(f *testing.F) {
	for _, s := range hclSeeds {
		f.Add(s.src, strings.HasSuffix(s.file, ".json"))
	}
	for _, file := range must(filepath.Glob("../../examples/*/args.nix")) {
		f.Add(string(must(os.ReadFile(file))), false)
	}
	for _, b := range exampleEvals() {
		var out struct{ Args json.RawMessage }
		json.Unmarshal(b, &out)
		f.Add(string(out.Args), true)
	}
	f.Add(`{"name":"x","from":{"ref":"r.io/a:1","digest":"sha256:`+strings.Repeat("a", 64)+`","hash":"sha256-`+strings.Repeat("A", 43)+`="},"annotations":{"binary":"/k"}}`, true)
	f.Add(`{"name":"x","from":"r.io/a:1@sha256:`+strings.Repeat("0", 64)+`"}`, true)
	f.Add(`{"name":"x","from":"./base.tar"}`, true)
	f.Add("name = \"x\"\nfrom = { ref = \"r.io/a:1\", digest = \"sha256:1\" }\n", false)
	f.Fuzz(func(t *testing.T, src string, isJSON bool) {
		file := "args.hcl"
		if isJSON {
			file = "args.json"
		}
		a, err := DecodeHCL([]byte(src), file, "/src")
		checkErr(t, "DecodeHCL", err)
		if err != nil {
			return
		}
		_, err = a.Base()
		checkErr(t, "Base", err)
		_, err = a.Resolve()
		checkErr(t, "Resolve", err)
	})
}

// FuzzDecodeNixEval decodes what the evaluation of an args.nix prints.
func FuzzDecodeNixEval(f *testing.F) {
	for _, b := range exampleEvals() {
		f.Add(b)
	}
	f.Add([]byte(`{"args":` + good + `,"positions":{"tag":"/src/args.nix:3:3","annotations.binary":"/elsewhere.nix:1:1"}}`))
	f.Add([]byte(`{"args":[1],"positions":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := decodeNixEval(data, "args.nix", "/src/args.nix", "/src")
		if err != nil {
			return // Nix printed it: not the user's to fix, but no panic
		}
		_, err = a.Resolve()
		checkErr(t, "Resolve", err)
	})
}

// FuzzDecodeSpec decodes builder specs, of one image or of an index.
func FuzzDecodeSpec(f *testing.F) {
	f.Add([]byte(`{"version":4,"name":"bunix/hello","annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"/k"},
		"contents":[{"source":"/nix/store/abc-k","target":"/k","field":"files.\"./k\""}],"positions":{"name":"args.nix:2:3"}}`))
	f.Add([]byte(`{"version":4,"format":"oci-archive","compression":"zstd","images":[{"version":4,"name":"x","architecture":"arm64","contents":[{"source":"/k","target":"/k"}],
		"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/k"},"rootfs":{"type":"block","include":[{"source":"/c","target":"/c","field":"rootfs.include.\"./c\""}],"size":"8M"}}]}`))
	f.Add([]byte(`{"version":4,"name":"x","env":{"A":"1","B C":"2"},"entrypoint":["/init"],"cmd":["a","b c"],"contents":[{"source":"/k","target":"/k"}],
		"annotations":{"unikernelType":"unikraft","hypervisor":"hyperlight-unikraft","binary":"/k","cmdline":"x"},"rootfs":{"type":"raw","include":[{"source":"/c","target":"/c"}]}}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":2,"name":"x"}`))
	f.Add([]byte(`{"version":4,"name":"x","from":"/nix/store/abc-nginx-oci","annotations":{"hypervisor":"qemu"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		as, err := DecodeSpec(data)
		if err != nil {
			return // nix/lib.nix wrote it: an internal error, but no panic
		}
		for _, a := range as {
			_, err := a.Resolve()
			checkErr(t, "Resolve", err)
		}
	})
}

// FuzzSplitCmdline splits command lines; what splits must split again to
// the same words once each word is single-quoted.
func FuzzSplitCmdline(f *testing.F) {
	for _, s := range []string{"redis-server /data/conf/redis.conf", `a 'b c' "d e"`, `'$HOME' "$x" \$y`,
		`"a\"b" 'a\b' "\\"`, `x''y "" ''`, `a\ b`, `'a`, `"a\"`, "a\\", "\t\x00 \xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitCmdline(s)
		if err != nil {
			return
		}
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
		}
		again, err := SplitCmdline(strings.Join(quoted, " "))
		if err != nil || !reflect.DeepEqual(again, words) {
			t.Errorf("SplitCmdline(%q) = %q; quoted and split again: %q, %v", s, words, again, err)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
