package run_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/run"
)

// bootBound is how long a test lets a guest boot under TCG, and run: the
// boots here take 10 to 40 s on the 2-core CI machine (TestBootLinux 9.7 s
// and 15.2 s, TestBootPublish 40 s, at a load average of 8), and the
// bound is only when a test gives up on a guest that hangs, far above
// what a loaded machine adds.
const bootBound = 5 * time.Minute

// bootImages builds the linux-boot example's guest with bunix build, as a
// docker-archive and an oci-archive: Debian's kernel, an initrd holding the
// example's Go /init (which prints its args and environment and powers
// off, or waits when its one argument is "wait") and /etc/motd;
// Entrypoint /init, Cmd "hello from bunix", Env GREETING=hello. It
// returns the two archives and bunix's path.
func bootImages(t *testing.T) (dockerArchive, ociArchive, bunix string) {
	t.Helper()
	testenv.Require(t, "qemu-system-x86_64")
	goTool := testenv.Require(t, "go")
	kernel := testenv.LinuxKernel(t)
	root := testenv.ModuleRoot(t)
	bunix = filepath.Join(testenv.Bunix(t), "bin", "bunix")
	dir := t.TempDir()
	build := exec.Command(goTool, "build", "-trimpath", "-o", filepath.Join(dir, "init"), "./examples/linux-boot/guest")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the guest's /init: %v\n%s", err, out)
	}
	k, err := os.ReadFile(kernel)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "vmlinuz"), k, 0o644)
	os.WriteFile(filepath.Join(dir, "motd"), []byte("This initrd was built by bunix.\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "args.json"), []byte(`{
  "name": "bunix/run-test", "tag": "latest",
  "files": {"./vmlinuz": "/unikernel/vmlinuz"},
  "rootfs": {"type": "initrd", "include": {"./init": "/init", "./motd": "/etc/motd"}},
  "entrypoint": ["/init"], "cmd": ["hello", "from", "bunix"],
  "env": {"GREETING": "hello"},
  "annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/unikernel/vmlinuz"}
}`), 0o644)
	dockerArchive, ociArchive = filepath.Join(dir, "image.tar"), filepath.Join(dir, "image.oci.tar")
	for out, format := range map[string]string{dockerArchive: "docker-archive", ociArchive: "oci-archive"} {
		cmd := exec.Command(bunix, "build", "-f", filepath.Join(dir, "args.json"), "--format", format, "-o", out)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("bunix build --format %s: %v\n%s", format, err, b)
		}
	}
	return dockerArchive, ociArchive, bunix
}

// TestBootLinux boots the Linux guest under qemu (TCG) from a
// docker-archive and an oci-archive that bunix built: the guest prints
// the args urunc gives it (the image's Entrypoint with Cmd replaced by
// the words after IMAGE) and its environment (the image's Env, PATH, and
// an added --env), and powers off: the run returns nil, and the private
// directory is gone.
func TestBootLinux(t *testing.T) {
	dockerArchive, ociArchive, _ := bootImages(t)
	for name, img := range map[string]string{"docker-archive": dockerArchive, "oci-archive": ociArchive} {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			var stdout, stderr bytes.Buffer
			start := time.Now()
			err := run.Run(context.Background(), run.Options{
				Image:   img,
				Process: run.Process{Args: []string{"overridden", "cmd"}, HasArgs: true, Env: []string{"ADDED=by-env"}},
				Accel:   run.AccelTCG, Timeout: bootBound, TempDir: tmp,
				Stdout: &stdout, Stderr: &stderr,
			})
			if err != nil {
				t.Fatalf("run: %v\nconsole:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			console := stdout.String()
			for _, want := range []string{
				"bunix linux-boot: hello from /init, pid 1",
				`bunix linux-boot: args ["/init" "overridden" "cmd"]`,
				`"GREETING=hello"`,
				`"ADDED=by-env"`,
				`"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"`,
				"bunix linux-boot: /etc/motd: This initrd was built by bunix.",
				"bunix linux-boot: powering off",
			} {
				if !strings.Contains(console, want) {
					t.Errorf("the console lacks %q:\n%s", want, console)
				}
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("the run left %s behind", ents[0].Name())
			}
			t.Logf("booted and powered off in %s", time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestBootPanic: a guest whose kernel panics (no init at the path given)
// is a failed run that says so, though qemu exits 0 (urunc boots Linux
// with panic=-1 under -no-reboot).
func TestBootPanic(t *testing.T) {
	dockerArchive, _, _ := bootImages(t)
	var stdout, stderr bytes.Buffer
	err := run.Run(context.Background(), run.Options{
		Image: dockerArchive, Process: run.Process{Entrypoint: []string{"/no/such/init"}, HasEntrypoint: true},
		Accel: run.AccelTCG, Timeout: bootBound, TempDir: t.TempDir(), Stdout: &stdout, Stderr: &stderr,
	})
	var ge *run.GuestError
	if !errors.As(err, &ge) || !strings.Contains(err.Error(), "the guest panicked: \"Kernel panic - not syncing") {
		t.Errorf("run: %v, want the panic\n%s", err, stdout.String())
	}
}

// TestBootStops: a guest that never powers off is stopped by SIGINT or
// SIGTERM to bunix run (exit 130, 143), and by --timeout (a GuestError,
// exit 1); none leaves a qemu process or a temporary file.
func TestBootStops(t *testing.T) {
	dockerArchive, _, bunix := bootImages(t)

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) { stopBySignal(t, bunix, dockerArchive, sig) })
	}

	t.Run("timeout", func(t *testing.T) {
		tmp := t.TempDir()
		var stdout, stderr bytes.Buffer
		err := run.Run(context.Background(), run.Options{
			Image: dockerArchive, Process: run.Process{Args: []string{"wait"}, HasArgs: true},
			Accel: run.AccelTCG, Timeout: 10 * time.Second, TempDir: tmp, Stdout: &stdout, Stderr: &stderr,
		})
		var ge *run.GuestError
		if !errors.As(err, &ge) || !strings.Contains(err.Error(), "did not power off within 10s") {
			t.Errorf("run: %v, want the timeout\n%s", err, stdout.String())
		}
		if left := monitorsUnder(tmp); len(left) != 0 {
			t.Errorf("qemu left running: pids %v", left)
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("the run left %s behind", ents[0].Name())
		}
	})
}

// stopBySignal starts bunix run on a guest that waits, sends sig to bunix
// once the guest is up, and checks the exit status (128 + sig), the last
// line it says, and that neither qemu nor the private directory is left.
func stopBySignal(t *testing.T, bunix, image string, sig syscall.Signal) {
	tmp := t.TempDir()
	cmd := exec.Command(bunix, "run", "--accel", "tcg", image, "wait")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(bootBound)
	for !strings.Contains(stdout.String(), "waiting to be stopped") {
		if time.Now().After(deadline) {
			t.Fatalf("the guest did not come up in %v:\n%s\n%s", bootBound, stdout.String(), stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	qemus := monitorsUnder(tmp)
	if len(qemus) != 1 {
		t.Fatalf("%d qemu processes use %s while the guest runs, want 1", len(qemus), tmp)
	}
	cmd.Process.Signal(sig)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
		t.Errorf("bunix run after %s: %v, want exit %d\n%s", sig, err, 128+int(sig), stderr.String())
	}
	if want := "bunix: stopped by " + sig.String() + "; the guest was stopped\n"; !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("bunix run after %s said\n%s\nwant it to end with %q", sig, stderr.String(), want)
	}
	if left := monitorsUnder(tmp); len(left) != 0 {
		t.Errorf("qemu left running: pids %v", left)
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("the run left %s behind", ents[0].Name())
	}
}

// monitorsUnder lists the processes whose command line names a file
// under dir: the monitors of runs whose private directory is there.
func monitorsUnder(dir string) []int {
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte(dir+"/")) {
			continue
		}
		var pid int
		fmt.Sscanf(filepath.Base(filepath.Dir(p)), "%d", &pid)
		pids = append(pids, pid)
	}
	return pids
}

// syncBuffer is a bytes.Buffer that a process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
