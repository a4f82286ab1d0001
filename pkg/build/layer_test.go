package build

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
)

// specOf decodes a builder spec of one image named name copying each
// source in dir to its target.
func specOf(t *testing.T, name, format, compression string, copies map[string]string) []*args.Args {
	t.Helper()
	var contents []string
	for src, dst := range copies {
		contents = append(contents, fmt.Sprintf(`{"source":%q,"target":%q,"field":"contents"}`, src, dst))
	}
	js := fmt.Sprintf(`{"version":%d,"name":%q,"format":%q,"compression":%q,"contents":[%s],
		"annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"/unikernel/kernel"}}`,
		args.SpecVersion, name, format, compression, strings.Join(contents, ","))
	descs, err := args.DecodeSpec([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return descs
}

// TestPrebuiltLayers: layers written apart by WriteLayer and read back by
// ReadLayers give the image Write writes from the sources, for every
// format and compression, without the sources being read again (they
// change in between, keeping their size).
func TestPrebuiltLayers(t *testing.T) {
	for _, format := range []string{"docker-archive", "oci-archive", "oci"} {
		for _, c := range []string{"none", "gzip", "zstd"} {
			t.Run(format+"/"+c, func(t *testing.T) {
				dir := files(t, "kernel", "conf/a", "conf/b")
				copies := map[string]string{filepath.Join(dir, "kernel"): "/unikernel/kernel", filepath.Join(dir, "conf"): "/conf"}
				descs := specOf(t, "x/y", format, c, copies)
				want := filepath.Join(t.TempDir(), "want")
				_, err := Write(context.Background(), want, descs)
				if format == "docker-archive" && c == "zstd" {
					// docker load refuses it: refused before anything is written.
					if !IsUserError(err) || !strings.Contains(err.Error(), `compression = "zstd": the docker-archive format cannot hold zstd layers`) {
						t.Errorf("zstd in a docker-archive: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				var dirs []string
				for src, dst := range copies {
					d := filepath.Join(t.TempDir(), "layer")
					if err := WriteLayer(context.Background(), d, src, dst, image.Compression(c)); err != nil {
						t.Fatal(err)
					}
					dirs = append(dirs, d)
				}
				layers, err := ReadLayers(dirs)
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(dir, "kernel"), []byte("KERNEL"), 0o644)
				got := filepath.Join(t.TempDir(), "got")
				if _, err := Write(context.Background(), got, descs, WithPrebuilt(layers)); err != nil {
					t.Fatal(err)
				}
				if format != "oci" {
					if !bytes.Equal(testenv.ReadFile(t, got), testenv.ReadFile(t, want)) {
						t.Error("the image from prebuilt layers differs")
					}
					return
				}
				for _, l := range layers {
					p := filepath.Join(got, "blobs", "sha256", l.Blob.Digest.Hex)
					if target, err := os.Readlink(p); err != nil || target != l.Blob.Path {
						t.Errorf("%s links to %q (%v), want %s", p, target, err, l.Blob.Path)
					}
					if !bytes.Equal(testenv.ReadFile(t, p), testenv.ReadFile(t, filepath.Join(want, "blobs", "sha256", l.Blob.Digest.Hex))) {
						t.Errorf("blob %s differs", l.Blob.Digest)
					}
				}
			})
		}
	}
}

// TestPrebuiltUnused: a prebuilt layer that no copy of the image matches
// (here: another target) fails the build, naming it.
func TestPrebuiltUnused(t *testing.T) {
	dir := files(t, "kernel")
	src := filepath.Join(dir, "kernel")
	d := filepath.Join(t.TempDir(), "layer")
	if err := WriteLayer(context.Background(), d, src, "/elsewhere", image.Uncompressed); err != nil {
		t.Fatal(err)
	}
	layers, err := ReadLayers([]string{d})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Check(context.Background(), specOf(t, "x/y", "docker-archive", "none", map[string]string{src: "/unikernel/kernel"}), WithPrebuilt(layers))
	if err == nil || !strings.Contains(err.Error(), "no image copies there") || !strings.Contains(err.Error(), d) {
		t.Errorf("got %v", err)
	}
}

// TestLayerOfMissingSource: WriteLayer of a source that is not there
// (in Nix, "${drv}/nope", or a path under a file output) writes a skipped
// layer, not an error: the layer's builder knows only the path, and
// failed (exit 1) naming no field. The image's build then refuses the
// copy, naming its field, as bad input.
func TestLayerOfMissingSource(t *testing.T) {
	dir := files(t, "kernel")
	for _, src := range []string{filepath.Join(dir, "nope"), filepath.Join(dir, "kernel", "x")} {
		d := filepath.Join(t.TempDir(), "layer")
		if err := WriteLayer(context.Background(), d, src, "/x", image.Uncompressed); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if why, err := os.ReadFile(filepath.Join(d, layerSkippedName)); err != nil || string(why) != src+": does not exist\n" {
			t.Errorf("%s: skipped = %q, %v", src, why, err)
		}
		layers, err := ReadLayers([]string{d})
		if err != nil || len(layers) != 0 {
			t.Fatalf("%s: ReadLayers = %v, %v", src, layers, err)
		}
		_, err = Check(context.Background(), specOf(t, "x/y", "docker-archive", "none", map[string]string{filepath.Join(dir, "kernel"): "/unikernel/kernel", src: "/x"}), WithPrebuilt(layers))
		if !IsUserError(err) || !strings.Contains(err.Error(), `contents = "`+src+`": source does not exist`) {
			t.Errorf("%s: Check = %v, want the field named", src, err)
		}
	}
}

// TestReadLayersErrors: a layer directory without layer.json, or with a
// broken one, is refused, naming the directory.
func TestReadLayersErrors(t *testing.T) {
	missing := t.TempDir()
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "layer.json"), []byte(`{"version":1,"extra":true}`), 0o644)
	big := t.TempDir()
	os.WriteFile(filepath.Join(big, "layer.json"), bytes.Repeat([]byte(" "), maxLayerJSON+1), 0o644)
	for _, d := range []string{missing, broken, big} {
		if _, err := ReadLayers([]string{d}); err == nil || !strings.Contains(err.Error(), d) {
			t.Errorf("%s: got %v", d, err)
		}
	}
}

// TestSpecNameIsNoSource: a spec's description is named after the image
// ("bunix.buildImage x/tmp"), which is no file: an output under /tmp is
// not refused as lying inside the description.
func TestSpecNameIsNoSource(t *testing.T) {
	dir := files(t, "kernel")
	out := filepath.Join(t.TempDir(), "image.tar")
	top := strings.Split(out, "/")[1] // "tmp"
	if top != strings.ToLower(top) {
		t.Skipf("the temporary directory %s is not under a lower-case top directory", out)
	}
	if _, err := Write(context.Background(), out, specOf(t, "x/"+top, "docker-archive", "none", map[string]string{filepath.Join(dir, "kernel"): "/unikernel/kernel"})); err != nil {
		t.Error(err)
	}
}

// TestReadsAreRegularAndBounded: a FIFO as layer.json is refused at once,
// without blocking for a writer.
func TestReadsAreRegularAndBounded(t *testing.T) {
	layerDir := t.TempDir()
	testenv.Mkfifo(t, filepath.Join(layerDir, "layer.json"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := ReadLayers([]string{layerDir}); err == nil || !strings.Contains(err.Error(), "named pipe (FIFO), not a regular file") {
			t.Errorf("FIFO layer.json: got %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
}
