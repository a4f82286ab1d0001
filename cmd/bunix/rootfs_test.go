package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRootfsFrontEnds: a block rootfs written in args.json, args.hcl and
// args.nix builds the same bytes, and a raw rootfs for a guest that cannot
// mount it warns on stderr and still builds.
func TestRootfsFrontEnds(t *testing.T) {
	dir := project(t)
	tmp := t.TempDir() // where the work directories go, to see that none is left
	t.Setenv("TMPDIR", tmp)
	descs := map[string]string{
		"rootfs.json": `{"name": "urunc/redis", "files": {"./kernel": "/unikernel/redis.hvt"},
  "annotations": {"unikernelType": "rumprun", "hypervisor": "hvt", "binary": "/unikernel/redis.hvt"},
  "rootfs": {"type": "block", "include": {"./conf": "/conf"}, "size": "2M"}}`,
		"rootfs.hcl": `name = "urunc/redis"
files = { "./kernel" = "/unikernel/redis.hvt" }
annotations = { unikernelType = "rumprun", hypervisor = "hvt", binary = "/unikernel/redis.hvt" }
rootfs = {
  type    = "block"
  include = { "./conf" = "/conf" }
  size    = 2097152
}
`,
		"rootfs.nix": `{ name = "urunc/redis"; files = { "./kernel" = "/unikernel/redis.hvt"; };
  annotations = { unikernelType = "rumprun"; hypervisor = "hvt"; binary = "/unikernel/redis.hvt"; };
  rootfs = { type = "block"; include = [ { source = ./conf; target = "/conf"; } ]; size = "2M"; from = null; }; }`,
	}
	for name, desc := range descs {
		os.WriteFile(filepath.Join(dir, name), []byte(desc), 0o644)
	}
	buildAlike(t, dir, "rootfs")
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Errorf("work directory left behind: %s", ents[0].Name())
	}

	raw := filepath.Join(dir, "raw.json")
	os.WriteFile(raw, []byte(`{"name": "urunc/app", "files": {"./kernel": "/unikernel/kernel"},
  "annotations": {"unikernelType": "unikraft", "hypervisor": "qemu", "binary": "/unikernel/kernel"},
  "rootfs": {"type": "raw", "include": {"./conf": "/conf"}}}`), 0o644)
	code, stdout, stderr := cli(t, nil, "build", "-f", raw, "-o", filepath.Join(dir, "raw.tar"))
	want := `bunix: warning: ` + raw + `: rootfs.type = "raw": urunc shares the container rootfs with the unikraft guest through 9pfs`
	if code != 0 || !strings.Contains(stderr, want) || strings.Contains(stdout, "warning") {
		t.Errorf("exit %d, stdout %q, stderr %q; want the warning on stderr", code, stdout, stderr)
	}
}
