package run_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/run"
	"github.com/nubificus/bunix/pkg/source"
)

// member is a tar entry of a test layer.
type member struct {
	name, data, link string
	typ              byte
}

func layerOf(t *testing.T, members ...member) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Mode: 0o644, Typeflag: m.typ, Linkname: m.link}
		switch m.typ {
		case 0:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(m.data))
		case tar.TypeDir:
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(m.data))
	}
	tw.Close()
	return static.NewLayer(b.Bytes(), types.OCIUncompressedLayer)
}

// uruncJSON is /urunc.json for settings.
func uruncJSON(settings map[string]string) string {
	enc := map[string]string{}
	for k, v := range settings {
		enc["com.urunc.unikernel."+k] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	b, _ := json.Marshal(enc)
	return string(b)
}

// testImage is a linux guest on qemu in two layers: the second replaces
// the kernel (through a symbolic link), removes a file with a whiteout,
// and holds /urunc.json; labels are set too when withLabels.
func testImage(t *testing.T, arch string, withLabels bool) v1.Image {
	t.Helper()
	settings := map[string]string{"unikernelType": "linux", "hypervisor": "qemu", "binary": "/unikernel/vmlinuz", "initrd": "/boot/initrd"}
	img, err := mutate.AppendLayers(empty.Image,
		layerOf(t,
			member{name: "unikernel/", typ: tar.TypeDir},
			member{name: "unikernel/vmlinuz", data: "old kernel"},
			member{name: "boot/", typ: tar.TypeDir},
			member{name: "boot/initrd", data: "initrd"},
			member{name: "etc/", typ: tar.TypeDir},
			member{name: "etc/gone", data: "removed above"}),
		layerOf(t,
			member{name: "unikernel/vmlinuz-" + arch, data: "kernel for " + arch},
			member{name: "unikernel/vmlinuz", typ: tar.TypeSymlink, link: "/unikernel/vmlinuz-" + arch},
			member{name: "etc/.wh.gone"},
			member{name: "urunc.json", data: uruncJSON(settings)}))
	if err != nil {
		t.Fatal(err)
	}
	cfg := v1.Config{Entrypoint: []string{"/init"}, Cmd: []string{"hello"}, Env: []string{"GREETING=hi"}, WorkingDir: "/srv", User: "1000:100"}
	if withLabels {
		cfg.Labels = map[string]string{}
		for k, v := range settings {
			cfg.Labels["com.urunc.unikernel."+k] = v
		}
	}
	orig, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{Architecture: arch, OS: "linux", Config: cfg, RootFS: orig.RootFS})
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	if len(cf.RootFS.DiffIDs) != 2 {
		t.Fatalf("diffIDs %v", cf.RootFS.DiffIDs)
	}
	return img
}

// TestLoad: the flattened rootfs (a later layer's symbolic link and
// whiteout applied), settings from the labels or, without them, from
// /urunc.json, and the process with docker run's overrides.
func TestLoad(t *testing.T) {
	for _, withLabels := range []bool{true, false} {
		dir := t.TempDir()
		l, err := run.Load(context.Background(), testImage(t, "amd64", withLabels), nil,
			run.Process{Args: []string{"a b", "c"}, HasArgs: true, Env: []string{"GREETING=bye", "NEW=1"}}, dir, run.Newest)
		if err != nil {
			t.Fatal(err)
		}
		g := l.Guest
		if b, err := os.ReadFile(g.Kernel); err != nil || string(b) != "kernel for amd64" {
			t.Errorf("kernel %s: %q, %v", g.Kernel, b, err)
		}
		if g.Kernel != filepath.Join(dir, "rootfs", "unikernel", "vmlinuz-amd64") || g.Initrd != filepath.Join(dir, "rootfs", "boot", "initrd") {
			t.Errorf("kernel %s, initrd %s", g.Kernel, g.Initrd)
		}
		if _, err := os.Lstat(filepath.Join(dir, "rootfs", "etc", "gone")); err == nil {
			t.Error("the whiteout did not remove /etc/gone")
		}
		if strings.Join(g.Args, "|") != "/init|a b|c" || strings.Join(g.Env, "|") != run.DefaultPath+"|GREETING=bye|NEW=1" {
			t.Errorf("args %q, env %q", g.Args, g.Env)
		}
		if g.Type != "linux" || g.Monitor != "qemu" || g.Rootfs != run.RootfsInitrd || g.UID != 1000 || g.GID != 100 || g.WorkingDir != "/srv" {
			t.Errorf("guest %+v", g)
		}
		if len(l.Warnings) != 0 {
			t.Errorf("warnings %q", l.Warnings)
		}
	}

	// Without process args, urunc 0.8 takes the cmdline setting's words;
	// a release that reads no labels reads /urunc.json alone.
	img0 := testImage(t, "amd64", false)
	cf0, _ := img0.ConfigFile()
	cf0 = cf0.DeepCopy()
	cf0.Config.Entrypoint, cf0.Config.Cmd = nil, nil
	cf0.Config.Labels = map[string]string{"com.urunc.unikernel.unikernelType": "unikraft", "com.urunc.unikernel.hypervisor": "qemu",
		"com.urunc.unikernel.binary": "/boot/initrd", "com.urunc.unikernel.cmdline": "/init from cmdline"}
	img0, _ = mutate.ConfigFile(img0, cf0)
	l, err := run.Load(context.Background(), img0, nil, run.Process{}, t.TempDir(), run.Newest)
	if err != nil || l.Guest.Type != "unikraft" || strings.Join(l.Guest.Args, "|") != "/init|from|cmdline" {
		t.Errorf("0.8 with labels and a cmdline: %+v, %v", l, err)
	}
	old := run.Newest
	old.ReadsLabels, old.CmdlineFallback = false, false
	l, err = run.Load(context.Background(), img0, nil, run.Process{}, t.TempDir(), old)
	if err != nil || l.Guest.Type != "linux" || len(l.Guest.Args) != 0 {
		t.Errorf("a release reading /urunc.json alone, without the fallback: %+v, %v", l, err)
	}

	// --entrypoint drops the Cmd; labels that disagree with urunc.json are
	// said.
	img := testImage(t, "amd64", true)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Config.Labels["com.urunc.unikernel.initrd"] = "/unikernel/vmlinuz"
	img, _ = mutate.ConfigFile(img, cf)
	l, err = run.Load(context.Background(), img, nil, run.Process{Entrypoint: []string{"/sbin/init"}, HasEntrypoint: true}, t.TempDir(), run.Newest)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(l.Guest.Args, "|") != "/sbin/init" {
		t.Errorf("args %q", l.Guest.Args)
	}
	if len(l.Warnings) != 1 || !strings.Contains(l.Warnings[0], `/urunc.json says initrd = "/boot/initrd", the image's labels "/unikernel/vmlinuz"`) {
		t.Errorf("warnings %q", l.Warnings)
	}
}

// TestLoadRefuses: a layer whose content is not its diffID, a binary the
// image lacks or that leads out of it, and an image without settings.
func TestLoadRefuses(t *testing.T) {
	good := testImage(t, "amd64", false)
	cf, _ := good.ConfigFile()

	tampered := cf.DeepCopy()
	tampered.RootFS.DiffIDs[1] = tampered.RootFS.DiffIDs[0]
	bad1, _ := mutate.ConfigFile(good, tampered)

	escape, _ := mutate.AppendLayers(good, layerOf(t, member{name: "unikernel/vmlinuz-amd64", typ: tar.TypeSymlink, link: "../../../../etc/passwd"}))
	// A link out of the image resolves inside it, as in a chroot.
	inside, _ := mutate.AppendLayers(escape, layerOf(t, member{name: "etc/passwd", data: "the image's"}))
	l, err := run.Load(context.Background(), inside, nil, run.Process{}, t.TempDir(), run.Newest)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(l.Guest.Kernel); err != nil || string(b) != "the image's" {
		t.Errorf("the link to ../../../../etc/passwd gave %s: %q, %v", l.Guest.Kernel, b, err)
	}
	noSettings, _ := mutate.AppendLayers(good, layerOf(t, member{name: ".wh.urunc.json"}))
	for name, c := range map[string]struct {
		img  v1.Image
		want string
	}{
		"diffID":   {bad1, "unpacking layer 1: its content is sha256:"},
		"escape":   {escape, `binary = "/unikernel/vmlinuz": no such file in the image`},
		"settings": {noSettings, "no urunc settings: the labels lack unikernelType, hypervisor or binary, and there is no /urunc.json"},
	} {
		_, err := run.Load(context.Background(), c.img, nil, run.Process{}, t.TempDir(), run.Newest)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// TestRunSources: --dry-run reads the image from a docker-archive, an OCI
// layout, standard input and a registry (an index, of which the amd64
// image is taken), and prints qemu's command line with the image's files
// in the private directory, which is gone after.
func TestRunSources(t *testing.T) {
	dir := t.TempDir()
	amd64, arm64 := testImage(t, "amd64", true), testImage(t, "arm64", true)
	archive := filepath.Join(dir, "image.tar")
	if err := tarball.WriteToFile(archive, name.MustParseReference("bunix/t:latest"), amd64); err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: amd64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	if _, err := layout.Write(filepath.Join(dir, "layout"), idx); err != nil {
		t.Fatal(err)
	}
	reg := testenv.Registry(t)
	sources := map[string]string{"docker-archive": archive, "OCI layout": filepath.Join(dir, "layout"), "stdin": run.Stdin,
		"registry": reg.PushIndex(t, "bunix/t:latest", idx)}
	regOpts := []registry.Option{registry.Insecure()}
	for what, src := range sources {
		tmp := t.TempDir()
		var stdout, stderr bytes.Buffer
		stdin, _ := os.Open(archive)
		err := run.Run(context.Background(), run.Options{Image: src, Stdin: source.Input{R: stdin}, DryRun: true, Accel: run.AccelTCG,
			TempDir: tmp, Stdout: &stdout, Stderr: &stderr, Registry: regOpts})
		stdin.Close()
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		want := regexp.MustCompile(`^qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu max -accel tcg -display none -vga none -serial stdio -monitor null ` +
			`-kernel (` + regexp.QuoteMeta(tmp) + `/bunix-run-[^/]+)/rootfs/unikernel/vmlinuz-amd64 -nic none -initrd (.*)/rootfs/boot/initrd -no-reboot -nodefaults ` +
			`-append 'panic=-1 console=ttyS0 root=/dev/ram0 rw PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GREETING=hi rdinit=/init -- hello'\n$`)
		if !want.MatchString(stdout.String()) {
			t.Errorf("%s: stdout %q", what, stdout.String())
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("%s: %s left behind", what, ents[0].Name())
		}
	}

	// Without an image for the architecture.
	err := run.Run(context.Background(), run.Options{Image: archive, Arch: "arm64", DryRun: true, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	var ie *image.InvalidError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "no image for the architecture arm64") {
		t.Errorf("arm64 of an amd64 archive: %v", err)
	}
}
