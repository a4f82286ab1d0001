package run_test

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/nubificus/bunix/pkg/run"
)

// hostileImage is a guest whose kernel is at path in the image (its
// directories made), with settings over the defaults and cfg as its
// config.
func hostileImage(t *testing.T, kernelPath string, settings map[string]string, cfg v1.Config) string {
	t.Helper()
	s := map[string]string{"unikernelType": "unikraft", "hypervisor": "qemu", "binary": kernelPath}
	for k, v := range settings {
		s[k] = v
	}
	var members []member
	dirs := strings.Split(strings.Trim(kernelPath, "/"), "/")
	for i := range dirs[:len(dirs)-1] {
		members = append(members, member{name: strings.Join(dirs[:i+1], "/") + "/", typ: tar.TypeDir})
	}
	members = append(members, member{name: strings.Trim(kernelPath, "/"), data: "kernel"},
		member{name: "init", data: "init"}, member{name: "urunc.json", data: uruncJSON(s)})
	img, err := mutate.AppendLayers(empty.Image, layerOf(t, members...))
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Config = "amd64", "linux", cfg
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(archive, name.MustParseReference("bunix/hostile:latest"), img); err != nil {
		t.Fatal(err)
	}
	return archive
}

// TestRunHostileNames: a file name of the image, or the directory the
// run unpacks into, that holds a space, a comma or a control character
// would split into more arguments of the monitor's command line (urunc's
// qemu and solo5 command lines are one string split at spaces; qemu reads
// a comma in an option's value as the next option): a name such as
// "x -fsdev local,path=/etc -device virtio-9p-pci,…" hands the guest the
// host's /etc. The run refuses them, naming the setting.
func TestRunHostileNames(t *testing.T) {
	inject := "/unikernel/x -fsdev local,id=h,security_model=none,path=/etc -device virtio-9p-pci,fsdev=h,mount_tag=host/vmlinuz"
	for what, c := range map[string]struct {
		kernel   string
		settings map[string]string
		tmp      string
		want     string
	}{
		"space in binary":   {kernel: inject, want: `binary = "` + inject + `": `},
		"comma in binary":   {kernel: "/unikernel/k,readonly=on", want: `binary = "/unikernel/k,readonly=on": `},
		"newline in binary": {kernel: "/unikernel/k\n-S", want: `binary = "/unikernel/k\n-S": `},
		"space in TMPDIR":   {kernel: "/k", tmp: "my dir", want: "the run's private directory"},
		"solo5":             {kernel: "/k -S", settings: map[string]string{"unikernelType": "mirage", "hypervisor": "hvt"}, want: `binary = "/k -S": `},
	} {
		archive := hostileImage(t, c.kernel, c.settings, v1.Config{Cmd: []string{"/init"}})
		tmp := t.TempDir()
		if c.tmp != "" {
			tmp = filepath.Join(tmp, c.tmp)
			os.Mkdir(tmp, 0o700)
		}
		var stdout, stderr bytes.Buffer
		err := run.Run(context.Background(), run.Options{Image: archive, DryRun: true, Accel: run.AccelTCG, TempDir: tmp, Stdout: &stdout, Stderr: &stderr})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "command line") {
			t.Errorf("%s: %v\nstdout %s\nwant an error saying %q", what, err, stdout.String(), c.want)
		}
	}
}
