package nix_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/urunc"
)

// processWant is what examples/process/args.nix puts in the image config.
var processWant = v1.Config{
	Env:        []string{"LANG=C.UTF-8", "NGINX_PORT=8080"},
	Entrypoint: []string{"nginx"},
	Cmd:        []string{"-c", "/conf/nginx.conf"},
}

// checkProcess compares the Env, Entrypoint, Cmd and derived cmdline
// label of cfg with examples/process's.
func checkProcess(t *testing.T, what string, cfg v1.Config) {
	t.Helper()
	if !reflect.DeepEqual(cfg.Env, processWant.Env) || !reflect.DeepEqual(cfg.Entrypoint, processWant.Entrypoint) || !reflect.DeepEqual(cfg.Cmd, processWant.Cmd) {
		t.Errorf("%s: Env %q Entrypoint %q Cmd %q, want %q %q %q", what, cfg.Env, cfg.Entrypoint, cfg.Cmd, processWant.Env, processWant.Entrypoint, processWant.Cmd)
	}
	if got := cfg.Labels[urunc.Prefix+"cmdline"]; got != "nginx -c /conf/nginx.conf" {
		t.Errorf("%s: cmdline label = %q, want the one derived from entrypoint and cmd", what, got)
	}
}

// TestProcessExample builds examples/process (env, entrypoint, cmd) with
// nix-build and with the CLI in every format: the same bytes from both
// front ends, and Env, Entrypoint and Cmd in the config of each, as Docker
// Engine sees them after docker load.
func TestProcessExample(t *testing.T) {
	root := testenv.ModuleRoot(t)
	argsFile := filepath.Join(root, "examples/process/args.nix")
	out := nixBuild(t, "--arg", "args", argsFile)
	dir := t.TempDir()
	cli := filepath.Join(dir, "image.tar")
	bunixCLI(t, root, nil, "build", "-f", argsFile, "-o", cli)
	if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, cli)) {
		t.Fatalf("nix-build (%s) and bunix build (%s) differ", out, cli)
	}
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkProcess(t, "docker-archive", configOf(t, img))

	ociDir := filepath.Join(dir, "oci")
	bunixCLI(t, root, nil, "build", "-f", argsFile, "--format", "oci", "-o", ociDir)
	checkProcess(t, "oci", configOf(t, layoutImage(t, ociDir)))
	ociTar := filepath.Join(dir, "image-oci.tar")
	bunixCLI(t, root, nil, "build", "-f", argsFile, "--format", "oci-archive", "-o", ociTar)
	unpacked := filepath.Join(dir, "unpacked")
	if b, err := exec.Command("sh", "-c", `mkdir "$1" && tar -xf "$2" -C "$1"`, "sh", unpacked, ociTar).CombinedOutput(); err != nil {
		t.Fatalf("unpacking the oci-archive: %v\n%s", err, b)
	}
	checkProcess(t, "oci-archive", configOf(t, layoutImage(t, unpacked)))

	cfg, _ := docker.Get(t).Load(t, out, "bunix/process:latest")
	checkProcess(t, "docker image inspect", cfg)
}

func configOf(t *testing.T, img v1.Image) v1.Config {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.Config
}

// layoutImage is the one image of the OCI layout at dir.
func layoutImage(t *testing.T, dir string) v1.Image {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("index of %s: %v %v", dir, m, err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestSymlinkSource: a files or rootfs source that is a symbolic link
// (kernel -> ../build/kernel) is refused by nix-build and by bunix build
// alike, each saying it is a symlink and what to write instead, rather than
// nix-build storing a dangling link and failing with "does not exist".
func TestSymlinkSource(t *testing.T) {
	root := testenv.ModuleRoot(t)
	dir := t.TempDir()
	proj := filepath.Join(dir, "proj")
	for _, d := range []string{"build", "proj"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "build", "kernel"), []byte("k\x00ernel"), 0o755)
	os.WriteFile(filepath.Join(proj, "conf"), []byte("c"), 0o644)
	os.Symlink("../build/kernel", filepath.Join(proj, "kernel"))
	os.Symlink("conf", filepath.Join(proj, "conf-link"))
	for _, tc := range []struct{ args, nixWant, cliWant string }{
		{`{ name = "x"; files = { "./kernel" = "/k"; }; cmd = [ "k" ];
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/k"; }; }`,
			`files."./kernel": source ` + proj + `/kernel is a symbolic link: Nix would store the link, not the file it names`,
			`files."./kernel" = "./kernel": source is a symbolic link (to "../build/kernel"): nix-build would store the link, not the file it names, so bunix refuses it with either front end; write "` + dir + `/build/kernel" instead`},
		{`{ name = "x"; files = { "/` + dir[1:] + `/build/kernel" = "/k"; }; cmd = [ "k" ]; rootfs = { type = "initrd"; include = { "./conf-link" = "/c"; }; };
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/k"; }; }`,
			`rootfs.include."./conf-link": source ` + proj + `/conf-link is a symbolic link`,
			`rootfs.include."./conf-link" = "./conf-link": source is a symbolic link (to "conf"): nix-build would store the link, not the file it names, so bunix refuses it with either front end; write "./conf" instead`},
	} {
		p := filepath.Join(proj, "args.nix")
		os.WriteFile(p, []byte(tc.args), 0o644)
		out, stderr, err := testenv.NixBuild(t, root, filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t), "--arg", "args", p)
		if err == nil || !strings.Contains(stderr, tc.nixWant) {
			t.Errorf("nix-build %s: built %q, stderr lacks %q:\n%s", tc.args, out, tc.nixWant, stderr)
		}
		cmd := exec.Command(filepath.Join(testenv.Bunix(t), "bin", "bunix"), "build", "-f", p, "-o", filepath.Join(dir, "i.tar"))
		b, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(b), tc.cliWant) {
			t.Errorf("bunix build %s: %v, output lacks %q:\n%s", tc.args, err, tc.cliWant, b)
		}
	}
}

// TestBootProcess boots a Linux guest from an image whose Env, Entrypoint
// and Cmd bunix set, with the kernel command line built from the image
// config the way urunc builds it for a Linux guest: init= the first
// process arg, the environment as NAME=value words (which the kernel hands
// init as its environment), then "--" and the other args (init's argv).
// The guest's init prints what it received.
func TestBootProcess(t *testing.T) {
	qemu := testenv.Require(t, "qemu-system-x86_64")
	kernel := testenv.LinuxKernel(t)
	dir := t.TempDir()
	if err := os.Rename(testenv.StaticBinary(t, "./nix/testdata/init", "init"), filepath.Join(dir, "init")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "args.nix"), []byte(`{
  name = "bunix/linux-process";
  files = { "`+kernel+`" = "/unikernel/vmlinuz"; };
  rootfs = { type = "initrd"; include = { "./init" = "/init"; }; };
  env = { BUNIX_GREETING = "hello"; BUNIX_MODE = "boot-test"; };
  entrypoint = [ "/init" ];
  cmd = [ "first" "second" ];
  annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/unikernel/vmlinuz"; };
}`), 0o644)
	image := nixBuild(t, "--arg", "args", filepath.Join(dir, "args.nix"))
	img, err := tarball.ImageFromPath(image, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := configOf(t, img)
	args := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	if len(args) == 0 {
		t.Fatalf("the image has no process args: %+v", cfg)
	}
	cmdline := append([]string{"init=" + args[0]}, cfg.Env...)
	cmdline = append(cmdline, "--")
	cmdline = append(cmdline, args[1:]...)
	r := inspect(t, image)
	files := extract(t, image, r.Urunc["binary"], r.Urunc["initrd"])
	console := boot(t, qemu, filepath.Join(files, "vmlinuz"), filepath.Join(files, filepath.Base(r.Urunc["initrd"])), cmdline...)
	for _, want := range []string{"BUNIX-INITRD-BOOTED", `argv: ["/init" "first" "second"]`, "env: BUNIX_GREETING=hello", "env: BUNIX_MODE=boot-test"} {
		if !strings.Contains(console, want) {
			t.Errorf("the console lacks %q (kernel command line %q):\n%s", want, cmdline, console)
		}
	}
}
