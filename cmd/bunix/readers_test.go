package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestPushInspectBadInput: a reference that does not parse, a missing
// file and a FIFO given as the image are bad input, exit 2, and the FIFO
// is refused without blocking.
func TestPushInspectBadInput(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "image.tar")
	testenv.Mkfifo(t, fifo)
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"push", fifo, "Not A Ref"}, "not a valid image reference"},
		{[]string{"push", filepath.Join(dir, "missing"), "127.0.0.1:1/x:1"}, "no such file"},
		{[]string{"push", fifo, "127.0.0.1:1/x:1"}, "is not a regular file but a named pipe (FIFO)"},
		{[]string{"inspect", fifo}, "is not a regular file but a named pipe (FIFO)"},
		{[]string{"inspect", "docker://Not A Ref"}, "not a valid image reference"},
	} {
		code, _, stderr := cli(t, nil, tc.argv...)
		if code != exitBadInput || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.argv, code, stderr, exitBadInput, tc.want)
		}
	}
	if _, err := os.Stat(fifo); err != nil {
		t.Error(err)
	}
}

// TestInspectMissingFileAsksNoRegistry: a name that is no file and no
// explicit reference (registry.Reference) is "no such file", exit 2, and
// no registry is asked. The bunix binary sends every HTTPS request to a
// proxy that records the requests; docker://, which does ask Docker Hub,
// shows that the proxy is in use.
func TestInspectMissingFileAsksNoRegistry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	asked := make(chan string, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			asked <- strings.TrimSpace(line)
			c.Close()
		}
	}()
	bin := filepath.Join(testenv.Bunix(t), "bin", "bunix")
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	inspect := func(name string) (int, string) {
		cmd := exec.Command(bin, "inspect", name)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HTTPS_PROXY=http://"+l.Addr().String(), "NO_PROXY=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Run()
		return cmd.ProcessState.ExitCode(), stderr.String()
	}
	for _, name := range []string{"imag.tar", "image.oci.tar", "out/image.tar", "./out/x", "redis", "redis:7", "urunc/redis:test", "ghcr.io/org/app"} {
		code, stderr := inspect(name)
		if want := "inspecting " + name + ": lstat " + name + ": no such file or directory (an image in a registry is docker://REF"; code != exitBadInput || !strings.Contains(stderr, want) {
			t.Errorf("inspect %s: exit %d, %q; want exit 2 and %q", name, code, stderr, want)
		}
	}
	// A directory that exists is read as an OCI layout.
	if code, stderr := inspect("out"); code != exitBadInput || !strings.Contains(stderr, "oci-layout") {
		t.Errorf("inspect out: exit %d, %q", code, stderr)
	}
	select {
	case a := <-asked:
		t.Errorf("a missing file made bunix ask the network: %s", a)
	default:
	}
	if code, stderr := inspect("docker://imag.tar"); code == exitOK {
		t.Errorf("inspect docker://imag.tar succeeded: %s", stderr)
	}
	select {
	case a := <-asked:
		if !strings.Contains(a, "index.docker.io") {
			t.Errorf("docker://imag.tar asked the proxy %q, not for Docker Hub", a)
		}
	case <-time.After(time.Minute):
		t.Error("docker://imag.tar did not go through the proxy")
	}
}

// piped runs bunix argv on the output of `bunix build -f args.json -o -`,
// through a real pipe, and returns its stdout.
func piped(t *testing.T, dir, format string, argv ...string) string {
	t.Helper()
	bin := filepath.Join(testenv.Bunix(t), "bin", "bunix")
	build := exec.Command(bin, "build", "-f", filepath.Join(dir, "args.json"), "--format", format, "-o", "-")
	cmd := exec.Command(bin, argv...)
	var err error
	if cmd.Stdin, err = build.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := build.Start(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v: %s", argv, err, stderr.String())
	}
	if err := build.Wait(); err != nil {
		t.Fatal(err)
	}
	return stdout.String()
}

// buildFormat builds dir's args.json as format and returns the file.
func buildFormat(t *testing.T, dir, format string) string {
	t.Helper()
	file := filepath.Join(dir, format+".tar")
	if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "args.json"), "--format", format, "-o", file); code != 0 {
		t.Fatalf("build: %s", stderr)
	}
	return file
}

// TestInspectStdin: `bunix build -o - | bunix inspect -` gives the report
// of the file; an empty standard input is bad input.
func TestInspectStdin(t *testing.T) {
	dir := project(t)
	for _, format := range []string{"docker-archive", "oci-archive"} {
		_, want, _ := cli(t, nil, "inspect", "--json", buildFormat(t, dir, format))
		if got := piped(t, dir, format, "inspect", "--json", "-"); got != want || want == "" {
			t.Errorf("%s: inspect - gives\n%s\ninspect FILE gives\n%s", format, got, want)
		}
	}
	code, _, stderr := cli(t, nil, "inspect", "-")
	if code != exitBadInput || !strings.Contains(stderr, "opening image on standard input") {
		t.Errorf("inspect - of an empty stdin: exit %d, %q", code, stderr)
	}
}

// TestPushStdin: `bunix build -o - | bunix push -` pushes to a real
// registry what pushing the file pushes.
func TestPushStdin(t *testing.T) {
	dir := project(t)
	reg := testenv.Registry(t)
	for _, format := range []string{"docker-archive", "oci-archive"} {
		_, want, stderr := cli(t, nil, "push", "--insecure", buildFormat(t, dir, format), reg.Addr+"/urunc/file:"+format)
		if want == "" {
			t.Fatalf("push FILE: %s", stderr)
		}
		got := piped(t, dir, format, "push", "--insecure", "-", reg.Addr+"/urunc/stdin:"+format)
		if strings.Replace(got, "/urunc/stdin@", "/urunc/file@", 1) != want {
			t.Errorf("%s: push - printed %q, push FILE %q", format, got, want)
		}
	}
}

// TestMissingRegistryImageIsUserError: an image the registry does not have
// is bad input (exit 2) to inspect and prefetch alike (registry.IsUserError).
func TestMissingRegistryImageIsUserError(t *testing.T) {
	reg := testenv.Registry(t)
	ref := reg.Addr + "/urunc/missing:t1"
	for _, argv := range [][]string{
		{"inspect", "--insecure", ref},
		{"inspect", "--insecure", "docker://" + ref},
		{"prefetch", ref},
	} {
		code, stdout, stderr := cli(t, nil, argv...)
		if code != exitBadInput || stdout != "" || !strings.Contains(stderr, "urunc/missing") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d", argv, code, stdout, stderr, exitBadInput)
		}
	}
}
