package args

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
)

// loadWithin runs Load and fails the test if it has not returned in a
// minute: a Load that waits on a FIFO never returns, one that refuses it
// takes milliseconds, and a loaded machine may take seconds.
func loadWithin(t *testing.T, file string) (*Args, error) {
	t.Helper()
	type result struct {
		a   *Args
		err error
	}
	r := testenv.Within(t, time.Minute, "Load("+file+")", func() result {
		a, err := Load(context.Background(), file)
		return result{a, err}
	})
	return r.a, r.err
}

// TestLoadRefusesFIFOs: a FIFO named as the args file is refused at once,
// naming the file, instead of blocking in open or read.
func TestLoadRefusesFIFOs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"fifo.json", "fifo.hcl", "fifo.nix"} {
		p := filepath.Join(dir, name)
		testenv.Mkfifo(t, p)
		_, err := loadWithin(t, p)
		if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), p+": is a named pipe (FIFO)") {
			t.Errorf("%s: got %v", name, err)
		}
	}
	// A symlink to a FIFO, and a directory, are refused too.
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(filepath.Join(dir, "fifo.json"), link); err != nil {
		t.Fatal(err)
	}
	if _, err := loadWithin(t, link); err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("symlink to a FIFO: got %v", err)
	}
	sub := filepath.Join(dir, "d.json")
	os.Mkdir(sub, 0o755)
	if _, err := loadWithin(t, sub); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: got %v", err)
	}
}

// TestLoadRefusesLargeFiles: an args file over MaxFileSize is refused with
// its name and the cap; one at the cap is read.
func TestLoadRefusesLargeFiles(t *testing.T) {
	dir := t.TempDir()
	body := `{"name": "x", "tag": "t"}`
	for _, tc := range []struct {
		size int
		want string
	}{
		{MaxFileSize + 1, "larger than 1048576 bytes (1 MiB)"},
		{MaxFileSize, ""},
	} {
		p := filepath.Join(dir, fmt.Sprintf("%d.json", tc.size))
		os.WriteFile(p, []byte(body+strings.Repeat(" ", tc.size-len(body))), 0o644)
		_, err := Load(context.Background(), p)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%d bytes: %v", tc.size, err)
			}
			continue
		}
		if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), p+": "+tc.want) {
			t.Errorf("%d bytes: got %v", tc.size, err)
		}
	}
}

// TestDeepNesting: input nested 200,000 deep crashed HCL's parsers with a
// fatal stack overflow; it is refused before parsing, with the line.
func TestDeepNesting(t *testing.T) {
	const n = 200_000
	for _, tc := range []struct{ file, src, want string }{
		{"args.json", `{"name": "x",` + "\n" + `"tag": ` + strings.Repeat("[", n) + strings.Repeat("]", n) + "}", "args.json:2:71: nested deeper than 64 levels"},
		{"args.json", `{"name": "` + strings.Repeat("[", n) + `"}`, ""},
		{"args.hcl", "name = \"x\"\ntag = " + strings.Repeat("[", n) + strings.Repeat("]", n), "args.hcl:2:71: nested deeper than 64 levels"},
		{"args.hcl", "tag = " + strings.Repeat("{a=", n) + "1" + strings.Repeat("}", n), "args.hcl:1:"},
		{"args.hcl", "tag = " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n), "args.hcl:1:"},
		{"args.hcl", "tag = \"" + strings.Repeat("${\"", n/2) + strings.Repeat("\"}", n/2) + "\"", "args.hcl:1:"},
		{"args.hcl", "tag = " + strings.Repeat("-", n) + "1", "args.hcl:1:"},
		{"args.hcl", "tag = " + strings.Repeat("!", n) + "true", "args.hcl:1:"},
		{"args.hcl", "tag = [1]" + strings.Repeat("[*]", n), "args.hcl:1:"},
		{"args.hcl", "tag = [1]" + strings.Repeat(".*", n), "args.hcl:1:"},
		{"args.hcl", "name = \"" + strings.Repeat("(", n) + "\"", ""},
	} {
		_, err := DecodeHCL([]byte(tc.src), tc.file, "/")
		if tc.want == "" {
			if err != nil && strings.Contains(err.Error(), "nested deeper") {
				t.Errorf("%s %.40q: brackets in a string counted: %v", tc.file, tc.src, err)
			}
			continue
		}
		if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nested deeper than 64") {
			t.Errorf("%s %.40q: got %v, want %q", tc.file, tc.src, err, tc.want)
		}
	}
	// 64 levels are fine.
	src := `name = "x"` + "\ntag = " + strings.Repeat("[", MaxNesting) + strings.Repeat("]", MaxNesting)
	a, err := DecodeHCL([]byte(src), "args.hcl", "/")
	if err == nil {
		_, err = a.Resolve()
	}
	if err == nil || strings.Contains(err.Error(), "nested deeper") || !strings.Contains(err.Error(), "tag = ") {
		t.Errorf("64 levels: got %v, want a type error", err)
	}
}

// TestHCLWork: nested for expressions that would take minutes are refused
// before they are evaluated; a for over a few files is evaluated.
func TestHCLWork(t *testing.T) {
	list := "[" + strings.Repeat("1,", 29) + "1]"
	src := "name = \"x\"\ntag = " + strings.Repeat("[for a in "+list+": ", 8) + "1" + strings.Repeat("]", 8) + "\n"
	if len(src) > 2400 {
		t.Fatalf("the source is %d bytes", len(src))
	}
	start := time.Now()
	_, err := DecodeHCL([]byte(src), "args.hcl", "/")
	if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), "args.hcl:2:") || !strings.Contains(err.Error(), ": for expressions that may yield more than 1000000 values") {
		t.Errorf("got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusing took %v", d)
	}
	// A for whose body refers to its variable many times multiplies too.
	src = "tag = [for a in [for b in " + list + ": [" + strings.Repeat("b,", 2000) + "]]: [" + strings.Repeat("a,", 2000) + "]]"
	if _, err := DecodeHCL([]byte(src), "args.hcl", "/"); err == nil || !strings.Contains(err.Error(), "may yield more than") {
		t.Errorf("variables: got %v", err)
	}
	good := `name = "urunc/hello"
files = { for f in ["kernel", "conf"] : "./${f}" => "/unikernel/${f}" }
annotations = { unikernelType = "unikraft", hypervisor = "qemu", binary = "/unikernel/kernel" }
`
	a, err := DecodeHCL([]byte(good), "args.hcl", "/src")
	if err != nil {
		t.Fatal(err)
	}
	if a.Files["./conf"] != "/unikernel/conf" {
		t.Errorf("files = %v", a.Files)
	}
}

// TestNameAndTagRules: the tag grammar of the Docker reference, and
// registry ports in 1..65535, and repository components the reference
// grammar allows (no "..", none empty: docker load refuses those).
func TestNameAndTagRules(t *testing.T) {
	for _, tc := range []struct{ name, tag, want string }{
		{"x", "-bad", `tag = "-bad": not a valid tag`},
		{"x", ".bad", `tag = ".bad": not a valid tag`},
		{"x", strings.Repeat("a", 129), `not a valid tag`},
		{"x", "_ok.1-2", ""},
		{"x", strings.Repeat("a", 128), ""},
		{"host:99999/x", "t", `name = "host:99999/x": registry port "99999" must be a number from 1 to 65535`},
		{"host:0/x", "t", `registry port "0" must be`},
		{"host:65535/x", "t", ""},
		{"localhost:5000/x", "t", ""},
		{"[::1]:5000/x", "t", ""},
		{"urunc/../x", "t", `name = "urunc/../x": not a valid image repository name: path component ".." must be`},
		{"urunc//x", "t", `path component "" must be`},
		{"a__b/c-d/e.f", "t", ""},
	} {
		js := fmt.Sprintf(`{"name": %q, "tag": %q, "files": {"./k": "/k"}, "annotations": {"unikernelType": "unikraft", "hypervisor": "qemu", "binary": "/k"}}`, tc.name, tc.tag)
		_, err := resolve(t, js)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s:%s: %v", tc.name, tc.tag, err)
			}
			continue
		}
		if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:%.20s: got %v, want %s", tc.name, tc.tag, err, tc.want)
		}
	}
}

// TestBadValues: NUL bytes, whiteouts, labels containerd refuses.
func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		want           string
	}{
		{"NUL in target", `"/conf/redis.conf"`, `"/conf/redis\u0000.conf"`, `files."./redis.conf" = "/conf/redis\x00.conf": target must not contain a NUL byte`},
		{"NUL in source", `"./redis.conf"`, `"./redis\u0000.conf"`, `source must not contain a NUL byte`},
		{"NUL in cmdline", `"redis-server /data/conf/redis.conf"`, `"redis-server\u0000x"`, `annotations.cmdline = "redis-server\x00x": must not contain a NUL byte`},
		{"whiteout", `"/conf/redis.conf"`, `"/conf/.wh.redis.conf"`, `files."./redis.conf" = "/conf/.wh.redis.conf": target name starts with .wh., which marks a whiteout`},
		{"opaque whiteout", `"/conf/redis.conf"`, `"/conf/.wh..wh..opq"`, `which marks a whiteout`},
		{"long cmdline", `"redis-server /data/conf/redis.conf"`, `"` + strings.Repeat("a", 4096-len("com.urunc.unikernel.cmdline")+1) + `"`,
			`is 4070 bytes long, and with its label key com.urunc.unikernel.cmdline 4097: containerd refuses labels over 4096 bytes`},
		{"long version", `"unikernelVersion": ""`, `"unikernelVersion": "` + strings.Repeat("1", 5000) + `"`, `annotations.unikernelVersion = "1111`},
	} {
		_, err := resolve(t, edit(t, tc.old, tc.new))
		if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %.300v\nwant %s", tc.name, err, tc.want)
		}
	}
	// Just under the label cap is fine.
	cl := strings.Repeat("a", 4096-len("com.urunc.unikernel.cmdline"))
	if _, err := resolve(t, edit(t, `"redis-server /data/conf/redis.conf"`, `"`+cl+`"`)); err != nil {
		t.Errorf("4096-byte label: %v", err)
	}
	// NUL in a rootfs field.
	js := withRootfs("linux", "qemu", `{"type":"block","include":{"./c":"/c"},"mountPoint":"/da\u0000ta"}`, "")
	if _, err := resolve(t, js); err == nil || !strings.Contains(err.Error(), `rootfs.mountPoint = "/da\x00ta": must not contain a NUL byte`) {
		t.Errorf("NUL in rootfs.mountPoint: got %v", err)
	}
}

// TestSizeErrors: sizes that overflow or exceed the cap are field errors.
func TestSizeErrors(t *testing.T) {
	for _, size := range []string{`"16T"`, `17592186044416`, `"99999999999999999999T"`, `"17T"`, `"16385G"`, `99999999999999999999`, `-1`, `"1.5M"`} {
		js := withRootfs("linux", "qemu", `{"type":"block","include":{"./c":"/c"},"size":`+size+`}`, "")
		_, err := resolve(t, js)
		var fe *FieldError
		if err == nil || !errors.As(err, &fe) || fe.Field != "rootfs.size" {
			t.Errorf("size %s: got %v", size, err)
		}
	}
	// The largest ext file system of 4 KiB blocks is accepted.
	js := withRootfs("linux", "qemu", `{"type":"block","include":{"./c":"/c"},"size":17592186040320}`, "")
	if _, err := resolve(t, js); err != nil {
		t.Errorf("largest size: %v", err)
	}
}

// TestLongValuesAreCut: a 10 MB tag gives a short message that says how
// long the value was.
func TestLongValuesAreCut(t *testing.T) {
	long := strings.Repeat("-", 10<<20)
	_, err := resolve(t, edit(t, `"tag": "test"`, `"tag": "`+long+`"`))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if len(msg) > 2048 || !strings.Contains(msg, fmt.Sprintf(`tag = "%s"... (%d bytes): `, long[:maxShown], len(long))) {
		t.Errorf("message of %d bytes: %.300s", len(msg), msg)
	}
	// A long path, as users write them, is shown whole.
	target := "/" + strings.Repeat("d/", 100) + "x y"
	_, err = resolve(t, edit(t, `"binary": "/unikernel/redis.hvt"`, `"binary": "`+target+`"`))
	if err == nil || !strings.Contains(err.Error(), `annotations.binary = "`+target+`": urunc accepts only`) {
		t.Errorf("long path: got %v", err)
	}
	// A value quoted in the reason is cut too.
	_, err = resolve(t, edit(t, `"/conf/redis.conf"`, `"/conf//`+strings.Repeat("a", 1<<20)+`"`))
	if err == nil || len(err.Error()) > 4096 {
		t.Errorf("did-you-mean message: %d bytes", len(err.Error()))
	}
}

// TestErrorsAreCapped: 200,000 unknown fields give MaxReported lines and a
// count of the rest.
func TestErrorsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"name": "x"`)
	for i := range 200_000 {
		fmt.Fprintf(&b, `, "f%d": 1`, i)
	}
	b.WriteString("}")
	a, err := DecodeJSON([]byte(b.String()), "args.json", "/")
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Resolve()
	if err == nil || !IsUserError(err) {
		t.Fatalf("got %v", err)
	}
	errs := err.(interface{ Unwrap() []error }).Unwrap()
	// The unknown fields come first; Resolve's problems (no files, no
	// annotations) are among the ones counted.
	if len(errs) != MaxReported+1 || !strings.Contains(errs[0].Error(), "f0: unknown field") ||
		!regexp.MustCompile(`^and 1999[89]\d more problems$`).MatchString(errs[MaxReported].Error()) {
		t.Errorf("%d errors, last %v", len(errs), errs[len(errs)-1])
	}
	// HCL syntax errors are capped the same way.
	var h strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&h, "a%d = x\n", i)
	}
	src := h.String()
	_, err = DecodeHCL([]byte(src), "args.hcl", "/")
	if err == nil || strings.Count(err.Error(), "\n") != MaxReported || !strings.Contains(err.Error(), "more problems") {
		t.Errorf("HCL: got %d lines: %.500v", strings.Count(err.Error(), "\n"), err)
	}
}

// TestNixRootfsPositions: every rootfs.* error points at its own field in
// args.nix, not at the rootfs line.
func TestNixRootfsPositions(t *testing.T) {
	testenv.Require(t, "nix-instantiate")
	t.Chdir(t.TempDir())
	// rootfs.size's error hides the others: it comes from the first pass.
	for _, tc := range []struct {
		size string
		want []string
	}{
		{"\n    size = \"lots\";", []string{`args.nix:9:5: rootfs.size = "lots"`}},
		{"", []string{
			`args.nix:7:17: rootfs.include."./c" = "c": target must be an absolute path`,
			`args.nix:8:5: rootfs.fsType = "ext4"`,
		}},
	} {
		os.WriteFile("args.nix", []byte(`{
  name = "x";
  files = { "./k" = "/k"; };
  annotations = { unikernelType = "rumprun"; hypervisor = "hvt"; binary = "/k"; };
  rootfs = {
    type = "block";
    include = { "./c" = "c"; };
    fsType = "ext4";`+tc.size+`
  };
}
`), 0o644)
		a, err := Load(context.Background(), "args.nix")
		if err == nil {
			_, err = a.Resolve()
		}
		for _, want := range tc.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("got %v\nwant %s", err, want)
			}
		}
	}
}

// TestNixRestricted: the CLI's evaluation of args.nix has no clock, no
// environment and no files outside the args directory, while paths inside
// it, and paths outside it that are only named, still work.
func TestNixRestricted(t *testing.T) {
	testenv.Require(t, "nix-instantiate")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a", "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "outside"), []byte("secret"), 0o644)
	os.WriteFile(filepath.Join(dir, "a", "sub", "tag.nix"), []byte(`"v1"`), 0o644)
	os.WriteFile(filepath.Join(dir, "a", "kernel"), []byte("k"), 0o644)
	write := func(body string) string {
		p := filepath.Join(dir, "a", "args.nix")
		os.WriteFile(p, []byte(`{
  name = "x";
  files = { "./kernel" = "/k"; };
  contents = [ { source = ../outside; target = "/o"; } ];
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/k"; };
  `+body+`
}
`), 0o644)
		return p
	}
	t.Setenv("BUNIX_TEST_SECRET", "leaked")
	for _, tc := range []struct{ body, want string }{
		{`tag = toString builtins.currentTime;`, "builtins.currentTime is not available"},
		{`tag = toString __currentTime;`, "builtins.currentTime is not available"},
		{`tag = builtins.readFile /etc/passwd;`, "forbidden in restricted mode"},
		{`tag = builtins.readFile ../outside;`, "forbidden in restricted mode"},
		{`tag = "${../outside}";`, "bunix evaluates args files in restricted mode: they can read files only under " + filepath.Join(dir, "a")},
	} {
		_, err := Load(context.Background(), write(tc.body))
		if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %s", tc.body, err, tc.want)
		}
	}
	a, err := Load(context.Background(), write(`tag = import ./sub/tag.nix + builtins.readFile ./kernel + builtins.getEnv "BUNIX_TEST_SECRET";`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Tag != "v1k" || a.Contents[0].Source != filepath.Join(dir, "outside") {
		t.Errorf("tag %q, contents %+v", a.Tag, a.Contents)
	}
}

// TestNixSymlinkedArgs: an args.nix that is a symlink into another
// directory reads the files beside its target.
func TestNixSymlinkedArgs(t *testing.T) {
	testenv.Require(t, "nix-instantiate")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "real"), 0o755)
	os.MkdirAll(filepath.Join(dir, "link"), 0o755)
	os.WriteFile(filepath.Join(dir, "real", "tag"), []byte("v2"), 0o644)
	os.WriteFile(filepath.Join(dir, "real", "args.nix"), []byte(`{ name = "x"; tag = builtins.readFile ./tag; }`), 0o644)
	if err := os.Symlink("../real/args.nix", filepath.Join(dir, "link", "args.nix")); err != nil {
		t.Fatal(err)
	}
	a, err := Load(context.Background(), filepath.Join(dir, "link", "args.nix"))
	if err != nil || a.Tag != "v2" {
		t.Fatalf("got %+v, %v", a, err)
	}
}

// TestNixOutputCap: an args.nix that evaluates to more than MaxEvalOutput
// bytes of JSON is refused with a clear message.
func TestNixOutputCap(t *testing.T) {
	testenv.Require(t, "nix-instantiate")
	p := filepath.Join(t.TempDir(), "args.nix")
	os.WriteFile(p, []byte(`{ name = "x"; tag = builtins.concatStringsSep "" (builtins.genList (_: "0123456789abcdef") 1100000); }`), 0o644)
	_, err := Load(context.Background(), p)
	if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), p+": evaluates to more than 16777216 bytes of JSON") {
		t.Errorf("got %.300v", err)
	}
}

// TestExamplesLoad: every example's args.nix loads under the restricted
// evaluation, those that name files outside their directory included.
func TestExamplesLoad(t *testing.T) {
	testenv.Require(t, "nix-instantiate")
	files, _ := filepath.Glob("../../examples/*/args.nix")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, f := range files {
		a, err := Load(context.Background(), f)
		if err == nil {
			_, err = a.Resolve()
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
