package nix_test

import (
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestLinuxMultiarchExample runs examples/linux-multiarch/boot.sh: nix-build
// builds one index of an amd64 and an arm64 image, each with its own Debian
// cloud kernel and its own Go /init (GOARCH=arm64 for the second), and
// each entry boots under qemu (TCG) with bunix run --platform, urunc's
// command line for its architecture, its /init printing its argv and the GOARCH it was built
// for. One boot per architecture.
func TestLinuxMultiarchExample(t *testing.T) {
	testenv.Require(t, "qemu-system-x86_64")
	testenv.Require(t, "qemu-system-aarch64")
	testenv.Require(t, "nix-build")
	goTool := testenv.Require(t, "go")
	amd64, arm64 := testenv.LinuxKernelFor(t, "amd64"), testenv.LinuxKernelFor(t, "arm64")
	root := testenv.ModuleRoot(t)
	work := t.TempDir()

	// Built and booted both in 42 s here at a load average of 8; the
	// bound is only when the test gives up on a boot that hangs.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "examples", "linux-multiarch", "boot.sh"))
	cmd.Env = append(os.Environ(), "WORK="+work, "KERNEL_AMD64="+amd64, "KERNEL_ARM64="+arm64, "BUNIX="+testenv.Bunix(t), "GO="+goTool)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("boot.sh did not finish within 10m:\n%s", out)
	}
	if err != nil {
		t.Fatalf("boot.sh: %v\n%s", err, out)
	}
	console := string(out)
	amd64Boot, arm64Boot, ok := strings.Cut(console, "booting the linux/arm64 entry")
	if !ok {
		t.Fatalf("boot.sh did not boot the arm64 entry:\n%s", console)
	}
	for _, tc := range []struct {
		arch, console string
		want          []string
	}{
		{"amd64", amd64Boot, []string{
			"run: qemu-system-x86_64 -m 256M -L /usr/share/qemu -cpu max -accel tcg -display none -vga none -serial stdio -monitor null -kernel ",
			"-append 'panic=-1 console=ttyS0 root=/dev/ram0 rw PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin rdinit=/init -- hello from amd64'",
		}},
		{"arm64", arm64Boot, []string{
			// urunc on arm64: -M virt, the console on the PL011 UART.
			"run: qemu-system-aarch64 -m 256M -L /usr/share/qemu -cpu max -accel tcg -display none -vga none -serial stdio -monitor null -M virt -kernel ",
			"-append 'panic=-1 console=ttyAMA0 root=/dev/ram0 rw PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin rdinit=/init -- hello from arm64'",
		}},
	} {
		want := append(tc.want,
			"bunix linux-boot: hello from /init, pid 1",
			`bunix linux-boot: args ["/init" "hello" "from" "`+tc.arch+`"]`,
			"bunix linux-boot: built for "+tc.arch,
			"bunix linux-boot: /etc/motd: This initrd was built by bunix.",
			"bunix linux-boot: powering off")
		for _, w := range want {
			if !strings.Contains(tc.console, w) {
				t.Errorf("the %s boot's output lacks %q:\n%s", tc.arch, w, tc.console)
			}
		}
	}
	t.Logf("built and booted both in %s", time.Since(start).Round(time.Millisecond))
}

// TestIndexArchMismatch: nix-build of the linux-multiarch index with the
// x86 kernel or init where the arm64 ones go fails, naming the file, what
// it is and what its image says; with files of formats bunix does not know
// (placeholders) it builds.
func TestIndexArchMismatch(t *testing.T) {
	root := testenv.ModuleRoot(t)
	index := filepath.Join(root, "examples", "linux-multiarch", "index.nix")
	elf := func(machine uint16) []byte {
		b := make([]byte, 64)
		copy(b, "\x7fELF\x02\x01\x01")
		binary.LittleEndian.PutUint16(b[16:], 2)
		binary.LittleEndian.PutUint16(b[18:], machine)
		return b
	}
	bzImage := make([]byte, 0x400)
	bzImage[0x1fe], bzImage[0x1ff] = 0x55, 0xaa
	copy(bzImage[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(bzImage[0x206:], 0x020f)
	bzImage[0x236] = 1
	arm64Image := make([]byte, 0x100)
	copy(arm64Image[56:], "ARM\x64")
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"x86 kernel in the arm64 image", map[string][]byte{
			"vmlinuz-amd64": bzImage, "vmlinuz-arm64": bzImage, "init-amd64": elf(62), "init-arm64": elf(183),
		}, `files."./vmlinuz-arm64" = "/nix/store/`},
		{"x86 init in the arm64 image", map[string][]byte{
			"vmlinuz-amd64": bzImage, "vmlinuz-arm64": arm64Image, "init-amd64": elf(62), "init-arm64": elf(62),
		}, `rootfs.include."./init-arm64" = "/nix/store/`},
		{"placeholders", map[string][]byte{
			"vmlinuz-amd64": []byte("kernel"), "vmlinuz-arm64": []byte("kernel"), "init-amd64": []byte("init"), "init-arm64": []byte("init"),
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.files["motd"] = []byte("hi\n")
			for name, b := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			_, stderr, err := testenv.NixBuild(t, dir, index, "--arg", "bunix", testenv.Bunix(t), "--arg", "root", dir)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("nix-build: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "but the image's architecture is arm64") {
				t.Fatalf("nix-build: %v\nwant %q and the architecture named", err, tc.want)
			}
			t.Logf("%s", stderr[strings.Index(stderr, tc.want):])
		})
	}
}
