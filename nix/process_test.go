package nix_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/urunc"
)

// processWant is what examples/process/args.nix puts in the image config.
var processWant = v1.Config{
	Env:        []string{"LANG=C.UTF-8", "NGINX_PORT=8080"},
	Entrypoint: []string{"nginx"},
	Cmd:        []string{"-c", "/conf/nginx.conf"},
}

// checkProcess compares the Env, Entrypoint, Cmd and derived cmdline
// label of cfg with examples/process's.
func checkProcess(t *testing.T, what string, cfg v1.Config) {
	t.Helper()
	if !reflect.DeepEqual(cfg.Env, processWant.Env) || !reflect.DeepEqual(cfg.Entrypoint, processWant.Entrypoint) || !reflect.DeepEqual(cfg.Cmd, processWant.Cmd) {
		t.Errorf("%s: Env %q Entrypoint %q Cmd %q, want %q %q %q", what, cfg.Env, cfg.Entrypoint, cfg.Cmd, processWant.Env, processWant.Entrypoint, processWant.Cmd)
	}
	if got := cfg.Labels[urunc.Prefix+"cmdline"]; got != "nginx -c /conf/nginx.conf" {
		t.Errorf("%s: cmdline label = %q, want the one derived from entrypoint and cmd", what, got)
	}
}

// TestProcessExample builds examples/process (env, entrypoint, cmd) with
// nix-build and with the CLI in every format: the same bytes from both
// front ends, and Env, Entrypoint and Cmd in the config of each, as Docker
// Engine sees them after docker load.
func TestProcessExample(t *testing.T) {
	root := testenv.ModuleRoot(t)
	argsFile := filepath.Join(root, "examples/process/args.nix")
	out := nixBuild(t, "--arg", "args", argsFile)
	dir := t.TempDir()
	cli := filepath.Join(dir, "image.tar")
	bunixCLI(t, root, nil, "build", "-f", argsFile, "-o", cli)
	if !bytes.Equal(read(t, out), read(t, cli)) {
		t.Fatalf("nix-build (%s) and bunix build (%s) differ", out, cli)
	}
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkProcess(t, "docker-archive", configOf(t, img))

	ociDir := filepath.Join(dir, "oci")
	bunixCLI(t, root, nil, "build", "-f", argsFile, "--format", "oci", "-o", ociDir)
	checkProcess(t, "oci", configOf(t, layoutImage(t, ociDir)))
	ociTar := filepath.Join(dir, "image-oci.tar")
	bunixCLI(t, root, nil, "build", "-f", argsFile, "--format", "oci-archive", "-o", ociTar)
	unpacked := filepath.Join(dir, "unpacked")
	if b, err := exec.Command("sh", "-c", `mkdir "$1" && tar -xf "$2" -C "$1"`, "sh", unpacked, ociTar).CombinedOutput(); err != nil {
		t.Fatalf("unpacking the oci-archive: %v\n%s", err, b)
	}
	checkProcess(t, "oci-archive", configOf(t, layoutImage(t, unpacked)))

	d := docker.Get(t)
	if got, err := d.Run(t, "load", "-i", out); err != nil || !strings.Contains(got, "Loaded image: bunix/process:latest") {
		t.Fatalf("docker load: %q %v", got, err)
	}
	raw, err := d.Run(t, "image", "inspect", "--format", "{{json .Config}}", "bunix/process:latest")
	if err != nil {
		t.Fatal(err)
	}
	var cfg v1.Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	checkProcess(t, "docker image inspect", cfg)
}

func configOf(t *testing.T, img v1.Image) v1.Config {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.Config
}

// layoutImage is the one image of the OCI layout at dir.
func layoutImage(t *testing.T, dir string) v1.Image {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("index of %s: %v %v", dir, m, err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
