package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/run"
)

// Modules of Debian's kernel, in load order (its modules.order): those a
// virtio network card needs, and those a virtio disk with ext4 needs.
var (
	netModules = []string{
		"drivers/virtio/virtio.ko", "drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
		"drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci.ko",
		"net/core/failover.ko", "drivers/net/net_failover.ko", "drivers/net/virtio_net.ko",
	}
	blockModules = []string{
		"drivers/virtio/virtio.ko", "drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
		"drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci.ko", "drivers/block/virtio_blk.ko",
		"crypto/crc32c_generic.ko", "lib/crc16.ko", "fs/mbcache.ko", "fs/jbd2/jbd2.ko", "fs/ext4/ext4.ko",
	}
)

// deviceImage builds, with bunix build, a docker-archive of a Linux guest
// whose initrd holds testdata/guest as /init and as /urunit, and modules
// (paths under the kernel's modules directory) in /modules; files and
// annotations are added to the description; entrypoint and cmd are the
// image's.
func deviceImage(t *testing.T, modules []string, files map[string]string, annotations, entrypoint string, cmd ...string) string {
	t.Helper()
	testenv.Require(t, "qemu-system-x86_64")
	goTool := testenv.Require(t, "go")
	kernel := testenv.LinuxKernel(t)
	bunix := filepath.Join(testenv.Bunix(t), "bin", "bunix")
	dir := t.TempDir()
	build := exec.Command(goTool, "build", "-trimpath", "-o", filepath.Join(dir, "init"), "./pkg/run/testdata/guest")
	build.Dir, build.Env = testenv.ModuleRoot(t), append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the guest's /init: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "init")); err != nil || os.WriteFile(filepath.Join(dir, "urunit"), b, 0o755) != nil {
		t.Fatal(err)
	}
	k, _ := os.ReadFile(kernel)
	os.WriteFile(filepath.Join(dir, "vmlinuz"), k, 0o644)
	modDirs, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(kernel)), "lib", "modules", "*", "kernel"))
	if len(modDirs) != 1 {
		t.Fatalf("the kernel's modules: %v", modDirs)
	}
	include := []string{`"./init": "/init"`, `"./urunit": "/urunit"`}
	for i, m := range modules {
		b, err := os.ReadFile(filepath.Join(modDirs[0], m))
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%02d-%s", i, filepath.Base(m))
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
		include = append(include, fmt.Sprintf(`"./%s": "/modules/%s"`, name, name))
	}
	fileList := []string{`"./vmlinuz": "/unikernel/vmlinuz"`}
	for src, data := range files {
		os.WriteFile(filepath.Join(dir, src), []byte(data), 0o644)
	}
	for src := range files {
		if strings.HasSuffix(src, ".img") {
			fileList = append(fileList, fmt.Sprintf(`"./%s": "/%s"`, src, src))
		}
	}
	cmdJSON, _ := json.Marshal(cmd)
	os.WriteFile(filepath.Join(dir, "args.json"), []byte(`{"name": "bunix/device", "files": {`+strings.Join(fileList, ", ")+`},
  "rootfs": {"type": "initrd", "include": {`+strings.Join(include, ", ")+`}},
  "entrypoint": ["`+entrypoint+`"], "cmd": `+string(cmdJSON)+`,
  "annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/unikernel/vmlinuz"`+annotations+`}}`), 0o644)
	img := filepath.Join(dir, "image.tar")
	if out, err := exec.Command(bunix, "build", "-f", filepath.Join(dir, "args.json"), "-o", img).CombinedOutput(); err != nil {
		t.Fatalf("bunix build: %v\n%s", err, out)
	}
	return img
}

// TestBootPublish boots a Linux guest with -p HOST:80 under qemu (TCG):
// the guest (testdata/guest serve) loads the virtio network modules, takes
// its address from the ip= parameter bunix writes the way urunc does,
// and answers an HTTP request that the test sends to HOST on the host.
func TestBootPublish(t *testing.T) {
	img := deviceImage(t, netModules, nil, "", "/init", "serve")
	// The host port was free when picked; another process may take it
	// before qemu binds it (go test ./... runs other packages' servers
	// and clients beside this one). qemu then fails at once, and the run
	// starts again on another port.
	var port int
	var stdout syncBuffer
	var stderr bytes.Buffer
	done := make(chan error, 1)
	for attempt := 1; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		stdout, stderr = syncBuffer{}, bytes.Buffer{}
		go func() {
			done <- run.Run(context.Background(), run.Options{Image: img, Ports: []run.Port{{Host: uint16(port), Guest: 80}},
				Accel: run.AccelTCG, Timeout: bootBound, TempDir: t.TempDir(), Stdout: &stdout, Stderr: &stderr})
		}()
		if waitListening(t, &stdout, done) {
			break
		}
		if attempt == 3 || !strings.Contains(stderr.String(), "Could not set up host forwarding rule") {
			t.Fatalf("the run ended before the guest listened:\n%s\n%s", stdout.String(), stderr.String())
		}
		t.Logf("host port %d was taken before qemu bound it; again on another", port)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("GET through -p %d:80: %v\n%s", port, err, stdout.String())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello over -p from 10.0.2.15\n" {
		t.Errorf("body %q", body)
	}
	if err := <-done; err != nil {
		t.Errorf("run: %v\n%s", err, stdout.String())
	}
}

// waitListening waits up to bootBound for the guest to say it listens
// on stdout, and reports whether it did; false is the run's end, its
// error on done, before that.
func waitListening(t *testing.T, stdout *syncBuffer, done chan error) bool {
	t.Helper()
	deadline := time.Now().Add(bootBound)
	for !strings.Contains(stdout.String(), "guest: listening on 10.0.2.15:80") {
		select {
		case err := <-done:
			t.Logf("the run ended: %v", err)
			return false
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the guest did not listen within %v:\n%s", bootBound, stdout.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}

// TestBootBlockVolume boots a Linux guest with an initrd and an ext4
// block image that the image mounts at /data (block, blkMntPoint): bunix
// attaches it as urunc does (virtio-blk, serial annot_vol), and the guest
// (testdata/guest mount) finds it by that serial and reads it.
func TestBootBlockVolume(t *testing.T) {
	mke2fs := testenv.Require(t, "mke2fs")
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "hello.txt"), []byte("hello from the block\n"), 0o644)
	disk := filepath.Join(t.TempDir(), "data.img")
	if out, err := exec.Command(mke2fs, "-q", "-t", "ext4", "-d", src, disk, "8M").CombinedOutput(); err != nil {
		t.Fatalf("mke2fs: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(disk)
	img := deviceImage(t, blockModules, map[string]string{"data.img": string(data)},
		`, "block": "/data.img", "blkMntPoint": "/data"`, "/init", "mount", "annot_vol", "/data")
	var stdout, stderr bytes.Buffer
	err := run.Run(context.Background(), run.Options{Image: img, Accel: run.AccelTCG, Timeout: bootBound,
		TempDir: t.TempDir(), Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if want := "guest: /data/hello.txt (/dev/vda): hello from the block"; !strings.Contains(stdout.String(), want) {
		t.Errorf("the console lacks %q:\n%s", want, stdout.String())
	}
}

// TestBootUrunit boots a Linux guest whose init is urunit (its first
// process argument contains "urunit"): bunix appends urunit's config to
// the guest's initrd as urunc does, a newc segment the kernel unpacks as
// /urunit.conf, and the kernel command line carries URUNIT_CONFIG and no
// environment; the guest (testdata/guest, started as /urunit) prints it.
func TestBootUrunit(t *testing.T) {
	img := deviceImage(t, nil, nil, "", "/urunit", "/init", "config")
	var stdout, stderr bytes.Buffer
	err := run.Run(context.Background(), run.Options{Image: img, Accel: run.AccelTCG, Timeout: bootBound,
		Process: run.Process{Env: []string{"ADDED=1"}}, TempDir: t.TempDir(), Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	want := "guest: /urunit.conf: \"UES\\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\\nADDED=1\\nUEE\\nUCS\\nUID:0\\nGID:0\\nWD:\\nUCE\\nUBS\\nUBE\\n\""
	if !strings.Contains(stdout.String(), want) || !strings.Contains(stdout.String(), `guest: URUNIT_CONFIG="/urunit.conf" ADDED=""`) {
		t.Errorf("the console lacks %s and the environment:\n%s", want, stdout.String())
	}
}
