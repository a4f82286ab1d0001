package args

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

func TestDecodeHCL(t *testing.T) {
	src := `name = "urunc/hello"
tag  = "v1"
files = {
  "./kernel" = "/unikernel/kernel"
}
annotations = {
  unikernelType = "unikraft"
  hypervisor    = "qemu2"
  binary        = "/unikernel/kernel"
}
`
	a, err := DecodeHCL([]byte(src), "args.hcl", "/src")
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Resolve()
	want := `args.hcl:8:19: annotations.hypervisor = "qemu2": unknown hypervisor`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
	src = strings.Replace(src, "qemu2", "qemu", 1)
	a, err = DecodeHCL([]byte(src), "args.hcl", "/src")
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if r.Ref != "urunc/hello:v1" || r.Copies[0].Source != "/src/kernel" {
		t.Errorf("got %q, %+v", r.Ref, r.Copies)
	}
}

func TestDecodeHCLErrors(t *testing.T) {
	for _, tc := range []struct{ file, src, want string }{
		{"args.hcl", "name = \"x\"\nfiles = {\n", "args.hcl:3:1: Missing expression"},
		{"args.hcl", "name = x\n", "args.hcl:1:8: Variables not allowed"},
		{"args.hcl", "name = 5\n", "args.hcl:1:8: name = 5: must be a string"},
		{"args.json", "{\"name\": \"x\",\n \"tag\": }", "args.json:2:9: Missing JSON value"},
		{"args.json", "{\"name\": \"x\",\n \"tag\": 7}", "args.json:2:9: tag = 7: must be a string"},
		// A field inside rootfs, or an entry of annotations, is placed at its
		// own line in JSON too, not at the line of the object holding it.
		{"args.json", "{\"name\": \"x\", \"files\": {}, \"annotations\": {\"unikernelType\": \"linux\", \"hypervisor\": \"qemu\", \"binary\": \"/k\"},\n \"rootfs\": {\"type\": \"initrd\",\n  \"path\": \"relative\"}}",
			`args.json:3:11: rootfs.path = "relative"`},
		{"args.json", "{\"name\": \"x\", \"annotations\": {\n  \"hypervisor\": \"qemu2\"}}", `args.json:2:17: annotations.hypervisor = "qemu2"`},
	} {
		a, err := DecodeHCL([]byte(tc.src), tc.file, "/")
		if err == nil {
			_, err = a.Resolve()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeHCL(%s %q) = %v, want %q", tc.file, tc.src, err, tc.want)
		}
		if err != nil && !IsUserError(err) {
			t.Errorf("IsUserError(%v) = false", err)
		}
	}
}

// TestLoadNix evaluates real args.nix files with nix-instantiate.
func TestLoadNix(t *testing.T) {
	testenv.Require(t, "nix-instantiate")
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := write("args.nix", `{ x ? "k" }: {
  name = "urunc/hello";
  files = { "./${x}" = "/unikernel/kernel"; };
  contents = [ { source = ./conf; target = "/conf"; } ];
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/unikernel/kernel"; };
}`)
	a, err := Load(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if a.Files["./k"] != "/unikernel/kernel" || a.Contents[0].Source != filepath.Join(dir, "conf") || a.Root != dir {
		t.Errorf("got files %v contents %+v root %q", a.Files, a.Contents, a.Root)
	}
	bad := write("bad.nix", "{\n  name = \"x\";\n  files = { \n}")
	_, err = Load(context.Background(), bad)
	if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), "bad.nix:4") || !strings.Contains(err.Error(), "syntax error") {
		t.Errorf("syntax error: got %v", err)
	}
	_, err = Load(context.Background(), filepath.Join(dir, "missing.nix"))
	if err == nil || !strings.Contains(err.Error(), "missing.nix") {
		t.Errorf("missing file: got %v", err)
	}
	_, err = Load(context.Background(), write("args.yaml", "x"))
	if err == nil || !strings.Contains(err.Error(), `unknown description format ".yaml"`) || !IsUserError(err) {
		t.Errorf("unknown format: got %v (want a user error)", err)
	}
}

// TestNixPositions: errors in an args.nix name the line and column of the
// field, with the file as the user named it.
func TestNixPositions(t *testing.T) {
	testenv.Require(t, "nix-instantiate")
	dir := t.TempDir()
	p := filepath.Join(dir, "args.nix")
	os.WriteFile(p, []byte(`{
  name = "x";
  contents = [ { source = "./k"; target = "k"; } ];
  annotations = {
    unikernelType = "unikraft";
    hypervisor = "qemu2";
  };
}
`), 0o644)
	t.Chdir(dir)
	a, err := Load(context.Background(), "args.nix")
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Resolve()
	for _, want := range []string{
		`args.nix:3:18: contents[0] = "k": target must be an absolute path`,
		`args.nix:6:5: annotations.hypervisor = "qemu2": unknown hypervisor`,
		`args.nix:4:3: annotations.binary: missing`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v\nwant %q", err, want)
		}
	}
}

// TestContentsPartPositions: a problem with the target (or the source) of
// a contents or rootfs.include item written over several lines points at
// the line and column of that target (or source), in args.hcl and
// args.json alike, not at the item's opening brace.
func TestContentsPartPositions(t *testing.T) {
	ann := `"annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/k", "cmdline": "/init"}`
	for file, src := range map[string]string{
		"args.hcl": `name = "x"
contents = [
  { source = "./k", target = "/k" },
  {
    source = "",
    target = "rel"
  },
]
annotations = { unikernelType = "linux", hypervisor = "qemu", binary = "/k", cmdline = "/init" }
`,
		"args.json": `{"name": "x",
"contents": [
  {"source": "./k", "target": "/k"},
  {
    "source": "",
    "target": "rel"
  }
],
` + ann + `}
`,
	} {
		a, err := DecodeHCL([]byte(src), file, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Resolve()
		col := "14" // where the value stands: `    source = ` is 13 bytes
		if file == "args.json" {
			col = "15" // `    "source": `
		}
		for _, want := range []string{
			file + ":5:" + col + `: contents[1] = "": source must not be empty`,
			file + ":6:" + col + `: contents[1] = "rel": target must be an absolute path`,
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: got %v\nwant %q", file, err, want)
			}
		}
	}
}

// TestFilesSourcePositions: in files and rootfs.include written as
// { source = target }, a problem with the source points at the source (the
// key), one with the target at the target (the value), in args.hcl and
// args.json alike.
func TestFilesSourcePositions(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("gone", filepath.Join(dir, "dang")); err != nil {
		t.Fatal(err)
	}
	for file, src := range map[string]string{
		"args.hcl": `name = "x"
files = {
  "./dang"   = "/k"
  "./k"      = "/j"
  "./k2"     = "/j"
}
rootfs = { type = "initrd", include = {
  "./dang"   = "/d"
} }
annotations = { unikernelType = "linux", hypervisor = "qemu", binary = "/k", cmdline = "/init" }
`,
		"args.json": `{"name": "x",
"files": {
  "./dang":   "/k",
  "./k":      "/j",
  "./k2":     "/j"
},
"rootfs": {"type": "initrd", "include": {
  "./dang":   "/d"
}},
"annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/k", "cmdline": "/init"}}
`,
	} {
		a, err := DecodeHCL([]byte(src), file, dir)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Resolve()
		col := "16" // where the value stands: `  "./k2"     = ` is 15 bytes
		if file == "args.json" {
			col = "15" // `  "./k2":     `
		}
		for _, want := range []string{
			file + `:3:3: files."./dang" = "./dang": source is a dangling symbolic link`,
			file + `:8:3: rootfs.include."./dang" = "./dang": source is a dangling symbolic link`,
			file + `:5:` + col + `: files."./k2" = "/j": target is also the target of files."./k"`,
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: got %v\nwant %q", file, err, want)
			}
		}
	}
}

// TestLongNumbersShort: a number written short where a string or a size
// goes (1e400, which HCL reads as a big float and writes back as 401
// digits) is echoed short, in args.json and args.hcl, in a list too.
func TestLongNumbersShort(t *testing.T) {
	head := `{"name": "x", "files": {"./k": "/k"}, "annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/k"}`
	hcl := "name = \"x\"\nfiles = { \"./k\" = \"/k\" }\nannotations = { unikernelType = \"linux\", hypervisor = \"qemu\", binary = \"/k\" }\n"
	for _, tc := range []struct{ file, src, want string }{
		{"args.json", head + `, "cmd": [1e400]}`, `cmd[0] = 1e+400: must be a string`},
		{"args.json", head + `, "env": {"A": -2.5e-300}}`, `env.A = -2.5e-300: must be a string`},
		{"args.json", head + `, "env": [1e400, 2]}`, `env = [1e+400,2]: must be an attribute set of strings`},
		{"args.json", head + `, "rootfs": {"type": "block", "include": {"./c": "/c"}, "size": 1e400}}`, `rootfs.size = 1e+400: want a number of bytes`},
		{"args.json", head + `, "cmd": [12345678901234567890123456789012345]}`, `cmd[0] = 12345678901234567890123456789012345: must be a string`},
		// Read as a 512-bit float, its digits past the 155th are lost.
		{"args.json", head + `, "cmd": [` + strings.Repeat("1", 300) + `]}`, `cmd[0] = 1.` + strings.Repeat("1", 150)},
		{"args.hcl", hcl + "cmd = [1e400]\n", `cmd[0] = 1e+400: must be a string`},
		{"args.hcl", strings.Replace(hcl, `"x"`, "1e400", 1), `name = 1e+400: must be a string`},
	} {
		a, err := DecodeHCL([]byte(tc.src), tc.file, t.TempDir())
		if err == nil {
			_, err = a.Resolve()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "0000000000") {
			t.Errorf("%s %s: got %v\nwant %q", tc.file, tc.src, err, tc.want)
		}
	}
}

// TestByteOrderMark: an args.json or args.hcl that starts with a UTF-8 byte
// order mark reads as the same file without one, and positions on its
// first line are those an editor shows, which hides the mark.
func TestByteOrderMark(t *testing.T) {
	for file, src := range map[string]string{
		"args.json": `{"name": "x", "files": {"./k": "/k"}, "annotations": {"unikernelType": "unikraft", "hypervisor": "qemu2", "binary": "/k"}}`,
		"args.hcl":  "annotations = { unikernelType = \"unikraft\", hypervisor = \"qemu2\", binary = \"/k\" }\nname = \"x\"\nfiles = { \"./k\" = \"/k\" }\n",
	} {
		a, err := DecodeHCL([]byte("\ufeff"+src), file, t.TempDir())
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		_, err = a.Resolve()
		col := strings.Index(src, `"qemu2"`) + 1
		want := fmt.Sprintf(`%s:1:%d: annotations.hypervisor = "qemu2": unknown hypervisor`, file, col)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v\nwant %q", file, err, want)
		}
	}
}

// TestCopyTargetError: an error about a copy's target (a path another copy
// claims, which the build finds) shows the target and, for an item written
// over several lines, the target's line; about its source, the source's.
// The build showed the source, in Nix a store path the user never wrote.
func TestCopyTargetError(t *testing.T) {
	dir := t.TempDir()
	src := `{"name": "x",
"contents": [
  {"source": "./k", "target": "/k"},
  {
    "source": "./conf",
    "target": "/k/conf"
  }
],
"annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/k", "cmdline": "/init"}}
`
	a, err := DecodeHCL([]byte(src), "args.json", dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	cp := r.Copies[1]
	for _, tc := range []struct{ got, want string }{
		{cp.TargetErrorf("needs %s to be a directory", "/k").Error(), `args.json:6:15: contents[1] = "/k/conf": needs /k to be a directory`},
		{cp.Errorf("cannot be read").Error(), `args.json:5:15: contents[1] = "` + filepath.Join(dir, "conf") + `": cannot be read`},
		{r.Copies[0].TargetErrorf("x").Error(), `args.json:3:31: contents[0] = "/k": x`},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %s\nwant %s", tc.got, tc.want)
		}
	}
}
