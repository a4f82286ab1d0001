package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/output"
)

// every format and compression, as subtest names and options.
func eachFormat(t *testing.T, f func(t *testing.T, format Format, c Compression)) {
	for _, format := range formats {
		for _, c := range compressions {
			t.Run(string(format)+"/"+string(c), func(t *testing.T) { f(t, format, c) })
		}
	}
}

// writePath writes images to a new path in a new directory and returns it.
func writePath(t *testing.T, images []*Image, opts ...Option) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image")
	if err := WritePath(p, images, opts...); err != nil {
		t.Fatal(err)
	}
	return p
}

// readIndex reads the OCI layout at p, unpacking it first when it is an
// oci-archive, with ggcr's layout package, and validates its manifests
// (checkImage checks the layers).
func readIndex(t *testing.T, p string, f Format) v1.ImageIndex {
	t.Helper()
	if f == OCIArchive {
		p = untar(t, p)
	}
	idx, err := layout.ImageIndexFromPath(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx, validate.Fast); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
	return idx
}

// untar unpacks the archive at p, which must hold regular files only, each
// once, into a new directory.
func untar(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	testenv.WalkTar(t, f, func(h *tar.Header, r io.Reader) {
		out := filepath.Join(dir, h.Name)
		if h.Typeflag != tar.TypeReg {
			t.Fatalf("%s: type %c in the archive", h.Name, h.Typeflag)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%s is twice in the archive", h.Name)
		}
		os.MkdirAll(filepath.Dir(out), 0o755)
		data, _ := io.ReadAll(r)
		if err := os.WriteFile(out, data, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	return dir
}

func annotated(t *testing.T, dir string) *Image {
	img := sampleImage(t, dir)
	img.Annotations = map[string]string{"com.example.key": "value", "org.opencontainers.image.title": "test"}
	return img
}

func TestFormatsReadBack(t *testing.T) {
	dir := tree(t, sampleFiles)
	eachFormat(t, func(t *testing.T, f Format, c Compression) {
		p := writePath(t, []*Image{annotated(t, dir)}, WithFormat(f), WithCompression(c))
		if f == DockerArchive {
			img, err := tarball.ImageFromPath(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkImage(t, img, sampleLayers)
			return
		}
		idx := readIndex(t, p, f)
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 1 {
			t.Fatalf("index.json lists %d manifests", len(im.Manifests))
		}
		d := im.Manifests[0]
		if d.MediaType != types.OCIManifestSchema1 || d.Platform == nil || d.Platform.String() != "linux/amd64" ||
			d.Annotations[annotationRefName] != "urunc/test:v1" || d.Annotations[annotationContainerdRef] != "docker.io/urunc/test:v1" {
			t.Errorf("index.json lists %+v", d)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, img, sampleLayers)
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"com.example.key": "value", "org.opencontainers.image.title": "test", annotationCreated: "1970-01-01T00:00:01Z"}
		if fmt.Sprint(m.Annotations) != fmt.Sprint(want) {
			t.Errorf("manifest annotations %v, want %v", m.Annotations, want)
		}
		for _, l := range m.Layers {
			if l.MediaType != layerMediaType[c] {
				t.Errorf("layer media type %s, want %s", l.MediaType, layerMediaType[c])
			}
		}
	})
}

// TestFormatsAreReproducible writes every format from the same files
// created twice, differently, and under different umasks: the outputs must
// be the same, byte for byte, file for file.
func TestFormatsAreReproducible(t *testing.T) {
	first, second := tree(t, sampleFiles), otherTree(t)
	eachFormat(t, func(t *testing.T, f Format, c Compression) {
		a := snapshot(t, writePath(t, []*Image{annotated(t, first)}, WithFormat(f), WithCompression(c)))
		old := syscall.Umask(0o077)
		b := snapshot(t, writePath(t, []*Image{annotated(t, second)}, WithFormat(f), WithCompression(c)))
		syscall.Umask(old)
		if a != b {
			t.Errorf("two writes differ:\n%s\n%s", a, b)
		}
	})
}

// snapshot describes the file or directory tree at p: each file's path,
// mode and sha256.
func snapshot(t *testing.T, p string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(p, q)
		line := fmt.Sprintf("%s %v", rel, fi.Mode())
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(q)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %x", v1sum(data))
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func v1sum(data []byte) string {
	h, _, _ := v1.SHA256(bytes.NewReader(data))
	return h.Hex
}

// TestSkopeoReadsOCI has skopeo, an independent implementation, inspect
// the OCI outputs and copy them to a docker-archive, which ggcr then reads.
func TestSkopeoReadsOCI(t *testing.T) {
	skopeo := testenv.Require(t, "skopeo")
	dir := tree(t, sampleFiles)
	for _, f := range []Format{OCILayout, OCIArchive} {
		for _, c := range compressions {
			t.Run(string(f)+"/"+string(c), func(t *testing.T) {
				p := writePath(t, []*Image{annotated(t, dir)}, WithFormat(f), WithCompression(c))
				ref := string(f) + ":" + p
				var info struct {
					Architecture string
					Labels       map[string]string
					Layers       []string
				}
				if err := json.Unmarshal(run(t, skopeo, "inspect", ref+":urunc/test:v1"), &info); err != nil {
					t.Fatal(err)
				}
				if info.Architecture != "amd64" || info.Labels["k"] != "v" || len(info.Layers) != 3 {
					t.Errorf("skopeo inspect: %+v", info)
				}
				var m v1.Manifest
				if err := json.Unmarshal(run(t, skopeo, "inspect", "--raw", ref), &m); err != nil {
					t.Fatal(err)
				}
				if m.Annotations["com.example.key"] != "value" {
					t.Errorf("skopeo sees the annotations %v", m.Annotations)
				}
				if c == Zstd {
					// skopeo 1.9 cannot convert zstd layers for a docker
					// image: it decompresses them into a dir: first.
					dir := filepath.Join(t.TempDir(), "dir")
					run(t, skopeo, "copy", "--quiet", "--dest-decompress", ref, "dir:"+dir)
					ref = "dir:" + dir
				}
				out := filepath.Join(t.TempDir(), "copy.tar")
				run(t, skopeo, "copy", "--quiet", ref, "docker-archive:"+out+":urunc/test:v1")
				img, err := tarball.ImageFromPath(out, nil)
				if err != nil {
					t.Fatal(err)
				}
				checkImage(t, img, sampleLayers)
			})
		}
	}
}

func run(t *testing.T, cmd string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	c := exec.Command(cmd, args...)
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", cmd, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// TestDockerLoadsCompressedArchives loads docker-archives with gzip and
// zstd layers into a real Docker Engine and reads a file back out.
func TestDockerLoadsCompressedArchives(t *testing.T) {
	d := testenv.Dockerd(t)
	dir := tree(t, sampleFiles)
	for _, c := range []Compression{Gzip, Zstd} {
		img := sampleImage(t, dir)
		img.RepoTags = []string{"urunc/test:" + string(c)}
		p := writePath(t, []*Image{img}, WithCompression(c))
		d.Load(t, p, img.RepoTags[0])
		out := filepath.Join(d.CopyOut(t, img.RepoTags[0], "/unikernel/kernel"), "kernel")
		if got, _ := os.ReadFile(out); string(got) != sampleFiles[0][1] {
			t.Errorf("%s: the kernel reads back as %q", c, got)
		}
	}
}

func TestWriteRejects(t *testing.T) {
	dir := tree(t, sampleFiles)
	amd, arm := sampleImage(t, dir), sampleImage(t, dir)
	arm.Architecture = "arm64"
	other := sampleImage(t, dir)
	other.Architecture, other.RepoTags = "riscv64", []string{"urunc/other:v1"}
	for _, tc := range []struct {
		name   string
		images []*Image
		opts   []Option
		want   string
	}{
		{"nothing", nil, nil, "no image to write"},
		{"multi-arch docker-archive", []*Image{amd, arm}, nil, "the docker-archive format holds one image, not 2 (linux/amd64, linux/arm64): write an index with the oci or oci-archive format"},
		{"same platform twice", []*Image{amd, arm, amd}, []Option{WithFormat(OCIArchive)}, "two images are for linux/amd64: an index holds one image per platform"},
		{"other names", []*Image{amd, other}, []Option{WithFormat(OCILayout)}, `the images of an index must have the same RepoTags, not ["urunc/test:v1"] and ["urunc/other:v1"]`},
		{"unknown format", []*Image{amd}, []Option{WithFormat("tar")}, `unknown format "tar" (known: docker-archive, oci-archive, oci)`},
		{"unknown compression", []*Image{amd}, []Option{WithCompression("xz")}, `unknown compression "xz" (known: none, gzip, zstd)`},
		{"no layers", []*Image{amd}, []Option{WithMaxLayers(0)}, "the layer cap must be at least 1, not 0"},
	} {
		p := filepath.Join(t.TempDir(), "out")
		if err := WritePath(p, tc.images, tc.opts...); err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the failed write left %s", tc.name, p)
		}
	}
	if err := Write(io.Discard, []*Image{amd}, WithFormat(OCILayout)); err == nil || !strings.Contains(err.Error(), "write it with WritePath") {
		t.Errorf("oci to a stream: %v", err)
	}
}

// TestWritePathLayoutDirectory checks how an oci directory replaces what is
// at its path.
func TestWritePathLayoutDirectory(t *testing.T) {
	dir := tree(t, sampleFiles)
	img := sampleImage(t, dir)
	p := writePath(t, []*Image{img}, WithFormat(OCILayout))
	// Over an older layout of the image: its entry is replaced. A blob no
	// entry names is not bunix's to delete: it stays.
	os.WriteFile(filepath.Join(p, "blobs", "sha256", strings.Repeat("ab", 32)), []byte("stale"), 0o644)
	before := snapshot(t, p)
	if err := WritePath(p, []*Image{img}, WithFormat(OCILayout)); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, p); got != before {
		t.Errorf("rewriting a layout gives\n%s\nwant\n%s", got, before)
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Errorf("left beside the layout: %v", ents)
	}
	// A failure leaves the old layout as it was.
	broken := sampleImage(t, dir)
	broken.Layers = append(broken.Layers, Layer{Entries: []Entry{{Path: "/gone", Type: Regular, Source: filepath.Join(dir, "missing"), Size: 1}}})
	if err := WritePath(p, []*Image{broken}, WithFormat(OCILayout)); err == nil {
		t.Fatal("a missing source did not fail the write")
	}
	if got := snapshot(t, p); got != before {
		t.Error("a failed write changed the layout")
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Errorf("a failed write left %v", ents)
	}
	// Anything else is not replaced.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "precious"), []byte("x"), 0o644)
	if err := WritePath(other, []*Image{img}, WithFormat(OCILayout)); err == nil || !strings.Contains(err.Error(), "holds more than an OCI image layout (precious): not replacing it") {
		t.Errorf("over another directory: %v", err)
	}
	// A layout beside other files is not replaced either: its oci-layout
	// file does not make the rest of the directory bunix's.
	for i := range 7 {
		os.WriteFile(filepath.Join(p, fmt.Sprintf("src%d.c", i)), []byte("x"), 0o644)
	}
	os.WriteFile(filepath.Join(p, "blobs", "sha256", "notes"), []byte("x"), 0o644)
	err := WritePath(p, []*Image{img}, WithFormat(OCILayout))
	if err == nil || !strings.Contains(err.Error(), "holds more than an OCI image layout (blobs/sha256/notes, src0.c, src1.c, src2.c, src3.c and 3 more): not replacing it") {
		t.Errorf("over a layout with other files: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(p, "src6.c")); err != nil || string(b) != "x" {
		t.Errorf("a refused write lost a file: %v", err)
	}
	// Nor is a file or a symlink.
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(other, link)
	if err := WritePath(link, []*Image{img}, WithFormat(OCILayout)); err == nil || !strings.Contains(err.Error(), "is a symbolic link, not a directory holding an OCI image layout") {
		t.Errorf("over a symlink: %v", err)
	}
	// Each refusal is an *output.Error on the path.
	for _, path := range []string{other, p, link} {
		var oe *output.Error
		if err := CheckLayoutOutput(path); !errors.As(err, &oe) || oe.Path != path || err.Error() != "output "+path+": "+oe.Reason {
			t.Errorf("CheckLayoutOutput(%s) = %#v, want an *output.Error", path, err)
		}
	}
}

// TestWriteCancelled: Write stops soon after its context is done, with the
// cause as its error, however big the layer. Soon is within 10 s: a write
// of the 16 GiB file that ran on would take 30 s or more on the 2-core CI
// machine (the CLI's oci-archive of a 16 GiB kernel took 34 s there), one
// that stops takes a fraction of a second, and a loaded machine may
// stretch that past the 1 s this test used to allow.
func TestWriteCancelled(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	f, _ := os.Create(p)
	f.Truncate(16 << 30)
	f.Close()
	entries, err := FromPath(p, "/big")
	if err != nil {
		t.Fatal(err)
	}
	img := &Image{Architecture: "amd64", Layers: []Layer{{Entries: entries}}}
	for _, format := range []Format{DockerArchive, OCIArchive, OCILayout} {
		for _, c := range []Compression{Uncompressed, Gzip} {
			stop := errors.New("stop")
			ctx, cancel := context.WithCancelCause(context.Background())
			time.AfterFunc(100*time.Millisecond, func() { cancel(stop) })
			dir := t.TempDir()
			err := testenv.Within(t, 10*time.Second, fmt.Sprintf("a %s/%s write cancelled after 100 ms", format, c), func() error {
				return WritePath(filepath.Join(dir, "out"), []*Image{img}, WithFormat(format), WithCompression(c), WithContext(ctx))
			})
			if !errors.Is(err, stop) {
				t.Errorf("%s/%s: got %v", format, c, err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("%s/%s: left %v", format, c, ents)
			}
		}
	}
}

// TestFIFOSource: a FIFO where a source file was planned fails the write
// at once instead of waiting for a writer.
func TestFIFOSource(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "kernel")
	testenv.Mkfifo(t, fifo)
	if _, err := FromPath(fifo, "/k"); err == nil || !strings.Contains(err.Error(), "unsupported file type") {
		t.Errorf("FromPath of a FIFO: %v", err)
	}
	p := filepath.Join(dir, "planned")
	if err := os.WriteFile(p, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := fileEntry(t, p, "/k")
	os.Remove(p)
	testenv.Mkfifo(t, p)
	img := &Image{Architecture: "amd64", Layers: []Layer{{Entries: []Entry{e}}}}
	err := testenv.Within(t, time.Minute, "a write from a FIFO", func() error { return Write(io.Discard, []*Image{img}) })
	if err == nil || !strings.Contains(err.Error(), "changed while the image was written: it is now a named pipe (FIFO)") {
		t.Errorf("got %v", err)
	}
}
