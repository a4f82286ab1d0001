package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestInitConvertFormatsBuild: init and convert write the format the output
// name says (args.nix, args.json, args.hcl; --format on standard output),
// with the same content: each builds with Nix on PATH to the same bytes,
// and the JSON and HCL ones build without Nix, as README promises for
// people without Nix. The args.nix without Nix fails saying so.
func TestInitConvertFormatsBuild(t *testing.T) {
	bin := filepath.Join(testenv.Bunix(t), "bin", "bunix")
	nixDir := filepath.Dir(testenv.Require(t, "nix-instantiate"))
	noNix := t.TempDir() // a PATH with no Nix on it: bunix needs no other tool
	run := func(dir, path string, argv ...string) (string, string, error) {
		t.Helper()
		cmd := exec.Command(bin, argv...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + path, "HOME=" + dir, "TMPDIR=" + os.TempDir()}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	withNix := nixDir + ":" + noNix

	dir := writeFiles(t, map[string]string{
		"kernel":        "\x7fELF not really a kernel",
		"app.conf":      "x=1\n",
		"Containerfile": "FROM scratch\nCOPY kernel /unikernel/kernel\nCOPY app.conf /conf/app.conf\n" + convertLabels + "LABEL com.urunc.unikernel.cmdline=\"/app -c /conf/app.conf\"\nWORKDIR /srv\nUSER 1000\n",
	})
	var made []string
	for _, f := range []string{"nix", "json", "hcl"} {
		sub := filepath.Join(dir, "init-"+f)
		os.Mkdir(sub, 0o755)
		os.WriteFile(filepath.Join(sub, "kernel"), []byte("\x7fELF not really a kernel"), 0o644)
		if _, stderr, err := run(sub, noNix, "init", "--type", "unikraft", "--hypervisor", "qemu", "--binary", "./kernel",
			"--cmdline", "/app", "--env", "PORT=8080", "--name", "t/init", "--format", f); err != nil {
			t.Fatalf("init --format %s: %v\n%s", f, err, stderr)
		} else if want := "  bunix build -f args." + f + " -o image.tar"; !strings.Contains(stderr, want) || strings.Contains(stderr, "in .,") {
			t.Errorf("init --format %s says next:\n%s\nwant %q, and no \"in .\"", f, stderr, want)
		}
		made = append(made, filepath.Join(sub, "args."+f))
		if _, stderr, err := run(dir, noNix, "convert", "Containerfile", "-o", "conv."+f, "--name", "t/conv", "--urunc", "0.8"); err != nil {
			t.Fatalf("convert -o conv.%s: %v\n%s", f, err, stderr)
		}
		made = append(made, filepath.Join(dir, "conv."+f))
		stdout, stderr, err := run(dir, noNix, "convert", "Containerfile", "--format", f, "--name", "t/conv", "--urunc", "0.8")
		if err != nil {
			t.Fatalf("convert --format %s: %v\n%s", f, err, stderr)
		}
		if want := testenv.ReadFile(t, filepath.Join(dir, "conv."+f)); stdout != strings.ReplaceAll(string(want), "conv."+f, "args."+f) {
			t.Errorf("convert --format %s on standard output:\n%s\nwant what -o conv.%s wrote:\n%s", f, stdout, f, want)
		}
	}

	for _, f := range []string{"json", "hcl"} {
		text := string(testenv.ReadFile(t, filepath.Join(dir, "conv."+f)))
		for _, w := range []string{"urunc", "workingDir", "user"} {
			if !strings.Contains(text, w) {
				t.Errorf("conv.%s lacks %s, which conv.nix has:\n%s", f, w, text)
			}
		}
	}
	images := map[string][]byte{}
	for _, desc := range made {
		name := filepath.Base(filepath.Dir(desc)) + "/" + filepath.Base(desc)
		out := desc + ".tar"
		if _, stderr, err := run(filepath.Dir(desc), withNix, "build", "-f", filepath.Base(desc), "-o", out); err != nil {
			t.Errorf("%s with Nix on PATH: %v\n%s", name, err, stderr)
			continue
		}
		images[desc] = testenv.ReadFile(t, out)
		os.Remove(out)
		_, stderr, err := run(filepath.Dir(desc), noNix, "build", "-f", filepath.Base(desc), "-o", out)
		if filepath.Ext(desc) == ".nix" {
			if err == nil || !strings.Contains(stderr, "nix-instantiate") {
				t.Errorf("%s without Nix: %v, want an error naming nix-instantiate:\n%s", name, err, stderr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s without Nix on PATH: %v\n%s", name, err, stderr)
			continue
		}
		if !bytes.Equal(testenv.ReadFile(t, out), images[desc]) {
			t.Errorf("%s: built without Nix differs from with Nix", name)
		}
	}
	for _, desc := range made {
		ext := filepath.Ext(desc)
		if ext == ".nix" {
			continue
		}
		nix := strings.TrimSuffix(desc, ext) + ".nix"
		if images[desc] == nil || images[nix] == nil {
			continue
		}
		if !bytes.Equal(images[desc], images[nix]) {
			t.Errorf("%s and %s build different images", desc, nix)
		}
	}
	if _, stderr, err := run(dir, noNix, "convert", "Containerfile", "-o", "conv.yaml"); err == nil || !strings.Contains(stderr, `".yaml"`) {
		t.Errorf("convert -o conv.yaml: %v\n%s", err, stderr)
	}
	if _, stderr, err := run(dir, noNix, "convert", "Containerfile", "-o", "x.json", "--format", "hcl"); err == nil || !strings.Contains(stderr, "--format hcl") {
		t.Errorf("convert -o x.json --format hcl: %v\n%s", err, stderr)
	}
}

// TestHelpNamesEveryFormat: bunix --help does not describe build as
// docker-archive only: it writes oci-archive and OCI layouts too.
func TestHelpNamesEveryFormat(t *testing.T) {
	for _, argv := range [][]string{{"--help"}, {"build", "--help"}} {
		_, stdout, _ := cli(t, nil, argv...)
		if strings.Contains(stdout, "Build a docker-archive image tar") || !strings.Contains(stdout, "oci-archive") {
			t.Errorf("bunix %v:\n%s", argv, stdout)
		}
	}
}
