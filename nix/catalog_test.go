package nix_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
)

// catalogPlatforms are the two images of the catalog index the tests push:
// one per monitor, each with its own kernel; only qemu's has an initrd.
var catalogPlatforms = []testenv.CatalogPlatform{
	{OS: "qemu", Kernel: "the unikraft kernel for qemu\n", Initrd: "the initrd for qemu\n"},
	{OS: "fc", Kernel: "the unikraft kernel for firecracker\n"},
}

// pushCatalog starts a registry on loopback and pushes a Unikraft catalog
// index to it, shaped as kraft pkg writes one (testenv.CatalogIndex), as
// unikraft.org/nginx:1.15. It returns the reference and the salt in the
// kernels.
func pushCatalog(t *testing.T) (ref, salt string) {
	t.Helper()
	reg := testenv.Registry(t)
	salt = strconv.FormatInt(time.Now().UnixNano(), 10)
	return reg.PushIndex(t, "unikraft.org/nginx:1.15", testenv.CatalogIndex(t, salt, catalogPlatforms...)), salt
}

// imageFiles returns the files at paths in the first image of the image
// file out, its layers stacked; a path it lacks is missing from the map.
func imageFiles(t *testing.T, out string, paths ...string) (map[string]string, *image.File) {
	t.Helper()
	f, err := image.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	got := map[string]string{}
	testenv.WalkImage(t, f.Images[0], func(p string, _ *tar.Header, r io.Reader) {
		if slices.Contains(paths, p) {
			b, _ := io.ReadAll(r)
			got[p] = string(b)
		}
	})
	return got, f
}

// TestCatalogImage: a Unikraft catalog index as kraft pkg pushes it (os
// qemu and fc, architecture x86_64, a different kernel in each) is a base
// for either monitor. bunix prefetch --hypervisor pins the image for it;
// with no binary, bunix takes /unikraft/bin/kernel (and qemu's initrd),
// saying so; the kernel of that monitor's image is the one in the image,
// from nix-build and bunix build byte for byte; the output is linux/amd64
// with the catalog's Cmd as the guest's argv, and docker loads it. Without
// --hypervisor prefetch cannot tell which image to hash, and says which
// there are.
func TestCatalogImage(t *testing.T) {
	ref, salt := pushCatalog(t)
	for _, tc := range []struct {
		monitor, os, kernel, initrd string
	}{
		{"qemu", "qemu", catalogPlatforms[0].Kernel + salt, catalogPlatforms[0].Initrd},
		{"firecracker", "fc", catalogPlatforms[1].Kernel + salt, ""},
	} {
		t.Run(tc.monitor, func(t *testing.T) {
			dir := t.TempDir()
			pre := bunixCLI(t, dir, nil, "prefetch", "--hypervisor", tc.monitor, ref)
			if !strings.HasPrefix(pre, "# the hash is that of the "+tc.os+"/x86_64 image") {
				t.Errorf("prefetch does not say which image it hashed:\n%s", pre)
			}
			var from []string
			for _, l := range strings.Split(pre, "\n") {
				if !strings.HasPrefix(l, "#") {
					from = append(from, l)
				}
			}
			if prefetchOut.FindStringSubmatch(strings.Join(from, "\n")) == nil {
				t.Fatalf("bunix prefetch printed %q", pre)
			}
			argsNix := fmt.Sprintf("{\n  name = \"urunc/nginx\";\n  tag = %q;\n  from = %s;\n  annotations = { unikernelType = \"unikraft\"; hypervisor = %q; };\n}\n",
				tc.monitor, strings.TrimSpace(strings.Join(from, "\n")), tc.monitor)
			os.WriteFile(filepath.Join(dir, "args.nix"), []byte(argsNix), 0o644)

			out := nixBuild(t, "--arg", "args", filepath.Join(dir, "args.nix"))
			cli := filepath.Join(t.TempDir(), "cli.tar")
			cmd := exec.Command(filepath.Join(testenv.Bunix(t), "bin", "bunix"), "build", "-f", "args.nix", "-o", cli)
			cmd.Dir = dir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("bunix build: %v\n%s", err, stderr.String())
			}
			note := "bunix uses the Unikraft catalog image's binary = /unikraft/bin/kernel"
			if tc.initrd != "" {
				note += " and initrd = /unikraft/bin/initrd"
			}
			if !strings.Contains(stderr.String(), note+", from the base") {
				t.Errorf("bunix build does not say which kernel it took (want %q):\n%s", note, stderr.String())
			}
			if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, cli)) {
				t.Fatalf("nix-build (%s) and bunix build (%s) differ", out, cli)
			}

			files, f := imageFiles(t, out, "/unikraft/bin/kernel", "/unikraft/bin/initrd", "/urunc.json")
			if files["/unikraft/bin/kernel"] != tc.kernel {
				t.Errorf("the kernel in the image is %q, want %q (the %s image's)", files["/unikraft/bin/kernel"], tc.kernel, tc.os)
			}
			if got, ok := files["/unikraft/bin/initrd"]; got != tc.initrd || ok != (tc.initrd != "") {
				t.Errorf("the initrd in the image is %q (%v), want %q", got, ok, tc.initrd)
			}
			cf, err := f.Images[0].ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.OS != "linux" || cf.Architecture != "amd64" || !slices.Equal(cf.Config.Cmd, testenv.CatalogCmd) || cf.Config.Entrypoint != nil {
				t.Errorf("config: %s/%s Entrypoint %q Cmd %q", cf.OS, cf.Architecture, cf.Config.Entrypoint, cf.Config.Cmd)
			}
			wantInitrd := ""
			if tc.initrd != "" {
				wantInitrd = "/unikraft/bin/initrd"
			}
			if l := cf.Config.Labels; l["com.urunc.unikernel.binary"] != "/unikraft/bin/kernel" || l["com.urunc.unikernel.initrd"] != wantInitrd || l["com.urunc.unikernel.hypervisor"] != tc.monitor {
				t.Errorf("labels: %v", l)
			}
			if _, ok := files["/urunc.json"]; !ok {
				t.Error("no /urunc.json")
			}
			if tc.monitor == "qemu" {
				d := docker.Get(t)
				cfg, platform := d.Load(t, out, "urunc/nginx:qemu")
				if platform != "linux/amd64" || !slices.Equal(cfg.Cmd, testenv.CatalogCmd) {
					t.Errorf("docker sees %s %+v", platform, cfg)
				}
			}
		})
	}
	cmd := exec.Command(filepath.Join(testenv.Bunix(t), "bin", "bunix"), "prefetch", ref)
	got, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(got), "qemu/x86_64, fc/x86_64") || !strings.Contains(string(got), "prefetch --hypervisor") {
		t.Errorf("prefetch without --hypervisor: exit %d\n%s", code, got)
	}
}

// TestInsecureMirror: a from with insecure = true reaches a plain-HTTP
// registry that go-containerregistry takes for a remote one (an
// IPv4-mapped address of the loopback registry) from lib.pullImage in the
// sandbox as from bunix build, to the same bytes; without it the pull
// fails saying the registry answered HTTP.
func TestInsecureMirror(t *testing.T) {
	reg := testenv.Registry(t)
	salt := strconv.FormatInt(time.Now().UnixNano(), 10)
	reg.PushIndex(t, "unikraft.org/nginx:1.15", testenv.CatalogIndex(t, salt, catalogPlatforms...))
	ref := "[::ffff:" + strings.Replace(reg.Addr, ":", "]:", 1) + "/unikraft.org/nginx:1.15"
	dir := t.TempDir()
	pre := bunixCLI(t, dir, nil, "prefetch", "--insecure", "--hypervisor", "qemu", ref)
	from := strings.TrimSpace(pre[strings.Index(pre, "{"):])
	insecure := filepath.Join(dir, "args.nix")
	os.WriteFile(insecure, []byte(fmt.Sprintf("{\n  name = \"urunc/nginx\";\n  tag = \"mirror\";\n  from = %s  insecure = true;\n};\n  annotations = { unikernelType = \"unikraft\"; hypervisor = \"qemu\"; };\n}\n", strings.TrimSuffix(from, "}"))), 0o644)
	out := nixBuild(t, "--arg", "args", insecure)
	cli := filepath.Join(t.TempDir(), "cli.tar")
	bunixCLI(t, dir, nil, "build", "-f", insecure, "-o", cli)
	if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, cli)) {
		t.Fatalf("nix-build (%s) and bunix build (%s) differ", out, cli)
	}
	if files, _ := imageFiles(t, out, "/unikraft/bin/kernel"); files["/unikraft/bin/kernel"] != catalogPlatforms[0].Kernel+salt {
		t.Errorf("the kernel is %q", files["/unikraft/bin/kernel"])
	}
	// The pulled layout is a fixed output, there already: --check pulls
	// it again, over plain HTTP only when told to.
	root := testenv.ModuleRoot(t)
	m := prefetchOut.FindStringSubmatch(from + "\n")
	if m == nil {
		t.Fatalf("prefetch printed %q", pre)
	}
	pull := func(insecure bool) (string, error) {
		expr := fmt.Sprintf(`(import %s/nix/lib.nix).pullImage { ref = %q; digest = %q; hash = %q; hypervisor = "qemu"; insecure = %t; bunix = %s; }`, root, ref, m[2], m[3], insecure, testenv.Bunix(t))
		_, stderr, err := testenv.NixBuild(t, root, "--expr", expr, "--check")
		return stderr, err
	}
	if stderr, err := pull(true); err != nil {
		t.Errorf("pullImage --check with insecure = true: %v\n%s", err, stderr)
	}
	if stderr, err := pull(false); err == nil || !strings.Contains(stderr, "server gave HTTP response to HTTPS client") {
		t.Errorf("pullImage --check without insecure: %v\n%s", err, stderr)
	}
}

// fileIndex is an index whose one image, for linux/amd64, holds file
// (mode 0755) with data.
func fileIndex(t *testing.T, file, data string) v1.ImageIndex {
	return testenv.AMD64Index(t, testenv.HeaderLayer(t, tar.Header{Name: file, Typeflag: tar.TypeReg, Mode: 0o755, Linkname: data}))
}

// TestCopyFromRegistryImages: urunc's Linux tutorial copies urunit and the
// application out of two images (COPY --from); here contents entries take
// them from two images in a registry, pinned by bunix prefetch (one as a
// contents entry, one as a files entry { image; target; }). nix-build
// (pulling each in lib.pullImage, a fixed-output derivation) and bunix
// build give the same bytes, holding both files; so do a raw rootfs of
// the urunit image's whole tree and an initrd holding its /urunit, and
// the same as a multi-stage Containerfile (stages naming the images,
// COPY --from), converted.
func TestCopyFromRegistryImages(t *testing.T) {
	reg := testenv.Registry(t)
	salt := strconv.FormatInt(time.Now().UnixNano(), 10)
	urunit := reg.PushIndex(t, "nubificus/urunit:latest", fileIndex(t, "urunit", "urunit "+salt))
	app := reg.PushIndex(t, "nubificus/app:latest", fileIndex(t, "usr/bin/app", "app "+salt))
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("a linux kernel"), 0o644)
	pin := func(ref string) string {
		return strings.TrimSpace(bunixCLI(t, dir, nil, "prefetch", ref))
	}
	argsNix := fmt.Sprintf(`{
  name = "urunc/app";
  tag = "multi-stage";
  files = { "./kernel" = "/kernel"; "/usr/bin/app" = { image = %[2]s; target = "/app"; }; };
  contents = [
    { image = %[1]s; source = "/urunit"; target = "/urunit"; }
  ];
  entrypoint = [ "/urunit" "/app" ];
  annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/kernel"; };
}
`, pin(urunit), pin(app))
	os.WriteFile(filepath.Join(dir, "args.nix"), []byte(argsNix), 0o644)
	out := nixBuild(t, "--arg", "args", filepath.Join(dir, "args.nix"))
	cli := filepath.Join(t.TempDir(), "cli.tar")
	bunixCLI(t, dir, nil, "build", "-f", "args.nix", "-o", cli)
	if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, cli)) {
		t.Fatalf("nix-build (%s) and bunix build (%s) differ", out, cli)
	}
	files, _ := imageFiles(t, out, "/urunit", "/app")
	if files["/urunit"] != "urunit "+salt || files["/app"] != "app "+salt {
		t.Errorf("files %q", files)
	}

	// As rootfs: the urunit image's whole tree as a raw rootfs, and its
	// /urunit packed into an initrd as /init.
	for _, rootfs := range []string{
		fmt.Sprintf(`{ type = "raw"; include = [ { image = %s; source = "/"; target = "/"; } ]; }`, pin(urunit)),
		fmt.Sprintf(`{ type = "initrd"; include = [ { image = %s; source = "/urunit"; target = "/init"; } ]; }`, pin(urunit)),
	} {
		p := filepath.Join(dir, "rootfs.nix")
		os.WriteFile(p, []byte(fmt.Sprintf(`{ name = "urunc/app"; tag = "rootfs"; files = { "./kernel" = "/kernel"; }; rootfs = %s;
  annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/kernel"; }; }`, rootfs)), 0o644)
		viaNix := nixBuild(t, "--arg", "args", p)
		viaCLI := filepath.Join(t.TempDir(), "cli.tar")
		bunixCLI(t, dir, nil, "build", "-f", p, "-o", viaCLI)
		if !bytes.Equal(testenv.ReadFile(t, viaNix), testenv.ReadFile(t, viaCLI)) {
			t.Fatalf("rootfs %s: nix-build (%s) and bunix build (%s) differ", rootfs, viaNix, viaCLI)
		}
		files, _ := imageFiles(t, viaNix, "/urunit", "/unikernel/rootfs.cpio")
		if strings.Contains(rootfs, "raw") && files["/urunit"] != "urunit "+salt {
			t.Errorf("raw rootfs: files %q", files)
		}
		if strings.Contains(rootfs, "initrd") && !strings.Contains(files["/unikernel/rootfs.cpio"], "urunit "+salt) {
			t.Errorf("initrd rootfs: the initrd does not hold urunit: %q", files)
		}
	}

	// The same as a multi-stage Containerfile, converted.
	containerfile := fmt.Sprintf("FROM %s AS init\nFROM %s AS app\nFROM scratch\nCOPY --from=init /urunit /urunit\nCOPY --from=app /usr/bin/app /app\nCOPY kernel /kernel\n"+
		"LABEL com.urunc.unikernel.binary=/kernel\nLABEL com.urunc.unikernel.unikernelType=linux\nLABEL com.urunc.unikernel.hypervisor=qemu\n"+
		"ENTRYPOINT [\"/urunit\", \"/app\"]\n", urunit, app)
	os.WriteFile(filepath.Join(dir, "Containerfile"), []byte(containerfile), 0o644)
	converted := filepath.Join(dir, "converted.nix")
	bunixCLI(t, dir, nil, "convert", "Containerfile", "-o", converted, "--name", "urunc/app", "--tag", "multi-stage")
	viaNix := nixBuild(t, "--arg", "args", converted)
	cli2 := filepath.Join(t.TempDir(), "cli.tar")
	bunixCLI(t, dir, nil, "build", "-f", converted, "-o", cli2)
	if !bytes.Equal(testenv.ReadFile(t, viaNix), testenv.ReadFile(t, cli2)) {
		t.Fatalf("converted: nix-build (%s) and bunix build (%s) differ\n%s", viaNix, cli2, testenv.ReadFile(t, converted))
	}
	if files, _ := imageFiles(t, viaNix, "/urunit", "/app", "/kernel"); files["/urunit"] != "urunit "+salt || files["/app"] != "app "+salt || files["/kernel"] != "a linux kernel" {
		t.Errorf("converted: files %q\n%s", files, testenv.ReadFile(t, converted))
	}
}

// TestImageCopyNixErrors: a copy out of an image written wrongly in Nix
// is an evaluation error naming the field: an unpinned reference (bunix
// build only), an unknown key, a files entry with no target.
func TestImageCopyNixErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	pinned := `{ ref = "r.io/x:1"; digest = "sha256:` + strings.Repeat("0", 64) + `"; hash = "sha256-` + strings.Repeat("A", 43) + `="; }`
	for _, tc := range []struct{ copies, want string }{
		{`contents = [ { image = "r.io/x:1"; source = "/a"; target = "/a"; } ];`, `contents[0].image: the reference "r.io/x:1" is for bunix build only`},
		{`contents = [ { image = ` + pinned + `; source = "/a"; target = "/a"; mode = 1; } ];`, `contents[0]: unknown key(s) mode (allowed: source, target, image)`},
		{`files = { "/a" = { image = ` + pinned + `; }; };`, `files."/a": a copy out of an image is { image = { ref; digest; hash; }; target = "/..."; }`},
		{`contents = [ { image = ` + pinned + ` // { tls = false; }; source = "/a"; target = "/a"; } ];`, `contents[0].image: unknown key(s) tls (allowed: ref, digest, hash, insecure)`},
	} {
		p := filepath.Join(dir, "args.nix")
		os.WriteFile(p, []byte(`{ name = "x"; `+tc.copies+` annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/a"; }; }`), 0o644)
		root := testenv.ModuleRoot(t)
		out, stderr, err := testenv.NixBuild(t, root, filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t), "--arg", "args", p)
		if err == nil || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: %s %v\n%s", tc.copies, out, err, stderr)
		}
	}
}
