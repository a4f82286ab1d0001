package run

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/urunc"
)

// The command lines below are written out by hand from urunc's source
// (urunc-dev/urunc), file by file, not produced by this package:
//
//   - qemu: pkg/unikontainers/hypervisors/qemu.go BuildExecCmd, commit
//     d7f875e5 ("-m MEMM -L /usr/share/qemu -cpu host -enable-kvm -display
//     none -vga none -serial stdio -monitor null [-smp N] -kernel K, -nic
//     none or the network, the guest's block arguments, -initrd, -fsdev/
//     -device for 9pfs, the guest's extra initrd and arguments", split at
//     spaces, then -append CMDLINE);
//   - firecracker: hypervisors/firecracker.go BuildExecCmd, commit
//     3272d982 (argv and the JSON config);
//   - solo5-hvt and solo5-spt: hypervisors/hvt.go and spt.go Execve,
//     commit 46a96a5f ("--mem=M", "--block:ID=PATH", kernel, cmdline, all
//     split at spaces);
//   - cloud-hypervisor: hypervisors/cloud_hypervisor.go, commit 00475213;
//   - hyperlight-unikraft: hypervisors/hyperlight.go, commit 1dee0cd7;
//   - the guests: unikernels/linux.go (commit 1b26bc7c), unikraft.go,
//     rumprun.go, mirage.go, mewz.go (commit 46a96a5f), hermit_rs.go
//     (commit 78c63f12), freebsd.go (commit b8f61a81).
//
// Paths: the private directory is /r, the image's rootfs /r/rootfs.
var commandCases = []struct {
	name string
	g    Guest
	m    Machine
	want string
	// files are those written beside the monitor, by name.
	files map[string]string
}{
	// Every guest and monitor pair urunc (and bunix) allows.
	{
		name: "linux/qemu initrd",
		g:    Guest{Type: "linux", Monitor: "qemu", Rootfs: RootfsInitrd, Initrd: "/r/rootfs/i", Args: []string{"/app", "-v", "two words"}, Env: []string{"PATH=/bin", "A=b"}, Kernel: "/r/rootfs/k"},
		want: `qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -nic none -initrd /r/rootfs/i -no-reboot -nodefaults -append 'panic=-1 console=ttyS0 root=/dev/ram0 rw PATH=/bin A=b rdinit=/app -- -v '\''two words'\'''`,
	},
	{
		name: "linux/firecracker initrd",
		g:    Guest{Type: "linux", Monitor: "firecracker", Rootfs: RootfsInitrd, Initrd: "/r/rootfs/i", Args: []string{"/app", "-v"}, Env: []string{"PATH=/bin"}, Kernel: "/r/rootfs/k"},
		want: `firecracker --no-api --config-file /r/fc.json --no-seccomp`,
		files: map[string]string{"fc.json": `{"boot-source":{"kernel_image_path":"/r/rootfs/k","boot_args":"panic=-1 console=ttyS0 root=/dev/ram0 rw PATH=/bin rdinit=/app -- -v","initrd_path":"/r/rootfs/i"},` +
			`"machine-config":{"vcpu_count":0,"mem_size_mib":256,"smt":false,"track_dirty_pages":false},"drives":[],"vsock":{"guest_cid":0,"uds_path":"","vsock_id":""}}`},
	},
	{
		name: "linux/cloud-hypervisor initrd",
		g:    Guest{Type: "linux", Monitor: "cloud-hypervisor", Rootfs: RootfsInitrd, Initrd: "/r/rootfs/i", Args: []string{"/app"}, Env: []string{"PATH=/bin"}, Kernel: "/r/rootfs/k"},
		want: `cloud-hypervisor --memory size=256M --kernel /r/rootfs/k --console off --serial tty --seccomp false --initramfs /r/rootfs/i --cmdline 'panic=-1 console=ttyS0 root=/dev/ram0 rw PATH=/bin rdinit=/app -- '`,
	},
	{
		name: "unikraft/qemu initrd",
		g:    Guest{Type: "unikraft", Monitor: "qemu", Version: "0.17.0", Rootfs: RootfsInitrd, Initrd: "/r/rootfs/i", Args: []string{"nginx", "-c", "/conf"}, Env: []string{"PATH=/bin", "A=b"}, Kernel: "/r/rootfs/k"},
		want: `qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -nic none -initrd /r/rootfs/i -append 'Unikraft  env.vars=[ PATH=/bin A=b ] netdev.ip=/24::8.8.8.8   vfs.fstab=[ "initrd0:/:extract:::" ] -- nginx -c /conf'`,
	},
	{
		name: "unikraft/firecracker initrd",
		g:    Guest{Type: "unikraft", Monitor: "firecracker", Rootfs: RootfsInitrd, Initrd: "/r/rootfs/i", Args: []string{"app"}, Kernel: "/r/rootfs/k"},
		want: `firecracker --no-api --config-file /r/fc.json --no-seccomp`,
		files: map[string]string{"fc.json": `{"boot-source":{"kernel_image_path":"/r/rootfs/k","boot_args":"Unikraft   netdev.ip=/24::8.8.8.8   vfs.fstab=[ \"initrd0:/:extract:::\" ] -- app","initrd_path":"/r/rootfs/i"},` +
			`"machine-config":{"vcpu_count":0,"mem_size_mib":256,"smt":false,"track_dirty_pages":false},"drives":[],"vsock":{"guest_cid":0,"uds_path":"","vsock_id":""}}`},
	},
	{
		name: "unikraft/hyperlight-unikraft initrd",
		g:    Guest{Type: "unikraft", Monitor: "hyperlight-unikraft", Rootfs: RootfsInitrd, Initrd: "/r/rootfs/i", Args: []string{"app"}, Kernel: "/r/rootfs/k"},
		want: `hyperlight-unikraft /r/rootfs/k --initrd /r/rootfs/i --memory 268435456`,
	},
	{
		name: "rumprun/hvt block at /data",
		g:    Guest{Type: "rumprun", Monitor: "hvt", Block: "/r/rootfs/b", BlockMount: "/data", Args: []string{"redis-server", "/data/conf/redis.conf"}, Env: []string{"PATH=/bin"}, Kernel: "/r/rootfs/k"},
		want: `solo5-hvt --mem=256 --block:rootfs=/r/rootfs/b /r/rootfs/k '{"cmdline":"redis-server' '/data/conf/redis.conf","env":"PATH=/bin","blk":{"source":"etfs","path":"/dev/ld0a","fstype":"blk","mountpoint":"/data"}}'`,
	},
	{
		name: "rumprun/spt without a block",
		g:    Guest{Type: "rumprun", Monitor: "spt", Args: []string{"hello"}, Kernel: "/r/rootfs/k"},
		want: `solo5-spt --mem=256 /r/rootfs/k '{"cmdline":"hello"}'`,
	},
	{
		name: "mirage/hvt block",
		g:    Guest{Type: "mirage", Monitor: "hvt", Rootfs: RootfsBlock, Block: "/r/rootfs/b", Args: []string{"--hello=hi"}, Kernel: "/r/rootfs/k"},
		want: `solo5-hvt --mem=256 --block:storage=/r/rootfs/b /r/rootfs/k '' '' --hello=hi`,
	},
	{
		name: "mirage/spt block",
		g:    Guest{Type: "mirage", Monitor: "spt", Rootfs: RootfsBlock, Block: "/r/rootfs/b", Kernel: "/r/rootfs/k"},
		want: `solo5-spt --mem=256 --block:storage=/r/rootfs/b /r/rootfs/k '' '' ''`,
	},
	{
		name: "mirage/qemu block (mirage gives qemu no block arguments)",
		g:    Guest{Type: "mirage", Monitor: "qemu", Rootfs: RootfsBlock, Block: "/r/rootfs/b", Kernel: "/r/rootfs/k"},
		want: `qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -nic none -append '  '`,
	},
	{
		name: "mewz/qemu",
		g:    Guest{Type: "mewz", Monitor: "qemu", Kernel: "/r/rootfs/k"},
		m:    Machine{MemoryMiB: 512},
		want: `qemu-system-x86_64 -m 512M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -nic none -no-reboot -device isa-debug-exit,iobase=0x501,iosize=2 -append 'ip=/24 gateway= '`,
	},
	{
		name: "hermit/qemu initrd",
		g:    Guest{Type: "hermit", Monitor: "qemu", Rootfs: RootfsInitrd, Initrd: "/r/rootfs/i", Args: []string{"app", "-x"}, Kernel: "/r/rootfs/k"},
		want: `qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -nic none -initrd /r/rootfs/i -no-reboot -append 'app -x'`,
	},
	{
		name:  "freebsd/qemu block (no disk on qemu yet)",
		g:     Guest{Type: "freebsd", Monitor: "qemu", Rootfs: RootfsBlock, Block: "/r/rootfs/b", Args: []string{"/bin/app"}, Kernel: "/r/rootfs/k"},
		want:  `qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -nic none -append vfs.root.mountfrom=/dev/vtbd0`,
		files: map[string]string{"urunit.conf": "UES\nPATH=/bin\nUEE\nUCS\nUID:0\nGID:0\nWD:/\nARC:1\nARV:/bin/app\nUCE\nUBS\nUBE\nUNS\nIP:\nGW:\nMSK:\nUNE\n" + strings.Repeat("PAD\n", 128)},
	},
	{
		name: "freebsd/firecracker block",
		g:    Guest{Type: "freebsd", Monitor: "firecracker", Rootfs: RootfsBlock, Block: "/r/rootfs/b", Args: []string{"/bin/app"}, Kernel: "/r/rootfs/k"},
		want: `firecracker --no-api --config-file /r/fc.json --no-seccomp`,
		files: map[string]string{
			"fc.json": `{"boot-source":{"kernel_image_path":"/r/rootfs/k","boot_args":"vfs.root.mountfrom=/dev/vtbd0"},"machine-config":{"vcpu_count":0,"mem_size_mib":256,"smt":false,"track_dirty_pages":false},` +
				`"drives":[{"drive_id":"FCrootfs","is_read_only":false,"is_root_device":false,"path_on_host":"/r/rootfs/b"},{"drive_id":"FC_URUNIT_CONFIG","is_read_only":false,"is_root_device":false,"path_on_host":"/r/urunit.conf"}],"vsock":{"guest_cid":0,"uds_path":"","vsock_id":""}}`,
			"urunit.conf": "UES\nPATH=/bin\nUEE\nUCS\nUID:0\nGID:0\nWD:/\nARC:1\nARV:/bin/app\nUCE\nUBS\nUBE\nUNS\nIP:\nGW:\nMSK:\nUNE\n" + strings.Repeat("PAD\n", 128),
		},
	},

	// Other rootfs, networks, sizes and urunit.
	{
		name: "linux/qemu block rootfs",
		g:    Guest{Type: "linux", Monitor: "qemu", Rootfs: RootfsBlock, Block: "/r/rootfs/b", Args: []string{"/sbin/init"}, Kernel: "/r/rootfs/k"},
		want: `qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -nic none -device virtio-blk-pci,serial=rootfs,drive=rootfs -drive format=raw,if=none,id=rootfs,file=/r/rootfs/b -no-reboot -nodefaults -append 'panic=-1 console=ttyS0 root=/dev/vda rw init=/sbin/init -- '`,
	},
	{
		name: "linux/firecracker block rootfs",
		g:    Guest{Type: "linux", Monitor: "firecracker", Rootfs: RootfsBlock, Block: "/r/rootfs/b", Args: []string{"/sbin/init"}, Kernel: "/r/rootfs/k"},
		want: `firecracker --no-api --config-file /r/fc.json --no-seccomp`,
		files: map[string]string{"fc.json": `{"boot-source":{"kernel_image_path":"/r/rootfs/k","boot_args":"panic=-1 console=ttyS0 root=/dev/vda rw init=/sbin/init -- "},"machine-config":{"vcpu_count":2,"mem_size_mib":1024,"smt":false,"track_dirty_pages":false},` +
			`"drives":[{"drive_id":"FCrootfs","is_read_only":false,"is_root_device":false,"path_on_host":"/r/rootfs/b"}],"vsock":{"guest_cid":0,"uds_path":"","vsock_id":""}}`},
		m: Machine{CPUs: 2, MemoryMiB: 1024},
	},
	{
		name: "linux/qemu 9pfs, TCG, -p, --cpus, -m",
		g:    Guest{Type: "linux", Monitor: "qemu", Rootfs: Rootfs9p, Shared: "/r/rootfs", Args: []string{"/bin/sh", "-c", "x"}, Env: []string{"PATH=/bin"}, Kernel: "/r/rootfs/k"},
		m:    Machine{Accel: AccelTCG, CPUs: 2, MemoryMiB: 512, Net: &Net{MAC: UserNetMAC, Ports: []Port{{8080, 80}, {2222, 22}}}},
		want: `qemu-system-x86_64 -m 512M -L /usr/share/qemu -cpu max -accel tcg -display none -vga none -serial stdio -monitor null -smp 2 -kernel /r/rootfs/k -net nic,model=virtio,macaddr=52:54:00:12:34:56 -net user,hostfwd=tcp::8080-:80,hostfwd=tcp::2222-:22 -fsdev local,id=rootfs9p,security_model=none,path=/r/rootfs -device virtio-9p-pci,fsdev=rootfs9p,mount_tag=fs0 -no-reboot -nodefaults -append 'panic=-1 console=ttyS0 root=fs0 rw rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=5000000,cache=mmap,posixacl ip=10.0.2.15::10.0.2.2:255.255.255.0:urunc:eth0:off PATH=/bin init=/bin/sh -- -c x'`,
	},
	{
		name:  "linux/qemu urunit, block rootfs: the config is a second initrd",
		g:     Guest{Type: "linux", Monitor: "qemu", Rootfs: RootfsBlock, Block: "/r/rootfs/b", Args: []string{"/urunit", "/app"}, Env: []string{"A=b"}, UID: 1, GID: 2, WorkingDir: "/w", Kernel: "/r/rootfs/k"},
		want:  `qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -nic none -device virtio-blk-pci,serial=rootfs,drive=rootfs -drive format=raw,if=none,id=rootfs,file=/r/rootfs/b -initrd /r/urunit.conf -no-reboot -nodefaults -append 'panic=-1 console=ttyS0 root=/dev/vda rw retain_initrd URUNIT_CONFIG=/sys/firmware/initrd init=/urunit -- /app'`,
		files: map[string]string{"urunit.conf": "UES\nA=b\nUEE\nUCS\nUID:1\nGID:2\nWD:/w\nUCE\nUBS\nUBE\n"},
	},
	{
		name: "linux/qemu initrd and a block at /data",
		g:    Guest{Type: "linux", Monitor: "qemu", Rootfs: RootfsInitrd, Initrd: "/r/rootfs/i", Block: "/r/rootfs/b", BlockMount: "/data", Args: []string{"/init"}, Kernel: "/r/rootfs/k"},
		want: `qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -nic none -device virtio-blk-pci,serial=annot_vol,drive=annot_vol -drive format=raw,if=none,id=annot_vol,file=/r/rootfs/b -initrd /r/rootfs/i -no-reboot -nodefaults -append 'panic=-1 console=ttyS0 root=/dev/ram0 rw rdinit=/init -- '`,
	},
	{
		name: "unikraft/qemu below 0.16.1: compatibility arguments, no env",
		g:    Guest{Type: "unikraft", Monitor: "qemu", Version: "0.15.0", Rootfs: RootfsInitrd, Initrd: "/r/rootfs/i", Args: []string{"nginx"}, Env: []string{"A=b"}, Kernel: "/r/rootfs/k"},
		want: `qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -nic none -initrd /r/rootfs/i -append 'Unikraft   netdev.ipv4_addr= netdev.ipv4_gw_addr= netdev.ipv4_subnet_mask= vfs.rootfs=initrd -- nginx'`,
	},
	{
		name: "unikraft/qemu before 0.7: the first argument is argv[0]",
		g:    Guest{Type: "unikraft", Monitor: "qemu", Version: "0.17.0", Rootfs: RootfsInitrd, Initrd: "/r/rootfs/i", Args: []string{"nginx", "-c", "/conf"}, Kernel: "/r/rootfs/k"},
		want: `qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -nic none -initrd /r/rootfs/i -append 'nginx   netdev.ip=/24::8.8.8.8   vfs.fstab=[ "initrd0:/:extract:::" ] -- -c /conf'`,
	},
	{
		name: "unikraft/qemu 9pfs and -p",
		g:    Guest{Type: "unikraft", Monitor: "qemu", Rootfs: Rootfs9p, Shared: "/r/rootfs", Args: []string{"nginx"}, Kernel: "/r/rootfs/k"},
		m:    Machine{Net: &Net{MAC: UserNetMAC, Ports: []Port{{8080, 80}}}},
		want: `qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -net nic,model=virtio,macaddr=52:54:00:12:34:56 -net user,hostfwd=tcp::8080-:80 -fsdev local,id=rootfs9p,security_model=none,path=/r/rootfs -device virtio-9p-pci,fsdev=rootfs9p,mount_tag=fs0 -append 'Unikraft   netdev.ip=10.0.2.15/24:10.0.2.2:8.8.8.8   vfs.fstab=[ "fs0:/:9pfs:::" ] -- nginx'`,
	},
	{
		name: "mewz/qemu -p: mewz's own network arguments",
		g:    Guest{Type: "mewz", Monitor: "qemu", Kernel: "/r/rootfs/k"},
		m:    Machine{MemoryMiB: 512, Net: &Net{MAC: UserNetMAC, Ports: []Port{{8080, 80}}}},
		want: `qemu-system-x86_64 -m 512M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -device virtio-net-pci,netdev=net0,disable-legacy=on,disable-modern=off,mac=52:54:00:12:34:56 -netdev user,id=net0,hostfwd=tcp::8080-:80 -no-reboot -device isa-debug-exit,iobase=0x501,iosize=2 -append 'ip=10.0.2.15/24 gateway=10.0.2.2 '`,
	},
	{
		name: "hermit/qemu -p",
		g:    Guest{Type: "hermit", Monitor: "qemu", Args: []string{"app"}, Kernel: "/r/rootfs/k"},
		m:    Machine{Net: &Net{MAC: UserNetMAC, Ports: []Port{{8080, 80}}}},
		want: `qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -serial stdio -monitor null -kernel /r/rootfs/k -netdev user,id=net0,hostfwd=tcp::8080-:80 -device virtio-net-pci,netdev=net0,disable-legacy=on,mac=52:54:00:12:34:56 -no-reboot -append 'ip=10.0.2.15/24 gateway=10.0.2.2 -- app'`,
	},
}

// TestCommand checks the command line and the files of every case
// against urunc's, and that the cases cover every pair urunc allows.
func TestCommand(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range commandCases {
		t.Run(c.name, func(t *testing.T) {
			g, m := c.g, c.m
			m.Dir, m.Arch = "/r", "amd64"
			g.UnikraftArgv0 = !strings.Contains(c.name, "before 0.7")
			if m.Accel == "" {
				m.Accel = AccelKVM
			}
			if g.WorkingDir == "" && g.Type == "freebsd" {
				g.WorkingDir = "/"
			}
			if g.Env == nil && g.Type == "freebsd" {
				g.Env = []string{"PATH=/bin"}
			}
			plan, err := Command(&g, &m)
			if err != nil {
				t.Fatal(err)
			}
			covered[g.Type+"/"+g.Monitor] = true
			if got := ShellQuote(plan.Argv); got != c.want {
				t.Errorf("command line:\n got %s\nwant %s", got, c.want)
			}
			if len(plan.Files) != len(c.files) {
				t.Errorf("files %v, want %d", keys(plan.Files), len(c.files))
			}
			for name, want := range c.files {
				if got := string(plan.Files[name]); got != want {
					t.Errorf("%s:\n got %s\nwant %s", name, got, want)
				}
				if name == fcConfigName && !json.Valid(plan.Files[name]) {
					t.Errorf("%s is not JSON", name)
				}
			}
		})
	}
	for monitor, guests := range urunc.Monitors {
		for _, guest := range guests {
			if !covered[guest+"/"+monitor] {
				t.Errorf("no case for %s on %s", guest, monitor)
			}
		}
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestCommandUrunitInitrd: with urunit as init and an initrd rootfs,
// urunit's config is appended to the initrd as a newc segment, and the
// kernel command line names it and carries no environment.
func TestCommandUrunitInitrd(t *testing.T) {
	g := &Guest{Type: "linux", Monitor: "qemu", Rootfs: RootfsInitrd, Initrd: "/r/rootfs/i", Block: "/r/rootfs/b", BlockMount: "/data", Args: []string{"/sbin/urunit", "/app", "two words"}, Env: []string{"PATH=/bin"}, Kernel: "/r/rootfs/k"}
	plan, err := Command(g, &Machine{Arch: "amd64", Accel: AccelKVM, Dir: "/r"})
	if err != nil {
		t.Fatal(err)
	}
	want := `-append 'panic=-1 console=ttyS0 root=/dev/ram0 rw URUNIT_CONFIG=/urunit.conf rdinit=/sbin/urunit -- /app '\''two words'\'''`
	if got := ShellQuote(plan.Argv); !strings.HasSuffix(got, want) {
		t.Errorf("command line %s\nwant it to end %s", got, want)
	}
	conf := "UES\nPATH=/bin\nUEE\nUCS\nUID:0\nGID:0\nWD:\nUCE\nUBS\nID:annot_vol\nMP:/data\nUBE\n"
	seg := string(plan.AppendInitrd)
	if !strings.HasPrefix(seg, "070701") || !strings.Contains(seg, "urunit.conf\x00") || !strings.Contains(seg, conf) || !strings.Contains(seg, "TRAILER!!!\x00") || len(seg)%4 != 0 {
		t.Errorf("appended segment %q", seg)
	}
	if len(plan.Files) != 0 {
		t.Errorf("files %v; the config goes into the initrd", keys(plan.Files))
	}
}

// TestCommandRefuses: what urunc refuses, and -p where there is no
// user-mode network, are errors that say why.
func TestCommandRefuses(t *testing.T) {
	for _, c := range []struct {
		g    Guest
		m    Machine
		want string
	}{
		{Guest{Type: "linux", Monitor: "hvt", Kernel: "k"}, Machine{}, `unikernelType = "linux" on hypervisor = "hvt": urunc does not run that pair (hvt runs: rumprun, mirage)`},
		{Guest{Type: "linux", Monitor: "qemu", Kernel: "k"}, Machine{}, "no init was specified"},
		{Guest{Type: "linux", Monitor: "firecracker", Args: []string{"/init"}, Kernel: "k"}, Machine{Net: &Net{Ports: []Port{{80, 80}}}}, "-p: firecracker has no user-mode network"},
		{Guest{Type: "linux", Monitor: "qemu", Args: []string{"/init"}, Kernel: "k"}, Machine{Arch: "riscv64"}, `architecture "riscv64"`},
		{Guest{Type: "linux", Monitor: "qemu", Args: []string{"/init"}, Kernel: "k", Rootfs: RootfsBlock, Block: "/r/b,file.filename=/etc/shadow"}, Machine{}, `the block image "/r/b,file.filename=/etc/shadow": holds a comma`},
		{Guest{Type: "mirage", Monitor: "spt", Kernel: "/r/k --mem=9999999"}, Machine{}, `the kernel "/r/k --mem=9999999": holds white space`},
		{Guest{Type: "linux", Monitor: "qemu", Args: []string{"/init"}, Env: []string{"OPTS=x -- y"}, Kernel: "k"}, Machine{}, `env "OPTS=x -- y": holds white space or a double quote`},
		{Guest{Type: "unikraft", Monitor: "qemu", Env: []string{"A=1]", "vfs.fstab=[ \"fs0:/:9pfs:::\" ]"}, Kernel: "k"}, Machine{}, `env "A=1]": holds white space, a double quote or a bracket`},
		{Guest{Type: "linux", Monitor: "qemu", Args: []string{"/init"}, Env: []string{`Q="x`}, Kernel: "k"}, Machine{}, `env "Q=\"x": holds white space or a double quote`},
		{Guest{Type: "linux", Monitor: "qemu", Args: []string{"/init panic=0"}, Kernel: "k"}, Machine{}, `the init "/init panic=0": holds white space`},
		{Guest{Type: "linux", Monitor: "qemu", Args: []string{"/urunit", "/app"}, Env: []string{"A=1\nUEE"}, Kernel: "k"}, Machine{}, `env "A=1\nUEE": holds a control character`},
		{Guest{Type: "linux", Monitor: "qemu", Args: []string{"/urunit", "/app\n"}, Kernel: "k"}, Machine{}, `process arg 1, "/app\n": holds a control character`},
		{Guest{Type: "linux", Monitor: "qemu", Args: []string{"/urunit"}, WorkingDir: "/\nUID:0", Kernel: "k"}, Machine{}, `workingDir "/\nUID:0": holds a control character`},
		{Guest{Type: "freebsd", Monitor: "firecracker", Args: []string{"/app", "x\nARV:y"}, Kernel: "k"}, Machine{}, `process arg 1, "x\nARV:y": holds a control character`},
		{Guest{Type: "linux", Monitor: "qemu", Args: []string{"/init"}, Kernel: "k"}, Machine{CPUs: 256}, `--cpus 256: qemu's x86 pc machine takes at most 255 vCPUs`},
		{Guest{Type: "linux", Monitor: "qemu", Args: []string{"/init"}, Kernel: "k"}, Machine{CPUs: 99999999999}, `--cpus 99999999999: qemu's x86 pc machine takes at most 255 vCPUs`},
		{Guest{Type: "linux", Monitor: "qemu", Args: []string{"/init"}, Kernel: "k"}, Machine{CPUs: 9, Arch: "arm64"}, `--cpus 9: qemu's arm64 virt machine (with its default GICv2, as urunc starts it) takes at most 8 vCPUs`},
		{Guest{Type: "linux", Monitor: "firecracker", Args: []string{"/init"}, Kernel: "k"}, Machine{CPUs: 33}, `--cpus 33: firecracker takes at most 32 vCPUs`},
	} {
		if c.m.Arch == "" {
			c.m.Arch = "amd64"
		}
		_, err := Command(&c.g, &c.m)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s on %s: %v, want %q", c.g.Type, c.g.Monitor, err, c.want)
		}
	}
}

// TestChooseRootfs follows urunc's order.
func TestChooseRootfs(t *testing.T) {
	for _, c := range []struct {
		s    Settings
		want string
		err  string
	}{
		{Settings{"unikernelType": "linux", "hypervisor": "qemu", "initrd": "/i", "block": "/b", "blkMntPoint": "/"}, RootfsInitrd, ""},
		{Settings{"unikernelType": "linux", "hypervisor": "qemu", "block": "/b", "blkMntPoint": "/"}, RootfsBlock, ""},
		{Settings{"unikernelType": "unikraft", "hypervisor": "qemu", "block": "/b", "blkMntPoint": "/"}, RootfsNone, ""},
		{Settings{"unikernelType": "linux", "hypervisor": "qemu", "mountRootfs": "true"}, Rootfs9p, ""},
		{Settings{"unikernelType": "unikraft", "hypervisor": "qemu", "mountRootfs": "true"}, Rootfs9p, ""},
		{Settings{"unikernelType": "linux", "hypervisor": "firecracker", "mountRootfs": "true"}, "", "devmapper"},
		{Settings{"unikernelType": "rumprun", "hypervisor": "hvt", "mountRootfs": "true"}, "", "devmapper"},
		{Settings{"unikernelType": "rumprun", "hypervisor": "hvt", "block": "/b"}, "", "without blkMntPoint"},
		{Settings{"unikernelType": "rumprun", "hypervisor": "hvt", "block": "/b", "blkMntPoint": "/data", "mountRootfs": "false"}, RootfsNone, ""},
		{Settings{"unikernelType": "mewz", "hypervisor": "qemu"}, RootfsNone, ""},
	} {
		got, err := ChooseRootfs(c.s)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: %v, want an error saying %q", c.s, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%v: %q, %v; want %q", c.s, got, err, c.want)
		}
	}
}

// TestCPULimits: --cpus at a monitor's limit is passed on; one past it is
// refused (TestCommandRefuses), naming the limit.
func TestCPULimits(t *testing.T) {
	for _, c := range []struct {
		monitor, arch string
		cpus          uint
		want          string
	}{
		{"qemu", "amd64", 255, "-smp 255"},
		{"qemu", "arm64", 8, "-smp 8"},
		{"firecracker", "amd64", 32, ""},
	} {
		g := Guest{Type: "linux", Monitor: c.monitor, Args: []string{"/init"}, Kernel: "k"}
		plan, err := Command(&g, &Machine{CPUs: c.cpus, Arch: c.arch})
		if err != nil {
			t.Errorf("%s %s --cpus %d: %v", c.monitor, c.arch, c.cpus, err)
			continue
		}
		if c.want != "" && !strings.Contains(strings.Join(plan.Argv, " "), c.want) {
			t.Errorf("%s %s: argv %q, want %q", c.monitor, c.arch, plan.Argv, c.want)
		}
		if c.monitor == "firecracker" && !strings.Contains(string(plan.Files[fcConfigName]), `"vcpu_count":32`) {
			t.Errorf("firecracker config %s, want vcpu_count 32", plan.Files[fcConfigName])
		}
	}
}
