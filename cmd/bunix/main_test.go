package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// cli runs bunix in-process with env as its whole environment.
func cli(t *testing.T, env map[string]string, argv ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), argv, &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

// project writes a kernel, a config directory and the same description as
// args.json, args.hcl and (for tests that have Nix) args.nix.
func project(t *testing.T) string {
	t.Helper()
	return writeFiles(t, map[string]string{
		"kernel":          "\x7fELF not really a kernel",
		"conf/redis.conf": "port 6379\n",
		"args.json": `{"name": "urunc/redis", "tag": "t1",
  "files": {"./kernel": "/unikernel/redis.hvt", "./conf": "/data/conf"},
  "annotations": {"unikernelType": "rumprun", "hypervisor": "hvt", "binary": "/unikernel/redis.hvt",
    "cmdline": "redis-server /data/conf/redis.conf", "mountRootfs": "true"}}`,
		"args.hcl": `name = "urunc/redis"
tag = "t1"
files = {
  "./kernel" = "/unikernel/redis.hvt"
  "./conf"   = "/data/conf"
}
annotations = {
  unikernelType = "rumprun"
  hypervisor    = "hvt"
  binary        = "/unikernel/redis.hvt"
  cmdline       = "redis-server /data/conf/redis.conf"
  mountRootfs   = "true"
}
`,
		"args.nix": `{
  name = "urunc/redis"; tag = "t1";
  files = { "./kernel" = "/unikernel/redis.hvt"; "./conf" = "/data/conf"; };
  annotations = { unikernelType = "rumprun"; hypervisor = "hvt"; binary = "/unikernel/redis.hvt";
    cmdline = "redis-server /data/conf/redis.conf"; mountRootfs = "true"; };
}`,
	})
}

// writeFiles writes files (name to content) under a new directory and
// returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuildAndInspect(t *testing.T) {
	dir := project(t)
	out := filepath.Join(dir, "image.tar")
	code, stdout, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "args.json"), "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.TrimSpace(stdout) != "urunc/redis:t1" {
		t.Errorf("stdout = %q, want the image reference", stdout)
	}
	code, stdout, stderr = cli(t, nil, "inspect", "--json", out)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, stderr)
	}
	var r struct {
		RepoTags []string
		Cmd      []string
		Urunc    map[string]string
		Labels   map[string]string
		Layers   []struct{ Files []struct{ Path string } }
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r.RepoTags[0] != "urunc/redis:t1" || strings.Join(r.Cmd, " ") != "redis-server /data/conf/redis.conf" ||
		r.Urunc["useDMBlock"] != "true" || r.Urunc["binary"] != "/unikernel/redis.hvt" ||
		r.Labels["com.urunc.unikernel.hypervisor"] != "hvt" || len(r.Layers) != 3 {
		t.Errorf("inspect = %s", stdout)
	}
	code, stdout, _ = cli(t, nil, "inspect", out)
	for _, want := range []string{"Image     urunc/redis:t1", "Platform  linux/amd64", "│       └── redis.conf  10 bytes  -rw-r--r-- 0:0", "urunc settings (/urunc.json, decoded)", "  mountRootfs    true"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("inspect text lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = cli(t, nil, "validate", filepath.Join(dir, "args.hcl"))
	if code != 0 || !strings.Contains(stdout, "ok: urunc/redis:t1, 3 layers") {
		t.Errorf("validate: %d %q", code, stdout)
	}
}

// TestFrontEndsAgree: args.json, args.hcl and args.nix describing the same
// image give the same bytes.
func TestFrontEndsAgree(t *testing.T) {
	buildAlike(t, project(t), "args")
}

// buildAlike builds dir's base.json, base.hcl and, where Nix is (always
// under CI=true), base.nix, and checks that they give the same bytes.
func buildAlike(t *testing.T, dir, base string) {
	t.Helper()
	build := func(t *testing.T, f string) []byte {
		out := filepath.Join(dir, f+".tar")
		if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, f), "-o", out); code != 0 {
			t.Fatalf("%s: exit %d: %s", f, code, stderr)
		}
		return []byte(mustRead(t, out))
	}
	first := build(t, base+".json")
	if !bytes.Equal(first, build(t, base+".hcl")) {
		t.Errorf("%s.hcl builds different bytes than %s.json", base, base)
	}
	t.Run("nix", func(t *testing.T) {
		testenv.Require(t, "nix-instantiate")
		if !bytes.Equal(first, build(t, base+".nix")) {
			t.Errorf("%s.nix builds different bytes than %s.json", base, base)
		}
	})
}

func TestBadInputLeavesOutputAlone(t *testing.T) {
	dir := project(t)
	out := filepath.Join(dir, "image.tar")
	os.WriteFile(out, []byte("the user's old image"), 0o644)
	bad := filepath.Join(dir, "bad.hcl")
	os.WriteFile(bad, []byte(`name = "urunc/redis"
files = { "./kernel" = "/unikernel/redis.hvt", "./nope" = "/x" }
annotations = {
  unikernelType = "rumprun"
  hypervisor    = "qemu2"
  binary        = "/unikernel/redis.hvt"
}
`), 0o644)
	code, stdout, stderr := cli(t, nil, "build", "-f", bad, "-o", out)
	if code != exitBadInput {
		t.Errorf("exit %d, want %d", code, exitBadInput)
	}
	for _, want := range []string{
		bad + `:5:19: annotations.hypervisor = "qemu2": unknown hypervisor; did you mean "qemu"?`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if stdout != "" {
		t.Errorf("stdout = %q", stdout)
	}
	if b, _ := os.ReadFile(out); string(b) != "the user's old image" {
		t.Errorf("output overwritten: %q", b)
	}
	// A missing source is reported once the description itself is valid.
	os.WriteFile(bad, []byte(strings.Replace(mustRead(t, bad), "qemu2", "hvt", 1)), 0o644)
	code, _, stderr = cli(t, nil, "build", "-f", bad, "-o", out)
	if code != exitBadInput || !strings.Contains(stderr, `files."./nope" = "`+dir+`/nope": source does not exist`) {
		t.Errorf("exit %d: %s", code, stderr)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUsageErrors(t *testing.T) {
	dir := project(t)
	for _, tc := range []struct {
		env  map[string]string
		argv []string
		want string
	}{
		{nil, []string{"build", "-f", filepath.Join(dir, "args.json")}, "-o is required"},
		{nil, []string{"build", "--bogus"}, "unknown flag: --bogus"},
		{nil, []string{"inspect"}, "accepts 1 arg(s), received 0"},
		{map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}, []string{"build", "-f", filepath.Join(dir, "args.json"), "-o", "-"}, `SOURCE_DATE_EPOCH = "yesterday"`},
		{nil, []string{"nix-builder"}, "$specPath and $out must be set"},
		{nil, []string{"buidl"}, `unknown command "buidl": did you mean build?`},
		{nil, []string{"valdate", "args.nix"}, `unknown command "valdate": did you mean validate?`},
		{nil, []string{"frobnicate"}, `unknown command "frobnicate" (bunix --help lists the commands)`},
	} {
		code, _, stderr := cli(t, tc.env, tc.argv...)
		if code != exitBadInput || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.argv, code, stderr, exitBadInput, tc.want)
		}
	}
	code, _, stderr := cli(t, nil, "inspect", filepath.Join(dir, "args.json"))
	if code != exitBadInput || !strings.Contains(stderr, "not a tar archive") {
		t.Errorf("inspect of a non-tar: exit %d, %q", code, stderr)
	}
}

func TestSourceDateEpoch(t *testing.T) {
	dir := project(t)
	code, stdout, stderr := cli(t, map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}, "build", "-f", filepath.Join(dir, "args.json"), "-o", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `"created":"2023-11-14T22:13:20Z"`) {
		t.Error("SOURCE_DATE_EPOCH did not set the creation time")
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range [][]string{{}, {"build"}, {"validate"}, {"inspect"}, {"push"}, {"init"}, {"convert"}} {
		code, stdout, _ := cli(t, nil, append(cmd, "--help")...)
		if code != 0 || !strings.Contains(stdout, "Usage:") {
			t.Errorf("%v --help: exit %d\n%s", cmd, code, stdout)
		}
		if len(cmd) > 0 && !strings.Contains(stdout, "Examples:") {
			t.Errorf("%v --help has no examples", cmd)
		}
	}
	if code, stdout, _ := cli(t, nil, "--version"); code != 0 || !strings.Contains(stdout, "bunix version") {
		t.Errorf("--version: %d %q", code, stdout)
	}
}

func TestNoCommandShowsHelp(t *testing.T) {
	code, stdout, _ := cli(t, nil)
	if code != 0 || !strings.Contains(stdout, "Available Commands:") {
		t.Errorf("bunix with no command: exit %d\n%s", code, stdout)
	}
}

func TestCompletions(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		code, stdout, _ := cli(t, nil, "completion", sh)
		if code != 0 || !strings.Contains(stdout, "bunix") || len(stdout) < 500 {
			t.Errorf("completion %s: exit %d, %d bytes", sh, code, len(stdout))
		}
	}
}

func TestInitWithoutTerminal(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := cli(t, nil, "init", "--dir", dir, "--type", "unikraft")
	if code != exitBadInput || !strings.Contains(stderr, "--hypervisor, --binary required when standard input is not a terminal") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	initArgs := []string{"init", "--dir", dir, "--type", "linux", "--hypervisor", "firecracker", "--binary", "vmlinux", "--cmdline", "/init", "--flake"}
	code, _, stderr = cli(t, nil, initArgs...)
	if code != exitBadInput || !strings.Contains(stderr, "vmlinux") {
		t.Errorf("init naming a missing kernel: exit %d: %s", code, stderr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("init naming a missing kernel wrote %v", ents)
	}
	os.WriteFile(filepath.Join(dir, "vmlinux"), []byte("k"), 0o644)
	code, stdout, stderr := cli(t, nil, initArgs...)
	if code != 0 || !strings.Contains(stdout, "flake.nix") || !strings.Contains(stderr, "Next, in "+dir) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	t.Run("builds", func(t *testing.T) {
		testenv.Require(t, "nix-instantiate")
		if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "args.nix"), "-o", filepath.Join(dir, "i.tar")); code != 0 {
			t.Errorf("the args.nix init wrote does not build: %s", stderr)
		}
	})
	code, _, stderr = cli(t, nil, "init", "--dir", dir, "--type", "linux", "--hypervisor", "qemu", "--binary", "vmlinux")
	if code == 0 || !strings.Contains(stderr, "already exists: bunix never overwrites") {
		t.Errorf("second init: exit %d: %s", code, stderr)
	}
}

// TestOutputGuard: -o naming what the build reads, or a directory, exits 2
// and changes nothing.
func TestOutputGuard(t *testing.T) {
	dir := project(t)
	args := filepath.Join(dir, "args.json")
	kernel := mustRead(t, filepath.Join(dir, "kernel"))
	for _, tc := range []struct {
		out  []string
		want string
	}{
		{[]string{"-o", filepath.Join(dir, "kernel")}, `which the build reads: writing the image there would destroy it`},
		{[]string{"-o", args}, `is the description ` + args},
		{[]string{"-o", filepath.Join(dir, "conf", "x.tar")}, `lies inside`},
		{[]string{"-o", dir}, `is a directory: give the output a file name`},
		{[]string{"-o", dir + "/"}, `names a directory`},
		{[]string{"-o", dir, "--format", "oci"}, `holds more than an OCI image layout (args.hcl, args.json, args.nix, conf, kernel)`},
		{[]string{"-o", "-", "--format", "oci"}, `the oci format is a directory, not a stream`},
	} {
		code, _, stderr := cli(t, nil, append([]string{"build", "-f", args}, tc.out...)...)
		if code != exitBadInput || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d: %s\nwant %q", tc.out, code, stderr, tc.want)
		}
	}
	if mustRead(t, filepath.Join(dir, "kernel")) != kernel || !strings.Contains(mustRead(t, args), `"name": "urunc/redis"`) {
		t.Error("a refused build changed its sources")
	}
	// rootfs.path on /urunc.json is a field error.
	os.WriteFile(filepath.Join(dir, "r.json"), []byte(`{"name": "x", "files": {"./kernel": "/unikernel/kernel"},
  "annotations": {"unikernelType": "unikraft", "hypervisor": "qemu", "binary": "/unikernel/kernel"},
  "rootfs": {"type": "initrd", "include": {"./conf": "/"}, "path": "/urunc.json"}}`), 0o644)
	code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "r.json"), "-o", filepath.Join(t.TempDir(), "i.tar"))
	if code != exitBadInput || !strings.Contains(stderr, `rootfs.path = "/urunc.json": the rootfs file would go where bunix (the urunc settings) already puts a file`) {
		t.Errorf("rootfs.path = /urunc.json: exit %d: %s", code, stderr)
	}
}

// TestInitUnreleasedGuest: init for a guest that only urunc's main branch
// runs (freebsd) writes urunc = "main", so the description it writes is
// one validate and build take, not one the default release refuses.
func TestInitUnreleasedGuest(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	if code, _, stderr := cli(t, nil, "init", "--dir", dir, "--type", "freebsd", "--hypervisor", "qemu", "--binary", "kernel", "--format", "json"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "args.json"))
	if !strings.Contains(string(b), `"urunc": "main"`) {
		t.Errorf("args.json does not say urunc = main:\n%s", b)
	}
	if code, _, stderr := cli(t, nil, "validate", filepath.Join(dir, "args.json")); code != 0 {
		t.Errorf("validate of what init wrote: exit %d: %s", code, stderr)
	}
}
