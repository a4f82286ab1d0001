package run_test

import (
	"bytes"
	"context"
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

// netModules are the modules Debian's kernel needs for a virtio network
// card, in load order (its modules.order).
var netModules = []string{
	"drivers/virtio/virtio.ko", "drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
	"drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci.ko",
	"net/core/failover.ko", "drivers/net/net_failover.ko", "drivers/net/virtio_net.ko",
}

// TestBootPublish boots a Linux guest with -p HOST:80 under qemu (TCG):
// the guest (testdata/netguest) loads the virtio network modules, takes
// its address from the ip= parameter bunix writes the way urunc does,
// and answers an HTTP request that the test sends to HOST on the host.
func TestBootPublish(t *testing.T) {
	testenv.Require(t, "qemu-system-x86_64")
	goTool := testenv.Require(t, "go")
	kernel := testenv.LinuxKernel(t)
	bunix := filepath.Join(testenv.Bunix(t), "bin", "bunix")
	dir := t.TempDir()
	build := exec.Command(goTool, "build", "-trimpath", "-o", filepath.Join(dir, "init"), "./pkg/run/testdata/netguest")
	build.Dir, build.Env = testenv.ModuleRoot(t), append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the guest's /init: %v\n%s", err, out)
	}
	k, _ := os.ReadFile(kernel)
	os.WriteFile(filepath.Join(dir, "vmlinuz"), k, 0o644)
	modDirs, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(kernel)), "lib", "modules", "*", "kernel"))
	if len(modDirs) != 1 {
		t.Fatalf("the kernel's modules: %v", modDirs)
	}
	include := []string{`"./init": "/init"`}
	for i, m := range netModules {
		b, err := os.ReadFile(filepath.Join(modDirs[0], m))
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%d-%s", i, filepath.Base(m))
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
		include = append(include, fmt.Sprintf(`"./%s": "/modules/%s"`, name, name))
	}
	os.WriteFile(filepath.Join(dir, "args.json"), []byte(`{"name": "bunix/net", "files": {"./vmlinuz": "/unikernel/vmlinuz"},
  "rootfs": {"type": "initrd", "include": {`+strings.Join(include, ", ")+`}},
  "entrypoint": ["/init"],
  "annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/unikernel/vmlinuz"}}`), 0o644)
	img := filepath.Join(dir, "image.tar")
	if out, err := exec.Command(bunix, "build", "-f", filepath.Join(dir, "args.json"), "-o", img).CombinedOutput(); err != nil {
		t.Fatalf("bunix build: %v\n%s", err, out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var stdout syncBuffer
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run.Run(context.Background(), run.Options{Image: img, Ports: []run.Port{{Host: uint16(port), Guest: 80}},
			Accel: run.AccelTCG, Timeout: 3 * time.Minute, TempDir: t.TempDir(), Stdout: &stdout, Stderr: &stderr})
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(stdout.String(), "netguest: listening on 10.0.2.15:80") {
		select {
		case err := <-done:
			t.Fatalf("the run ended before the guest listened: %v\n%s\n%s", err, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the guest did not listen within 2m:\n%s", stdout.String())
		}
		time.Sleep(200 * time.Millisecond)
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
