package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// linuxKernel fetches the kernel once per test binary. The tools it runs
// are found on PATH: LinuxKernel has already required them.
var linuxKernel = sync.OnceValues(func() (string, error) {
	return fetchKernel("linux-image-amd64", "apt-get", "apt-cache", "dpkg-deb")
})

// arm64Kernel fetches the arm64 kernel once per test binary.
var arm64Kernel = sync.OnceValues(func() (string, error) {
	return fetchKernel("linux-image-cloud-arm64:arm64", "apt-get", "apt-cache", "dpkg-deb")
})

// LinuxKernelFor returns the path of a bootable Linux kernel for arch:
// LinuxKernel's for amd64; for arm64 Debian's cloud kernel, from the
// package linux-image-cloud-arm64 depends on, fetched the same way (it
// needs Debian's arm64 package lists: dpkg --add-architecture arm64 and
// apt-get update). It skips the test (fails it under CI=true) when the
// kernel cannot be had.
func LinuxKernelFor(t testing.TB, arch string) string {
	t.Helper()
	switch arch {
	case "amd64":
		return LinuxKernel(t)
	case "arm64":
	default:
		t.Fatalf("LinuxKernelFor: no kernel for %q", arch)
	}
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb"} {
		Require(t, tool)
	}
	path, err := arm64Kernel()
	if err != nil {
		unavailable(t, "Debian's arm64 Linux kernel", err, "needs Debian's arm64 package lists: dpkg --add-architecture arm64 && apt-get update")
	}
	return path
}

// LinuxKernel returns the path of a bootable x86_64 Linux kernel: Debian's,
// from the package linux-image-amd64 depends on, fetched with apt-get
// download and unpacked with dpkg-deb -x (nothing is installed) into
// $TMPDIR/bunix-testenv-linux-UID, where later runs find it. It skips the
// test (fails it under CI=true) when the kernel cannot be had.
func LinuxKernel(t testing.TB) string {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		unavailable(t, "an x86_64 Linux kernel", fmt.Errorf("GOARCH is %s", runtime.GOARCH), "the boot tests run on amd64")
	}
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb"} {
		Require(t, tool)
	}
	path, err := linuxKernel()
	if err != nil {
		unavailable(t, "Debian's Linux kernel", err, "needs Debian's package repositories: run apt-get update")
	}
	return path
}

func fetchKernel(meta, aptGet, aptCache, dpkgDeb string) (string, error) {
	out, err := exec.Command(aptCache, "depends", meta).Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends %s: %w", meta, err)
	}
	var pkg string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			pkg = f[1]
			break
		}
	}
	if pkg == "" {
		return "", fmt.Errorf("apt-cache depends %s names no linux-image package:\n%s", meta, out)
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("bunix-testenv-linux-%d", os.Getuid()), strings.ReplaceAll(pkg, ":", "_"))
	// go test ./... runs packages' test binaries side by side, and three
	// of them boot this kernel: one at a time looks and fetches, so that
	// none removes or reads a download another is making.
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", pkg, err)
	}
	defer unlock()
	if kernels := kernelsIn(filepath.Join(dir, "root")); len(kernels) == 1 {
		return kernels[0], nil
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// apt-get download runs as the _apt user where it can: let it write.
	os.Chmod(dir, 0o777)
	if err := unpackDeb(aptGet, dpkgDeb, pkg, dir); err != nil {
		return "", err
	}
	kernels := kernelsIn(filepath.Join(dir, "root"))
	// From Debian 14 on, linux-image-VERSION only depends on
	// linux-binary-VERSION, which holds the kernel.
	if binary, ok := strings.CutPrefix(pkg, "linux-image-"); ok && len(kernels) == 0 {
		if err := unpackDeb(aptGet, dpkgDeb, "linux-binary-"+binary, dir); err != nil {
			return "", err
		}
		kernels = kernelsIn(filepath.Join(dir, "root"))
	}
	if len(kernels) != 1 {
		return "", fmt.Errorf("%s holds %d kernels (/boot/vmlinuz-*, /usr/lib/modules/*/vmlinuz), want 1", pkg, len(kernels))
	}
	return kernels[0], nil
}

// lockFile takes an exclusive lock on the file name, made (with its
// directory) when missing, waiting for another process that holds it, and
// returns what releases it. The lock goes with the process, should it die.
func lockFile(name string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}

// kernelsIn returns the kernels in the tree root: /boot/vmlinuz-* (Debian
// up to 13), /usr/lib/modules/*/vmlinuz (Debian 14).
func kernelsIn(root string) []string {
	boot, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	modules, _ := filepath.Glob(filepath.Join(root, "usr", "lib", "modules", "*", "vmlinuz"))
	return append(boot, modules...)
}

// unpackDeb fetches the package pkg with apt-get download into dir and
// unpacks it into dir/root with dpkg-deb -x.
func unpackDeb(aptGet, dpkgDeb, pkg, dir string) error {
	download := exec.Command(aptGet, "download", "-q", pkg)
	download.Dir = dir
	if out, err := download.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download %s: %w\n%s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download %s left %d .deb files in %s", pkg, len(debs), dir)
	}
	if out, err := exec.Command(dpkgDeb, "-x", debs[0], filepath.Join(dir, "root")).CombinedOutput(); err != nil {
		return fmt.Errorf("dpkg-deb -x %s: %w\n%s", debs[0], err, out)
	}
	os.Remove(debs[0])
	return nil
}

// StaticBinary builds the main package pkg of the module under test (e.g.
// "./nix/testdata/init") with CGO_ENABLED=0, like bunix itself, into a file
// named name in a new temporary directory, and returns its path.
func StaticBinary(t testing.TB, pkg, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	if err := goBuild(ModuleRoot(t), pkg, out); err != nil {
		t.Fatal(err)
	}
	return out
}
