package testenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const (
	// dockerdStartTimeout bounds the wait for a new daemon to answer.
	dockerdStartTimeout = 60 * time.Second
	// dockerdStopTimeout bounds the wait for a daemon to exit on SIGTERM
	// before it gets SIGKILL. It exceeds dockerd's own shutdown timeout
	// (15 s), by which it has stopped its containers.
	dockerdStopTimeout = 20 * time.Second
	// maxSocketPath is the longest path a unix socket can have on Linux
	// (sun_path is 108 bytes, with the terminating NUL).
	maxSocketPath = 107
)

// Docker is a private Docker daemon: its own data, state and socket, all in
// one temporary directory, with vfs storage and no networking set up on the
// host (no bridge, no iptables rules). Its methods are safe for concurrent
// use, so parallel tests can share one daemon.
type Docker struct {
	// Host is the daemon's address, a unix:// URL: the value of DOCKER_HOST,
	// or of skopeo's --src-daemon-host and --dest-daemon-host.
	Host string

	docker string // the docker CLI
	daemon
}

// Dockerd starts a private Docker daemon for t, and stops it and removes its
// files when t ends. It skips t (fails it under CI=true) when dockerd or
// docker is missing or the test does not run as root.
func Dockerd(t testing.TB) *Docker {
	t.Helper()
	requireDockerd(t)
	d, stop, err := startDockerd()
	if err != nil {
		t.Fatal(err)
	}
	stopAtCleanup(t, stop)
	return d
}

// StartDockerd starts a private Docker daemon, for use outside a test, such
// as in TestMain; SharedDockerd does that for tests that share one daemon.
// stop stops the daemon and removes its files, reporting failures on stderr.
// The error wraps exec.ErrNotFound when dockerd or docker is not on PATH.
func StartDockerd() (d *Docker, stop func(), err error) {
	d, stopErr, err := startDockerd()
	if err != nil {
		return nil, nil, err
	}
	return d, func() {
		if err := stopErr(); err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
		}
	}, nil
}

// SharedDockerd is one private Docker daemon for all the tests of a package
// that ask for it. The first Get starts it; TestMain stops it:
//
//	var docker testenv.SharedDockerd
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		docker.Stop()
//		os.Exit(code)
//	}
//
//	func TestLoad(t *testing.T) {
//		t.Parallel()
//		out, err := docker.Get(t).Run(t, "load", "-i", archive)
//		...
//	}
//
// The zero value is ready to use.
type SharedDockerd struct {
	once sync.Once
	d    *Docker
	stop func() error
	err  error
}

// Get returns the shared daemon, starting it on first use. Like Dockerd, it
// skips t (fails it under CI=true) when the daemon cannot run here.
func (s *SharedDockerd) Get(t testing.TB) *Docker {
	t.Helper()
	requireDockerd(t)
	s.once.Do(func() { s.d, s.stop, s.err = startDockerd() })
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.d
}

// Stop stops the shared daemon, if Get started one, and removes its files,
// reporting failures on stderr. Call it after m.Run in TestMain.
func (s *SharedDockerd) Stop() {
	s.once.Do(func() { s.err = errors.New("testenv: SharedDockerd used after Stop") })
	if s.stop == nil {
		return
	}
	if err := s.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
	}
	s.stop = nil
}

// Run runs the docker CLI against d with args and returns its stdout. When
// docker fails, the error holds its stderr.
func (d *Docker) Run(t testing.TB, args ...string) (stdout string, err error) {
	t.Helper()
	return runTool("docker", d.docker, d.Env(), args...)
}

// Load loads the image file into d with docker load, failing t unless
// docker says it loaded ref, and returns the image's config and platform
// ("os/architecture") as docker image inspect gives them.
func (d *Docker) Load(t testing.TB, file, ref string) (v1.Config, string) {
	t.Helper()
	if out, err := d.Run(t, "load", "-i", file); err != nil || !strings.Contains(out, "Loaded image: "+ref) {
		t.Fatalf("docker load -i %s: %q %v, want it to load %s", file, out, err, ref)
	}
	out, err := d.Run(t, "image", "inspect", "--format", "{{json .Config}}|{{.Os}}/{{.Architecture}}", ref)
	if err != nil {
		t.Fatal(err)
	}
	config, platform, _ := strings.Cut(strings.TrimSpace(out), "|")
	var c v1.Config
	if err := json.Unmarshal([]byte(config), &c); err != nil {
		t.Fatalf("docker image inspect %s: the config %s: %v", ref, config, err)
	}
	return c, platform
}

// CopyOut creates a container of the image ref in d, copies the files at
// paths out of it into a new directory, each by its base name, removes
// the container and returns the directory.
func (d *Docker) CopyOut(t testing.TB, ref string, paths ...string) string {
	t.Helper()
	id, err := d.Run(t, "create", ref)
	if err != nil {
		t.Fatal(err)
	}
	id = strings.TrimSpace(id)
	defer d.Run(t, "rm", id)
	dir := t.TempDir()
	for _, p := range paths {
		if _, err := d.Run(t, "cp", id+":"+p, filepath.Join(dir, path.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Env returns the environment of this process with DOCKER_HOST pointing at d
// and DOCKER_CONFIG at an empty directory of d's, and no other DOCKER_
// variables: what a docker or skopeo command for d should run with.
func (d *Docker) Env() []string {
	return environWithout("DOCKER_", "DOCKER_HOST="+d.Host, "DOCKER_CONFIG="+filepath.Join(d.dir, "c"))
}

// requireDockerd skips t (fails it under CI=true) unless a private dockerd
// can run here.
func requireDockerd(t testing.TB) {
	t.Helper()
	Require(t, "dockerd")
	Require(t, "docker")
	RequireRoot(t, "a private dockerd needs root")
}

// startDockerd starts a daemon in a new directory and waits until it
// answers. The returned stop stops it and removes the directory.
func startDockerd() (*Docker, func() error, error) {
	// Short names throughout: the daemon's socket and containerd's, under
	// the exec root, must fit in a unix socket address.
	dir, bins, err := prepareDaemon("dockerd", "bx", "dockerd", "docker")
	if err != nil {
		return nil, nil, err
	}
	dockerd, docker := bins[0], bins[1]
	d := &Docker{Host: "unix://" + filepath.Join(dir, "s"), docker: docker, daemon: daemon{name: "dockerd", dir: dir}}
	if err := d.launch(d.command(dockerd)); err != nil {
		return nil, nil, err
	}
	if err := d.waitReady(d.Host, dockerdStartTimeout, d.answers); err != nil {
		// Report the first failure; stopping a daemon that never answered
		// only matters for the files it leaves.
		d.stop()
		return nil, nil, err
	}
	return d, d.stop, nil
}

// command makes the daemon's directories and configuration and returns the
// command that starts it.
func (d *Docker) command(dockerd string) (*exec.Cmd, error) {
	if longest := filepath.Join(d.dir, "e", "containerd", "containerd.sock.ttrpc"); len(longest) > maxSocketPath {
		return nil, fmt.Errorf("starting a private dockerd in %s: socket path %s is longer than a unix socket allows (%d bytes): set TMPDIR to a shorter directory", d.dir, longest, maxSocketPath)
	}
	for _, sub := range []string{"d", "e", "c"} {
		if err := os.Mkdir(filepath.Join(d.dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("starting a private dockerd: %w", err)
		}
	}
	// An empty config file keeps the host's /etc/docker/daemon.json out.
	config := filepath.Join(d.dir, "daemon.json")
	if err := os.WriteFile(config, []byte("{}\n"), 0o600); err != nil {
		return nil, fmt.Errorf("starting a private dockerd: %w", err)
	}
	return exec.Command(dockerd,
		"--config-file", config,
		"--storage-driver=vfs",
		"--iptables=false",
		"--ip6tables=false",
		"--bridge=none",
		"--data-root", filepath.Join(d.dir, "d"),
		"--exec-root", filepath.Join(d.dir, "e"),
		"--host", d.Host,
		"--pidfile", filepath.Join(d.dir, "p"),
	), nil
}

// answers reports whether docker version gets an answer from the daemon.
func (d *Docker) answers() bool {
	probe := exec.Command(d.docker, "version", "--format", "{{.Server.Version}}")
	probe.Env = d.Env()
	return probe.Run() == nil
}

// stop stops the daemon, SIGKILL if it outlives dockerdStopTimeout, and
// removes its directory. The daemon is signalled through the process this
// package started: the same process as the pid in its pidfile, which it may
// not have written yet.
func (d *Docker) stop() error {
	return d.shutdown(dockerdStopTimeout)
}
