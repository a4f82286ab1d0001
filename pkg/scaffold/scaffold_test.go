package scaffold

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/urunc"
)

func TestContainerfile(t *testing.T) {
	src := `#syntax=harbor.nbfc.io/nubificus/bunny:0.2.0
FROM scratch
# a comment
COPY redis.hvt /unikernel/redis.hvt
COPY ["redis.conf", "/conf/redis.conf"]
copy a b /data/
LABEL com.urunc.unikernel.binary=/unikernel/redis.hvt
LABEL "com.urunc.unikernel.cmdline"="redis-server /data/conf/redis.conf"
LABEL 'com.urunc.unikernel.unikernelType'='rumprun' \
      com.urunc.unikernel.hypervisor="hvt"
LABEL "com.urunc.unikernel.useDMBlock"="true"
`
	d, err := Containerfile([]byte(src), "Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"binary": "/unikernel/redis.hvt", "cmdline": "redis-server /data/conf/redis.conf",
		"unikernelType": "rumprun", "hypervisor": "hvt", "useDMBlock": "true"}
	if !reflect.DeepEqual(d.Annotations, want) {
		t.Errorf("annotations %v", d.Annotations)
	}
	wantFiles := []string{"redis.hvt -> /unikernel/redis.hvt", "redis.conf -> /conf/redis.conf", "a -> /data/a", "b -> /data/b"}
	if got := copies(d.Files); !reflect.DeepEqual(got, wantFiles) {
		t.Errorf("files %v", got)
	}
	if d.Files[1].Where != `Containerfile:5: COPY "redis.conf"` {
		t.Errorf("Where = %q", d.Files[1].Where)
	}
}

// TestConvertCopiesAsDocker: a COPY reads an absolute source from the
// build context (bunny's redis example: COPY /conf /), and a directory
// source puts its contents at the target: into the root, one copy per
// entry; elsewhere, the directory at the target itself, with or without a
// trailing slash. A file keeps Docker's rule (into a directory target).
func TestConvertCopiesAsDocker(t *testing.T) {
	ctx := writeTree(t, map[string]string{"kernel": "k", "conf/redis.conf": "port 1\n", "conf/extra/x": "x", "etc/motd": "hi\n", "app.conf": "a\n"})
	src := "FROM scratch\nCOPY /kernel /unikernel/kernel\nCOPY /conf /\nCOPY etc /data/\nCOPY app.conf /cfg/\n"
	d, err := Convert([]byte(src), filepath.Join(ctx, "Containerfile"), ctx, "urunc/x", "t")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"./app.conf -> /cfg/app.conf", "./etc -> /data", "./conf/extra -> /extra", "./conf/redis.conf -> /redis.conf", "./kernel -> /unikernel/kernel"}
	if got := copies(d.Files); !reflect.DeepEqual(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}
	if _, err := Containerfile([]byte("COPY / /x\n"), "Containerfile"); err == nil || !strings.Contains(err.Error(), "copies the whole build context") {
		t.Errorf("COPY / /x: %v", err)
	}
}

// writeTree writes files (by slash path) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestContainerfileRefuses(t *testing.T) {
	src := `FROM --platform=linux/amd64 alpine:3
COPY --chown=1 /app /app
RUN make
LABEL maintainer=me
COPY *.conf /conf/
COPY rel x
ADD https://example.com/k /k
ENV A=$B
CMD /app --port 80
ENTRYPOINT ["/app",
`
	_, err := Containerfile([]byte(src), "Containerfile")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"Containerfile:1: FROM --platform=linux/amd64 alpine:3: only FROM scratch or FROM registry/repo:tag [AS name] can be carried over (no flags)",
		"Containerfile:2: COPY --chown=1: flags cannot be carried over",
		"Containerfile:3: RUN cannot be carried over",
		"Containerfile:4: LABEL maintainer: only urunc's com.urunc.unikernel.* labels can be carried over (an image gets no labels of its own but these; a FROM image's labels are kept)",
		"Containerfile:5: COPY *.conf: wildcards cannot be carried over",
		"Containerfile:6: COPY rel x: the target must be absolute",
		"Containerfile:7: ADD https://example.com/k: bunix fetches nothing",
		"Containerfile:8: ENV A=$B: variables cannot be carried over",
		`Containerfile:9: CMD /app --port 80: only the exec form can be carried over (the shell form runs /bin/sh -c, which a unikernel image has not): write CMD ["/app", "--port", "80"]`,
		`Containerfile:10: ENTRYPOINT ["/app",: bad JSON form`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// copies renders copies as "source -> target" for comparisons.
func copies(cs []Copy) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Source+" -> "+c.Target)
	}
	return out
}

// guide reads a Containerfile or bunnyfile of urunc's packaging guides from
// testdata/guides (nix/convert_test.go builds the same files).
func guide(t testing.TB, name, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "guides", name, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBunnyfile(t *testing.T) {
	src := guide(t, "redis-unikraft-initrd-bunnyfile", "bunnyfile")
	d, err := Bunnyfile([]byte(src), "bunnyfile")
	if err != nil {
		t.Fatal(err)
	}
	if d.Architecture != "amd64" || d.Annotations["binary"] != "/unikernel/redis-qemu-x86_64-initrd_qemu-x86_64" ||
		d.Annotations["cmdline"] != "redis-server /conf/redis.conf" || d.Rootfs == nil || d.Rootfs.Type != "initrd" ||
		!reflect.DeepEqual(copies(d.Rootfs.Include), []string{"redis.conf -> /conf/redis.conf"}) {
		t.Errorf("got %+v %+v", d, d.Rootfs)
	}
	local := strings.Replace(src, "  from: scratch\n  type: initrd\n  include:\n  - redis.conf:/conf/redis.conf\n", "  from: local\n  path: rootfs.cpio\n", 1)
	if d, err = Bunnyfile([]byte(local), "bunnyfile"); err != nil || d.Rootfs.From != "rootfs.cpio" || d.Rootfs.Type != "initrd" {
		t.Errorf("local rootfs: %v %+v", err, d)
	}
}

// TestBunnyfileAsBunnyReadsIt: what bunny's own docs and tests write
// converts as bunny means it: any version up to v0.1 (0.1, 0.0.9); an
// include target without a leading slash is under the root; a rootfs with
// include and no from is from: scratch.
func TestBunnyfileAsBunnyReadsIt(t *testing.T) {
	for _, v := range []string{"v0.1", "0.1", "0.0.9", "v0.1.0", "0"} {
		if _, err := Bunnyfile([]byte("version: "+v+"\nplatforms: {framework: unikraft, monitor: qemu}\nkernel:\n  from: local\n  path: k\n"), "bunnyfile"); err != nil {
			t.Errorf("version %s: %v", v, err)
		}
	}
	src := "version: v0.1\nplatforms: {framework: unikraft, monitor: qemu}\nkernel:\n  from: local\n  path: k\nrootfs:\n  type: initrd\n  include:\n  - foo:bar\n  - source: conf\n    destination: etc/conf\n"
	d, err := Bunnyfile([]byte(src), "bunnyfile")
	if err != nil {
		t.Fatal(err)
	}
	if d.Rootfs == nil || d.Rootfs.Type != "initrd" || d.Rootfs.From != "" || !reflect.DeepEqual(copies(d.Rootfs.Include), []string{"foo -> /bar", "conf -> /etc/conf"}) {
		t.Errorf("rootfs %+v", d.Rootfs)
	}
}

func TestBunnyfileRefuses(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"version: v0.2\nkernel:\n  from: local\n  path: k\n", `bunnyfile: version = "v0.2": newer than bunix knows: bunix reads bunnyfile versions up to v0.1`},
		{"version: 0.1.1\nkernel:\n  from: local\n  path: k\n", `bunnyfile: version = "0.1.1": newer than bunix knows`},
		{"version: one\nkernel:\n  from: local\n  path: k\n", `bunnyfile: version = "one": not a version`},
		{"version: v0.1\nkernel:\n  from: local\n  path: k\nrootfs:\n  from: local\n  path: r.cpio\n  include:\n  - a:/a\n",
			`bunnyfile: rootfs.include: include with from: local adds files to an existing rootfs, which bunny refuses too`},
		{"version: v0.1\nkernel:\n  from: unikraft.org/nginx:latest\n", `kernel.path = "": the kernel's absolute, clean path in the image unikraft.org/nginx:latest`},
		{"version: v0.1\nkernel:\n  from: unikraft\n", `kernel.from = "unikraft": neither local nor an image reference`},
		{"version: v0.1\nkernel:\n  from: local\n  path: k\nenvs: [A]\n", `bunnyfile: envs[0]: "A": want NAME=value`},
		{"version: v0.1\nkernel:\n  from: local\n  path: k\nrootfs:\n  from: scratch\n  type: raw\n  include:\n  - from: harbor\n    source: /lib\n    destination: /lib\n",
			`bunnyfile: rootfs.include[0]: from = "harbor": neither local nor an image reference`},
		{"version: v0.1\nkernel:\n  from: local\n  path: k\nrootfs:\n  from: scratch\n  type: raw\n  include:\n  - source: a\n    dest: /lib\n",
			`include field dest not found (known: source, destination, from)`},
		{"version: v0.1\nkernel:\n  from: local\n  path: k\nrootfs:\n  from: scratch\n  type: raw\n  include:\n  - source: a\n",
			`bunnyfile: rootfs.include[0]: { source: "a", destination: "" }: want a source and a destination`},
		{"version: v0.1\nkernl:\n  from: local\n", "line 2: field kernl not found"},
		{"version: v0.1\nkernel:\n  from: local\n  path: k\nrootfs:\n  from: harbor.nbfc.io/x\n  type: raw\n  include: [a:/a]\n", "rootfs.include: include with from: an image adds files to an existing rootfs"},
	} {
		_, err := Bunnyfile([]byte(tc.src), "bunnyfile")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.src, err, tc.want)
		}
	}
}

// TestProcessConverts: ENV, CMD and ENTRYPOINT of a Containerfile, and
// envs, cmd, entrypoint and bunny's mapping form of rootfs.include of a
// bunnyfile, are carried over, and rendered so that Nix reads them back.
func TestProcessConverts(t *testing.T) {
	d, err := Containerfile([]byte(`FROM scratch
COPY k /unikernel/k
ENV A=1 B="two words" in=x
ENV OLD legacy form value
ENTRYPOINT ["/init"]
CMD ["x"]
CMD ["hello", "two words"]
`), "Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := map[string]string{"A": "1", "B": "two words", "in": "x", "OLD": "legacy form value"}
	if !reflect.DeepEqual(d.Env, wantEnv) || !reflect.DeepEqual(d.Entrypoint, []string{"/init"}) || !reflect.DeepEqual(d.Cmd, []string{"hello", "two words"}) {
		t.Errorf("Env %q Entrypoint %q Cmd %q", d.Env, d.Entrypoint, d.Cmd)
	}
	d.Name, d.Tag = "x", "t"
	nix := testenv.Require(t, "nix-instantiate")
	out, err := exec.Command(nix, "--eval", "--strict", "--json", "--expr", "let a = "+string(d.Nix())+"; in { inherit (a) env entrypoint cmd; }").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s\n%s", err, out, d.Nix())
	}
	var got struct {
		Env             map[string]string
		Entrypoint, Cmd []string
	}
	if err := json.Unmarshal(out, &got); err != nil || !reflect.DeepEqual(got.Env, wantEnv) || !reflect.DeepEqual(got.Cmd, d.Cmd) || !reflect.DeepEqual(got.Entrypoint, d.Entrypoint) {
		t.Errorf("Nix reads back %s (%v)", out, err)
	}

	b, err := Bunnyfile([]byte(`version: v0.1
platforms:
  framework: linux
  monitor: qemu
kernel:
  from: local
  path: vmlinux
rootfs:
  from: scratch
  type: initrd
  include:
  - source: ./conf
    destination: /etc/app
  - init:/init
entrypoint: ["/init"]
cmd: ["app", "-v"]
envs: ["PORT=80", "EMPTY="]
`), "bunnyfile")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(copies(b.Rootfs.Include), []string{"./conf -> /etc/app", "init -> /init"}) ||
		!reflect.DeepEqual(b.Env, map[string]string{"PORT": "80", "EMPTY": ""}) || !reflect.DeepEqual(b.Cmd, []string{"app", "-v"}) || !reflect.DeepEqual(b.Entrypoint, []string{"/init"}) {
		t.Errorf("bunnyfile: includes %v, Env %q Entrypoint %q Cmd %q", copies(b.Rootfs.Include), b.Env, b.Entrypoint, b.Cmd)
	}
	if b.Rootfs.Include[0].Where != `bunnyfile: rootfs.include[0] "./conf"` {
		t.Errorf("Where = %q", b.Rootfs.Include[0].Where)
	}
}

func TestConvertRebasesSources(t *testing.T) {
	dir := t.TempDir()
	ctx := filepath.Join(dir, "ctx")
	os.Mkdir(ctx, 0o755)
	d, err := Convert([]byte("FROM scratch\nCOPY k /unikernel/k\n"), filepath.Join(ctx, "Containerfile"), filepath.Join(dir, "out"), "urunc/x", "t")
	if err != nil {
		t.Fatal(err)
	}
	if d.Files[0].Source != "../ctx/k" || d.Name != "urunc/x" || d.Tag != "t" {
		t.Errorf("got %+v", d)
	}
}

func TestAsk(t *testing.T) {
	var a Answers
	var prompts bytes.Buffer
	in := strings.NewReader("unicraft\nunikraft\nhvt\n\n./build/kernel\nsparc\n\n/chttp 'open\n/chttp\n1X=a\nPORT=80 'MSG=hi there'\n")
	if err := Ask(in, &prompts, &a); err != nil {
		t.Fatal(err)
	}
	want := Answers{Guest: "unikraft", Monitor: "qemu", Binary: "./build/kernel", Architecture: "amd64", Cmdline: "/chttp", Env: []string{"PORT=80", "MSG=hi there"}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("answers %+v", a)
	}
	for _, p := range []string{"pick one of: rumprun", `"1X=a": "1X" is not a variable name: letters, digits and _`, "Monitor (qemu, firecracker, hyperlight-unikraft) [qemu]: ", "urunc runs unikraft on: qemu, firecracker, hyperlight-unikraft",
		"Architecture (amd64, arm64) [amd64]: ", "pick one of: amd64, arm64", "Guest command line (empty for none):   unterminated single quote"} {
		if !strings.Contains(prompts.String(), p) {
			t.Errorf("prompts lack %q:\n%s", p, prompts.String())
		}
	}
	a = Answers{}
	if err := Ask(strings.NewReader("rumprun\n"), &prompts, &a); err == nil || !strings.Contains(err.Error(), "input ended") {
		t.Errorf("ended input: %v", err)
	}
}

func TestInit(t *testing.T) {
	d, err := Init(Answers{Guest: "rumprun", Monitor: "hvt", Binary: "redis.hvt", Name: "urunc/redis"})
	if err != nil {
		t.Fatal(err)
	}
	nix := string(d.Nix())
	for _, want := range []string{`"./redis.hvt" = "/unikernel/redis.hvt";`, `binary = "/unikernel/redis.hvt";`, `# rootfs = { type = "block";`} {
		if !strings.Contains(nix, want) {
			t.Errorf("args.nix lacks %q:\n%s", want, nix)
		}
	}
	if d, err = Init(Answers{Guest: "mirage", Monitor: "hvt", Binary: "k"}); err != nil || !strings.Contains(string(d.Nix()), `# rootfs = { type = "block"; from = ./disk.img; };`) || strings.Contains(string(d.Nix()), `type = "raw"`) {
		t.Errorf("mirage hints: %v\n%s", err, d.Nix())
	}
	d, err = Init(Answers{Guest: "unikraft", Monitor: "qemu", Binary: "k", Env: []string{"PORT=80", "A=b=c"}})
	if err != nil || !reflect.DeepEqual(d.Env, map[string]string{"PORT": "80", "A": "b=c"}) || !strings.Contains(string(d.Nix()), "  env = {\n    A = \"b=c\";\n    PORT = \"80\";\n  };\n") {
		t.Errorf("--env: %v %+v\n%s", err, d, d.Nix())
	}
	if _, err := Init(Answers{Guest: "unikraft", Monitor: "qemu", Binary: "k", Env: []string{"NOEQUALS", "my-var=1"}}); err == nil ||
		!strings.Contains(err.Error(), `--env "NOEQUALS": want NAME=value`) || !strings.Contains(err.Error(), `--env "my-var=1": "my-var" is not a variable name`) {
		t.Errorf("bad --env: %v", err)
	}
	// A name or tag the build would refuse, and an initrd that would go
	// where the kernel goes, are refused here too.
	for _, tc := range []struct {
		a    Answers
		want string
	}{
		{Answers{Name: "UP/x"}, `--name "UP/x": not a valid image repository name`},
		{Answers{Name: "a b/x"}, `--name "a b/x": not a valid image repository name`},
		{Answers{Name: "x/y", Tag: "a\n"}, `--tag "a\n": not a valid tag`},
		{Answers{Name: "x/y", Tag: "-x"}, `--tag "-x": not a valid tag`},
		{Answers{Initrd: "k"}, `--initrd "k": goes to /unikernel/k, where --binary "k" goes`},
		{Answers{Initrd: "sub/k"}, `--initrd "sub/k": goes to /unikernel/k, where --binary "k" goes`},
		{Answers{Cmdline: "/init\ra"}, `--cmdline "/init\ra": must be one line`},
		{Answers{Cmdline: "/init \xff"}, `"/init \xff": not valid UTF-8`},
		{Answers{Env: []string{"A=\xff"}}, `"A=\xff": not valid UTF-8`},
	} {
		a := tc.a
		a.Guest, a.Monitor, a.Binary = "linux", "qemu", "k"
		if _, err := Init(a); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.a, err, tc.want)
		}
	}
	if _, err := Init(Answers{Guest: "linux", Monitor: "qemu", Binary: "k", Initrd: "initrd", Name: "local/x", Tag: "v1.0"}); err != nil {
		t.Errorf("a good name, tag and initrd: %v", err)
	}
	// A command line the build could not split is refused here, not
	// written into an args.nix that the build then refuses.
	for _, cl := range []string{`/init \`, `/init "open`, `/init 'open`} {
		if _, err := Init(Answers{Guest: "linux", Monitor: "qemu", Binary: "k", Cmdline: cl}); err == nil || !strings.Contains(err.Error(), "--cmdline "+quoted(cl)+": cannot be split into words") {
			t.Errorf("--cmdline %q: %v", cl, err)
		}
	}
	if _, err := Init(Answers{Guest: "rumprun", Monitor: "qemu", Binary: "k"}); err == nil || !strings.Contains(err.Error(), "urunc runs rumprun on: hvt, spt") {
		t.Errorf("bad pair: %v", err)
	}
	if got := DefaultName("/tmp/My Project!"); got != "local/my-project" {
		t.Errorf("DefaultName = %q", got)
	}
}

// TestWriteNewBadPath: a path under a file, in a missing directory or too
// long is the user's *Error (exit 2), and nothing is written.
func TestWriteNewBadPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("mine"), 0o644)
	for _, p := range []string{filepath.Join(file, "args.nix"), filepath.Join(dir, "missing", "args.nix"), filepath.Join(dir, strings.Repeat("a", 300)+".nix")} {
		var se *Error
		if err := WriteNew(map[string][]byte{p: []byte("new")}); !errors.As(err, &se) || !strings.Contains(err.Error(), "give a path in a directory that exists") {
			t.Errorf("WriteNew(%.80s): %v, want an *Error", p, err)
		}
	}
	if got, _ := os.ReadFile(file); string(got) != "mine" {
		t.Errorf("file changed: %q", got)
	}
}

func TestWriteNewNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "args.nix"), filepath.Join(dir, "flake.nix")
	os.WriteFile(b, []byte("mine"), 0o644)
	err := WriteNew(map[string][]byte{a: []byte("new"), b: []byte("new")})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("got %v", err)
	}
	if got, _ := os.ReadFile(b); string(got) != "mine" {
		t.Errorf("flake.nix overwritten: %q", got)
	}
	if _, err := os.Stat(a); err == nil {
		t.Error("args.nix written although flake.nix existed")
	}
	if err := WriteNew(map[string][]byte{a: []byte("new")}); err != nil {
		t.Fatal(err)
	}
}

// TestTemplateArgs: the flake template's args.nix must be a valid
// description apart from its placeholder kernel.
func TestTemplateArgs(t *testing.T) {
	nix := testenv.Require(t, "nix-instantiate")
	out, err := exec.Command(nix, "--eval", "--strict", "--json", "template/args.nix").Output()
	if err != nil {
		t.Fatal(err)
	}
	a, err := args.DecodeJSON(out, "template/args.nix", "/template")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Resolve(); err != nil {
		t.Error(err)
	}
}

// TestContainerfileDropsNothing: a line of any length is read, and what
// follows it still counts; every instruction is carried over or reported
// (a 2 MiB label value is reported: containerd takes no label that long).
func TestContainerfileDropsNothing(t *testing.T) {
	long := "LABEL com.urunc.unikernel.cmdline=" + strings.Repeat("x", 2<<20)
	src := "FROM scratch\nCOPY k /unikernel/k\n" + long + "\nRUN make\nCOPY\tconf   /conf\n"
	d, err := Containerfile([]byte(src), "Containerfile")
	if err == nil || !strings.Contains(err.Error(), "Containerfile:4: RUN cannot be carried over") ||
		!strings.Contains(err.Error(), "Containerfile:3: LABEL com.urunc.unikernel.cmdline=") || !strings.Contains(err.Error(), "containerd refuses labels over") || len(err.Error()) > 4096 {
		t.Errorf("after a 2 MiB line: %.4096v", err)
	}
	if d == nil || len(d.Files) != 2 || d.Files[1].Target != "/conf" {
		t.Errorf("lines lost: %+v", copies(d.Files))
	}
	for _, tc := range []struct{ src, want string }{
		{"# escape=`\nFROM scratch\n", "Containerfile:1: # escape=`: only the default escape character"},
		{"FROM scratch\nLABEL com.urunc.unikernel.vAccel=true\n", "Containerfile:2: LABEL com.urunc.unikernel.vAccel: urunc takes vAccel from the runtime"},
		{"FROM scratch\nLABEL com.urunc.unikernel.binary=/a\nLABEL com.urunc.unikernel.binary=/b\n", "Containerfile:3: LABEL com.urunc.unikernel.binary: also set at line 2"},
		{"FROM scratch\nCOPY a b /x/\nCOPY ./b /x/c\n", `Containerfile:3: COPY "./b": source is also copied at line 2`},
		{"FROM scratch\nCOPY a /x/b\nADD c /x/b\n", `Containerfile:3: ADD "c": target /x/b is also the target of line 2`},
		{"FROM scratch\nCOPY $K /unikernel/k\n", "Containerfile:2: COPY $K: variables cannot be carried over"},
		{"FROM scratch\nCOPY <<EOF /x\nhello\nEOF\n", "Containerfile:2: COPY <<EOF /x: here-documents cannot be carried over"},
		{"FROM scratch\nADD git@github.com:a/b /x\n", "Containerfile:2: ADD git@github.com:a/b: bunix fetches nothing"},
		{"FROM r.io/a:1 AS k\nFROM r.io/b:1 AS K\nFROM scratch\nCOPY --from=k /x /x\n", `Containerfile:2: FROM r.io/b:1 AS K: a stage named "K" is already at Containerfile:1`},
	} {
		if _, err := Containerfile([]byte(tc.src), "Containerfile"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.src, err, tc.want)
		}
	}
}

// TestBunnyfileVocabulary: architectures and rootfs defaults come from
// pkg/urunc, so convert accepts what build accepts.
func TestBunnyfileVocabulary(t *testing.T) {
	base := "version: v0.1\nkernel:\n  from: local\n  path: k\n"
	for _, tc := range []struct{ src, want string }{
		{base + "platforms:\n  framework: unikraft\n  architecture: arm\n", `platforms.architecture = "arm": unknown architecture (bunix builds amd64, arm64)`},
		{base + "platforms:\n  framework: mewz\nrootfs:\n  from: scratch\n", "bunnyfile: rootfs.type: mewz takes no root file system"},
		{base + "rootfs:\n  from: scratch\n  include:\n  - a:/x\n  - b:/x\n", `bunnyfile: rootfs.include[1]: "b:/x": target /x is also the target of rootfs.include[0]`},
		{base + "---\nversion: v0.1\n", "bunnyfile: a second YAML document at line 5"},
	} {
		if _, err := Bunnyfile([]byte(tc.src), "bunnyfile"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.src, err, tc.want)
		}
	}
	d, err := Bunnyfile([]byte(base+"platforms:\n  framework: rumprun\n  architecture: aarch64\nrootfs:\n  from: scratch\n"), "bunnyfile")
	if err != nil || d.Architecture != "arm64" || d.Rootfs.Type != "block" {
		t.Errorf("rumprun on aarch64: %v %+v", err, d)
	}
}

// TestLongValueIsCut: a long value in a message is quoted and cut at
// maxShown bytes, the marker after the closing quote.
func TestLongValueIsCut(t *testing.T) {
	long := strings.Repeat("x", 10000)
	_, err := Bunnyfile([]byte("version: v0.1\nkernel:\n  from: local\n  path: k\nplatforms:\n  framework: unikraft\n  architecture: "+long+"\n"), "bunnyfile")
	want := `platforms.architecture = "` + long[:maxShown] + `"... (10000 bytes): unknown architecture`
	if err == nil || !strings.Contains(err.Error(), want) || len(err.Error()) > 400 {
		t.Errorf("got %.500v, want %q", err, want)
	}
}

// TestGuidesConvert: every packaging-guide file converts without a problem.
func TestGuidesConvert(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "guides"))
	if err != nil || len(ents) == 0 {
		t.Fatal(ents, err)
	}
	for _, e := range ents {
		files, _ := filepath.Glob(filepath.Join("testdata", "guides", e.Name(), "*"))
		for _, f := range files {
			src, err := ReadSource(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Convert(src, f, t.TempDir(), "urunc/x", "t"); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
}

// TestTemplateListsGuests: the flake template's comments name the guests
// and monitors pkg/urunc knows.
func TestTemplateListsGuests(t *testing.T) {
	b, err := os.ReadFile("template/args.nix")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# " + strings.Join(urunc.Guests, ", "), "# " + strings.Join(urunc.MonitorNames(), ", ")} {
		if !strings.Contains(string(b), want) {
			t.Errorf("template/args.nix lacks %q", want)
		}
	}
}

// TestConvertBunnyfileStaysInContext: a bunnyfile's kernel, rootfs file and
// includes are sources too: none may leave the build context.
func TestConvertBunnyfileStaysInContext(t *testing.T) {
	ctx := t.TempDir()
	os.Symlink("/etc", filepath.Join(ctx, "etc"))
	src := `version: v0.1
platforms: {framework: unikraft, monitor: qemu}
kernel: {from: local, path: ../../../../boot/vmlinuz}
rootfs:
  from: scratch
  include: [etc/shadow:/etc/shadow, /etc/passwd:/etc/passwd, ok.conf:/ok.conf]
`
	_, err := Convert([]byte(src), filepath.Join(ctx, "bunnyfile"), ctx, "urunc/x", "t")
	for _, want := range []string{
		`bunnyfile: kernel.path "../../../../boot/vmlinuz": forbidden path outside the build context`,
		`bunnyfile: rootfs.include[0] "etc/shadow": forbidden path outside the build context`,
		`bunnyfile: rootfs.include[1] "/etc/passwd": forbidden path outside the build context`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "ok.conf") {
		t.Errorf("ok.conf refused: %v", err)
	}
	local := "version: v0.1\nplatforms: {framework: unikraft, monitor: qemu}\nkernel: {from: local, path: k}\nrootfs: {from: local, path: /boot/initrd.img}\n"
	if _, err := Convert([]byte(local), filepath.Join(ctx, "bunnyfile"), ctx, "urunc/x", "t"); err == nil || !strings.Contains(err.Error(), `rootfs.path "/boot/initrd.img": forbidden path`) {
		t.Errorf("rootfs.path: %v", err)
	}
}

// TestConvertFromImage: FROM registry/repo:tag is pinned by the resolver
// into from = { ref; digest; hash; }; without a resolver, or when it
// fails, the FROM line is named; a stage before the last that does more
// than name an image is refused.
func TestConvertFromImage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "Containerfile")
	src := []byte("FROM unikraft.org/nginx:1.15\nLABEL com.urunc.unikernel.hypervisor=qemu\n")
	digest := "sha256:" + strings.Repeat("ab", 32)
	var asked []string
	resolve := func(ref, _ string) (Base, error) {
		asked = append(asked, ref)
		return Base{Ref: ref, Digest: digest, Hash: "sha256-" + strings.Repeat("A", 43) + "="}, nil
	}
	d, err := Convert(src, file, dir, "urunc/nginx", "t", WithResolver(resolve))
	if err != nil {
		t.Fatal(err)
	}
	nix := string(d.Nix())
	want := "  from = {\n    ref = \"unikraft.org/nginx:1.15\";\n    digest = \"" + digest + "\";\n    hash = \"sha256-"
	if !strings.Contains(nix, want) || !strings.Contains(nix, `hypervisor = "qemu";`) || len(asked) != 1 {
		t.Errorf("args.nix:\n%s\nasked %q", nix, asked)
	}
	if _, err := Convert(src, file, dir, "x", "t"); err == nil || !strings.Contains(err.Error(), "Containerfile:1: unikraft.org/nginx:1.15: a base image needs resolving") {
		t.Errorf("no resolver: %v", err)
	}
	failing := func(string, string) (Base, error) { return Base{}, errors.New("connection refused") }
	if _, err := Convert(src, file, dir, "x", "t", WithResolver(failing)); err == nil || !strings.Contains(err.Error(), "pinning the base image: connection refused") {
		t.Errorf("failing resolver: %v", err)
	}
	if _, err := Containerfile([]byte("FROM a.io/b:1\nCOPY k /k\nFROM scratch\n"), "Containerfile"); err == nil || !strings.Contains(err.Error(), "Containerfile:3: FROM scratch: a stage that copies, runs or sets something (the one at Containerfile:1) cannot be carried over") {
		t.Errorf("a busy stage: %v", err)
	}
}

// TestConvertBunnyfileFromImage: a bunnyfile whose kernel comes from an
// image makes that image the base, pinned like a FROM, with binary the
// kernel's path in it.
func TestConvertBunnyfileFromImage(t *testing.T) {
	dir := t.TempDir()
	src := []byte("version: v0.1\nplatforms:\n  framework: unikraft\n  monitor: qemu\nkernel:\n  from: unikraft.org/nginx:1.15\n  path: /unikraft/bin/kernel\n")
	resolve := func(ref, _ string) (Base, error) {
		return Base{Ref: ref, Digest: "sha256:" + strings.Repeat("cd", 32), Hash: "sha256-" + strings.Repeat("B", 43) + "="}, nil
	}
	d, err := Convert(src, filepath.Join(dir, "bunnyfile"), dir, "urunc/nginx", "t", WithResolver(resolve))
	if err != nil {
		t.Fatal(err)
	}
	nix := string(d.Nix())
	if d.Base == nil || d.Base.Ref != "unikraft.org/nginx:1.15" || !strings.Contains(nix, `binary = "/unikraft/bin/kernel";`) || !strings.Contains(nix, `ref = "unikraft.org/nginx:1.15";`) {
		t.Errorf("args.nix:\n%s", nix)
	}
}

// TestWriteInit: args.nix and flake.nix, named after the directory, paths
// sorted; a second run, or bad answers, is an *Error and writes nothing.
func TestWriteInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "My App")
	os.Mkdir(dir, 0o755)
	a := Answers{Guest: "unikraft", Monitor: "qemu", Binary: "kernel"}
	if _, err := WriteInit(a, dir, "nix", false); err == nil || !strings.Contains(err.Error(), `--binary "kernel": there is no`) {
		t.Errorf("WriteInit with no kernel: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	got, err := WriteInit(a, dir, "nix", true)
	if want := []string{filepath.Join(dir, "args.nix"), filepath.Join(dir, "flake.nix")}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("WriteInit = %v, %v; want %v", got, err, want)
	}
	if nix, _ := os.ReadFile(got[0]); !strings.Contains(string(nix), `name = "local/my-app";`) {
		t.Errorf("args.nix:\n%s", nix)
	}
	var se *Error
	if _, err := WriteInit(a, dir, "nix", false); !errors.As(err, &se) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second run: %v", err)
	}
	other := t.TempDir()
	if _, err := WriteInit(Answers{Guest: "nope", Binary: "k"}, other, "nix", false); !errors.As(err, &se) {
		t.Errorf("bad guest: %v", err)
	}
	if ents, _ := os.ReadDir(other); len(ents) != 0 {
		t.Errorf("bad answers wrote %v", ents)
	}
}

// TestConvertFile: the name defaults to the source directory's, sources
// are rebased to -o's directory (the working directory without -o), and a
// missing file is an *Error.
func TestConvertFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Redis")
	os.MkdirAll(filepath.Join(dir, "out"), 0o755)
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	cf := filepath.Join(dir, "Containerfile")
	os.WriteFile(cf, []byte("FROM scratch\nCOPY kernel /unikernel/kernel\nLABEL com.urunc.unikernel.unikernelType=rumprun\n"), 0o644)
	nix, err := ConvertFile(cf, filepath.Join(dir, "out", "args.nix"), "", "", "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`name = "local/redis";`, `tag = "t";`, `"../kernel" = "/unikernel/kernel";`} {
		if !strings.Contains(string(nix), want) {
			t.Errorf("args.nix lacks %s:\n%s", want, nix)
		}
	}
	t.Chdir(dir)
	if nix, err := ConvertFile("Containerfile", "-", "", "x/y", "latest"); err != nil || !strings.Contains(string(nix), `"./kernel" = "/unikernel/kernel";`) || !strings.Contains(string(nix), `name = "x/y";`) {
		t.Errorf("to stdout: %v\n%s", err, nix)
	}
	var se *Error
	if _, err := ConvertFile("missing", "", "", "", ""); !errors.As(err, &se) {
		t.Errorf("missing file: %v", err)
	}
	// A path that names no file for another reason is as much the user's.
	os.Symlink("loop", filepath.Join(dir, "loop"))
	for _, p := range []string{"loop", "Containerfile/x", strings.Repeat("a", 300)} {
		if _, err := ConvertFile(p, "", "", "", ""); !errors.As(err, &se) {
			t.Errorf("%.40s: %v, want an *Error", p, err)
		}
	}
}

// TestConvertCmdlineDisagrees: a command and a cmdline label that give the
// guest different commands are reported, not written into an args.nix
// that cannot build; agreeing ones convert.
func TestConvertCmdlineDisagrees(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "k"), []byte("k"), 0o644)
	for _, tc := range []struct{ name, src, want string }{
		{"Containerfile", "FROM scratch\nCOPY k /k\nCMD [\"a\"]\nLABEL com.urunc.unikernel.cmdline=\"b c\"\n", `the cmdline "b c" disagrees with the command ["a"]`},
		{"bunnyfile", "version: v0.1\nplatforms:\n  framework: unikraft\n  monitor: qemu\nkernel:\n  from: local\n  path: k\ncmdline: b c\ncmd: [a]\n", `the cmdline "b c" disagrees with the command ["a"]`},
		{"Containerfile", "FROM scratch\nCOPY k /k\nCMD [\"a\", \"b c\"]\nLABEL com.urunc.unikernel.cmdline=\"a 'b c'\"\n", ""},
	} {
		file := filepath.Join(dir, tc.name)
		_, err := Convert([]byte(tc.src), file, dir, "x/y", "t")
		var se *Error
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.src, err)
		case tc.want != "" && (!errors.As(err, &se) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want %q", tc.src, err, tc.want)
		}
	}
}

// TestRelativeTo: a source is spelled "./x" or "../x" from the output's
// directory; a name that merely begins with ".." (..foo) is in the
// directory, so it gets its "./" too.
func TestRelativeTo(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	for _, c := range []struct{ outDir, src, want string }{
		{dir, "..foo", "./..foo"},
		{dir, "a/..b", "./a/..b"},
		{dir, "kernel", "./kernel"},
		{out, "kernel", "../kernel"},
		{out, "..foo", "../..foo"},
		{out, "out/..foo", "./..foo"},
	} {
		if got, err := relativeTo(c.outDir, dir, c.src); err != nil || got != c.want {
			t.Errorf("relativeTo(%s, %s) = %q, %v; want %q", c.outDir, c.src, got, err, c.want)
		}
	}
}

// TestConvertBaseCommand: Docker's rule for a base's ENTRYPOINT and CMD,
// carried over to what convert writes, for a base whose ENTRYPOINT is
// /kernel and CMD -v: CMD alone runs under the base's ENTRYPOINT (written
// out, with a hint); an ENTRYPOINT, alone or with CMD, or an empty CMD
// under it, stands as given; neither inherits; a cmdline label alone gets
// a hint that the base's command gives way; a bunnyfile is left alone; a
// cmdline that disagrees with the inherited command names the base's
// ENTRYPOINT.
func TestConvertBaseCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "Containerfile")
	resolve := WithResolver(func(ref, _ string) (Base, error) {
		return Base{Ref: ref, Digest: "sha256:" + strings.Repeat("ab", 32), Hash: "sha256-" + strings.Repeat("A", 43) + "=", Entrypoint: []string{"/kernel"}, Cmd: []string{"-v"}}, nil
	})
	for _, tc := range []struct {
		lines           string
		entrypoint, cmd []string
		hint            string
	}{
		{`CMD ["-c", "x"]`, []string{"/kernel"}, []string{"-c", "x"}, "which Docker keeps under the Containerfile's CMD"},
		{`CMD []`, []string{"/kernel"}, []string{}, "which Docker keeps under the Containerfile's CMD"},
		{`ENTRYPOINT ["/other"]`, []string{"/other"}, nil, ""},
		{"ENTRYPOINT [\"/other\"]\nCMD [\"-q\"]", []string{"/other"}, []string{"-q"}, ""},
		{"", nil, nil, ""},
		{`LABEL com.urunc.unikernel.cmdline="-c y"`, nil, nil, `ENTRYPOINT ["/kernel"] and CMD ["-v"], gives way to the cmdline label`},
	} {
		src := "FROM a.io/base:1\nLABEL com.urunc.unikernel.hypervisor=qemu\n" + tc.lines + "\n"
		d, err := Convert([]byte(src), file, dir, "x", "t", resolve)
		if err != nil {
			t.Errorf("%q: %v", tc.lines, err)
			continue
		}
		hints := strings.Join(d.Hints, " ")
		if !slices.Equal(d.Entrypoint, tc.entrypoint) || !slices.Equal(d.Cmd, tc.cmd) || (tc.hint == "") != (hints == "") || !strings.Contains(hints, tc.hint) {
			t.Errorf("%q: entrypoint %q cmd %q hints %q; want %q %q and a hint %q", tc.lines, d.Entrypoint, d.Cmd, d.Hints, tc.entrypoint, tc.cmd, tc.hint)
		}
	}
	_, err := Convert([]byte("FROM a.io/base:1\nCMD [\"-c\", \"x\"]\nLABEL com.urunc.unikernel.cmdline=\"-c x\"\n"), file, dir, "x", "t", resolve)
	if err == nil || !strings.Contains(err.Error(), `its entrypoint ["/kernel"] is the base's ENTRYPOINT`) {
		t.Errorf("a cmdline that leaves out the base's ENTRYPOINT: %v", err)
	}
	bunny := "version: v0.1\nplatforms:\n  framework: unikraft\n  monitor: qemu\nkernel:\n  from: a.io/base:1\n  path: /kernel\ncmd: [\"-c\", \"x\"]\n"
	d, err := Convert([]byte(bunny), filepath.Join(dir, "bunnyfile"), dir, "x", "t", resolve)
	if err != nil || d.Base == nil || d.Entrypoint != nil || !slices.Equal(d.Cmd, []string{"-c", "x"}) {
		t.Errorf("a bunnyfile on a base: entrypoint %q cmd %q, %v", d.Entrypoint, d.Cmd, err)
	}
}

// TestConvertRefusesBadEnv: a variable the build would refuse is refused
// by convert already, by the same rule (args.EnvProblem), in a
// Containerfile's ENV and a bunnyfile's envs, and nothing is written.
func TestConvertRefusesBadEnv(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	for _, tc := range []struct{ file, src, want string }{
		{"Containerfile", "FROM scratch\nCOPY kernel /kernel\nENV 1X=y\n", `Containerfile:3: ENV 1X=y: "1X" is not a variable name`},
		{"bunnyfile", "version: v0.1\nplatforms:\n  framework: unikraft\n  monitor: qemu\nkernel:\n  from: local\n  path: kernel\nenvs:\n  - my-var=1\n", `envs[0]: "my-var" is not a variable name`},
	} {
		_, err := Convert([]byte(tc.src), filepath.Join(dir, tc.file), dir, "x", "t")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.file, err, tc.want)
		}
	}
}

// TestConvertRefusesNUL: a NUL byte, in a label value or anywhere, is
// refused with its line; Nix strings cannot hold one, and before, convert
// wrote it raw into the args.nix. So are bytes that are not UTF-8, which
// the JSON and HCL writers changed to U+FFFD.
func TestConvertRefusesNUL(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	for _, tc := range []struct{ file, src, want string }{
		{"Containerfile", "FROM scratch\nCOPY kernel /kernel\nLABEL com.urunc.unikernel.cmdline=\"a\x00b\"\n", "Containerfile:3: holds a NUL byte"},
		{"bunnyfile", "version: v0.1\nplatforms:\n  framework: unikraft\n  monitor: qemu\nkernel:\n  from: local\n  path: kernel\ncmdline: \"a\x00\"\n", "bunnyfile:8: holds a NUL byte"},
		{"Containerfile", "FROM scratch\nCOPY kernel /kernel\n\nLABEL com.urunc.unikernel.cmdline=\"a\xffb\"\n", "Containerfile:4: not valid UTF-8 (byte 0xff)"},
	} {
		d, err := Convert([]byte(tc.src), filepath.Join(dir, tc.file), dir, "x", "t")
		var se *Error
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an *Error with %q", tc.file, err, tc.want)
		}
		if d != nil && bytes.IndexByte(d.Nix(), 0) >= 0 {
			t.Errorf("%s: args.nix holds a NUL byte:\n%q", tc.file, d.Nix())
		}
	}
}

// TestConvertRefusesBadName: a --name or --tag the build would refuse is
// refused by convert; before, it was written into the args.nix.
func TestConvertRefusesBadName(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	src := []byte("FROM scratch\nCOPY kernel /unikernel/kernel\nLABEL com.urunc.unikernel.binary=/unikernel/kernel com.urunc.unikernel.unikernelType=unikraft com.urunc.unikernel.hypervisor=qemu\n")
	for _, tc := range []struct{ name, tag, want string }{
		{"UP/x", "t", `--name "UP/x": not a valid image repository name`},
		{"x/y", "a\n", `--tag "a\n": not a valid tag`},
		{"x/y", "-x", `--tag "-x": not a valid tag`},
	} {
		var se *Error
		if _, err := Convert(src, filepath.Join(dir, "Containerfile"), dir, tc.name, tc.tag); !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:%q: %v, want an *Error with %q", tc.name, tc.tag, err, tc.want)
		}
	}
	if _, err := Convert(src, filepath.Join(dir, "Containerfile"), dir, "x/y", ""); err != nil {
		t.Errorf("a good name, no tag: %v", err)
	}
}

// TestConvertRefusesRelease: a guest or monitor the target urunc release
// (--urunc, else the newest) does not run is refused, as the build refuses
// it; before, convert wrote urunc = "0.5" beside a hermit guest.
func TestConvertRefusesRelease(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	of := func(guest string) []byte {
		return []byte("FROM scratch\nCOPY kernel /unikernel/kernel\nLABEL com.urunc.unikernel.binary=/unikernel/kernel com.urunc.unikernel.unikernelType=" + guest + " com.urunc.unikernel.hypervisor=qemu\n")
	}
	for _, tc := range []struct {
		guest string
		opts  []ConvertOption
		want  string
	}{
		{"hermit", []ConvertOption{WithUrunc("0.5")}, "Containerfile: urunc 0.5 cannot run a hermit guest"},
		{"freebsd", nil, "Containerfile: urunc 0.8 cannot run a freebsd guest"},
	} {
		var se *Error
		if _, err := Convert(of(tc.guest), filepath.Join(dir, "Containerfile"), dir, "x/y", "t", tc.opts...); !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--urunc RELEASE") {
			t.Errorf("%s: %v, want an *Error with %q", tc.guest, err, tc.want)
		}
	}
	for _, tc := range []struct {
		guest, release string
	}{{"hermit", "0.8"}, {"freebsd", "main"}, {"unikraft", "0.5"}} {
		if _, err := Convert(of(tc.guest), filepath.Join(dir, "Containerfile"), dir, "x/y", "t", WithUrunc(tc.release)); err != nil {
			t.Errorf("%s on urunc %s: %v", tc.guest, tc.release, err)
		}
	}
}

// TestConvertRefusesBadLabels: a label value or a cmdline that the build
// would refuse is refused by convert, with its line; before, convert wrote
// it into an args.nix that could not build, and exited 0.
func TestConvertRefusesBadLabels(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	head := "FROM scratch\nCOPY kernel /unikernel/kernel\nLABEL com.urunc.unikernel.binary=/unikernel/kernel com.urunc.unikernel.unikernelType=unikraft\n"
	for _, tc := range []struct{ file, src, want string }{
		{"Containerfile", head + "LABEL com.urunc.unikernel.hypervisor=qemu com.urunc.unikernel.useDMBlock=maybe\n", `Containerfile:4: LABEL com.urunc.unikernel.useDMBlock="maybe": must be "true" or "false"`},
		{"Containerfile", head + "LABEL com.urunc.unikernel.hypervisor=qemu2\n", `Containerfile:4: LABEL com.urunc.unikernel.hypervisor="qemu2": unknown hypervisor`},
		{"Containerfile", head + "LABEL com.urunc.unikernel.hypervisor=qemu com.urunc.unikernel.initrd=rel/initrd\n", `Containerfile:4: LABEL com.urunc.unikernel.initrd="rel/initrd": must be the absolute path`},
		{"Containerfile", head + "LABEL com.urunc.unikernel.hypervisor=qemu \"com.urunc.unikernel.cmdline\"=\"/app \\\" open\"\n", `Containerfile: the cmdline "/app \" open" cannot be split into words: unterminated double quote`},
		{"bunnyfile", "version: v0.1\nplatforms:\n  framework: unikraft\n  monitor: qemu\nkernel:\n  from: local\n  path: kernel\ncmdline: \"/app 'open\"\n", `bunnyfile: the cmdline "/app 'open" cannot be split into words: unterminated single quote`},
		{"bunnyfile", "version: v0.1\nplatforms:\n  framework: unikraft\n  monitor: qemu2\nkernel:\n  from: local\n  path: kernel\n", `bunnyfile: platforms.monitor = "qemu2": unknown hypervisor`},
		{"bunnyfile", "version: v0.1\nplatforms:\n  framework: unikraft\n  monitor: qemu\nkernel:\n  from: local\n  path: kernel\ncmdline: \"a\\rb\"\n", `bunnyfile: cmdline = "a\rb": must be one line`},
	} {
		d, err := Convert([]byte(tc.src), filepath.Join(dir, tc.file), dir, "x", "t")
		var se *Error
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n%s\ngot %v (%+v); want an *Error with %q", tc.file, tc.src, err, d, tc.want)
		}
	}
}

// TestConvertWarnsRumprunWithoutFS: pun's README rumprun Containerfile,
// which gives neither useDMBlock nor mountRootfs, converts with a warning
// (and a comment) naming the label that gives the guest a file system;
// with mountRootfs=true, or a guest that is not rumprun, there is none.
func TestConvertWarnsRumprunWithoutFS(t *testing.T) {
	ctx := writeTree(t, map[string]string{"redis.hvt": "k", "redis.conf": "c"})
	pun := "FROM scratch\nCOPY redis.hvt /unikernel/redis.hvt\nCOPY redis.conf /conf/redis.conf\n" +
		"LABEL com.urunc.unikernel.binary=/unikernel/redis.hvt\nLABEL \"com.urunc.unikernel.cmdline\"=\"redis-server /data/conf/redis.conf\"\n" +
		"LABEL \"com.urunc.unikernel.unikernelType\"=\"rumprun\"\nLABEL \"com.urunc.unikernel.hypervisor\"=\"hvt\"\n"
	for _, tc := range []struct {
		extra string
		warns bool
	}{
		{"", true},
		{"LABEL com.urunc.unikernel.mountRootfs=true\n", false},
		{"LABEL com.urunc.unikernel.useDMBlock=true\n", false},
		{"LABEL com.urunc.unikernel.useDMBlock=false\n", true},
	} {
		var warned []string
		d, err := Convert([]byte(pun+tc.extra), filepath.Join(ctx, "Containerfile"), ctx, "urunc/redis", "t", WithWarnings(func(w string) { warned = append(warned, w) }))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(warned) == 1 && strings.Contains(warned[0], "com.urunc.unikernel.mountRootfs=true") && strings.Contains(string(d.Nix()), "# Warning: the rumprun guest gets no file system"); got != tc.warns {
			t.Errorf("%q: warnings %q, args.nix:\n%s", tc.extra, warned, d.Nix())
		}
	}
}

// TestConvertWarnsMissingLabels: a Containerfile FROM scratch that sets
// no urunc label (or only some) converts with a warning and a comment
// naming each label urunc needs that it lacks; with all three there is
// none.
func TestConvertWarnsMissingLabels(t *testing.T) {
	ctx := writeTree(t, map[string]string{"kernel": "k"})
	base := "FROM scratch\nCOPY kernel /kernel\n"
	for _, tc := range []struct {
		labels  string
		missing []string
	}{
		{"", []string{"unikernelType", "hypervisor", "binary"}},
		{"LABEL com.urunc.unikernel.binary=/kernel\n", []string{"unikernelType", "hypervisor"}},
		{"LABEL com.urunc.unikernel.binary=/kernel com.urunc.unikernel.unikernelType=unikraft com.urunc.unikernel.hypervisor=qemu\n", nil},
	} {
		var warned []string
		d, err := Convert([]byte(base+tc.labels), filepath.Join(ctx, "Containerfile"), ctx, "x", "t", WithWarnings(func(w string) { warned = append(warned, w) }))
		if err != nil {
			t.Fatal(err)
		}
		nix := string(d.Nix())
		if len(tc.missing) == 0 {
			if len(warned) != 0 || strings.Contains(nix, "Warning") {
				t.Errorf("%q: warnings %q, args.nix:\n%s", tc.labels, warned, nix)
			}
			continue
		}
		if len(warned) != 1 || !strings.Contains(nix, "# Warning: Containerfile sets no label") {
			t.Errorf("%q: warnings %q, args.nix:\n%s", tc.labels, warned, nix)
			continue
		}
		for _, k := range urunc.Required {
			if says := strings.Contains(warned[0], "com.urunc.unikernel."+k); says != slices.Contains(tc.missing, k) {
				t.Errorf("%q: the warning %q names %s: %v, want %v", tc.labels, warned[0], k, says, !says)
			}
		}
	}
}

// TestConvertCopyFrom: urunc's multi-stage form (stages that only name an
// image, COPY --from=stage) and COPY --from=<image ref> become contents
// entries copying out of each image, pinned once each by the resolver;
// bunny's include from an image and rootfs.from of another image become
// rootfs.include entries (the whole tree, for rootfs.from); a --from that
// names no stage and no image, and a scratch stage, are refused.
func TestConvertCopyFrom(t *testing.T) {
	ctx := writeTree(t, map[string]string{"kernel": "k"})
	var asked []string
	resolve := WithResolver(func(ref, monitor string) (Base, error) {
		asked = append(asked, ref+" for "+monitor)
		return Base{Ref: ref, Digest: "sha256:" + strings.Repeat("ab", 32), Hash: "sha256-" + strings.Repeat("A", 43) + "="}, nil
	})
	src := "FROM harbor.nbfc.io/nubificus/urunit:latest AS init\nFROM r.io/app:1 as app\nFROM scratch\n" +
		"COPY --from=init /urunit /urunit\nCOPY --from=app usr/bin/app /app\nCOPY --from=r.io/tools:2 /bin/tool /bin/\nCOPY --from=init /etc/urunit.conf /etc/\nCOPY kernel /kernel\n" +
		"LABEL com.urunc.unikernel.binary=/kernel\nLABEL com.urunc.unikernel.unikernelType=linux\nLABEL com.urunc.unikernel.hypervisor=qemu\n"
	d, err := Convert([]byte(src), filepath.Join(ctx, "Containerfile"), ctx, "urunc/app", "t", resolve)
	if err != nil {
		t.Fatal(err)
	}
	nix := string(d.Nix())
	for _, want := range []string{
		`"./kernel" = "/kernel";`,
		`{ image = { ref = "harbor.nbfc.io/nubificus/urunit:latest"; digest = "sha256:abab`,
		`source = "/urunit"; target = "/urunit"; }`,
		`source = "/usr/bin/app"; target = "/app"; }`,
		`{ image = { ref = "r.io/tools:2";`,
		`source = "/bin/tool"; target = "/bin/tool"; }`,
		`source = "/etc/urunit.conf"; target = "/etc/urunit.conf"; }`,
	} {
		if !strings.Contains(nix, want) {
			t.Errorf("args.nix lacks %q:\n%s", want, nix)
		}
	}
	if strings.Contains(nix, "from = {") || !reflect.DeepEqual(asked, []string{"harbor.nbfc.io/nubificus/urunit:latest for qemu", "r.io/app:1 for qemu", "r.io/tools:2 for qemu"}) {
		t.Errorf("asked %q; args.nix:\n%s", asked, nix)
	}

	asked = nil
	bunny := "version: v0.1\nplatforms: {framework: linux, monitor: qemu}\nkernel: {from: local, path: kernel}\n" +
		"rootfs:\n  from: r.io/rootfs:1\n  type: raw\n"
	if d, err = Convert([]byte(bunny), filepath.Join(ctx, "bunnyfile"), ctx, "urunc/app", "t", resolve); err != nil {
		t.Fatal(err)
	}
	if nix = string(d.Nix()); !strings.Contains(nix, `include = [`) || !strings.Contains(nix, `{ image = { ref = "r.io/rootfs:1";`) || !strings.Contains(nix, `source = "/"; target = "/"; }`) {
		t.Errorf("rootfs.from an image:\n%s", nix)
	}
	bunny = "version: v0.1\nplatforms: {framework: linux, monitor: qemu}\nkernel: {from: local, path: kernel}\n" +
		"rootfs:\n  from: scratch\n  type: initrd\n  include:\n  - from: r.io/urunit:1\n    source: /urunit\n    destination: /urunit\n  - kernel:/boot/k\n"
	if d, err = Convert([]byte(bunny), filepath.Join(ctx, "bunnyfile"), ctx, "urunc/app", "t", resolve); err != nil {
		t.Fatal(err)
	}
	if nix = string(d.Nix()); !strings.Contains(nix, `{ image = { ref = "r.io/urunit:1";`) || !strings.Contains(nix, `{ source = "./kernel"; target = "/boot/k"; }`) {
		t.Errorf("include from an image:\n%s", nix)
	}

	for _, tc := range []struct{ src, want string }{
		{"FROM scratch\nCOPY --from=nowhere /a /a\n", "COPY --from=nowhere: no stage of that name, and not an image reference"},
		{"FROM scratch AS empty\nFROM scratch\nCOPY --from=empty /a /a\n", "COPY --from=empty: the stage is FROM scratch, which holds no files"},
		{"FROM scratch\nADD --from=r.io/x:1 /a /a\n", "ADD --from=r.io/x:1: only COPY takes --from"},
	} {
		if _, err := Containerfile([]byte(tc.src), "Containerfile"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.src, err, tc.want)
		}
	}
}
