package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/output"
)

// bigProject is a project whose kernel is a 16 GiB sparse file: reading
// and hashing it takes seconds, time enough to interrupt the build.
func bigProject(t *testing.T) string {
	t.Helper()
	dir := project(t)
	if err := os.Truncate(filepath.Join(dir, "kernel"), 16<<30); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startBuild starts the bunix binary on dir's args.json with its own
// TMPDIR, writing to out, and returns the running command, its stderr and
// the TMPDIR.
func startBuild(t *testing.T, dir, out string, extra ...string) (*exec.Cmd, *bytes.Buffer, string) {
	t.Helper()
	return startBunix(t, nil, nil, append([]string{"build", "-f", filepath.Join(dir, "args.json"), "-o", out}, extra...)...)
}

// stopBound is how long a signalled build may take to exit. A build that
// ran on instead of stopping takes far longer on bigProject's kernel (its
// 16 GiB took 34 s for oci-archive, 65 s for docker-archive, on the 2-core
// CI machine), one that stops takes milliseconds: the bound tells the two
// apart with room for a loaded machine, where 1 s did not.
const stopBound = 10 * time.Second

// TestSignalStopsBuild interrupts a real build with SIGINT and SIGTERM, in
// each output format: it must stop long before the build could have
// finished (stopBound), exit 128 + the signal's number, leave the old
// output exactly as it was and leave no temporary file beside it or in
// TMPDIR.
func TestSignalStopsBuild(t *testing.T) {
	dir := bigProject(t)
	for _, tc := range []struct {
		sig    syscall.Signal
		format string
		code   int
	}{
		{syscall.SIGINT, "docker-archive", 130},
		{syscall.SIGTERM, "docker-archive", 143},
		{syscall.SIGINT, "oci-archive", 130},
		{syscall.SIGTERM, "oci", 143},
	} {
		t.Run(tc.sig.String()+"/"+tc.format, func(t *testing.T) {
			outDir := t.TempDir()
			out := filepath.Join(outDir, "image")
			old := "the user's old image"
			if tc.format == "oci" {
				os.Mkdir(out, 0o755)
				os.WriteFile(filepath.Join(out, "oci-layout"), []byte(old), 0o644)
			} else {
				os.WriteFile(out, []byte(old), 0o644)
			}
			before := testenv.Snapshot(t, outDir)
			cmd, stderr, tmp := startBuild(t, dir, out, "--format", tc.format)
			// Wait until the kernel is being read.
			waitFor(t, cmd, func() bool { return opened(cmd.Process.Pid, "kernel") })
			cmd.Process.Signal(tc.sig)
			took, err := waitExit(t, cmd, stopBound)
			t.Logf("stopped %v after the signal", took)
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit %d (%v), want %d; stderr:\n%s", code, err, tc.code, stderr)
			}
			if !strings.Contains(stderr.String(), "bunix: stopped by "+tc.sig.String()+"; what was at the output is left as it was\n") {
				t.Errorf("stderr:\n%s", stderr)
			}
			if got := testenv.Snapshot(t, outDir); got != before {
				t.Errorf("the output directory is now\n%s\nwas\n%s", got, before)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("left in TMPDIR: %v", ents)
			}
		})
	}
}

// TestSignalWhileWaitingForReader: a build whose output is a FIFO nobody
// reads still stops on SIGINT, and the FIFO stays a FIFO. One that did not
// would wait for ever: the minute is only when the test gives up on it.
func TestSignalWhileWaitingForReader(t *testing.T) {
	dir := project(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	testenv.Mkfifo(t, fifo)
	cmd, stderr, _ := startBuild(t, dir, fifo)
	// Wait until one of its threads waits in open(2) for a reader.
	waitFor(t, cmd, func() bool {
		wchans, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "task", "*", "wchan"))
		for _, w := range wchans {
			if b, _ := os.ReadFile(w); string(b) == "wait_for_partner" {
				return true
			}
		}
		return false
	})
	cmd.Process.Signal(syscall.SIGINT)
	waitExit(t, cmd, time.Minute)
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130; stderr:\n%s", code, stderr)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO is now %v (%v)", fi.Mode(), err)
	}
}

// opened reports whether process pid has a file whose path ends in name
// open.
func opened(pid int, name string) bool {
	fds, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "fd", "*"))
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && strings.HasSuffix(target, "/"+name) {
			return true
		}
	}
	return false
}

// waitExit waits for cmd, started, to exit, and returns how long that took
// and cmd.Wait's error; when it has not exited after bound, it kills cmd
// and fails t.
func waitExit(t *testing.T, cmd *exec.Cmd, bound time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(bound):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running %v after the signal", bound)
		panic("unreachable")
	}
}

// waitFor polls cond for up to a minute, then fails: the states it waits
// for come within milliseconds of the start, and the bound is only when
// the test gives up.
func waitFor(t *testing.T, cmd *exec.Cmd, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	cmd.Process.Kill()
	t.Fatal("the build never got where the test waits for it")
}

// TestPanicIsInternalError: a panic is a bug, exit 1, not the bad-input 2.
func TestPanicIsInternalError(t *testing.T) {
	dir := project(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"build", "-f", filepath.Join(dir, "args.json"), "-o", "-"}, &stdout, &stderr,
		func(string) string { panic("getenv broke") })
	if code != exitFailure || !strings.Contains(stderr.String(), "bunix: internal error (please report it): getenv broke") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}

// TestKilledBuildLeavesNothing: even SIGKILL, which bunix cannot catch,
// leaves no partial output: it was an unnamed file.
func TestKilledBuildLeavesNothing(t *testing.T) {
	dir := bigProject(t)
	outDir := t.TempDir()
	if f, err := output.OpenTmpfile(outDir); err != nil {
		t.Skipf("no O_TMPFILE in %s: %v", outDir, err)
	} else {
		f.Close()
	}
	out := filepath.Join(outDir, "image.tar")
	os.WriteFile(out, []byte("old"), 0o644)
	for _, format := range []string{"docker-archive", "oci-archive"} {
		cmd, _, tmp := startBuild(t, dir, out, "--format", format)
		waitFor(t, cmd, func() bool { return opened(cmd.Process.Pid, "kernel") })
		cmd.Process.Kill()
		cmd.Wait()
		if ents, _ := os.ReadDir(outDir); len(ents) != 1 || mustRead(t, out) != "old" {
			t.Errorf("%s: after SIGKILL the output directory holds %v", format, ents)
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("%s: after SIGKILL TMPDIR holds %v", format, ents)
		}
	}
}

// TestOutputThroughDevices: -o /dev/stdout on a pipe gives the bytes of
// -o - and nothing else; -o /dev/null stays the device (bunix runs as root
// in CI, where a rename would have replaced it).
func TestOutputThroughDevices(t *testing.T) {
	dir := project(t)
	bin := filepath.Join(testenv.Bunix(t), "bin", "bunix")
	output := func(out string) []byte {
		cmd := exec.Command(bin, "build", "-f", filepath.Join(dir, "args.json"), "-o", out)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("-o %s: %v: %s", out, err, stderr.String())
		}
		return stdout.Bytes()
	}
	stream := output("-")
	if viaDevice := output("/dev/stdout"); !bytes.Equal(viaDevice, stream) {
		t.Errorf("-o /dev/stdout gives %d bytes, -o - %d", len(viaDevice), len(stream))
	}
	if got := output("/dev/null"); string(got) != "urunc/redis:t1\n" {
		t.Errorf("-o /dev/null: stdout %q", got)
	}
	if fi, err := os.Lstat("/dev/null"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("/dev/null is now %v (%v)", fi.Mode(), err)
	}
}
