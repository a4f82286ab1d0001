package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/nubificus/bunix/internal/testenv"
)

// imageConfig returns the config of the docker-archive image at p.
func imageConfig(t *testing.T, p string) v1.Config {
	t.Helper()
	img, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.Config
}

// TestProcessFrontEnds: env, entrypoint and cmd, written in args.json,
// args.hcl and args.nix, give the same image, whose config carries them
// and the cmdline label derived from them.
func TestProcessFrontEnds(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"kernel": "k",
		"args.json": `{"name": "urunc/app", "files": {"./kernel": "/unikernel/kernel"},
  "env": {"PORT": "80", "GREETING": "hello world"}, "entrypoint": ["/init"], "cmd": ["hello", "two words"],
  "annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/unikernel/kernel"}}`,
		"args.hcl": `name = "urunc/app"
files = { "./kernel" = "/unikernel/kernel" }
env = { PORT = "80", GREETING = "hello world" }
entrypoint = ["/init"]
cmd = ["hello", "two words"]
annotations = { unikernelType = "linux", hypervisor = "qemu", binary = "/unikernel/kernel" }
`,
		"args.nix": `{ name = "urunc/app"; files = { "./kernel" = "/unikernel/kernel"; };
  env = { PORT = "80"; GREETING = "hello world"; }; entrypoint = [ "/init" ]; cmd = [ "hello" "two words" ];
  annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/unikernel/kernel"; }; }`,
	})
	testenv.Require(t, "nix-instantiate")
	files := []string{"args.json", "args.hcl", "args.nix"}
	var first []byte
	for _, f := range files {
		out := filepath.Join(dir, f+".tar")
		code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, f), "-o", out)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", f, code, stderr)
		}
		if strings.Contains(stderr, "no command") {
			t.Errorf("%s: warns of no command: %s", f, stderr)
		}
		c := imageConfig(t, out)
		if !reflect.DeepEqual(c.Env, []string{"GREETING=hello world", "PORT=80"}) || !reflect.DeepEqual(c.Entrypoint, []string{"/init"}) ||
			!reflect.DeepEqual(c.Cmd, []string{"hello", "two words"}) || c.Labels["com.urunc.unikernel.cmdline"] != "/init hello 'two words'" {
			t.Errorf("%s: config %+v", f, c)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Errorf("%s gives another image than %s", f, files[0])
		}
	}
}

// TestProcessRefusals: each new rule refuses its input through the CLI with
// exit 2 and a message naming the field and the value; warnings go to
// stderr and the image is still written.
func TestProcessRefusals(t *testing.T) {
	base := func(top, ann string) string {
		return `{"name": "urunc/app", "files": {"./kernel": "/unikernel/kernel"}` + top + `,
  "annotations": {"unikernelType": "unikraft", "hypervisor": "qemu", "binary": "/unikernel/kernel"` + ann + `}}`
	}
	for _, tc := range []struct{ args, want string }{
		{base(`,"cmd":["/app","-x"]`, `,"cmdline":"/app -y"`), `annotations.cmdline = "/app -y": disagrees with entrypoint + cmd = ["/app","-x"]`},
		{base(`,"env":{"MY-VAR":"1"}`, ""), `env.MY-VAR = "1": "MY-VAR" is not a variable name`},
		{base(`,"env":{"A":"1\n2"}`, ""), `env.A = "1\n2": must be one line`},
		{base("", `,"blkMntPoint":"/mnt/my data"`), `annotations.blkMntPoint = "/mnt/my data": urunc accepts only letters, digits and . _ / - in paths`},
		{base("", `,"unikernelVersion":"`+strings.Repeat("9", 4097)+`"`), `is 4097 bytes long: urunc takes at most 4096`},
		{strings.Replace(base("", `,"mountRootfs":"true"`), `"qemu"`, `"firecracker"`, 1), `annotations.mountRootfs = "true": urunc shares the container rootfs with a unikraft guest only through 9pfs, which firecracker does not provide`},
		{`{"name": "urunc/m", "files": {"./kernel": "/k"}, "rootfs": {"type": "block", "include": {"./kernel": "/x"}},
  "annotations": {"unikernelType": "mirage", "hypervisor": "hvt", "binary": "/k"}}`, `rootfs.include: a mirage block is a raw device that mirage reads itself`},
		{`{"name": "urunc/m", "files": {"./kernel": "/k"}, "rootfs": {"type": "raw", "include": {"./kernel": "/x"}},
  "annotations": {"unikernelType": "mirage", "hypervisor": "hvt", "binary": "/k"}}`, `rootfs.type = "raw": a mirage guest cannot use a raw rootfs`},
	} {
		dir := writeFiles(t, map[string]string{"kernel": "k", "args.json": tc.args})
		out := filepath.Join(dir, "image.tar")
		code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "args.json"), "-o", out)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: wrote %s", tc.args, out)
		}
	}
	for _, tc := range []struct{ args, want string }{
		{base("", ""), "bunix: warning: " + "%s: no command: the image has no Entrypoint or Cmd, so `docker run` and podman refuse to start it"},
		{strings.Replace(base(`,"cmd":["/a"],"urunc":"main"`, ""), `"unikraft"`, `"freebsd"`, 1), `bunix: warning: %s: annotations.unikernelType = "freebsd": freebsd is only in urunc's main branch (PR #538)`},
		{strings.Replace(base(`,"cmd":["/unikernel/kernel"]`, `,"mountRootfs":"true"`), `"unikraft"`, `"linux"`, 1), `bunix: warning: %s: annotations.mountRootfs = "true": urunc hands the container snapshot to the linux guest as a block device when containerd uses a block snapshotter such as devmapper; on overlayfs, urunc 0.7 and later share it over virtiofs or 9p instead`},
		{`{"name": "urunc/m", "files": {"./kernel": "/k"}, "cmd": ["m"], "rootfs": {"type": "block", "from": "./disk"},
  "annotations": {"unikernelType": "mirage", "hypervisor": "hvt", "binary": "/k"}}`, ""},
	} {
		dir := writeFiles(t, map[string]string{"kernel": "k", "disk": "raw bytes, no file system", "args.json": tc.args})
		out := filepath.Join(dir, "image.tar")
		file := filepath.Join(dir, "args.json")
		code, _, stderr := cli(t, nil, "build", "-f", file, "-o", out)
		want := strings.Replace(tc.want, "%s", file, 1)
		if code != 0 || !strings.Contains(stderr, want) || want == "" && strings.Contains(stderr, "warning") {
			t.Errorf("%s: exit %d, stderr %q; want exit 0 and %q", tc.args, code, stderr, want)
		}
		if _, err := os.Stat(out); err != nil {
			t.Errorf("%s: %v", tc.args, err)
		}
	}
}

// TestProcessScaffold: the env of bunix init and the ENV, ENTRYPOINT and CMD
// that bunix convert carries over reach the config of the image built from
// the args.nix they write.
func TestProcessScaffold(t *testing.T) {
	testenv.Require(t, "nix-instantiate")
	dir := writeFiles(t, map[string]string{
		"kernel": "k",
		"Containerfile": `FROM scratch
COPY kernel /unikernel/kernel
LABEL com.urunc.unikernel.unikernelType=unikraft com.urunc.unikernel.hypervisor=qemu com.urunc.unikernel.binary=/unikernel/kernel
ENV PORT=80 MSG="hi there"
ENTRYPOINT ["/app"]
CMD ["-v"]
`,
	})
	init := filepath.Join(dir, "init")
	os.Mkdir(init, 0o755)
	os.WriteFile(filepath.Join(init, "kernel"), []byte("k"), 0o644)
	if code, _, stderr := cli(t, nil, "init", "--dir", init, "--type", "unikraft", "--hypervisor", "qemu", "--binary", "kernel",
		"--cmdline", "/app -v", "--env", "PORT=80", "--env", "MSG=hi there"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	if code, _, stderr := cli(t, nil, "convert", filepath.Join(dir, "Containerfile"), "-o", filepath.Join(dir, "args.nix")); code != 0 {
		t.Fatalf("convert: exit %d: %s", code, stderr)
	}
	for _, tc := range []struct {
		file            string
		entrypoint, cmd []string
	}{
		{filepath.Join(init, "args.nix"), nil, []string{"/app", "-v"}},
		{filepath.Join(dir, "args.nix"), []string{"/app"}, []string{"-v"}},
	} {
		out := filepath.Join(t.TempDir(), "image.tar")
		if code, _, stderr := cli(t, nil, "build", "-f", tc.file, "-o", out); code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.file, code, stderr)
		}
		c := imageConfig(t, out)
		if !reflect.DeepEqual(c.Env, []string{"MSG=hi there", "PORT=80"}) || !reflect.DeepEqual(c.Entrypoint, tc.entrypoint) ||
			!reflect.DeepEqual(c.Cmd, tc.cmd) || c.Labels["com.urunc.unikernel.cmdline"] != "/app -v" {
			t.Errorf("%s: config %+v", tc.file, c)
		}
	}
}
