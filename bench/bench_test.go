package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/image"
)

// inputs returns the directory of the generated inputs: $BUNIX_BENCH_DIR,
// or a directory in os.TempDir that later runs reuse.
func inputs(b *testing.B) string {
	b.Helper()
	dir := os.Getenv("BUNIX_BENCH_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "bunix-bench")
	}
	if err := Kernel(dir, 1<<30); err != nil {
		b.Fatal(err)
	}
	if err := Rootfs(dir, 10000); err != nil {
		b.Fatal(err)
	}
	return dir
}

// imageOf returns an image with one layer per copy (SOURCE=TARGET) of
// files under dir, and their total size.
func imageOf(b *testing.B, dir string, copies ...string) (*image.Image, int64) {
	b.Helper()
	img := &image.Image{RepoTags: []string{"bench/bunix:latest"}, Architecture: "amd64"}
	var size int64
	for _, c := range copies {
		src, dst, _ := strings.Cut(c, "=")
		entries, err := image.FromPath(filepath.Join(dir, src), dst)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range entries {
			size += e.Size
		}
		img.Layers = append(img.Layers, image.Layer{Entries: entries, CreatedBy: "copy " + dst})
	}
	return img, size
}

// BenchmarkWrite writes the two inputs in every format, uncompressed, and
// the kernel compressed, to a file: the output goes to the page cache, as
// it would in a build.
func BenchmarkWrite(b *testing.B) {
	dir := inputs(b)
	kernel, kernelSize := imageOf(b, dir, "kernel=/unikernel/kernel", "files=/data")
	rootfs, rootfsSize := imageOf(b, dir, "rootfs=/rootfs")
	for _, tc := range []struct {
		name string
		img  *image.Image
		size int64
		c    image.Compression
	}{
		{"kernel", kernel, kernelSize, image.Uncompressed},
		{"kernel", kernel, kernelSize, image.Gzip},
		{"kernel", kernel, kernelSize, image.Zstd},
		{"rootfs", rootfs, rootfsSize, image.Uncompressed},
	} {
		for _, f := range []image.Format{image.DockerArchive, image.OCIArchive, image.OCILayout} {
			b.Run(tc.name+"/"+string(f)+"/"+string(tc.c), func(b *testing.B) {
				out := filepath.Join(b.TempDir(), "image")
				b.SetBytes(tc.size)
				for b.Loop() {
					if err := image.WritePath(out, []*image.Image{tc.img}, image.WithFormat(f), image.WithCompression(tc.c)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
