package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/nubificus/bunix/bench"
)

// TestWriters writes a small rootfs with both writers and reads the images
// back.
func TestWriters(t *testing.T) {
	dir := t.TempDir()
	if err := bench.Rootfs(dir, 120); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "rootfs") + "=/rootfs"
	for _, args := range [][]string{
		{"bunix", "-o", filepath.Join(dir, "b.tar"), src},
		{"ggcr", "-o", filepath.Join(dir, "g.tar"), src},
	} {
		if err := run(args); err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(args[2], nil)
		if err != nil {
			t.Fatal(err)
		}
		if layers, err := img.Layers(); err != nil || len(layers) != 1 {
			t.Errorf("%s: %d layers, %v", args[0], len(layers), err)
		}
	}
	oci := filepath.Join(dir, "oci")
	if err := run([]string{"bunix", "-format", "oci", "-compression", "zstd", "-o", oci, src}); err != nil {
		t.Fatal(err)
	}
	if _, err := layout.ImageIndexFromPath(oci); err != nil {
		t.Error(err)
	}
	if err := run([]string{"bunix", "-format", "tar", "-o", oci, src}); err == nil {
		t.Error("an unknown format was accepted")
	}
}

// TestHashFiles hashes a file and a directory as one stream, in walk
// order: the sum is that of their bytes in a row.
func TestHashFiles(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"a": "one", "d/b": "two", "d/c": "three"} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := hashFiles([]string{filepath.Join(dir, "a"), filepath.Join(dir, "d")})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%x", sha256.Sum256([]byte("onetwothree"))); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, err := hashFiles([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing file hashed")
	}
}
