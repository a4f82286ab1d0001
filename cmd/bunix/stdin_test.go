package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// startBunix starts the bunix binary with argv, standard input from
// stdin (nil: none), its own TMPDIR and the extra environment env, and returns it
// with its stderr and the TMPDIR.
func startBunix(t *testing.T, stdin *os.File, env []string, argv ...string) (*exec.Cmd, *bytes.Buffer, string) {
	t.Helper()
	tmp := t.TempDir()
	cmd := exec.Command(filepath.Join(testenv.Bunix(t), "bin", "bunix"), argv...)
	cmd.Env = append(append(os.Environ(), "TMPDIR="+tmp), env...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr, tmp
}

// TestSignalStopsStdin: `inspect -` and `push -` on an endless standard
// input (/dev/zero, as fast as it goes, and a pipe nobody writes to, where
// the read blocks) stop on SIGINT and SIGTERM by themselves, as every
// command does: "stopped by", exit 128 + the signal, and nothing left in
// TMPDIR.
func TestSignalStopsStdin(t *testing.T) {
	zero, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer zero.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, tc := range []struct {
		name  string
		stdin *os.File
		argv  []string
		sig   syscall.Signal
	}{
		{"zero", zero, []string{"inspect", "-"}, syscall.SIGTERM},
		{"zero", zero, []string{"push", "--insecure", "-", "127.0.0.1:1/urunc/x:1"}, syscall.SIGINT},
		{"pipe", r, []string{"inspect", "-"}, syscall.SIGINT},
		{"pipe", r, []string{"push", "--insecure", "-", "127.0.0.1:1/urunc/x:1"}, syscall.SIGTERM},
	} {
		t.Run(tc.name+"/"+tc.argv[0]+"/"+tc.sig.String(), func(t *testing.T) {
			cmd, stderr, tmp := startBunix(t, tc.stdin, nil, tc.argv...)
			// Wait until the spool is open: a deleted file in TMPDIR.
			waitFor(t, cmd, func() bool {
				return opened(cmd.Process.Pid, filepath.Base(tmp)+"/#") || openedUnder(cmd.Process.Pid, tmp)
			})
			cmd.Process.Signal(tc.sig)
			cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 128+int(tc.sig) {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, 128+int(tc.sig), stderr)
			}
			if !strings.Contains(stderr.String(), "bunix: stopped by "+tc.sig.String()) {
				t.Errorf("stderr:\n%s", stderr)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("left in TMPDIR: %v", ents)
			}
		})
	}
}

// openedUnder reports whether process pid has a file under dir open.
func openedUnder(pid int, dir string) bool {
	fds, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "fd", "*"))
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && strings.HasPrefix(target, dir+"/") {
			return true
		}
	}
	return false
}

// TestStdinLimit: `inspect -`, `push -` and `run -` copy at most BUNIX_STDIN_LIMIT
// bytes of standard input: 64 MiB of zeros against a limit of 1M is bad
// input (exit 2) naming the variable, and leaves nothing in TMPDIR; a bad
// value of the variable is bad input too.
func TestStdinLimit(t *testing.T) {
	for _, argv := range [][]string{{"inspect", "-"}, {"push", "--insecure", "-", "127.0.0.1:1/urunc/x:1"}, {"run", "-"}} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd, stderr, tmp := startBunix(t, r, []string{"BUNIX_STDIN_LIMIT=1M"}, argv...)
		r.Close()
		go func() {
			io.Copy(w, io.LimitReader(zeros{}, 64<<20))
			w.Close()
		}()
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != exitBadInput || !strings.Contains(stderr.String(), "BUNIX_STDIN_LIMIT") || !strings.Contains(stderr.String(), "1048576 bytes") {
			t.Errorf("%v: exit %d, stderr:\n%s", argv, code, stderr)
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("%v: left in TMPDIR: %v", argv, ents)
		}
		code, _, errs := cli(t, map[string]string{"BUNIX_STDIN_LIMIT": "lots"}, argv...)
		if code != exitBadInput || !strings.Contains(errs, `BUNIX_STDIN_LIMIT = "lots"`) {
			t.Errorf("%v with BUNIX_STDIN_LIMIT=lots: exit %d, %s", argv, code, errs)
		}
	}
}

// zeros reads as endless zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
