package nix_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestLinuxBootExample runs examples/linux-boot/boot.sh, the README's one
// command to a booted guest, in a scratch directory with the test's kernel
// and bunix: nix-build builds the image, the example's runner reads it as
// urunc does and boots it under qemu with urunc's command line, and the
// guest's /init prints its lines and powers off.
func TestLinuxBootExample(t *testing.T) {
	testenv.Require(t, "qemu-system-x86_64")
	testenv.Require(t, "nix-build")
	goTool := testenv.Require(t, "go")
	kernel := testenv.LinuxKernel(t)
	root := testenv.ModuleRoot(t)
	work := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "examples", "linux-boot", "boot.sh"))
	cmd.Env = append(os.Environ(), "WORK="+work, "KERNEL="+kernel, "BUNIX="+testenv.Bunix(t), "GO="+goTool)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("boot.sh did not finish within 150s:\n%s", out)
	}
	if err != nil {
		t.Fatalf("boot.sh: %v\n%s", err, out)
	}
	console := string(out)
	for _, want := range []string{
		// urunc's qemu command line, TCG in place of KVM.
		" -cpu max -accel tcg -display none -vga none -monitor null -serial stdio -kernel ",
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
	if _, err := os.Lstat(filepath.Join(work, "result")); err != nil {
		t.Errorf("boot.sh left no result in WORK: %v", err)
	}
	t.Logf("built and booted in %s", time.Since(start).Round(time.Millisecond))
}
