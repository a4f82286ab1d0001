package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	// containerdStartTimeout bounds the wait for a new containerd to answer.
	containerdStartTimeout = 30 * time.Second
	// containerdStopTimeout bounds the wait for containerd to exit on
	// SIGTERM before it gets SIGKILL.
	containerdStopTimeout = 10 * time.Second
	// containerdNamespace is the namespace Ctr works in.
	containerdNamespace = "bunix-test"
)

// containerdDisabledPlugins are the plugins of Debian's containerd 1.6 that
// a private one leaves off: CRI, which sets up CNI networks and serves
// streams on TCP, and the snapshotters that probe the host (aufs runs
// modprobe; btrfs, zfs and devmapper look at file systems, pools and thin
// pools) or depend on what TMPDIR is on (overlayfs). Images unpack with
// the native snapshotter, which works on any file system, as the private
// dockerd's vfs does.
var containerdDisabledPlugins = []string{
	"io.containerd.grpc.v1.cri",
	"io.containerd.snapshotter.v1.aufs",
	"io.containerd.snapshotter.v1.btrfs",
	"io.containerd.snapshotter.v1.devmapper",
	"io.containerd.snapshotter.v1.overlayfs",
	"io.containerd.snapshotter.v1.zfs",
}

// ContainerdServer is a private containerd: its own root, state, temporary
// and GRPC socket, all in one temporary directory, without CRI and with the
// native snapshotter only. It is for images and content (ctr images import,
// ctr content get): containers can run in it, but their shims reach the
// host, since containerd 1.6 puts their sockets in /run/containerd/s
// whatever its state directory. It is safe for concurrent use.
type ContainerdServer struct {
	// Address is the path of containerd's GRPC socket: ctr's --address, or
	// the value of CONTAINERD_ADDRESS.
	Address string
	// Namespace is the containerd namespace Ctr and Env work in.
	Namespace string

	ctr string // the ctr CLI
	daemon
}

// Containerd starts a private containerd for t, and stops it and removes
// its files when t ends. It skips t (fails it under CI=true) when
// containerd or ctr is missing or the test does not run as root.
func Containerd(t testing.TB) *ContainerdServer {
	t.Helper()
	Require(t, "containerd")
	Require(t, "ctr")
	RequireRoot(t, "a private containerd needs root")
	c, err := startContainerd()
	if err != nil {
		t.Fatal(err)
	}
	stopAtCleanup(t, c.stop)
	return c
}

// Ctr runs ctr with args against c, in c.Namespace, and returns its stdout.
// When ctr fails, the error holds its stderr.
func (c *ContainerdServer) Ctr(t testing.TB, args ...string) (stdout string, err error) {
	t.Helper()
	return runTool("ctr", c.ctr, c.Env(), append([]string{"--address", c.Address, "--namespace", c.Namespace}, args...)...)
}

// Env returns the environment of this process with CONTAINERD_ADDRESS,
// CONTAINERD_NAMESPACE and CONTAINERD_SNAPSHOTTER (native) set for c, and
// no other CONTAINERD_ variables: what ctr, or another client of c, should
// run with.
func (c *ContainerdServer) Env() []string {
	return environWithout("CONTAINERD_", "CONTAINERD_ADDRESS="+c.Address, "CONTAINERD_NAMESPACE="+c.Namespace, "CONTAINERD_SNAPSHOTTER=native")
}

// startContainerd starts containerd in a new directory and waits until it
// answers.
func startContainerd() (*ContainerdServer, error) {
	// Short names throughout: the sockets must fit in a unix socket address.
	dir, bins, err := prepareDaemon("containerd", "bc", "containerd", "ctr")
	if err != nil {
		return nil, err
	}
	containerd, ctr := bins[0], bins[1]
	c := &ContainerdServer{
		Address:   filepath.Join(dir, "sock"),
		Namespace: containerdNamespace,
		ctr:       ctr,
		daemon:    daemon{name: "containerd", dir: dir},
	}
	if err := c.launch(c.command(containerd)); err != nil {
		return nil, err
	}
	if err := c.waitReady(c.Address, containerdStartTimeout, c.answers); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// command writes containerd's configuration and returns the command that
// starts it.
func (c *ContainerdServer) command(containerd string) (*exec.Cmd, error) {
	// containerd serves ttrpc next to GRPC, on the same path plus ".ttrpc".
	if longest := c.Address + ".ttrpc"; len(longest) > maxSocketPath {
		return nil, fmt.Errorf("starting a private containerd in %s: socket path %s is longer than a unix socket allows (%d bytes): set TMPDIR to a shorter directory", c.dir, longest, maxSocketPath)
	}
	for _, sub := range []string{"root", "state", "tmp"} {
		if err := os.Mkdir(filepath.Join(c.dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("starting a private containerd: %w", err)
		}
	}
	config := filepath.Join(c.dir, "config.toml")
	if err := os.WriteFile(config, []byte(c.config()), 0o600); err != nil {
		return nil, fmt.Errorf("starting a private containerd: %w", err)
	}
	return exec.Command(containerd, "--config", config), nil
}

// config returns containerd's configuration, version 2. The debug and
// metrics listeners stay off, as they are by default; the opt plugin
// installs into the directory rather than /opt/containerd.
func (c *ContainerdServer) config() string {
	var disabled []string
	for _, p := range containerdDisabledPlugins {
		disabled = append(disabled, fmt.Sprintf("%q", p))
	}
	return fmt.Sprintf(`version = 2
root = %q
state = %q
temp = %q
disabled_plugins = [%s]

[grpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q

# containerd 2's transfer service, which its ctr images import goes
# through, unpacks with overlayfs unless told otherwise, and does not start
# without it. (containerd 1.6 has no such plugin and ignores this.)
[[plugins."io.containerd.transfer.v1.local".unpack_config]]
  platform = "linux/amd64"
  snapshotter = "native"
`,
		filepath.Join(c.dir, "root"),
		filepath.Join(c.dir, "state"),
		filepath.Join(c.dir, "tmp"),
		strings.Join(disabled, ", "),
		c.Address,
		filepath.Join(c.dir, "opt"),
	)
}

// answers reports whether ctr version gets an answer from containerd.
func (c *ContainerdServer) answers() bool {
	probe := exec.Command(c.ctr, "--address", c.Address, "version")
	probe.Env = c.Env()
	return probe.Run() == nil
}

// stop stops containerd, SIGKILL if it outlives containerdStopTimeout,
// detaches the mounts it left and removes its directory.
func (c *ContainerdServer) stop() error {
	return c.shutdown(containerdStopTimeout)
}

// ImageTarget returns the media type and digest of the manifest (or index)
// that the image named ref points at, as `ctr images ls` shows it; it fails
// t when there is no such image.
func (c *ContainerdServer) ImageTarget(t testing.TB, ref string) (mediaType, digest string) {
	t.Helper()
	out, err := c.Ctr(t, "images", "ls")
	if err != nil {
		t.Fatal(err)
	}
	// REF TYPE DIGEST SIZE PLATFORMS LABELS
	for _, line := range strings.Split(out, "\n") {
		if fields := strings.Fields(line); len(fields) >= 3 && fields[0] == ref {
			return fields[1], fields[2]
		}
	}
	t.Fatalf("ctr images ls has no %s:\n%s", ref, out)
	return "", ""
}

// Content returns the blob digest from containerd's content store.
func (c *ContainerdServer) Content(t testing.TB, digest string) string {
	t.Helper()
	out, err := c.Ctr(t, "content", "get", digest)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
