package testenv

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestVerdict(t *testing.T) {
	notFound := &exec.Error{Name: "no-such-tool-bx", Err: exec.ErrNotFound}
	for _, tc := range []struct {
		ci        string
		wantFatal bool
	}{
		{ci: "true", wantFatal: true},
		{ci: "", wantFatal: false},
		{ci: "false", wantFatal: false},
		{ci: "1", wantFatal: false},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			fatal, msg := verdict(tc.ci, "no-such-tool-bx", notFound, "install it, or run make test which installs it")
			if fatal != tc.wantFatal {
				t.Errorf("fatal = %v, want %v", fatal, tc.wantFatal)
			}
			want := `no-such-tool-bx not available: exec: "no-such-tool-bx": executable file not found in $PATH (install it, or run make test which installs it)`
			if !strings.HasPrefix(msg, want) {
				t.Errorf("message = %q, want it to start with %q", msg, want)
			}
			if fatal && !strings.Contains(msg, "CI=true") {
				t.Errorf("message = %q, want it to say CI=true is why it fails", msg)
			}
		})
	}
}

// recorder is a testing.TB that records Fatal and Skip instead of ending
// the test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()           {}
func (r *recorder) Fatal(args ...any) { r.fatal = fmt.Sprint(args...) }
func (r *recorder) Skip(args ...any)  { r.skip = fmt.Sprint(args...) }

func TestRequire(t *testing.T) {
	t.Run("present", func(t *testing.T) {
		r := &recorder{TB: t}
		if path := Require(r, "go"); !filepath.IsAbs(path) {
			t.Errorf("Require(go) = %q, want an absolute path", path)
		}
		if r.fatal != "" || r.skip != "" {
			t.Errorf("Require(go) failed (%q) or skipped (%q)", r.fatal, r.skip)
		}
	})
	for _, tc := range []struct {
		ci       string
		wantFail bool
	}{{"true", true}, {"", false}} {
		t.Run("missing, CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			Require(r, "no-such-tool-bx")
			if failed, skipped := r.fatal != "", r.skip != ""; failed != tc.wantFail || skipped == tc.wantFail {
				t.Errorf("Require(no-such-tool-bx) with CI=%q: failed with %q, skipped with %q; want failed=%v", tc.ci, r.fatal, r.skip, tc.wantFail)
			}
		})
	}
}

// TestRequireRoot: as another user, RequireRoot and the tools that need
// root skip with a message that says root is needed and why, and fail
// instead under CI=true; as root they do neither.
func TestRequireRoot(t *testing.T) {
	defer func(f func() int) { geteuid = f }(geteuid)
	for _, tc := range []struct {
		uid      int
		ci       string
		wantFail bool
		wantSkip bool
	}{{0, "", false, false}, {0, "true", false, false}, {1000, "", false, true}, {1000, "true", true, false}} {
		geteuid = func() int { return tc.uid }
		t.Setenv("CI", tc.ci)
		for name, require := range map[string]func(testing.TB){
			"RequireRoot":     func(r testing.TB) { RequireRoot(r, "the test mounts things") },
			"Require(skopeo)": func(r testing.TB) { Require(r, "skopeo") },
		} {
			if name == "Require(skopeo)" {
				if _, err := exec.LookPath("skopeo"); err != nil {
					continue
				}
			}
			r := &recorder{TB: t}
			require(r)
			if failed, skipped := r.fatal != "", r.skip != ""; failed != tc.wantFail || skipped != tc.wantSkip {
				t.Errorf("%s as uid %d, CI=%q: failed with %q, skipped with %q", name, tc.uid, tc.ci, r.fatal, r.skip)
			}
			msg := r.fatal + r.skip
			if tc.uid != 0 && (!strings.Contains(msg, "root not available: running as uid 1000, but ") || !strings.Contains(msg, "run the tests as root")) {
				t.Errorf("%s as uid %d: message %q does not say root is needed", name, tc.uid, msg)
			}
		}
	}
}

// TestNixStoreUsable: root, the owner of a writable store database and a
// user a nix-daemon answers can build; anyone else is told why not.
func TestNixStoreUsable(t *testing.T) {
	state := t.TempDir()
	if err := nixStoreUsable(0, state); err != nil {
		t.Errorf("root: %v", err)
	}
	// No database and no daemon.
	err := nixStoreUsable(1000, state)
	if err == nil || !strings.Contains(err.Error(), "running as uid 1000, the Nix database "+state+"/db is not writable and no nix-daemon answers on "+state+"/daemon-socket/socket") {
		t.Errorf("no store: got %v", err)
	}
	// A daemon answers.
	os.Mkdir(filepath.Join(state, "daemon-socket"), 0o755)
	l, err := net.Listen("unix", filepath.Join(state, "daemon-socket", "socket"))
	if err != nil {
		t.Fatal(err)
	}
	if err := nixStoreUsable(1000, state); err != nil {
		t.Errorf("with a daemon: %v", err)
	}
	l.Close()
	// A writable database (this user's single-user store).
	os.Mkdir(filepath.Join(state, "db"), 0o755)
	if err := nixStoreUsable(1000, state); err != nil {
		t.Errorf("with a writable database: %v", err)
	}
	// Under CI=true, no store fails the test.
	defer func(f func() int) { geteuid = f }(geteuid)
	geteuid = func() int { return 1000 }
	t.Setenv("NIX_STATE_DIR", t.TempDir())
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	RequireNixStore(r, "nix-build")
	if !strings.Contains(r.fatal, "a Nix store for nix-build not available") || r.skip != "" {
		t.Errorf("CI=true: failed with %q, skipped with %q", r.fatal, r.skip)
	}
}

func TestModuleRoot(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(ModuleRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("module github.com/nubificus/bunix\n")) {
		t.Errorf("go.mod at the module root starts with %q, want the bunix module", data[:min(len(data), 40)])
	}
}

func TestBunix(t *testing.T) {
	prefix := Bunix(t)
	if filepath.Base(prefix) != "bunix" {
		t.Errorf("Bunix() = %s, want a prefix named bunix, for a stable store path", prefix)
	}
	f, err := elf.Open(filepath.Join(prefix, "bin", "bunix"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s/bin/bunix asks for a dynamic loader, want a static binary", prefix)
		}
	}
	if again := Bunix(t); again != prefix {
		t.Errorf("second Bunix() = %s, want the first build, %s", again, prefix)
	}
}

func TestRemoveStale(t *testing.T) {
	base := t.TempDir()
	const gone = "2147483646" // above any pid_max
	keep := []string{fmt.Sprint(os.Getpid()), fmt.Sprint(os.Getppid()), "not-a-pid"}
	for _, name := range append([]string{gone}, keep...) {
		if err := os.MkdirAll(filepath.Join(base, name, "bunix"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	removeStale(base)
	if _, err := os.Stat(filepath.Join(base, gone)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the build of a gone process: stat: %v, want it removed", err)
	}
	for _, name := range keep {
		if _, err := os.Stat(filepath.Join(base, name)); err != nil {
			t.Errorf("%s: %v, want it kept", name, err)
		}
	}
}

// probe builds testdata/probe, a static binary, and returns its path.
func probe(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "probe")
	if err := goBuild(".", "./testdata/probe", out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNixBuild(t *testing.T) {
	Require(t, "nix-build")
	dir := t.TempDir()
	if err := os.Rename(probe(t), filepath.Join(dir, "probe")); err != nil {
		t.Fatal(err)
	}
	// The builder looks for a file of this repository, which the sandbox
	// hides. The salt makes a new derivation, so the answer is not an old
	// build's from the store.
	expr := `{ salt }: derivation {
  name = "testenv-probe";
  system = builtins.currentSystem;
  builder = ./probe;
  args = [ "visible" ];
  probe = "` + filepath.Join(ModuleRoot(t), "go.mod") + `";
  inherit salt;
}
`
	if err := os.WriteFile(filepath.Join(dir, "default.nix"), []byte(expr), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := NixBuild(t, dir, "--argstr", "salt", fmt.Sprint(time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "/nix/store/") || strings.Contains(out, "\n") {
		t.Fatalf("nix-build printed %q, want one store path", out)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hidden\n" {
		t.Errorf("the builder saw the repository (%q): nix-build did not run it in the sandbox", got)
	}

	_, stderr, err := NixBuild(t, dir, "--arg", "salt", "undefinedVariable")
	if err == nil || !strings.Contains(stderr, "undefined variable") || !strings.Contains(err.Error(), "undefined variable") {
		t.Errorf("nix-build of a broken expression: err = %v, stderr = %q; want both to name the undefined variable", err, stderr)
	}
}

func TestNixInstantiate(t *testing.T) {
	out, _, err := NixInstantiate(t, t.TempDir(), "--eval", "--expr", "1 + 1")
	if err != nil {
		t.Fatal(err)
	}
	if out != "2" {
		t.Errorf("nix-instantiate --eval --expr '1 + 1' = %q, want 2", out)
	}
}

func TestDockerd(t *testing.T) {
	var d *Docker
	var token string
	t.Run("running", func(t *testing.T) {
		d = Dockerd(t)
		driver, err := d.Run(t, "info", "--format", "{{.Driver}}")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(driver); got != "vfs" {
			t.Errorf("docker info: storage driver %q, want vfs", got)
		}
		// A container left running must not outlive the daemon.
		token = filepath.Base(d.dir)
		importProbe(t, d)
		out, err := d.Run(t, "run", "--detach", "--network=none", "testenv-probe", "/probe", "sleep", token)
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimSpace(out)
		waitLogs(t, d, id, "ready")
		// Whatever names the token now (the daemons, the shim, the probe)
		// is what assertStopped must find gone.
		if running := processesNaming(t, token); len(running) < 4 {
			t.Errorf("processes naming %s while the container runs:\n%s\nwant dockerd, containerd, the shim and the probe", token, strings.Join(running, "\n"))
		}
	})
	if d == nil {
		t.Skip("no daemon started")
	}
	assertStopped(t, &d.daemon, token)
}

// TestDockerLoadCopyOut: Load loads a docker-archive and gives its config
// and platform as the daemon sees them; CopyOut copies a file out of a
// container of it, and leaves no container.
func TestDockerLoadCopyOut(t *testing.T) {
	d := Dockerd(t)
	_, base := BaseImage(t, compression.GZip, "")
	img := hostLinux(t, base, map[string]string{"org.bunix.test": "load"})
	const ref = "testenv/load:v1"
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	cfg, platform := d.Load(t, archive, ref)
	if platform != "linux/"+runtime.GOARCH || cfg.Labels["org.bunix.test"] != "load" || !slices.Equal(cfg.Entrypoint, []string{"/unikraft/bin/kernel"}) {
		t.Errorf("docker sees %s %+v", platform, cfg)
	}
	dir := d.CopyOut(t, ref, "/unikraft/bin/kernel", "/etc/app.conf")
	if got := string(ReadFile(t, filepath.Join(dir, "kernel"))); got != BaseKernel {
		t.Errorf("kernel copied out: %q, want %q", got, BaseKernel)
	}
	if got := string(ReadFile(t, filepath.Join(dir, "app.conf"))); got != "worker_processes 1;\n" {
		t.Errorf("app.conf copied out: %q", got)
	}
	if out, err := d.Run(t, "ps", "--all", "--quiet"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("containers after CopyOut: %q %v, want none", out, err)
	}
}

func TestSharedDockerd(t *testing.T) {
	var shared SharedDockerd
	var mu sync.Mutex
	seen := map[*Docker]bool{}
	t.Run("group", func(t *testing.T) {
		for i := range 3 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				d := shared.Get(t)
				if _, err := d.Run(t, "version"); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				seen[d] = true
				mu.Unlock()
			})
		}
	})
	shared.Stop()
	if len(seen) == 0 {
		t.Skip("no daemon started")
	}
	if len(seen) != 1 {
		t.Fatalf("parallel tests got %d daemons, want 1", len(seen))
	}
	for d := range seen {
		assertStopped(t, &d.daemon, filepath.Base(d.dir))
	}
}

// importProbe imports the probe binary as the image testenv-probe.
func importProbe(t *testing.T, d *Docker) {
	t.Helper()
	bin, err := os.ReadFile(probe(t))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "probe", Mode: 0o755, Size: int64(len(bin))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(bin); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(rootfs, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Run(t, "import", rootfs, "testenv-probe"); err != nil {
		t.Fatal(err)
	}
}

// waitLogs waits until the logs of container id hold want, for up to two
// minutes: a container starts in a second or two, and the bound is only
// when the test gives up, far from what a loaded machine may take.
func waitLogs(t *testing.T, d *Docker, id, want string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		logs, err := d.Run(t, "logs", id)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(logs, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("container %s never printed %q", id, want)
}

// assertStopped checks that the daemon d has exited, that no process naming
// token (a dockerd's containerd, a shim, a container's process) is left, and
// that d's files are gone.
func assertStopped(t *testing.T, d *daemon, token string) {
	t.Helper()
	select {
	case <-d.exited:
	default:
		t.Errorf("%s (pid %d) is still running", d.name, d.cmd.Process.Pid)
	}
	if err := syscall.Kill(d.cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("signal 0 to %s's pid %d: %v, want ESRCH", d.name, d.cmd.Process.Pid, err)
	}
	if left := processesNaming(t, token); len(left) > 0 {
		t.Errorf("processes left after the daemon stopped:\n%s", strings.Join(left, "\n"))
	}
	if _, err := os.Stat(d.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stat %s after stop: %v, want it removed", d.dir, err)
	}
}

// assertAlone checks that the daemon d, what in the message, is the only
// process naming its directory.
func assertAlone(t *testing.T, d *daemon, what string) {
	t.Helper()
	token := filepath.Base(d.dir)
	if running := processesNaming(t, token); len(running) != 1 {
		t.Errorf("processes naming %s: %q, want %s alone", token, running, what)
	}
}

// processesNaming returns "pid: command line" for each process whose
// command line holds token.
func processesNaming(t *testing.T, token string) []string {
	t.Helper()
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, name := range cmdlines {
		data, err := os.ReadFile(name)
		if err != nil {
			continue // the process has exited
		}
		cmdline := strings.ReplaceAll(string(data), "\x00", " ")
		if strings.Contains(cmdline, token) {
			found = append(found, filepath.Base(filepath.Dir(name))+": "+cmdline)
		}
	}
	return found
}

// TestPrepareDaemon: the directory is new and named by its real path, and
// the commands' paths come in order; a command not in PATH is an error
// naming the daemon being started, and leaves no directory.
func TestPrepareDaemon(t *testing.T) {
	tmp := t.TempDir()
	real := filepath.Join(tmp, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(tmp, "link")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", filepath.Join(tmp, "link"))
	dir, paths, err := prepareDaemon("test daemon", "bx", "sh", "go")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() || filepath.Dir(dir) != real || !strings.HasPrefix(filepath.Base(dir), "bx") {
		t.Errorf("directory %s (%v), want a new one in %s, the real path of $TMPDIR", dir, err, real)
	}
	sh, _ := exec.LookPath("sh")
	goPath, _ := exec.LookPath("go")
	if len(paths) != 2 || paths[0] != sh || paths[1] != goPath {
		t.Errorf("paths %q, want [%s %s]", paths, sh, goPath)
	}

	_, _, err = prepareDaemon("test daemon", "bx", "sh", "no-such-tool-bx")
	if err == nil || !strings.HasPrefix(err.Error(), `starting a private test daemon: exec: "no-such-tool-bx"`) {
		t.Errorf("a missing command: %v, want it named, as the test daemon's", err)
	}
	if entries, _ := os.ReadDir(real); len(entries) != 1 {
		t.Errorf("%d directories in $TMPDIR, want only the first call's", len(entries))
	}
}

// TestLaunch: a daemon whose command could not be made, or does not
// start, leaves no directory; one that starts keeps its directory.
func TestLaunch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		command func() (*exec.Cmd, error)
		wantErr bool
	}{
		{"no command", func() (*exec.Cmd, error) { return nil, errors.New("no config") }, true},
		{"no binary", func() (*exec.Cmd, error) { return exec.Command("/no-such-dir-bx/daemon"), nil }, true},
		{"started", func() (*exec.Cmd, error) { return exec.Command("true"), nil }, false},
	} {
		d := &daemon{name: "test daemon", dir: filepath.Join(t.TempDir(), "d")}
		if err := os.Mkdir(d.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		err := d.launch(tc.command())
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: launch: %v, want an error %v", tc.name, err, tc.wantErr)
		}
		if _, serr := os.Stat(d.dir); tc.wantErr != errors.Is(serr, fs.ErrNotExist) {
			t.Errorf("%s: stat of the directory after launch: %v", tc.name, serr)
		}
		if err == nil {
			<-d.exited
		}
	}
}

func TestRegistry(t *testing.T) {
	var r *RegistryServer
	t.Run("running", func(t *testing.T) {
		r = Registry(t)
		assertAlone(t, &r.daemon, "the registry")
		img := randomImage(t, map[string]string{"org.bunix.test": "registry"})
		if err := push(r, "bunix/test", "v1", img); err != nil {
			t.Fatal(err)
		}
		raw, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		want, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}

		body, digest, mediaType := r.Manifest(t, "bunix/test", "v1")
		if !bytes.Equal(body, raw) || digest != want.String() || mediaType != string(types.DockerManifestSchema2) {
			t.Errorf("Manifest(bunix/test, v1) = %s, %s, %s; want the manifest pushed, %s, %s", body, digest, mediaType, want, types.DockerManifestSchema2)
		}
		if body, _, _ := r.Manifest(t, "bunix/test", want.String(), string(types.DockerManifestSchema2)); !bytes.Equal(body, raw) {
			t.Errorf("Manifest(bunix/test, %s) = %s, want the manifest pushed", want, body)
		}

		// Deletes are enabled.
		manifest := "http://" + r.Addr + "/v2/bunix/test/manifests/" + want.String()
		if status := request(t, http.MethodDelete, manifest); status != http.StatusAccepted {
			t.Errorf("DELETE %s: %d, want 202", manifest, status)
		}
		if status := request(t, http.MethodGet, manifest); status != http.StatusNotFound {
			t.Errorf("GET %s after DELETE: %d, want 404", manifest, status)
		}
	})
	if r == nil {
		t.Skip("no registry started")
	}
	assertStopped(t, &r.daemon, filepath.Base(r.dir))
}

func TestRegistryReadOnly(t *testing.T) {
	r := Registry(t, ReadOnly())
	err := push(r, "bunix/test", "v1", randomImage(t, nil))
	if err == nil || !strings.Contains(err.Error(), "POST http://"+r.Addr+"/v2/bunix/test/blobs/uploads/: 405 Method Not Allowed") {
		t.Fatalf("pushing to a read-only registry: %v, want its first upload refused with 405", err)
	}
	manifest := "http://" + r.Addr + "/v2/bunix/test/manifests/v1"
	if _, err := send(http.MethodPut, manifest, string(types.DockerManifestSchema2), []byte("{}"), http.StatusCreated); err == nil || !strings.Contains(err.Error(), "405 Method Not Allowed") {
		t.Errorf("putting a manifest to a read-only registry: %v, want 405", err)
	}
	byDigest := "http://" + r.Addr + "/v2/bunix/test/manifests/sha256:" + strings.Repeat("0", 64)
	if status := request(t, http.MethodDelete, byDigest); status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE %s from a read-only registry: %d, want 405", byDigest, status)
	}
	if status := request(t, http.MethodGet, "http://"+r.Addr+"/v2/"); status != http.StatusOK {
		t.Errorf("GET /v2/ of a read-only registry: %d, want 200", status)
	}
}

// takenFirst listens on a port for the test's length and returns a port
// picker that first gives that taken port, then free ones, and the ports
// it gave.
func takenFirst(t *testing.T) (func() (int, error), *[]int) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	picked := new([]int)
	return func() (int, error) {
		if len(*picked) == 0 {
			*picked = append(*picked, taken.Addr().(*net.TCPAddr).Port)
			return (*picked)[0], nil
		}
		port, err := freePort()
		*picked = append(*picked, port)
		return port, err
	}, picked
}

func TestRegistryPortTaken(t *testing.T) {
	Require(t, "docker-registry")
	ports, picked := takenFirst(t)
	r, err := startRegistry(nil, ports)
	if err != nil {
		t.Fatal(err)
	}
	if len(*picked) != 2 || r.Addr != fmt.Sprintf("127.0.0.1:%d", (*picked)[1]) {
		t.Errorf("registry on %s after picking ports %v, want it on the second", r.Addr, *picked)
	}
	if status := request(t, http.MethodGet, "http://"+r.Addr+"/v2/"); status != http.StatusOK {
		t.Errorf("GET /v2/: %d, want 200", status)
	}
	if err := r.stop(); err != nil {
		t.Error(err)
	}
	assertStopped(t, &r.daemon, filepath.Base(r.dir))
}

// TestSSHDPortTaken: an sshd whose port another process listens on by the
// time it starts (here a listener that accepts connections, which would
// pass for sshd to a mere dial) is started again on another port.
func TestSSHDPortTaken(t *testing.T) {
	ports, picked := takenFirst(t)
	s := startSSHD(t, "true", ports)
	if len(*picked) != 2 || s.Port != (*picked)[1] {
		t.Fatalf("sshd on port %d after picking ports %v, want it on the second", s.Port, *picked)
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	banner := make([]byte, 8)
	if _, err := io.ReadFull(c, banner); err != nil || string(banner) != "SSH-2.0-" {
		t.Errorf("port %d answers %q (%v), want sshd's banner", s.Port, banner, err)
	}
}

// randomImage returns a random linux image of the host's architecture, with
// labels in its config.
func randomImage(t *testing.T, labels map[string]string) v1.Image {
	t.Helper()
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	return hostLinux(t, img, labels)
}

// hostLinux returns img with its config saying linux on the host's
// architecture, and with labels.
func hostLinux(t *testing.T, img v1.Image, labels map[string]string) v1.Image {
	t.Helper()
	config, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	config = config.DeepCopy()
	config.OS, config.Architecture = "linux", runtime.GOARCH
	config.Config.Labels = labels
	if img, err = mutate.ConfigFile(img, config); err != nil {
		t.Fatal(err)
	}
	return img
}

// push pushes img to r as repo:tag, as a registry client does: each blob in
// one upload, then the manifest. It says which request failed and how.
func push(r *RegistryServer, repo, tag string, img v1.Image) error {
	config, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	layers, err := LayerBlobs(img)
	if err != nil {
		return err
	}
	blobs := append([][]byte{config}, layers...)
	base := "http://" + r.Addr + "/v2/" + repo
	for _, blob := range blobs {
		resp, err := send(http.MethodPost, base+"/blobs/uploads/", "", nil, http.StatusAccepted)
		if err != nil {
			return err
		}
		upload, err := resp.Location()
		if err != nil {
			return err
		}
		q := upload.Query()
		q.Set("digest", fmt.Sprintf("sha256:%x", sha256.Sum256(blob)))
		upload.RawQuery = q.Encode()
		if _, err := send(http.MethodPut, upload.String(), "application/octet-stream", blob, http.StatusCreated); err != nil {
			return err
		}
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	mediaType, err := img.MediaType()
	if err != nil {
		return err
	}
	_, err = send(http.MethodPut, base+"/manifests/"+tag, string(mediaType), manifest, http.StatusCreated)
	return err
}

// registryClient talks plain HTTP to the tests' registries: on loopback,
// so never through a proxy.
var registryClient = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: registryRequestTimeout}

// send sends an HTTP request and returns the response, or an error unless
// its status is want.
func send(method, url, contentType string, body []byte, want int) (*http.Response, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := registryClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("%s %s: %s, want %d: %s", method, url, resp.Status, want, msg)
	}
	return resp, nil
}

// request sends an HTTP request with no body to url and returns the status.
func request(t *testing.T, method, url string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := registryClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestContainerd(t *testing.T) {
	var c *ContainerdServer
	t.Run("running", func(t *testing.T) {
		c = Containerd(t)
		assertAlone(t, &c.daemon, "containerd")
		dir := t.TempDir()

		// A docker-archive holds no manifest: containerd writes its own,
		// and keeps the config, labels and all, as it is.
		img := randomImage(t, map[string]string{"org.bunix.test": "docker-archive"})
		tag, err := name.NewTag("example.com/bunix/docker:v1")
		if err != nil {
			t.Fatal(err)
		}
		archive := filepath.Join(dir, "docker.tar")
		if err := tarball.WriteToFile(archive, tag, img); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Ctr(t, "images", "import", archive); err != nil {
			t.Fatal(err)
		}
		mediaType, digest := c.ImageTarget(t, tag.String())
		if mediaType != string(types.DockerManifestSchema2) {
			t.Errorf("%s imported from a docker-archive is a %s, want a %s", tag, mediaType, types.DockerManifestSchema2)
		}
		manifest, err := v1.ParseManifest(strings.NewReader(c.Content(t, digest)))
		if err != nil {
			t.Fatal(err)
		}
		config := c.Content(t, manifest.Config.Digest.String())
		if raw, err := img.RawConfigFile(); err != nil {
			t.Fatal(err)
		} else if config != string(raw) {
			t.Errorf("config of %s in containerd:\n%s\nwant the archive's:\n%s", tag, config, raw)
		}
		parsed, err := v1.ParseConfigFile(strings.NewReader(config))
		if err != nil {
			t.Fatal(err)
		}
		if got := parsed.Config.Labels["org.bunix.test"]; got != "docker-archive" {
			t.Errorf("label org.bunix.test of %s in containerd = %q, want docker-archive", tag, got)
		}
		// Imports unpack, with the native snapshotter.
		if snapshots, err := c.Ctr(t, "snapshots", "ls"); err != nil {
			t.Fatal(err)
		} else if !strings.Contains(snapshots, "Committed") {
			t.Errorf("ctr snapshots ls after an import:\n%s\nwant the unpacked layer", snapshots)
		}

		// An oci-archive holds the manifest, which containerd keeps as it
		// is, annotations and all.
		const ref = "example.com/bunix/oci:v1"
		oci := ociImage(t, map[string]string{"org.bunix.test": "oci-archive"})
		if _, err := c.Ctr(t, "images", "import", ociArchive(t, dir, ref, oci)); err != nil {
			t.Fatal(err)
		}
		mediaType, digest = c.ImageTarget(t, ref)
		want, err := oci.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if mediaType != string(types.OCIManifestSchema1) || digest != want.String() {
			t.Errorf("%s imported from an oci-archive: %s %s, want %s %s", ref, mediaType, digest, types.OCIManifestSchema1, want)
		}
		manifest, err = v1.ParseManifest(strings.NewReader(c.Content(t, digest)))
		if err != nil {
			t.Fatal(err)
		}
		if got := manifest.Annotations["org.bunix.test"]; got != "oci-archive" {
			t.Errorf("annotation org.bunix.test of %s in containerd = %q, want oci-archive", ref, got)
		}
	})
	if c == nil {
		t.Skip("no containerd started")
	}
	assertStopped(t, &c.daemon, filepath.Base(c.dir))
}

// ociImage returns a random OCI image for linux on the host's architecture,
// with annotations in its manifest.
func ociImage(t *testing.T, annotations map[string]string) v1.Image {
	t.Helper()
	layer, err := random.Layer(1024, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.Annotations(hostLinux(t, img, nil), annotations).(v1.Image)
}

// ociArchive writes img as ref in an OCI layout under dir, tars it, and
// returns the tar's name.
func ociArchive(t *testing.T, dir, ref string, img v1.Image) string {
	t.Helper()
	root := filepath.Join(dir, "layout")
	p, err := layout.Write(root, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == root {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		if hdr.Name, err = filepath.Rel(root, path); err != nil {
			return err
		}
		if err := tw.WriteHeader(hdr); err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "oci.tar")
	if err := os.WriteFile(archive, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return archive
}

// TestCosignVersion: scripts/deps.sh builds the cosign CosignVersion names.
func TestCosignVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(ModuleRoot(t), "scripts", "deps.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\ncosign_version="+CosignVersion+"\n") {
		t.Errorf("scripts/deps.sh does not build cosign %s (CosignVersion)", CosignVersion)
	}
}

// TestFuzzMinimizeTime: scripts/fuzz.sh bounds Go's minimization of new
// inputs, which with its 60s default turns a short run of a target with
// kilobyte inputs (FuzzExtract, FuzzOpenBase) into one that sits at
// "0 execs/sec" minimizing until -fuzztime ends.
func TestFuzzMinimizeTime(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(ModuleRoot(t), "scripts", "fuzz.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "go test ") && strings.Contains(line, "-fuzz=") && !strings.Contains(line, `-fuzzminimizetime="$minimizetime"`) {
			t.Errorf("scripts/fuzz.sh runs a fuzz target without -fuzzminimizetime: %s", strings.TrimSpace(line))
		}
	}
	if !strings.Contains(string(b), "\nminimizetime=${FUZZMINIMIZETIME:-1s}\n") {
		t.Error("scripts/fuzz.sh does not default FUZZMINIMIZETIME to a short time")
	}
}

// TestWorldWritableAncestor: a directory under a world-writable one (as
// $TMPDIR usually is) is found out, one that no such directory holds is not.
func TestWorldWritableAncestor(t *testing.T) {
	top := t.TempDir()
	open := filepath.Join(top, "open")
	closed := filepath.Join(top, "closed")
	os.MkdirAll(filepath.Join(open, "store"), 0o755)
	os.MkdirAll(filepath.Join(closed, "store"), 0o755)
	os.Chmod(open, 0o777)
	if got, err := worldWritableAncestor(filepath.Join(open, "store")); err != nil || got != open {
		t.Errorf("worldWritableAncestor(%s/store) = %q, %v; want %q", open, got, err, open)
	}
	got, err := worldWritableAncestor(filepath.Join(closed, "store"))
	if err != nil {
		t.Fatal(err)
	}
	if got != "" && !strings.HasPrefix(closed, got) {
		t.Errorf("worldWritableAncestor(%s/store) = %q, not one of its parents", closed, got)
	}
	if _, err := worldWritableAncestor(filepath.Join(top, "missing")); err == nil {
		t.Error("worldWritableAncestor of a missing directory: no error")
	}
}

func TestMissingInOrder(t *testing.T) {
	for _, c := range []struct {
		s    string
		want []string
		miss string
	}{
		{"a: b, c", []string{"a", "b", "c"}, ""},
		{"a: b, c", []string{"b", "a"}, "a"},
		{"a: b, c", []string{"a", "d"}, "d"},
		{"aa", []string{"a", "a", "a"}, "a"},
	} {
		if got := MissingInOrder(c.s, c.want...); got != c.miss {
			t.Errorf("MissingInOrder(%q, %q) = %q, want %q", c.s, c.want, got, c.miss)
		}
	}
}
