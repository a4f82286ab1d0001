package nix_test

import (
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
