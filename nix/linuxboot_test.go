package nix_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/urunc"
)

// TestLinuxBootExample runs examples/linux-boot/boot.sh, the README's one
// command to a booted guest, in a scratch directory with the test's kernel
// and bunix: nix-build builds the image, bunix run reads it as urunc does
// and boots it under qemu with urunc's command line, and the guest's
// /init prints its lines and powers off.
func TestLinuxBootExample(t *testing.T) {
	testenv.Require(t, "qemu-system-x86_64")
	testenv.Require(t, "nix-build")
	goTool := testenv.Require(t, "go")
	kernel := testenv.LinuxKernel(t)
	root := testenv.ModuleRoot(t)
	work := t.TempDir()

	// Built and booted in 15 s here at a load average of 8; the bound is
	// only when the test gives up on a boot that hangs.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "examples", "linux-boot", "boot.sh"))
	cmd.Env = append(os.Environ(), "WORK="+work, "KERNEL="+kernel, "BUNIX="+testenv.Bunix(t), "GO="+goTool, "ACCEL=tcg")
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("boot.sh did not finish within 5m:\n%s", out)
	}
	if err != nil {
		t.Fatalf("boot.sh: %v\n%s", err, out)
	}
	console := string(out)
	for _, want := range []string{
		// urunc's qemu command line, TCG in place of KVM, as bunix run
		// --dry-run prints it.
		"run: qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu max -accel tcg -display none -vga none -serial stdio -monitor null -kernel ",
		" -nic none -initrd ",
		" -no-reboot -nodefaults -append 'panic=-1 console=ttyS0 root=/dev/ram0 rw PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin rdinit=/init -- hello from bunix'",
		// What the guest printed.
		"bunix linux-boot: hello from /init, pid 1",
		`bunix linux-boot: args ["/init" "hello" "from" "bunix"]`,
		"bunix linux-boot: /etc/motd: This initrd was built by bunix.",
		"bunix linux-boot: powering off",
	} {
		if !strings.Contains(console, want) {
			t.Errorf("boot.sh's output lacks %q:\n%s", want, console)
		}
	}
	// README's sample of the same run, "..." standing for what varies.
	for _, line := range readmeSample(t, root, "$ make boot-example") {
		pieces := strings.Split(line, "...")
		for i, p := range pieces {
			pieces[i] = regexp.QuoteMeta(p)
		}
		if !regexp.MustCompile(strings.Join(pieces, ".*")).MatchString(console) {
			t.Errorf("README's boot-example sample shows %q, which boot.sh did not print:\n%s", line, console)
		}
	}
	if _, err := os.Lstat(filepath.Join(work, "result")); err != nil {
		t.Errorf("boot.sh left no result in WORK: %v", err)
	}
	t.Logf("built and booted in %s", time.Since(start).Round(time.Millisecond))

	t.Run("containerd", func(t *testing.T) { runItContainerd(t, filepath.Join(work, "result")) })
}

// readmeSample returns the lines of README.md's console block that starts
// with the line first, but that line and lines of "..." only.
func readmeSample(t *testing.T, root, first string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(string(testenv.ReadFile(t, filepath.Join(root, "README.md"))), "```console\n"+first+"\n")
	block, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatalf("README.md has no console block starting %q", first)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(block), "\n") {
		if strings.TrimSpace(l) != "..." {
			lines = append(lines, l)
		}
	}
	return lines
}

// runItContainerd follows the README's "Run it" with containerd as far as
// it goes without urunc: ctr images import lists the image under the name
// ctr run takes; the config Labels, which the urunc shim reads, and the
// /urunc.json of the container's rootfs, which urunc reads, say the same,
// and the rootfs holds the kernel and initrd they name; ctr run --runtime
// io.containerd.urunc.v2 gets as far as looking for urunc's shim.
func runItContainerd(t *testing.T, image string) {
	c := testenv.Containerd(t)
	const ref = "docker.io/bunix/linux-boot:latest"
	_, cfg := importImage(t, c, image, ref)
	want := map[string]string{"unikernelType": "linux", "hypervisor": "qemu", "binary": "/unikernel/vmlinuz",
		"cmdline": "/init hello from bunix", "useDMBlock": "false", "mountRootfs": "false"}
	for k, v := range want {
		if got := cfg.Config.Labels[urunc.Prefix+k]; got != v {
			t.Errorf("label %s = %q, want %q", urunc.Prefix+k, got, v)
		}
	}
	if strings.Join(cfg.Config.Cmd, " ") != "/init hello from bunix" {
		t.Errorf("Cmd %q", cfg.Config.Cmd)
	}

	// No urunc here: containerd must get as far as looking for its shim,
	// having made the container and its rootfs snapshot (without --rm, so
	// that the snapshot stays to be read).
	_, err := c.Ctr(t, "run", "--snapshotter", "native", "--runtime", "io.containerd.urunc.v2", ref, "linux-boot")
	if err == nil || !strings.Contains(err.Error(), "containerd-shim-urunc-v2") {
		t.Errorf("ctr run --runtime io.containerd.urunc.v2 without urunc: %v", err)
	} else {
		t.Logf("ctr run --runtime io.containerd.urunc.v2, without urunc: %v", err)
	}
	// The container's rootfs, as urunc would find it: the native
	// snapshotter's mounts are a bind of a directory.
	out, err := c.Ctr(t, "snapshots", "--snapshotter", "native", "mounts", "/rootfs", "linux-boot")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(out)
	if len(f) < 5 || f[0] != "mount" || f[2] != "bind" {
		t.Fatalf("ctr snapshots mounts: %q", out)
	}
	rootfs := f[3]
	var encoded map[string]string
	if err := json.Unmarshal(testenv.ReadFile(t, filepath.Join(rootfs, "urunc.json")), &encoded); err != nil {
		t.Fatal(err)
	}
	if len(encoded) != len(cfg.Config.Labels) {
		t.Errorf("urunc.json has %d keys, the Labels %d", len(encoded), len(cfg.Config.Labels))
	}
	for k, v := range encoded {
		plain, err := base64.StdEncoding.Strict().DecodeString(v)
		if err != nil || cfg.Config.Labels[k] != string(plain) {
			t.Errorf("urunc.json %s = %q (%v), label %q", k, plain, err, cfg.Config.Labels[k])
		}
	}
	for _, p := range []string{cfg.Config.Labels[urunc.Prefix+"binary"], cfg.Config.Labels[urunc.Prefix+"initrd"]} {
		if fi, err := os.Stat(filepath.Join(rootfs, p)); err != nil || fi.Size() == 0 {
			t.Errorf("the container rootfs lacks %s: %v", p, err)
		}
	}
}
