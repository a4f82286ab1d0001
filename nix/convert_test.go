package nix_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The Containerfiles and bunnyfiles of urunc's packaging guides, converted,
// built by the CLI and by nix-build, and read back: the decoded settings
// must be the labels the source file set (plus the mountRootfs/useDMBlock
// pair bunix always writes).
func TestConvertPackagingGuides(t *testing.T) {
	for _, tc := range []struct {
		name, file, src string
		payload         []string
		want            map[string]string
	}{
		{"mirage-network-containerfile", "Containerfile", `#syntax=harbor.nbfc.io/nubificus/bunny:latest
FROM scratch
COPY network.hvt /unikernel/network.hvt
LABEL com.urunc.unikernel.binary=/unikernel/network.hvt
LABEL "com.urunc.unikernel.cmdline"=""
LABEL "com.urunc.unikernel.unikernelType"="mirage"
LABEL "com.urunc.unikernel.hypervisor"="hvt"
LABEL "com.urunc.unikernel.useDMBlock"="false"
`, []string{"network.hvt"}, map[string]string{"binary": "/unikernel/network.hvt", "unikernelType": "mirage", "hypervisor": "hvt", "useDMBlock": "false", "mountRootfs": "false"}},
		{"redis-rumprun-containerfile", "Containerfile", `#syntax=harbor.nbfc.io/nubificus/bunny:0.2.0
FROM scratch
COPY redis.hvt /unikernel/redis.hvt
COPY redis.conf /conf/redis.conf
LABEL com.urunc.unikernel.binary=/unikernel/redis.hvt
LABEL "com.urunc.unikernel.cmdline"="redis-server /data/conf/redis.conf"
LABEL "com.urunc.unikernel.unikernelType"="rumprun"
LABEL "com.urunc.unikernel.hypervisor"="hvt"
LABEL "com.urunc.unikernel.useDMBlock"="true"
`, []string{"redis.hvt", "redis.conf"}, map[string]string{"binary": "/unikernel/redis.hvt", "cmdline": "redis-server /data/conf/redis.conf", "unikernelType": "rumprun", "hypervisor": "hvt", "useDMBlock": "true", "mountRootfs": "true"}},
		{"chttp-unikraft-containerfile", "Containerfile", `#syntax=harbor.nbfc.io/nubificus/bunny:0.0.2
FROM scratch
COPY app-elfloader-qemu-x86_64-initrd_qemu-x86_64 /unikernel/kernel
COPY rootfs.cpio /unikernel/rootfs.cpio
LABEL "com.urunc.unikernel.binary"=/unikernel/kernel
LABEL "com.urunc.unikernel.initrd"="/unikernel/rootfs.cpio"
LABEL "com.urunc.unikernel.cmdline"="/chttp"
LABEL "com.urunc.unikernel.unikernelType"="unikraft"
LABEL "com.urunc.unikernel.hypervisor"="qemu"
`, []string{"app-elfloader-qemu-x86_64-initrd_qemu-x86_64", "rootfs.cpio"}, map[string]string{"binary": "/unikernel/kernel", "initrd": "/unikernel/rootfs.cpio", "cmdline": "/chttp", "unikernelType": "unikraft", "hypervisor": "qemu", "useDMBlock": "false", "mountRootfs": "false"}},
		{"mirage-network-bunnyfile", "bunnyfile", `#syntax=harbor.nbfc.io/nubificus/bunny:latest
version: v0.1
platforms:
  framework: mirage
  monitor: hvt
  architecture: x86
kernel:
  from: local
  path: network.hvt
cmdline: ""
`, []string{"network.hvt"}, map[string]string{"binary": "/unikernel/network.hvt", "unikernelType": "mirage", "hypervisor": "hvt", "useDMBlock": "false", "mountRootfs": "false"}},
		{"redis-unikraft-initrd-bunnyfile", "bunnyfile", `#syntax=harbor.nbfc.io/nubificus/bunny:0.0.2
version: v0.1
platforms:
  framework: unikraft
  monitor: qemu
  architecture: x86
rootfs:
  from: scratch
  type: initrd
  include:
  - redis.conf:/conf/redis.conf
kernel:
  from: local
  path: redis-qemu-x86_64-initrd_qemu-x86_64
cmdline: "redis-server /conf/redis.conf"
`, []string{"redis-qemu-x86_64-initrd_qemu-x86_64", "redis.conf"}, map[string]string{"binary": "/unikernel/redis-qemu-x86_64-initrd_qemu-x86_64", "initrd": "/unikernel/rootfs.cpio", "cmdline": "redis-server /conf/redis.conf", "unikernelType": "unikraft", "hypervisor": "qemu", "useDMBlock": "false", "mountRootfs": "false"}},
		{"redis-rumprun-raw-bunnyfile", "bunnyfile", `#syntax=harbor.nbfc.io/nubificus/bunny:0.0.2
version: v0.1
platforms:
  framework: rumprun
  monitor: hvt
  architecture: x86
rootfs:
  from: scratch
  type: raw
  include:
  - redis.conf:/conf/redis.conf
kernel:
  from: local
  path: redis.hvt
cmdline: "redis-server /data/conf/redis.conf"
`, []string{"redis.hvt", "redis.conf"}, map[string]string{"binary": "/unikernel/redis.hvt", "cmdline": "redis-server /data/conf/redis.conf", "unikernelType": "rumprun", "hypervisor": "hvt", "useDMBlock": "true", "mountRootfs": "true"}},
		{"chttp-unikraft-cpio-bunnyfile", "bunnyfile", `#syntax=harbor.nbfc.io/nubificus/bunny:0.0.2
version: v0.1
platforms:
  framework: unikraft
  monitor: qemu
  architecture: x86
rootfs:
  from: local
  path: rootfs.cpio
kernel:
  from: local
  path: app-elfloader-qemu-x86_64-initrd_qemu-x86_64
cmdline: "/chttp"
`, []string{"app-elfloader-qemu-x86_64-initrd_qemu-x86_64", "rootfs.cpio"}, map[string]string{"binary": "/unikernel/app-elfloader-qemu-x86_64-initrd_qemu-x86_64", "initrd": "/unikernel/rootfs.cpio", "cmdline": "/chttp", "unikernelType": "unikraft", "hypervisor": "qemu", "useDMBlock": "false", "mountRootfs": "false"}},
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
			src := filepath.Join(ctx, tc.file)
			os.WriteFile(src, []byte(tc.src), 0o644)
			out := filepath.Join(t.TempDir(), "args.nix")
			bunixCLI(t, ctx, nil, "convert", src, "-o", out, "--name", "urunc/prebuilt/"+tc.name, "--tag", "test")
			img := filepath.Join(t.TempDir(), "image.tar")
			bunixCLI(t, ctx, nil, "build", "-f", out, "-o", img)
			r := inspect(t, img)
			if fmt.Sprint(r.Urunc) != fmt.Sprint(tc.want) {
				t.Errorf("urunc.json = %v\nwant         %v\nargs.nix:\n%s", r.Urunc, tc.want, read(t, out))
			}
			if r.RepoTags[0] != "urunc/prebuilt/"+tc.name+":test" {
				t.Errorf("tags %v", r.RepoTags)
			}
			if viaNix := nixBuild(t, "--arg", "args", out); !bytes.Equal(read(t, viaNix), read(t, img)) {
				t.Error("nix-build of the converted args.nix differs from bunix build")
			}
		})
	}
}
