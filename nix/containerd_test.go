package nix_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/testenv"
)

// TestContainerdImport imports the nix-built docker-archive into a private
// containerd with `ctr images import`: the image is there under its name,
// with the urunc labels in its config.
func TestContainerdImport(t *testing.T) {
	out := nixBuild(t)
	const ref = "docker.io/bunix/hello:latest"
	m, cfg := importImage(t, testenv.Containerd(t), out, ref)
	if cfg.Config.Labels["com.urunc.unikernel.unikernelType"] != "unikraft" || cfg.Config.Labels["com.urunc.unikernel.useDMBlock"] != "false" ||
		strings.Join(cfg.Config.Cmd, " ") != "hello /conf/hello.conf" || len(m.Layers) != 3 {
		t.Errorf("containerd holds %s with config %+v", ref, cfg.Config)
	}
}

// importImage imports the image file into c with `ctr images import` and
// returns the manifest and config that c then holds for ref, read back from
// its content store.
func importImage(t *testing.T, c *testenv.ContainerdServer, file, ref string) (*v1.Manifest, *v1.ConfigFile) {
	t.Helper()
	if _, err := c.Ctr(t, "images", "import", file); err != nil {
		t.Fatal(err)
	}
	_, digest := c.ImageTarget(t, ref)
	m, err := v1.ParseManifest(strings.NewReader(c.Content(t, digest)))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := v1.ParseConfigFile(strings.NewReader(c.Content(t, m.Config.Digest.String())))
	if err != nil {
		t.Fatal(err)
	}
	return m, cfg
}

// TestContainerdImportOCIName imports oci-archives with `ctr images import`:
// containerd lists each under the normalized name its own export writes
// (docker.io/library/x:t, docker.io/org/x:t), which crictl, nerdctl and
// Kubernetes look up, while skopeo still finds the image by the short name
// in org.opencontainers.image.ref.name (oci-archive:file:name:tag, as
// podman spells it too).
func TestContainerdImportOCIName(t *testing.T) {
	root := testenv.ModuleRoot(t)
	c := testenv.Containerd(t)
	skopeo := testenv.Require(t, "skopeo")
	dir := t.TempDir()
	for _, tc := range []struct{ name, want string }{
		{"bunix/process", "docker.io/bunix/process:latest"},
		{"hello", "docker.io/library/hello:latest"},
	} {
		args := filepath.Join(dir, strings.ReplaceAll(tc.name, "/", "-")+".json")
		os.WriteFile(args, []byte(`{"name": "`+tc.name+`", "files": {"`+filepath.Join(root, "examples/hello/kernel")+`": "/unikernel/kernel"},
  "env": {"NGINX_PORT": "8080"}, "cmd": ["nginx"],
  "annotations": {"unikernelType": "unikraft", "hypervisor": "qemu", "binary": "/unikernel/kernel"}}`), 0o644)
		out := filepath.Join(dir, strings.ReplaceAll(tc.name, "/", "-")+".tar")
		bunixCLI(t, root, nil, "build", "-f", args, "--format", "oci-archive", "-o", out)
		if _, err := c.Ctr(t, "images", "import", out); err != nil {
			t.Fatal(err)
		}
		ls, err := c.Ctr(t, "images", "ls", "-q")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(strings.Fields(ls), tc.want) {
			t.Errorf("ctr images ls lists %q, want %s", ls, tc.want)
		}
		raw, err := exec.Command(skopeo, "inspect", "--config", "oci-archive:"+out+":"+tc.name+":latest").CombinedOutput()
		if err != nil || !strings.Contains(string(raw), `"NGINX_PORT=8080"`) {
			t.Errorf("skopeo inspect oci-archive:%s:%s:latest: %v\n%s", out, tc.name, err, raw)
		}
	}
}
