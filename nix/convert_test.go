package nix_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// The Containerfiles and bunnyfiles of urunc's packaging guides, converted,
// built by the CLI and by nix-build, and read back: the decoded settings
// must be the labels the source file set (plus the mountRootfs/useDMBlock
// pair bunix always writes).
func TestConvertPackagingGuides(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		payload    []string
		want       map[string]string
	}{
		{"mirage-network-containerfile", "Containerfile", []string{"network.hvt"}, map[string]string{"binary": "/unikernel/network.hvt", "unikernelType": "mirage", "hypervisor": "hvt", "useDMBlock": "false", "mountRootfs": "false"}},
		{"redis-rumprun-containerfile", "Containerfile", []string{"redis.hvt", "redis.conf"}, map[string]string{"binary": "/unikernel/redis.hvt", "cmdline": "redis-server /data/conf/redis.conf", "unikernelType": "rumprun", "hypervisor": "hvt", "useDMBlock": "true", "mountRootfs": "true"}},
		{"chttp-unikraft-containerfile", "Containerfile", []string{"app-elfloader-qemu-x86_64-initrd_qemu-x86_64", "rootfs.cpio"}, map[string]string{"binary": "/unikernel/kernel", "initrd": "/unikernel/rootfs.cpio", "cmdline": "/chttp", "unikernelType": "unikraft", "hypervisor": "qemu", "useDMBlock": "false", "mountRootfs": "false"}},
		{"mirage-network-bunnyfile", "bunnyfile", []string{"network.hvt"}, map[string]string{"binary": "/unikernel/network.hvt", "unikernelType": "mirage", "hypervisor": "hvt", "useDMBlock": "false", "mountRootfs": "false"}},
		{"redis-unikraft-initrd-bunnyfile", "bunnyfile", []string{"redis-qemu-x86_64-initrd_qemu-x86_64", "redis.conf"}, map[string]string{"binary": "/unikernel/redis-qemu-x86_64-initrd_qemu-x86_64", "initrd": "/unikernel/rootfs.cpio", "cmdline": "redis-server /conf/redis.conf", "unikernelType": "unikraft", "hypervisor": "qemu", "useDMBlock": "false", "mountRootfs": "false"}},
		{"redis-rumprun-raw-bunnyfile", "bunnyfile", []string{"redis.hvt", "redis.conf"}, map[string]string{"binary": "/unikernel/redis.hvt", "cmdline": "redis-server /data/conf/redis.conf", "unikernelType": "rumprun", "hypervisor": "hvt", "useDMBlock": "true", "mountRootfs": "true"}},
		{"chttp-unikraft-cpio-bunnyfile", "bunnyfile", []string{"app-elfloader-qemu-x86_64-initrd_qemu-x86_64", "rootfs.cpio"}, map[string]string{"binary": "/unikernel/app-elfloader-qemu-x86_64-initrd_qemu-x86_64", "initrd": "/unikernel/rootfs.cpio", "cmdline": "/chttp", "unikernelType": "unikraft", "hypervisor": "qemu", "useDMBlock": "false", "mountRootfs": "false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.TempDir()
			for _, p := range tc.payload {
				data := "payload of " + p
				if p == "rootfs.cpio" {
					data = "070701" + data // a prebuilt rootfs must look like a newc cpio
				}
				os.WriteFile(filepath.Join(ctx, p), []byte(data), 0o644)
			}
			// The guides' texts are shared with pkg/scaffold's tests.
			text := testenv.ReadFile(t, filepath.Join("..", "pkg", "scaffold", "testdata", "guides", tc.name, tc.file))
			src := filepath.Join(ctx, tc.file)
			os.WriteFile(src, text, 0o644)
			out := filepath.Join(t.TempDir(), "args.nix")
			bunixCLI(t, ctx, nil, "convert", src, "-o", out, "--name", "urunc/prebuilt/"+tc.name, "--tag", "test")
			img := filepath.Join(t.TempDir(), "image.tar")
			bunixCLI(t, ctx, nil, "build", "-f", out, "-o", img)
			r := inspect(t, img)
			if fmt.Sprint(r.Urunc) != fmt.Sprint(tc.want) {
				t.Errorf("urunc.json = %v\nwant         %v\nargs.nix:\n%s", r.Urunc, tc.want, testenv.ReadFile(t, out))
			}
			if r.RepoTags[0] != "urunc/prebuilt/"+tc.name+":test" {
				t.Errorf("tags %v", r.RepoTags)
			}
			if viaNix := nixBuild(t, "--arg", "args", out); !bytes.Equal(testenv.ReadFile(t, viaNix), testenv.ReadFile(t, img)) {
				t.Error("nix-build of the converted args.nix differs from bunix build")
			}
		})
	}
}

// TestConvertPeerForms: forms bunny's and urunc's docs write convert as the
// peers mean them and build to the same bytes with nix-build and bunix
// build: COPY /conf / (bunny's redis example) puts the context's conf/
// contents at the root; a bunnyfile of version 0.1 whose rootfs has
// include and no from (from: scratch) and a target without a leading
// slash gets an initrd holding /conf/redis.conf.
func TestConvertPeerForms(t *testing.T) {
	for _, tc := range []struct {
		name, file, src string
		payload         map[string]string
		want            map[string]string
		files           []string
	}{
		{"containerfile-copy-root", "Containerfile",
			"FROM scratch\nCOPY redis.hvt /unikernel/redis.hvt\nCOPY /conf /\n" +
				"LABEL com.urunc.unikernel.binary=/unikernel/redis.hvt\nLABEL com.urunc.unikernel.unikernelType=rumprun\n" +
				"LABEL com.urunc.unikernel.hypervisor=hvt\nLABEL \"com.urunc.unikernel.cmdline\"=\"redis-server /redis.conf\"\n",
			map[string]string{"redis.hvt": "kernel", "conf/redis.conf": "port 6379\n"},
			map[string]string{"binary": "/unikernel/redis.hvt", "cmdline": "redis-server /redis.conf", "unikernelType": "rumprun", "hypervisor": "hvt", "useDMBlock": "false", "mountRootfs": "false"},
			[]string{"/redis.conf", "/unikernel/redis.hvt"}},
		{"bunnyfile-include-no-from", "bunnyfile",
			"version: 0.1\nplatforms:\n  framework: unikraft\n  monitor: qemu\nkernel:\n  from: local\n  path: kernel\nrootfs:\n  type: initrd\n  include:\n  - redis.conf:conf/redis.conf\ncmdline: redis-server /conf/redis.conf\n",
			map[string]string{"kernel": "kernel", "redis.conf": "port 6379\n"},
			map[string]string{"binary": "/unikernel/kernel", "initrd": "/unikernel/rootfs.cpio", "cmdline": "redis-server /conf/redis.conf", "unikernelType": "unikraft", "hypervisor": "qemu", "useDMBlock": "false", "mountRootfs": "false"},
			[]string{"/unikernel/kernel", "/unikernel/rootfs.cpio"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.TempDir()
			for p, data := range tc.payload {
				os.MkdirAll(filepath.Dir(filepath.Join(ctx, p)), 0o755)
				os.WriteFile(filepath.Join(ctx, p), []byte(data), 0o644)
			}
			src := filepath.Join(ctx, tc.file)
			os.WriteFile(src, []byte(tc.src), 0o644)
			out := filepath.Join(t.TempDir(), "args.nix")
			bunixCLI(t, ctx, nil, "convert", src, "-o", out, "--name", "urunc/"+tc.name, "--tag", "test")
			img := filepath.Join(t.TempDir(), "image.tar")
			bunixCLI(t, ctx, nil, "build", "-f", out, "-o", img)
			if r := inspect(t, img); fmt.Sprint(r.Urunc) != fmt.Sprint(tc.want) {
				t.Errorf("urunc.json = %v\nwant         %v\nargs.nix:\n%s", r.Urunc, tc.want, testenv.ReadFile(t, out))
			}
			files, _ := imageFiles(t, img, tc.files...)
			for _, p := range tc.files {
				if _, ok := files[p]; !ok {
					t.Errorf("the image has no %s; args.nix:\n%s", p, testenv.ReadFile(t, out))
				}
			}
			if viaNix := nixBuild(t, "--arg", "args", out); !bytes.Equal(testenv.ReadFile(t, viaNix), testenv.ReadFile(t, img)) {
				t.Error("nix-build of the converted args.nix differs from bunix build")
			}
		})
	}
}
