package nix_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nubificus/bunix/internal/testenv"
)

// refusedEverywhere writes argsNix (and the files it names) to a new
// directory and checks that nix-build, bunix build and bunix validate all
// refuse it, saying want, the CLI with exit 2 and no output.
func refusedEverywhere(t *testing.T, argsNix string, want string, files map[string][]byte) {
	t.Helper()
	root := testenv.ModuleRoot(t)
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, data, 0o755)
	}
	p := filepath.Join(dir, "args.nix")
	os.WriteFile(p, []byte(argsNix), 0o644)
	out, stderr, err := testenv.NixBuild(t, root, filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t), "--arg", "args", p)
	if err == nil {
		t.Errorf("nix-build built %s from\n%s", out, argsNix)
	} else if !strings.Contains(stderr, want) {
		t.Errorf("nix-build: stderr lacks %q:\n%s", want, stderr)
	}
	image := filepath.Join(dir, "image.tar")
	for _, argv := range [][]string{{"build", p, "-o", image}, {"validate", p}} {
		cmd := exec.Command(filepath.Join(testenv.Bunix(t), "bin", "bunix"), argv...)
		cmd.Dir = dir
		var stdout, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || stdout.Len() != 0 || !strings.Contains(errb.String(), want) {
			t.Errorf("bunix %s: %v, stdout %q, stderr lacks %q:\n%s", argv[0], err, stdout.String(), want, errb.String())
		}
	}
	if _, err := os.Stat(image); err == nil {
		t.Errorf("bunix build wrote %s", image)
	}
}

// TestUruncRules: each rule of the urunc release an image is for, of its
// block and of its initrd, refused by nix-build, bunix build and bunix
// validate alike.
func TestUruncRules(t *testing.T) {
	testenv.Require(t, "nix-build")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("070701" + strings.Repeat("0", 104)))
	zw.Close()
	files := map[string][]byte{"kernel": []byte("k"), "init": []byte("i"), "disk.img": []byte("d"), "pre.cpio.gz": gz.Bytes(), "etc": []byte("e")}
	linux := func(top, ann string) string {
		return `{ name = "x"; files = { "./kernel" = "/k"; "./disk.img" = "/disk.img"; }; cmd = [ "/init" ]; ` + top + `
  annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/k"; ` + ann + ` }; }`
	}
	initrd := `rootfs = { type = "initrd"; include = { "./init" = "/init"; }; };`
	for _, tc := range []struct{ name, args, want string }{
		{"release", `{ name = "x"; urunc = "0.7"; files = { "./kernel" = "/k"; }; cmd = [ "/init" ];
  annotations = { unikernelType = "linux"; hypervisor = "cloud-hypervisor"; binary = "/k"; }; }`,
			`annotations.hypervisor = "cloud-hypervisor": urunc 0.7 cannot run cloud-hypervisor (it came in 0.8 with PR #393); set urunc = "0.8", or choose qemu or firecracker`},
		{"unknown release", linux(`urunc = "0.9";`, ""), `urunc = "0.9": unknown urunc release`},
		{"freebsd", `{ name = "x"; files = { "./kernel" = "/k"; }; annotations = { unikernelType = "freebsd"; hypervisor = "qemu"; binary = "/k"; }; }`,
			`annotations.unikernelType = "freebsd": urunc 0.8 cannot run a freebsd guest`},
		{"block without mount point", linux("", `block = "/disk.img";`), `annotations.block = "/disk.img": a block needs a mount point`},
		{"initrd and block at /", linux(initrd, `block = "/disk.img"; blkMntPoint = "/";`),
			`annotations.blkMntPoint = "/": the block /disk.img is mounted at / next to the initrd /unikernel/rootfs.cpio`},
		{"unikraft gzip", `{ name = "x"; files = { "./kernel" = "/k"; }; rootfs = { type = "initrd"; include = { "./init" = "/init"; }; compression = "gzip"; };
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/k"; }; }`,
			`rootfs.compression = "gzip": a unikraft guest reads only an uncompressed newc initrd`},
		{"unikraft gzipped prebuilt", `{ name = "x"; files = { "./kernel" = "/k"; }; rootfs = { type = "initrd"; from = ./pre.cpio.gz; };
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/k"; }; }`,
			`is a gzip-compressed cpio archive: a unikraft guest reads only an uncompressed newc initrd`},
		{"file at /etc", linux(`rootfs = { type = "initrd"; include = { "./init" = "/init"; "./etc" = "/etc"; }; };`, ""),
			`puts a file at /etc, which a Linux initrd needs as a directory`},
		{"no init", linux(`rootfs = { type = "initrd"; include = { "./init" = "/sbin/init"; }; };`, ""),
			`cmd[0] = "/init": the linux guest's init /init is not in its rootfs, the initrd bunix builds from rootfs.include`},
		{"workingDir", linux(`workingDir = "srv";`, ""), `workingDir = "srv": must be an absolute path`},
		{"user", linux(`user = "nobody";`, ""), `user = "nobody": want "UID" or "UID:GID"`},
	} {
		t.Run(tc.name, func(t *testing.T) { refusedEverywhere(t, tc.args, tc.want, files) })
	}
}

// TestLinuxInitrdForUrunc builds a Linux guest's gzipped initrd with
// nix-build and bunix build, for inits of a few sizes: the same bytes, the
// initrd a multiple of 4 bytes long, padded with zero bytes after the gzip
// stream where it needs it (where Linux reads what urunc appends), /etc in
// it, and the image config's WorkingDir and User set.
func TestLinuxInitrdForUrunc(t *testing.T) {
	testenv.Require(t, "nix-build")
	padded := 0
	for n := 1; n <= 4; n++ {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
		os.WriteFile(filepath.Join(dir, "init"), []byte("#!/bin/sh\n"+strings.Repeat("#", n*5)), 0o755)
		p := filepath.Join(dir, "args.nix")
		os.WriteFile(p, []byte(`{ name = "bunix/linux-urunc"; urunc = "0.7"; workingDir = "/srv"; user = "1000:100";
  files = { "./kernel" = "/unikernel/kernel"; }; cmd = [ "/init" ];
  rootfs = { type = "initrd"; include = { "./init" = "/init"; }; compression = "gzip"; };
  annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/unikernel/kernel"; }; }`), 0o644)
		out := nixBuild(t, "--arg", "args", p)
		cli := filepath.Join(dir, "image.tar")
		bunixCLI(t, dir, nil, "build", p, "-o", cli)
		if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, cli)) {
			t.Fatalf("nix-build (%s) and bunix build (%s) differ", out, cli)
		}
		img, err := tarball.ImageFromPath(out, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg := configOf(t, img); cfg.WorkingDir != "/srv" || cfg.User != "1000:100" {
			t.Errorf("WorkingDir %q User %q", cfg.WorkingDir, cfg.User)
		}
		x := extract(t, out, "/unikernel/rootfs.cpio.gz")
		initrd := testenv.ReadFile(t, filepath.Join(x, "rootfs.cpio.gz"))
		if len(initrd)%4 != 0 {
			t.Errorf("the gzipped initrd is %d bytes, not a multiple of 4", len(initrd))
		}
		r := bytes.NewReader(initrd)
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		if _, err := io.Copy(io.Discard, zr); err != nil {
			t.Fatal(err)
		}
		if rest := initrd[len(initrd)-r.Len():]; len(rest) > 0 {
			padded++
			if strings.Trim(string(rest), "\x00") != "" {
				t.Errorf("%q after the gzip stream", rest)
			}
		}
		list := tool(t, x, "sh", "-c", "gzip -dc rootfs.cpio.gz 2>/dev/null | cpio -it --quiet")
		if !strings.Contains("\n"+list, "\netc\n") || !strings.Contains("\n"+list, "\ninit\n") {
			t.Errorf("initrd lists:\n%s", list)
		}
	}
	if padded == 0 {
		t.Error("no initrd needed padding: the test proves nothing")
	}
}

// TestUrunitBothFrontEnds: urunit given as a file lands at /urunit in the
// initrd (or, for a raw rootfs, the image) and first in the process args,
// with the same bytes from nix-build and bunix build; for a unikraft guest
// all three front ends refuse it.
func TestUrunitBothFrontEnds(t *testing.T) {
	testenv.Require(t, "nix-build")
	dir := t.TempDir()
	for name, data := range map[string]string{"kernel": "k", "app": "a", "urunit": "u"} {
		os.WriteFile(filepath.Join(dir, name), []byte(data), 0o755)
	}
	for _, tc := range []struct{ name, rootfs string }{
		{"initrd", `{ type = "initrd"; include = { "./app" = "/bin/app"; }; }`},
		{"raw", `{ type = "raw"; include = { "./app" = "/bin/app"; }; }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".nix")
			os.WriteFile(p, []byte(`{ name = "bunix/urunit-`+tc.name+`"; urunit = ./urunit; cmd = [ "/bin/app" "two words" ];
  files = { "./kernel" = "/unikernel/kernel"; }; rootfs = `+tc.rootfs+`;
  annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/unikernel/kernel"; }; }`), 0o644)
			out := nixBuild(t, "--arg", "args", p)
			cli := filepath.Join(t.TempDir(), "image.tar")
			bunixCLI(t, dir, nil, "build", p, "-o", cli)
			if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, cli)) {
				t.Fatalf("nix-build (%s) and bunix build (%s) differ", out, cli)
			}
			img, err := tarball.ImageFromPath(out, nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg := configOf(t, img)
			if !slices.Equal(cfg.Entrypoint, []string{"/urunit"}) || !slices.Equal(cfg.Cmd, []string{"/bin/app", "two words"}) {
				t.Errorf("Entrypoint %q Cmd %q", cfg.Entrypoint, cfg.Cmd)
			}
			if tc.name == "raw" {
				x := extract(t, out, "/urunit")
				if string(testenv.ReadFile(t, filepath.Join(x, "urunit"))) != "u" {
					t.Error("/urunit in the image is not the urunit given")
				}
				return
			}
			x := extract(t, out, "/unikernel/rootfs.cpio")
			tool(t, x, "sh", "-c", "cpio -id --quiet < rootfs.cpio")
			if string(testenv.ReadFile(t, filepath.Join(x, "urunit"))) != "u" {
				t.Error("/urunit in the initrd is not the urunit given")
			}
		})
	}
	refusedEverywhere(t, `{ name = "x"; urunit = ./urunit; cmd = [ "/app" ]; files = { "./kernel" = "/k"; };
  rootfs = { type = "initrd"; include = { "./app" = "/app"; }; };
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/k"; }; }`,
		`urunit is the init of a linux guest; a unikraft guest gets its environment from urunc directly`,
		map[string][]byte{"kernel": []byte("k"), "app": []byte("a"), "urunit": []byte("u")})
}

// pushUrunit pushes an image holding /urunit, content, written over an
// older /urunit in a lower layer, and returns its reference.
func pushUrunit(t *testing.T, content string) string {
	t.Helper()
	layer := func(data string) v1.Layer {
		tb := testenv.TarOf(testenv.TarMember{Name: "urunit", Data: []byte(data)})
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil },
			tarball.WithCompression(compression.GZip), tarball.WithMediaType(types.OCILayer))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	img, err := mutate.AppendLayers(empty.Image, layer("an older urunit"), layer(content))
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	return testenv.Registry(t).PushIndex(t, "urunc/urunit:latest", idx)
}

// TestUrunitFromImage: urunit = { ref; digest; hash; } (what bunix
// prefetch prints) takes /urunit from the pinned image, its top layer's,
// into the initrd; nix-build (through pullImage) and bunix build (pulling
// it) give the same bytes.
func TestUrunitFromImage(t *testing.T) {
	testenv.Require(t, "nix-build")
	content := "urunit " + strconv.FormatInt(time.Now().UnixNano(), 10)
	ref := pushUrunit(t, content)
	dir := t.TempDir()
	pre := bunixCLI(t, dir, nil, "prefetch", ref)
	out := buildWithUrunit(t, dir, "bunix/urunit-image", strings.TrimSpace(pre), content)
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg := configOf(t, img); !slices.Equal(cfg.Entrypoint, []string{"/urunit"}) {
		t.Errorf("Entrypoint %q", cfg.Entrypoint)
	}

	// An image without /urunit is refused by every front end.
	other, _ := pushBase(t)
	pre = bunixCLI(t, dir, nil, "prefetch", other)
	refusedEverywhere(t, `{ name = "x"; urunit = `+strings.TrimSpace(pre)+`; cmd = [ "/app" ]; files = { "./kernel" = "/k"; };
  rootfs = { type = "initrd"; include = { "./app" = "/app"; }; };
  annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/k"; }; }`,
		`/urunit: it has nothing at /urunit`, map[string][]byte{"kernel": []byte("k"), "app": []byte("a")})
}

// TestUrunitInsecureMirror: urunit = { ref; digest; hash; insecure; }
// reaches a plain-HTTP registry that go-containerregistry takes for a
// remote one (an IPv4-mapped address of the loopback registry), as from
// and the other images do, from nix-build and bunix build to the same
// bytes.
func TestUrunitInsecureMirror(t *testing.T) {
	testenv.Require(t, "nix-build")
	reg := testenv.Registry(t)
	content := "urunit " + strconv.FormatInt(time.Now().UnixNano(), 10)
	reg.PushIndex(t, "urunc/urunit:mirror", fileIndex(t, "urunit", content))
	ref := "[::ffff:" + strings.Replace(reg.Addr, ":", "]:", 1) + "/urunc/urunit:mirror"
	dir := t.TempDir()
	pre := strings.TrimSpace(bunixCLI(t, dir, nil, "prefetch", "--insecure", ref))
	buildWithUrunit(t, dir, "bunix/urunit-mirror", strings.TrimSuffix(pre, "}")+" insecure = true; }", content)
}

// buildWithUrunit builds, in dir, a linux guest named name whose initrd
// gets its urunit from urunit (a Nix value) with nix-build and with bunix
// build, fails t unless the two give the same bytes and /urunit in the
// initrd holds content, and returns nix-build's image.
func buildWithUrunit(t *testing.T, dir, name, urunit, content string) string {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	os.WriteFile(filepath.Join(dir, "app"), []byte("a"), 0o755)
	p := filepath.Join(dir, "args.nix")
	os.WriteFile(p, []byte(`{ name = "`+name+`"; urunit = `+urunit+`; cmd = [ "/bin/app" ];
  files = { "./kernel" = "/unikernel/kernel"; }; rootfs = { type = "initrd"; include = { "./app" = "/bin/app"; }; };
  annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/unikernel/kernel"; }; }`), 0o644)
	out := nixBuild(t, "--arg", "args", p)
	cli := filepath.Join(t.TempDir(), "image.tar")
	bunixCLI(t, dir, nil, "build", p, "-o", cli)
	if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, cli)) {
		t.Fatalf("nix-build (%s) and bunix build (%s) differ", out, cli)
	}
	x := extract(t, out, "/unikernel/rootfs.cpio")
	tool(t, x, "sh", "-c", "cpio -id --quiet < rootfs.cpio")
	if got := string(testenv.ReadFile(t, filepath.Join(x, "urunit"))); got != content {
		t.Errorf("/urunit in the initrd is %q, want the image's top layer's %q", got, content)
	}
	return out
}
