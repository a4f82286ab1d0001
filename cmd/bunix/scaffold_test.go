package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/urunc"
)

const convertLabels = `LABEL com.urunc.unikernel.binary=/unikernel/kernel
LABEL com.urunc.unikernel.unikernelType=unikraft com.urunc.unikernel.hypervisor=qemu
`

// TestConvertRefusesSourcesOutsideContext: a COPY that names a host file,
// by climbing out of the build context or through a symlink, is an error
// naming the line and the source; nothing is written. An absolute source
// names a file of the context, as it does to Docker, never the host's.
func TestConvertRefusesSourcesOutsideContext(t *testing.T) {
	for _, tc := range []struct{ name, line, want string }{
		{"dotdot", "COPY ../../../../etc/passwd /unikernel/kernel", `Containerfile:2: COPY "../../../../etc/passwd": forbidden path outside the build context`},
		{"symlink", "COPY link /unikernel/kernel", `Containerfile:2: COPY "link": forbidden path outside the build context`},
		{"symlinked-dir", "COPY dirlink/passwd /unikernel/kernel", `Containerfile:2: COPY "dirlink/passwd": forbidden path outside the build context`},
		{"dangling", "COPY dangling /unikernel/kernel", `Containerfile:2: COPY "dangling": forbidden path outside the build context`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"Containerfile": "FROM scratch\n" + tc.line + "\n" + convertLabels})
			os.Symlink("/etc/passwd", filepath.Join(dir, "link"))
			os.Symlink("/etc", filepath.Join(dir, "dirlink"))
			os.Symlink("../../no/such/file", filepath.Join(dir, "dangling"))
			out := filepath.Join(t.TempDir(), "args.nix")
			code, _, stderr := cli(t, nil, "convert", filepath.Join(dir, "Containerfile"), "-o", out)
			if code != exitBadInput || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("args.nix written")
			}
		})
	}
	dir := writeFiles(t, map[string]string{"Containerfile": "FROM scratch\nCOPY /etc/shadow /unikernel/kernel\n" + convertLabels})
	if code, stdout, stderr := cli(t, nil, "convert", filepath.Join(dir, "Containerfile")); code != 0 || !strings.Contains(stdout, filepath.Base(dir)+`/etc/shadow" = "/unikernel/kernel";`) || strings.Contains(stdout, `"/etc/shadow"`) {
		t.Errorf("an absolute source: exit %d: %s\n%s", code, stderr, stdout)
	}
	// A symlink that stays inside the context is fine.
	dir = writeFiles(t, map[string]string{"Containerfile": "FROM scratch\nCOPY link /unikernel/kernel\n" + convertLabels, "build/kernel": "k"})
	os.Symlink("build/kernel", filepath.Join(dir, "link"))
	if code, _, stderr := cli(t, nil, "convert", filepath.Join(dir, "Containerfile")); code != 0 {
		t.Errorf("symlink inside the context: exit %d: %s", code, stderr)
	}
}

// TestConvertDropsNothing: every line is carried over or reported, with the
// line number, and the exit code says so.
func TestConvertDropsNothing(t *testing.T) {
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "kernel", Mode: 0o644, Size: 1})
	tw.Write([]byte("k"))
	tw.Close()
	zw.Close()
	long := "LABEL com.urunc.unikernel.cmdline=" + strings.Repeat("x", 1<<20+10)
	for _, tc := range []struct{ name, body, want string }{
		{"long-line", "COPY kernel /unikernel/kernel\n" + long + "\nRUN make\n", "larger than 1 MiB"},
		{"unknown-urunc-label", "COPY kernel /unikernel/kernel\nLABEL com.urunc.unikernel.hypervsor=qemu\n", `Containerfile:3: LABEL com.urunc.unikernel.hypervsor: unknown urunc label`},
		{"add-archive", "ADD kernel.tar.gz /unikernel/\n", `Containerfile:2: ADD "kernel.tar.gz": Docker extracts this archive`},
		{"add-archive-by-content", "ADD packed /unikernel/kernel\n", `Containerfile:2: ADD "packed": Docker extracts this archive`},
		{"duplicate-target", "COPY kernel /unikernel/kernel\nCOPY other /unikernel/kernel\n", `Containerfile:3: COPY "other": target /unikernel/kernel is also the target of line 2`},
		{"duplicate-source", "COPY kernel /unikernel/kernel\nCOPY kernel /unikernel/copy\n", `Containerfile:3: COPY "kernel": source is also copied at line 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{
				"Containerfile": "FROM scratch\n" + tc.body + convertLabels,
				"kernel":        "k", "other": "o", "kernel.tar.gz": tgz.String(), "packed": tgz.String(),
			})
			code, stdout, stderr := cli(t, nil, "convert", filepath.Join(dir, "Containerfile"))
			if code != exitBadInput || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr:\n%.2000s\nstdout:\n%.2000s\nwant exit 2 and %q", code, stderr, stdout, tc.want)
			}
		})
	}
	// ADD of a plain local file is COPY.
	dir := writeFiles(t, map[string]string{"Containerfile": "FROM scratch\nADD kernel /unikernel/kernel\n" + convertLabels, "kernel": "k"})
	if code, stdout, stderr := cli(t, nil, "convert", filepath.Join(dir, "Containerfile")); code != 0 || !strings.Contains(stdout, `/kernel" = "/unikernel/kernel";`) {
		t.Errorf("ADD of a plain file: exit %d: %s\n%s", code, stderr, stdout)
	}
}

// TestConvertReadsRegularFilesOnly: a FIFO is refused at once, not opened
// (which would block), a device is refused, and a file past the size cap
// is refused without being read whole.
func TestConvertReadsRegularFilesOnly(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "Containerfile")
	testenv.Mkfifo(t, fifo)
	dangling := filepath.Join(dir, "dangling")
	os.Symlink("no-such-file", dangling)
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# comment\n"), 200<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{fifo, "is a named pipe (FIFO): convert reads regular files only"},
		{"/dev/zero", "is a character device: convert reads regular files only"},
		{big, "larger than 1 MiB"},
		{dangling, "is a dangling symbolic link"},
		{filepath.Join(dir, "missing"), "no such file"},
	} {
		var stderr string
		code := testenv.Within(t, time.Minute, "convert "+tc.file, func() (code int) {
			code, _, stderr = cli(t, nil, "convert", tc.file)
			return code
		})
		if code != exitBadInput || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, tc.file) {
			t.Errorf("convert %s: exit %d, stderr %q; want exit 2 and %q", tc.file, code, stderr, tc.want)
		}
	}
}

// TestConvertExistingOutputIsUserError: -o naming an existing file is a
// mistake on the command line (exit 2), and the file stays as it was.
func TestConvertExistingOutputIsUserError(t *testing.T) {
	dir := writeFiles(t, map[string]string{"Containerfile": "FROM scratch\nCOPY kernel /unikernel/kernel\n" + convertLabels, "kernel": "k", "args.nix": "mine"})
	code, _, stderr := cli(t, nil, "convert", filepath.Join(dir, "Containerfile"), "-o", filepath.Join(dir, "args.nix"))
	if code != exitBadInput || !strings.Contains(stderr, "already exists") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "args.nix")); string(got) != "mine" {
		t.Errorf("args.nix overwritten: %q", got)
	}
	code, _, stderr = cli(t, nil, "init", "--type", "unikraft", "--hypervisor", "qemu", "--binary", "kernel", "--dir", dir)
	if code != exitBadInput || !strings.Contains(stderr, "already exists") {
		t.Errorf("init: exit %d: %s", code, stderr)
	}
}

// TestInitHelpListsURuncVocabulary: the flag help names what pkg/urunc
// knows, so a new guest or monitor shows up without editing cmd/bunix.
func TestInitHelpListsURuncVocabulary(t *testing.T) {
	code, stdout, stderr := cli(t, nil, "init", "--help")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"(guest): " + strings.Join(urunc.Guests, ", "), "the monitor: " + strings.Join(urunc.MonitorNames(), ", ")} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, stdout)
		}
	}
}
