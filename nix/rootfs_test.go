package nix_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/nubificus/bunix/internal/testenv"
)

// extract writes the files at paths in the image archive into a new
// directory, by their base names, and returns it. It fails the test when a
// path is not in the image.
func extract(t *testing.T, archive string, paths ...string) string {
	t.Helper()
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	dir := t.TempDir()
	want := map[string]bool{}
	for _, p := range paths {
		want[strings.TrimPrefix(p, "/")] = true
	}
	testenv.WalkTar(t, rc, func(h *tar.Header, r io.Reader) {
		if !want[h.Name] {
			return
		}
		delete(want, h.Name)
		f, err := os.Create(filepath.Join(dir, filepath.Base(h.Name)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, r); err != nil {
			t.Fatal(err)
		}
		f.Close()
	})
	if len(want) > 0 {
		t.Fatalf("%s lacks %v", archive, want)
	}
	return dir
}

// tool runs a command and returns its standard output.
func tool(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(testenv.Require(t, name), args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// TestRootfsExamples builds each rootfs example with nix-build in the
// sandbox, with nothing but the static bunix: the bytes equal the CLI's,
// nix-build --check finds the build deterministic, and the rootfs reads back
// with the real tools.
func TestRootfsExamples(t *testing.T) {
	root := testenv.ModuleRoot(t)
	for _, tc := range []struct {
		example string
		check   func(t *testing.T, image string)
	}{
		{"unikraft-initrd", func(t *testing.T, image string) {
			r := inspect(t, image)
			// Unikraft reads only a plain newc archive.
			if r.Urunc["initrd"] != "/unikernel/rootfs.cpio" {
				t.Errorf("urunc.json: %v", r.Urunc)
			}
			dir := extract(t, image, r.Urunc["initrd"])
			list := tool(t, dir, "sh", "-c", "TZ=UTC cpio -itv < rootfs.cpio")
			if !strings.Contains(list, "-rw-r--r--   1 root     root          208 Jan  1  1970 conf/nginx.conf\n") {
				t.Errorf("cpio -itv:\n%s", list)
			}
			tool(t, dir, "sh", "-c", "cpio -id --quiet < rootfs.cpio")
			if !bytes.Equal(testenv.ReadFile(t, filepath.Join(dir, "conf/nginx.conf")), testenv.ReadFile(t, filepath.Join(root, "examples/unikraft-initrd/rootfs/conf/nginx.conf"))) {
				t.Error("conf/nginx.conf in the initrd differs from the source")
			}
		}},
		{"rumprun-raw", func(t *testing.T, image string) {
			r := inspect(t, image)
			if r.Urunc["mountRootfs"] != "true" || r.Urunc["useDMBlock"] != "true" {
				t.Errorf("urunc.json: %v", r.Urunc)
			}
			dir := extract(t, image, "/conf/redis.conf")
			if !bytes.Equal(testenv.ReadFile(t, filepath.Join(dir, "redis.conf")), testenv.ReadFile(t, filepath.Join(root, "examples/rumprun-raw/redis.conf"))) {
				t.Error("/conf/redis.conf differs from the source")
			}
		}},
		{"rumprun-block", func(t *testing.T, image string) {
			r := inspect(t, image)
			if r.Urunc["block"] != "/unikernel/rootfs.img" || r.Urunc["blkMntPoint"] != "/data" || r.Urunc["mountRootfs"] != "false" {
				t.Errorf("urunc.json: %v", r.Urunc)
			}
			dir := extract(t, image, r.Urunc["block"])
			img := filepath.Join(dir, "rootfs.img")
			if fi, _ := os.Stat(img); fi.Size() != 8<<20 {
				t.Errorf("block image is %d bytes, want the 8M of size", fi.Size())
			}
			tool(t, dir, "e2fsck", "-fn", img)
			if got := tool(t, dir, "debugfs", "-R", "cat /conf/redis.conf", img); got != string(testenv.ReadFile(t, filepath.Join(root, "examples/rumprun-raw/redis.conf"))) {
				t.Errorf("debugfs cat /conf/redis.conf = %q", got)
			}
			if stats := tool(t, dir, "dumpe2fs", "-h", img); !strings.Contains(stats, "Filesystem features:      filetype sparse_super large_file\n") {
				t.Errorf("want a plain ext2 for rumprun:\n%s", stats)
			}
		}},
		{"unikraft-cpio", func(t *testing.T, image string) {
			r := inspect(t, image)
			dir := extract(t, image, r.Urunc["initrd"])
			if !bytes.Equal(testenv.ReadFile(t, filepath.Join(dir, "rootfs.cpio")), testenv.ReadFile(t, filepath.Join(root, "examples/unikraft-cpio/rootfs.cpio"))) {
				t.Error("the packaged rootfs.cpio differs from the prebuilt one")
			}
		}},
	} {
		t.Run(tc.example, func(t *testing.T) {
			args := filepath.Join(root, "examples", tc.example, "args.nix")
			out := nixBuild(t, "--arg", "args", args)
			cli := filepath.Join(t.TempDir(), "image.tar")
			bunixCLI(t, root, nil, "build", "-f", args, "-o", cli)
			if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, cli)) {
				t.Fatalf("nix-build (%s) and bunix build (%s) differ", out, cli)
			}
			if _, stderr, err := testenv.NixBuild(t, root, filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t), "--arg", "args", args, "--check"); err != nil {
				t.Fatalf("nix-build --check: %v\n%s", err, stderr)
			}
			tc.check(t, out)
		})
	}
}

// TestRootfsReproducible builds the initrd and block examples from a copy
// of examples/ made under umask 077, with other mtimes, in another TZ and
// locale: the same bytes as from the repository.
func TestRootfsReproducible(t *testing.T) {
	root := testenv.ModuleRoot(t)
	other := t.TempDir()
	script := fmt.Sprintf(`set -e; umask 077; cp -r %q %q/examples
find %q/examples -exec touch -h -d '2031-05-06 07:08:09' {} +`, filepath.Join(root, "examples"), other, other)
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, example := range []string{"unikraft-initrd", "rumprun-block", "unikraft-cpio"} {
		a := filepath.Join(t.TempDir(), "a.tar")
		bunixCLI(t, root, []string{"TZ=UTC", "LC_ALL=C"}, "build", "-f", filepath.Join("examples", example, "args.nix"), "-o", a)
		b := filepath.Join(t.TempDir(), "b.tar")
		bunixCLI(t, other, []string{"TZ=Asia/Kathmandu", "LANG=de_DE.UTF-8"}, "build", "-f", filepath.Join("examples", example, "args.nix"), "-o", b)
		if !bytes.Equal(testenv.ReadFile(t, a), testenv.ReadFile(t, b)) {
			t.Errorf("%s: the copy builds different bytes", example)
		}
	}
}

// TestBootInitrd boots Debian's Linux kernel under qemu with an initrd that
// bunix built through nix-build, and whose /init is a static Go program that
// prints a marker and powers off. Kernel and initrd are taken out of the
// image, where the image's binary and initrd annotations say they are.
func TestBootInitrd(t *testing.T) {
	qemu := testenv.Require(t, "qemu-system-x86_64")
	kernel := testenv.LinuxKernel(t)
	for _, compression := range []string{"none", "gzip"} {
		t.Run(compression, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Rename(testenv.StaticBinary(t, "./nix/testdata/init", "init"), filepath.Join(dir, "init")); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "marker.txt"), []byte("read from the bunix initrd\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "args.nix"), []byte(`{
  name = "bunix/linux-boot";
  files = { "`+kernel+`" = "/unikernel/vmlinuz"; };
  rootfs = { type = "initrd"; compression = "`+compression+`";
    include = { "./init" = "/init"; "./marker.txt" = "/conf/marker.txt"; }; };
  annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/unikernel/vmlinuz"; cmdline = "/init"; };
}`), 0o644)
			image := nixBuild(t, "--arg", "args", filepath.Join(dir, "args.nix"))
			r := inspect(t, image)
			files := extract(t, image, r.Urunc["binary"], r.Urunc["initrd"])
			start := time.Now()
			console := boot(t, qemu, filepath.Join(files, "vmlinuz"), filepath.Join(files, filepath.Base(r.Urunc["initrd"])))
			for _, want := range []string{"BUNIX-INITRD-BOOTED", "initrd has /conf", "marker.txt: read from the bunix initrd"} {
				if !strings.Contains(console, want) {
					t.Errorf("the console lacks %q:\n%s", want, console)
				}
			}
			t.Logf("booted and powered off in %s", time.Since(start).Round(time.Millisecond))
		})
	}
}

// kvmFailed records that KVM did not boot a guest here, so that later boots
// go straight to TCG.
var kvmFailed bool

// boot starts kernel and initrd under qemu, with KVM where /dev/kvm opens
// and boots the guest, else with TCG, and returns the console output once
// the guest has powered off. cmdline is added to the kernel command line.
func boot(t *testing.T, qemu, kernel, initrd string, cmdline ...string) string {
	t.Helper()
	run := func(timeout time.Duration, accel ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		args := append([]string{"-nographic", "-no-reboot", "-m", "256", "-kernel", kernel, "-initrd", initrd,
			"-append", strings.Join(append([]string{"console=ttyS0 panic=-1 quiet"}, cmdline...), " ")}, accel...)
		out, err := exec.CommandContext(ctx, qemu, args...).CombinedOutput()
		if ctx.Err() != nil {
			return string(out), fmt.Errorf("the guest did not power off within %s", timeout)
		}
		return string(out), err
	}
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil && !kvmFailed {
		f.Close()
		out, err := run(time.Minute, "-accel", "kvm", "-cpu", "host")
		if err == nil && strings.Contains(out, "BUNIX-INITRD-BOOTED") {
			return out
		}
		kvmFailed = true
		t.Logf("KVM did not boot the guest (%v), using TCG:\n%s", err, out)
	}
	out, err := run(3*time.Minute, "-accel", "tcg", "-cpu", "max")
	if err != nil {
		t.Fatalf("qemu (TCG): %v\n%s", err, out)
	}
	return out
}
