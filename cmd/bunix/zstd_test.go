package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestZstdDockerArchiveRefused: compression = "zstd" with the default
// docker-archive format (which docker load refuses) is bad input to
// validate and build alike, naming the formats that hold zstd, and
// nothing is written; --format oci-archive over it builds.
func TestZstdDockerArchiveRefused(t *testing.T) {
	dir := project(t)
	js := filepath.Join(dir, "args.json")
	data, _ := os.ReadFile(js)
	os.WriteFile(js, []byte(strings.Replace(string(data), `"tag": "t1",`, `"tag": "t1", "compression": "zstd",`, 1)), 0o644)
	want := `compression = "zstd": the docker-archive format cannot hold zstd layers (docker load refuses them): set format = "oci-archive" or "oci"`
	out := filepath.Join(t.TempDir(), "image.tar")
	for _, argv := range [][]string{{"validate", "-f", js}, {"build", "-f", js, "-o", out}} {
		code, _, stderr := cli(t, nil, argv...)
		if code != exitBadInput || !strings.Contains(stderr, want) {
			t.Errorf("%v: exit %d, stderr %s", argv, code, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s was written", out)
	}
	if code, _, stderr := cli(t, nil, "build", "-f", js, "--format", "oci-archive", "-o", out); code != exitOK {
		t.Errorf("build --format oci-archive: exit %d, %s", code, stderr)
	}
}
