package nix_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
)

// pushBase starts a registry on loopback and pushes testenv.BaseImage to
// it as unikraft/nginx:1.15, an index whose only platform is qemu/amd64. It
// returns the reference and the base's first layer digest.
func pushBase(t *testing.T) (ref, layer0 string) {
	t.Helper()
	reg := testenv.Registry(t)
	// A new image each run: the fixed-output derivation really pulls.
	idx, img := testenv.BaseImage(t, compression.GZip, strconv.FormatInt(time.Now().UnixNano(), 10))
	ref = reg.PushIndex(t, "unikraft/nginx:1.15", idx)
	m, _ := img.Manifest()
	return ref, m.Layers[0].Digest.String()
}

var prefetchOut = regexp.MustCompile(`^\{\n  ref = "([^"]+)";\n  digest = "(sha256:[0-9a-f]{64})";\n  hash = "(sha256-[A-Za-z0-9+/]{43}=)";\n\}\n$`)

// TestBaseFromRegistry: bunix prefetch pins the base; lib.pullImage pulls
// it in a sandboxed nix-build (a fixed-output derivation reaches the
// loopback registry); the image on it is byte for byte what bunix build
// gives, nix-build --check agrees, and docker load takes it: base layers
// first and unchanged, Env and Labels inherited, os linux.
func TestBaseFromRegistry(t *testing.T) {
	ref, layer0 := pushBase(t)
	dir := t.TempDir()
	pre := bunixCLI(t, dir, nil, "prefetch", ref)
	m := prefetchOut.FindStringSubmatch(pre)
	if m == nil {
		t.Fatalf("bunix prefetch printed %q", pre)
	}
	os.WriteFile(filepath.Join(dir, "extra.conf"), []byte("extra\n"), 0o644)
	argsNix := fmt.Sprintf(`{
  name = "urunc/nginx";
  tag = "on-base";
  from = %s;
  files = { "./extra.conf" = "/etc/extra.conf"; };
  annotations = { cmdline = "-c /etc/extra.conf"; };
}
`, strings.TrimSpace(pre))
	os.WriteFile(filepath.Join(dir, "args.nix"), []byte(argsNix), 0o644)

	out := nixBuild(t, "--arg", "args", filepath.Join(dir, "args.nix"))
	cli := filepath.Join(t.TempDir(), "cli.tar")
	bunixCLI(t, dir, nil, "build", "-f", "args.nix", "-o", cli)
	if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, cli)) {
		t.Fatalf("nix-build (%s) and bunix build (%s) differ", out, cli)
	}
	root := testenv.ModuleRoot(t)
	if _, stderr, err := testenv.NixBuild(t, root, filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t), "--arg", "args", filepath.Join(dir, "args.nix"), "--check"); err != nil {
		t.Fatalf("nix-build --check: %v\n%s", err, stderr)
	}

	f, err := image.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := f.Images[0].Layers()
	d0, _ := layers[0].Digest()
	f.Close()
	if d0.String() != layer0 || len(layers) != 4 {
		t.Errorf("layer 0 is %s of %d, the base's is %s", d0, len(layers), layer0)
	}

	d := docker.Get(t)
	cfg, platform := d.Load(t, out, "urunc/nginx:on-base")
	if !strings.HasPrefix(platform, "linux/") || !slices.Equal(cfg.Env, []string{"PATH=/bin", "BASE=1"}) ||
		cfg.Labels["org.opencontainers.image.vendor"] != "the base" || cfg.Labels["com.urunc.unikernel.binary"] != "/unikraft/bin/kernel" ||
		!slices.Equal(cfg.Cmd, []string{"-c", "/etc/extra.conf"}) {
		t.Errorf("docker sees %s %+v", platform, cfg)
	}
	dst := d.CopyOut(t, "urunc/nginx:on-base", "/unikraft/bin/kernel")
	if string(testenv.ReadFile(t, filepath.Join(dst, "kernel"))) != testenv.BaseKernel {
		t.Error("the base's kernel is not in the container")
	}
}

// TestPullImageErrors: a wrong hash fails with Nix's message showing the
// right one; a digest the registry does not have, and an unpinned tag in
// bunix build, fail naming them; nothing is built.
func TestPullImageErrors(t *testing.T) {
	ref, _ := pushBase(t)
	dir := t.TempDir()
	m := prefetchOut.FindStringSubmatch(bunixCLI(t, dir, nil, "prefetch", ref))
	if m == nil {
		t.Fatal("bunix prefetch printed no attribute set")
	}
	root := testenv.ModuleRoot(t)
	pull := func(digest, hash string) (string, error) {
		expr := fmt.Sprintf(`(import %s/nix/lib.nix).pullImage { ref = %q; digest = %q; hash = %q; bunix = %s; }`, root, ref, digest, hash, testenv.Bunix(t))
		_, stderr, err := testenv.NixBuild(t, root, "--expr", expr)
		return stderr, err
	}
	wrong := "sha256-" + strings.Repeat("A", 43) + "="
	stderr, err := pull(m[2], wrong)
	if err == nil || !strings.Contains(stderr, "hash mismatch") || !strings.Contains(stderr, m[3]) {
		t.Errorf("wrong hash: %v\n%s", err, stderr)
	}
	missing := "sha256:" + strings.Repeat("0", 64)
	stderr, err = pull(missing, m[3])
	if err == nil || !strings.Contains(stderr, missing) {
		t.Errorf("missing digest: %v\n%s", err, stderr)
	}
	if _, stderr, err := testenv.NixInstantiate(t, root, "--eval", "--expr", fmt.Sprintf(`(import %s/nix/lib.nix).pullImage { ref = %q; digest = "sha256:abc"; hash = %q; bunix = %s; }`, root, ref, m[3], testenv.Bunix(t))); err == nil || !strings.Contains(stderr, `digest = "sha256:abc"`) {
		t.Errorf("bad digest: %v\n%s", err, stderr)
	}

	os.WriteFile(filepath.Join(dir, "args.json"), []byte(`{"name":"x","from":"`+ref+`"}`), 0o644)
	cmd := exec.Command(filepath.Join(testenv.Bunix(t), "bin", "bunix"), "build", "-f", "args.json", "-o", "out.tar")
	cmd.Dir = dir
	got, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(got), "resolves to "+m[2]) {
		t.Errorf("unpinned tag: exit %d %v\n%s", code, err, got)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.tar")); err == nil {
		t.Error("out.tar was written")
	}
}

// punReadme is the Containerfile of pun's README, with the loopback
// registry in place of unikraft.org.
const punReadme = `FROM %s

LABEL com.urunc.unikernel.binary=/unikraft/bin/kernel
LABEL "com.urunc.unikernel.cmdline"="nginx -c /nginx/conf/nginx.conf"
LABEL "com.urunc.unikernel.unikernelType"="unikraft"
LABEL "com.urunc.unikernel.hypervisor"="qemu"
`

// TestConvertFromImage: bunix convert of pun's README Containerfile pins
// its FROM image (saying so) into an args.nix that bunix build and
// nix-build both build, to the same bytes, on the base.
func TestConvertFromImage(t *testing.T) {
	ref, layer0 := pushBase(t)
	ctx := t.TempDir()
	src := filepath.Join(ctx, "Containerfile")
	os.WriteFile(src, []byte(fmt.Sprintf(punReadme, ref)), 0o644)
	out := filepath.Join(ctx, "args.nix")
	cmd := exec.Command(filepath.Join(testenv.Bunix(t), "bin", "bunix"), "convert", src, "-o", out, "--name", "urunc/nginx", "--tag", "pun")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("convert: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "pinned "+ref+" to sha256:") {
		t.Errorf("convert did not say it pinned the base image: %s", stderr.String())
	}
	argsNix := string(testenv.ReadFile(t, out))
	if !strings.Contains(argsNix, `ref = "`+ref+`";`) || !strings.Contains(argsNix, "hash = \"sha256-") {
		t.Fatalf("args.nix:\n%s", argsNix)
	}
	img := filepath.Join(t.TempDir(), "image.tar")
	bunixCLI(t, ctx, nil, "build", "-f", out, "-o", img)
	if viaNix := nixBuild(t, "--arg", "args", out); !bytes.Equal(testenv.ReadFile(t, viaNix), testenv.ReadFile(t, img)) {
		t.Error("nix-build of the converted args.nix differs from bunix build")
	}
	r := inspect(t, img)
	if r.Urunc["cmdline"] != "nginx -c /nginx/conf/nginx.conf" || r.Urunc["binary"] != "/unikraft/bin/kernel" || r.Labels["org.opencontainers.image.vendor"] != "the base" {
		t.Errorf("inspect: %+v", r)
	}
	f, err := image.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	layers, _ := f.Images[0].Layers()
	if d, _ := layers[0].Digest(); d.String() != layer0 {
		t.Errorf("layer 0 is %s, the base's is %s", d, layer0)
	}
}

// TestConvertKeepsBaseEntrypoint: a Containerfile on a base whose
// ENTRYPOINT is the kernel, setting only CMD, converts to an args.nix that
// says the base's entrypoint (with a comment saying why), so the image
// runs what docker build would give it: the base's ENTRYPOINT with the
// Containerfile's CMD. Setting ENTRYPOINT too keeps the Containerfile's.
func TestConvertKeepsBaseEntrypoint(t *testing.T) {
	ref, _ := pushBase(t)
	for _, tc := range []struct {
		lines           string
		entrypoint, cmd []string
	}{
		{`CMD ["-c", "/etc/other.conf"]`, []string{"/unikraft/bin/kernel"}, []string{"-c", "/etc/other.conf"}},
		{"ENTRYPOINT [\"/unikraft/bin/other\"]\nCMD [\"-v\"]", []string{"/unikraft/bin/other"}, []string{"-v"}},
	} {
		ctx := t.TempDir()
		src := filepath.Join(ctx, "Containerfile")
		os.WriteFile(src, []byte("FROM "+ref+"\n"+tc.lines+"\nLABEL com.urunc.unikernel.hypervisor=qemu\n"), 0o644)
		out := filepath.Join(ctx, "args.nix")
		bunixCLI(t, ctx, nil, "convert", src, "-o", out, "--name", "urunc/nginx", "--tag", "cmd")
		argsNix := string(testenv.ReadFile(t, out))
		if kept := strings.Contains(argsNix, "Docker keeps under the Containerfile's CMD"); kept != (tc.entrypoint[0] == "/unikraft/bin/kernel") {
			t.Errorf("%s: the comment on the base's entrypoint is there: %v\n%s", tc.lines, kept, argsNix)
		}
		img := filepath.Join(t.TempDir(), "image.tar")
		bunixCLI(t, ctx, nil, "build", out, "-o", img)
		f, err := image.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := f.Images[0].ConfigFile()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cfg.Config.Entrypoint, tc.entrypoint) || !slices.Equal(cfg.Config.Cmd, tc.cmd) {
			t.Errorf("%s: the image runs Entrypoint %q Cmd %q; docker build gives %q %q\n%s", tc.lines, cfg.Config.Entrypoint, cfg.Config.Cmd, tc.entrypoint, tc.cmd, argsNix)
		}
	}
}

// TestBaseFromLocalFile: from = ./base (an OCI layout directory) and
// from = ./base.tar (a docker-archive) enter the store as they are;
// nix-build and bunix build give the same bytes.
func TestBaseFromLocalFile(t *testing.T) {
	dir := t.TempDir()
	idx, img := testenv.BaseImage(t, compression.GZip, "")
	if _, err := layout.Write(filepath.Join(dir, "base"), idx); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("unikraft.org/nginx:1.15")
	if err := tarball.WriteToFile(filepath.Join(dir, "base.tar"), tag, img); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{"./base", "./base.tar"} {
		t.Run(from, func(t *testing.T) {
			args := filepath.Join(dir, "args-"+filepath.Base(from)+".nix")
			os.WriteFile(args, []byte(`{ name = "urunc/nginx"; tag = "local"; from = `+from+`; annotations = { unikernelVersion = "0.17.0"; }; }`), 0o644)
			out := nixBuild(t, "--arg", "args", args)
			cli := filepath.Join(t.TempDir(), "cli.tar")
			bunixCLI(t, dir, nil, "build", "-f", args, "-o", cli)
			if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, cli)) {
				t.Fatalf("nix-build (%s) and bunix build (%s) differ", out, cli)
			}
			if r := inspect(t, out); r.Urunc["unikernelVersion"] != "0.17.0" || r.Urunc["hypervisor"] != "qemu" || r.Urunc["binary"] != "/unikraft/bin/kernel" {
				t.Errorf("inspect: %+v", r)
			}
		})
	}
}

// TestBaseFromNixOCI: a base that nix-build wrote as format = "oci", whose
// blobs are links into the layer outputs, is read through those links: an
// image on it builds with nix-build and bunix build, to the same bytes.
func TestBaseFromNixOCI(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("a unikraft kernel"), 0o644)
	baseArgs := filepath.Join(dir, "base.nix")
	os.WriteFile(baseArgs, []byte(`{ name = "urunc/base"; tag = "1"; format = "oci"; files = { "./kernel" = "/unikernel/kernel"; };
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/unikernel/kernel"; cmdline = "kernel"; }; }`), 0o644)
	base := nixBuild(t, "--arg", "args", baseArgs)
	blobs, _ := filepath.Glob(filepath.Join(base, "blobs", "sha256", "*"))
	links := 0
	for _, b := range blobs {
		if fi, err := os.Lstat(b); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			links++
		}
	}
	if links == 0 {
		t.Fatalf("%s has no blob linked into the store: the case this test is for is gone", base)
	}
	args := filepath.Join(dir, "args.nix")
	os.WriteFile(args, []byte(`{ name = "urunc/on-base"; tag = "1"; from = builtins.storePath "`+base+`"; annotations = { hypervisor = "firecracker"; }; }`), 0o644)
	out := nixBuild(t, "--arg", "args", args)
	cliArgs := filepath.Join(dir, "cli.nix")
	os.WriteFile(cliArgs, []byte(`{ name = "urunc/on-base"; tag = "1"; from = "`+base+`"; annotations = { hypervisor = "firecracker"; }; }`), 0o644)
	cli := filepath.Join(t.TempDir(), "cli.tar")
	bunixCLI(t, dir, nil, "build", "-f", cliArgs, "-o", cli)
	if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, cli)) {
		t.Fatalf("nix-build (%s) and bunix build (%s) differ", out, cli)
	}
	if r := inspect(t, out); r.Urunc["hypervisor"] != "firecracker" || r.Urunc["binary"] != "/unikernel/kernel" {
		t.Errorf("inspect: %+v", r.Urunc)
	}
}
