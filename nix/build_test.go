package nix_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/urunc"
)

var docker testenv.SharedDockerd

func TestMain(m *testing.M) {
	code := m.Run()
	docker.Stop()
	os.Exit(code)
}

// bunixCLI runs the bunix CLI with extra environment and returns stdout.
// Given an args.nix, bunix evaluates it with nix-instantiate, which needs a
// Nix store to copy its paths to: the test skips without one (see
// testenv.Require).
func bunixCLI(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	for _, a := range args {
		if strings.HasSuffix(a, ".nix") {
			testenv.Require(t, "nix-instantiate")
		}
	}
	cmd := exec.Command(filepath.Join(testenv.Bunix(t), "bin", "bunix"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bunix %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// nixBuild builds default.nix in the repository with the test's bunix and
// extra arguments, and returns the image's store path.
func nixBuild(t *testing.T, extra ...string) string {
	t.Helper()
	root := testenv.ModuleRoot(t)
	args := append([]string{filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t)}, extra...)
	out, _, err := testenv.NixBuild(t, root, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDefaultImage builds the README's headline: default.nix on the default
// args.nix, in the sandbox, with no nixpkgs. The CLI must give the same
// bytes, and `nix-build --check` must find the build deterministic.
func TestDefaultImage(t *testing.T) {
	root := testenv.ModuleRoot(t)
	out := nixBuild(t)
	if !strings.HasSuffix(out, "-bunix-hello-latest.tar") {
		t.Errorf("store path %s", out)
	}
	cli := filepath.Join(t.TempDir(), "image.tar")
	bunixCLI(t, root, nil, "build", "-f", "args.nix", "-o", cli)
	if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, cli)) {
		t.Fatalf("nix-build (%s) and bunix build (%s) differ", out, cli)
	}
	if _, stderr, err := testenv.NixBuild(t, root, filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t), "--check"); err != nil {
		t.Fatalf("nix-build --check: %v\n%s", err, stderr)
	}
}

// TestReproducibleAcrossMachines copies the default image's sources to
// another directory in reverse order, under another umask, with other
// mtimes, and builds there with another TZ and locale: same bytes.
func TestReproducibleAcrossMachines(t *testing.T) {
	root := testenv.ModuleRoot(t)
	first := filepath.Join(t.TempDir(), "a.tar")
	bunixCLI(t, root, []string{"TZ=UTC", "LC_ALL=C"}, "build", "-f", "args.nix", "-o", first)

	other := t.TempDir()
	script := fmt.Sprintf(`set -e; umask 077; cd %q
mkdir -p examples/hello
cp %q examples/hello/kernel
cp %q examples/hello/hello.conf
cp %q args.nix
touch -d '2031-05-06 07:08:09' examples/hello/kernel examples/hello examples
`, other, filepath.Join(root, "examples/hello/kernel"), filepath.Join(root, "examples/hello/hello.conf"), filepath.Join(root, "args.nix"))
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	second := filepath.Join(other, "b.tar")
	bunixCLI(t, other, []string{"TZ=Asia/Kathmandu", "LC_ALL=C.UTF-8", "LANG=de_DE.UTF-8"}, "build", "-f", "args.nix", "-o", second)
	if !bytes.Equal(testenv.ReadFile(t, first), testenv.ReadFile(t, second)) {
		t.Fatal("the same args and files built elsewhere give different bytes")
	}
	// And Nix agrees when the args file lives elsewhere.
	if out := nixBuild(t, "--arg", "args", filepath.Join(other, "args.nix")); !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, first)) {
		t.Fatal("nix-build of the copied args differs")
	}
}

// TestContentsExample builds examples/contents/args.nix through --arg args.
func TestContentsExample(t *testing.T) {
	root := testenv.ModuleRoot(t)
	out := nixBuild(t, "--arg", "args", filepath.Join(root, "examples/contents/args.nix"))
	r := inspect(t, out)
	if len(r.Layers) < 2 || r.Urunc["binary"] == "" {
		t.Errorf("inspect: %+v", r)
	}
}

type report struct {
	RepoTags     []string
	Architecture string
	Cmd          []string
	Labels       map[string]string
	Urunc        map[string]string
	Layers       []struct{ Files []struct{ Path string } }
}

func inspect(t *testing.T, tar string) report {
	t.Helper()
	var r report
	if err := json.Unmarshal([]byte(bunixCLI(t, "", nil, "inspect", "--json", tar)), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestNixErrors: bad input, rootfs included, fails the build with a message
// that names the field and the value, and leaves no output.
func TestNixErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	for _, tc := range []struct{ args, want string }{
		{`{ name = "x"; files = { "./missing" = "/k"; }; annotations = {}; }`,
			`bunix.buildImage x: files."./missing": source ` + dir + `/missing does not exist`},
		{`{ name = "x"; files = { "./kernel" = "/k"; }; annotations = { unikernelType = "unikraft"; hypervisor = "qemu2"; binary = "/k"; }; }`,
			`bunix: args.nix:1:91: annotations.hypervisor = "qemu2": unknown hypervisor; did you mean "qemu"?`},
		{`{ name = "x"; files = { "./kernel" = "/k"; }; annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/kernel"; }; }`,
			`bunix: args.nix:1:112: annotations.binary = "/kernel": no file in the image is at this path (the image holds: /k)`},
		{`{ name = "x"; files = { "./kernel" = "/k"; }; annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; }; }`,
			`bunix: args.nix:1:47: annotations.binary: missing: urunc needs binary`},
		{`{ name = "x"; files = { "./kernel" = "/k" }; }`, `syntax error`},
		{rootfsArgs("unikraft", "qemu", `{ type = "initrd"; include = { "./missing" = "/m"; }; }`),
			`bunix.buildImage x: rootfs.include."./missing": source ` + dir + `/missing does not exist`},
		{rootfsArgs("unikraft", "qemu", `{ type = "block"; include = { "./kernel" = "/c"; }; }`),
			`rootfs.type = "block": a unikraft guest cannot use a block rootfs (urunc gives unikraft only initrd, raw)`},
		{rootfsArgs("rumprun", "hvt", `{ type = "block"; include = { "./kernel" = "/c"; }; size = "4K"; }`),
			`rootfs.size = 4096: too small for the content: the ext2 image needs at least`},
		{rootfsArgs("rumprun", "hvt", `{ type = "block"; include = { "./kernel" = "/c"; }; fsType = "ext4"; }`),
			`rootfs.fsType = "ext4": a rumprun guest cannot mount ext4 (it mounts ext2)`},
		{rootfsArgs("linux", "qemu", `{ type = "initrd"; from = ./kernel; include = { "./kernel" = "/c"; }; }`),
			`rootfs.from = "/nix/store/`},
		// rootfs fields have their own positions in the spec.
		{"{ name = \"x\"; files = { \"./kernel\" = \"/k\"; };\n  annotations = { unikernelType = \"rumprun\"; hypervisor = \"hvt\"; binary = \"/k\"; };\n" +
			"  rootfs = {\n    type = \"block\";\n    include = { \"./kernel\" = \"/c\"; };\n    fsType = \"ext4\";\n  };\n}",
			`bunix: args.nix:6:5: rootfs.fsType = "ext4": a rumprun guest cannot mount ext4`},
		{rootfsArgs("linux", "qemu", `{ type = "initrd"; from = ./kernel; }`),
			`is neither a cpio archive (magic 070701), a gzip-compressed one, nor an ext2/3/4 image`},
	} {
		p := filepath.Join(dir, "args.nix")
		os.WriteFile(p, []byte(tc.args), 0o644)
		root := testenv.ModuleRoot(t)
		out, stderr, err := testenv.NixBuild(t, root, filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t), "--arg", "args", p)
		if err == nil {
			t.Errorf("%s: built %s", tc.args, out)
			continue
		}
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: stderr lacks %q:\n%s", tc.args, tc.want, stderr)
		}
	}
}

// TestNixAllErrors: five mistakes in one args.nix, one of them a value of
// the wrong type, are all reported by one nix-build, each with its line.
func TestNixAllErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	p := filepath.Join(dir, "args.nix")
	os.WriteFile(p, []byte(`{
  name = "x";
  tag = 5;
  format = "tar";
  files = { "./kernel" = "/k"; };
  env = { "1A" = "b"; };
  cmd = [ 1 ];
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu2"; binary = "/k"; };
}
`), 0o644)
	root := testenv.ModuleRoot(t)
	out, stderr, err := testenv.NixBuild(t, root, filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t), "--arg", "args", p)
	if err == nil {
		t.Fatalf("built %s", out)
	}
	for _, want := range []string{
		`args.nix:3:3: tag = 5: must be a string`,
		`args.nix:4:3: format = "tar": unknown format`,
		`args.nix:6:11: env.1A = "b": "1A" is not a variable name`,
		`args.nix:7:3: cmd[0] = 1: must be a string`,
		`args.nix:8:47: annotations.hypervisor = "qemu2": unknown hypervisor`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// rootfsArgs is an args.nix for guest on monitor with rootfs.
func rootfsArgs(guest, monitor, rootfs string) string {
	return `{ name = "x"; files = { "./kernel" = "/k"; }; rootfs = ` + rootfs + `;
  annotations = { unikernelType = "` + guest + `"; hypervisor = "` + monitor + `"; binary = "/k"; }; }`
}

// TestDockerLoad loads the nix-built image into a private Docker Engine and
// reads /urunc.json and the kernel back out of a container made from it.
func TestDockerLoad(t *testing.T) {
	root := testenv.ModuleRoot(t)
	out := nixBuild(t)
	d := docker.Get(t)
	cfg, platform := d.Load(t, out, "bunix/hello:latest")
	if platform != "linux/amd64" || strings.Join(cfg.Cmd, " ") != "hello /conf/hello.conf" ||
		cfg.Labels["com.urunc.unikernel.unikernelType"] != "unikraft" || cfg.Labels["com.urunc.unikernel.mountRootfs"] != "false" {
		t.Errorf("docker sees %s %+v", platform, cfg)
	}
	dst := d.CopyOut(t, "bunix/hello:latest", "/urunc.json", "/unikernel/kernel")
	settings, err := urunc.DecodeJSON(testenv.ReadFile(t, filepath.Join(dst, "urunc.json")))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"unikernelType": "unikraft", "hypervisor": "qemu", "binary": "/unikernel/kernel",
		"cmdline": "hello /conf/hello.conf", "unikernelVersion": "0.17.0", "useDMBlock": "false", "mountRootfs": "false"}
	if fmt.Sprint(settings) != fmt.Sprint(want) {
		t.Errorf("urunc.json in the container = %v, want %v", settings, want)
	}
	if !bytes.Equal(testenv.ReadFile(t, filepath.Join(dst, "kernel")), testenv.ReadFile(t, filepath.Join(root, "examples/hello/kernel"))) {
		t.Error("the kernel in the container differs from examples/hello/kernel")
	}
}

// TestSkopeo reads the image with containers/image, a second independent
// reader of the docker-archive format.
func TestSkopeo(t *testing.T) {
	out := nixBuild(t)
	skopeo := testenv.Require(t, "skopeo")
	raw, err := exec.Command(skopeo, "inspect", "docker-archive:"+out).Output()
	if err != nil {
		t.Fatalf("skopeo inspect: %v", err)
	}
	var r struct {
		Architecture, Os string
		Labels           map[string]string
		Layers           []string
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.Architecture != "amd64" || r.Os != "linux" || len(r.Layers) != 3 || r.Labels["com.urunc.unikernel.binary"] != "/unikernel/kernel" {
		t.Errorf("skopeo sees %s", raw)
	}
}

// TestUnreadableSource: a source the building user cannot read is reported
// before anything is written. Root reads everything, so as root the CLI
// runs as nobody (setpriv, from util-linux).
func TestUnreadableSource(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755) // t.TempDir makes both levels 0700
	os.Chmod(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o600)
	os.WriteFile(filepath.Join(dir, "args.json"), []byte(`{"name":"x","files":{"./kernel":"/k"},
		"annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"/k"}}`), 0o644)
	bin := filepath.Join(testenv.Bunix(t), "bin", "bunix")
	argv := []string{bin, "validate", filepath.Join(dir, "args.json")}
	if os.Geteuid() == 0 {
		argv = append([]string{testenv.Require(t, "setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups"}, argv...)
	} else {
		os.Chmod(filepath.Join(dir, "kernel"), 0)
	}
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	want := `args.json:1:22: files."./kernel" = "` + dir + `/kernel": cannot be read: ` + dir + `/kernel: permission denied`
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("got %v:\n%s\nwant %q", err, out, want)
	}
}

// TestFlake evaluates the flake offline (its lib needs no nixpkgs) and
// builds the default image through lib.buildImage: the bytes match
// default.nix's.
func TestFlake(t *testing.T) {
	root := testenv.ModuleRoot(t)
	nixCmd := testenv.Require(t, "nix")
	features := []string{"--extra-experimental-features", "nix-command flakes"}
	var stderrBuf bytes.Buffer
	eval := exec.Command(nixCmd, append(features, "eval", "--json", root+"#lib", "--apply", "builtins.attrNames")...)
	eval.Stderr = &stderrBuf
	out, err := eval.Output()
	if err != nil || strings.TrimSpace(string(out)) != `["buildImage","buildImageIndex","pullImage","pushScript","streamImage"]` {
		t.Fatalf("nix eval .#lib: %v: %s\n%s", err, out, stderrBuf.String())
	}
	ref := "path:" + root
	if _, err := os.Stat(filepath.Join(root, ".git")); err == nil {
		ref = "git+file://" + root
	}
	expr := fmt.Sprintf(`let flake = builtins.getFlake %q; args = import %s/args.nix; in
flake.lib.buildImage (args // { root = %s; bunix = %s; })`, ref, root, root, testenv.Bunix(t))
	for attr, want := range map[string]string{"templates.default": `["description","path"]`, "overlays": `["default"]`, "apps": `["aarch64-linux","x86_64-linux"]`} {
		eval := exec.Command(nixCmd, append(features, "eval", "--json", ref+"#"+attr, "--apply", "builtins.attrNames")...)
		if out, err := eval.Output(); err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("nix eval %s: %v: %s, want %s", attr, err, out, want)
		}
	}
	tmpl := t.TempDir()
	initCmd := exec.Command(nixCmd, append(features, "flake", "init", "-t", ref)...)
	initCmd.Dir = tmpl
	if out, err := initCmd.CombinedOutput(); err != nil {
		t.Fatalf("nix flake init -t: %v\n%s", err, out)
	}
	if got := string(testenv.ReadFile(t, filepath.Join(tmpl, "flake.nix"))); !strings.Contains(got, "bunix.lib.buildImage") {
		t.Errorf("the template's flake.nix:\n%s", got)
	}
	testenv.ReadFile(t, filepath.Join(tmpl, "args.nix"))

	viaFlake, stderr, err := testenv.NixBuild(t, root, append(features, "--expr", expr)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !bytes.Equal(testenv.ReadFile(t, viaFlake), testenv.ReadFile(t, nixBuild(t))) {
		t.Errorf("the flake's lib.buildImage (%s) and default.nix build different bytes", viaFlake)
	}
}

// TestPushScript builds lib.pushScript for the default image and runs it
// against a registry on loopback: the registry then serves the image with
// its urunc labels.
func TestPushScript(t *testing.T) {
	root := testenv.ModuleRoot(t)
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer s.Close()
	ref := strings.TrimPrefix(s.URL, "http://") + "/urunc/hello:pushed"
	expr := fmt.Sprintf(`let lib = import %s/nix/lib.nix; in lib.pushScript {
  image = import %s/default.nix { bunix = %s; }; ref = %q; insecure = true; bunix = %s; }`, root, root, testenv.Bunix(t), ref, testenv.Bunix(t))
	script, stderr, err := testenv.NixBuild(t, root, "--expr", expr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out, err := exec.Command(script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	if !strings.Contains(string(out), d.String()) || cfg.Config.Labels["com.urunc.unikernel.binary"] != "/unikernel/kernel" {
		t.Errorf("pushed %s; the registry serves %s with labels %v", out, d, cfg.Config.Labels)
	}
}
