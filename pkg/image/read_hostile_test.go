package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nubificus/bunix/internal/testenv"
)

// layoutImage writes a tagged random image to a new layout and returns the
// layout and the image's manifest descriptor, as index.json lists it.
func layoutImage(t *testing.T) (string, v1.Descriptor) {
	t.Helper()
	dir := ociLayout(t, annotatedImage(t))
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return dir, m.Manifests[0]
}

func blobFile(dir string, h v1.Hash) string {
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
}

// writeBlob stores data as a blob of the layout dir and describes it.
func writeBlob(t *testing.T, dir string, mt types.MediaType, data []byte) v1.Descriptor {
	t.Helper()
	h := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(data))}
	if err := os.WriteFile(blobFile(dir, h), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: int64(len(data))}
}

// writeIndex writes index.json of dir, listing ds.
func writeIndex(t *testing.T, dir string, ds ...v1.Descriptor) {
	t.Helper()
	b, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: ds})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func layerDigest(t *testing.T, dir string, d v1.Descriptor) v1.Hash {
	t.Helper()
	b, err := os.ReadFile(blobFile(dir, d.Digest))
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1.ParseManifest(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return m.Layers[0].Digest
}

// openQuickly opens p, failing t if that has not returned after a minute:
// an open that waits on a FIFO never returns, one that refuses it takes
// milliseconds, and a loaded machine may take seconds.
func openQuickly(t *testing.T, p string) (*File, error) {
	t.Helper()
	type result struct {
		f   *File
		err error
	}
	r := testenv.Within(t, time.Minute, "Open("+p+")", func() result { f, err := Open(p); return result{f, err} })
	return r.f, r.err
}

func wantErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	var bad *InvalidError
	if !errors.As(err, &bad) && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %q is not an *InvalidError (bad input)", err)
	}
}

// TestSymlinkedBlob: a blob that is a symlink, to a file outside the
// layout or inside it, is refused; so is a blobs directory that leads out.
func TestSymlinkedBlob(t *testing.T) {
	dir, d := layoutImage(t)
	l := blobFile(dir, layerDigest(t, dir, d))
	os.Remove(l)
	if err := os.Symlink("/etc/passwd", l); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir)
	wantErr(t, err, "is not a regular file but a symbolic link")

	dir, _ = layoutImage(t)
	outside := t.TempDir()
	if err := os.Rename(filepath.Join(dir, "blobs"), filepath.Join(outside, "blobs")); err != nil {
		t.Fatal(err)
	}
	os.Symlink(filepath.Join(outside, "blobs"), filepath.Join(dir, "blobs"))
	_, err = Open(dir)
	wantErr(t, err, `"blobs" is a symbolic link that leads out of the layout`)
}

// TestTamperedBlobs: a manifest, a config or a layer changed after the
// fact, in content or in size, is an error, not read under its old digest.
func TestTamperedBlobs(t *testing.T) {
	edit := func(p string, f func([]byte) []byte) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	flip := func(b []byte) []byte { b[len(b)/2] ^= 1; return b }
	grow := func(b []byte) []byte { return append(b, ' ') }

	dir, d := layoutImage(t)
	edit(blobFile(dir, d.Digest), flip)
	_, err := Open(dir)
	wantErr(t, err, "manifest "+d.Digest.String(), "it was changed")

	dir, d = layoutImage(t)
	edit(blobFile(dir, d.Digest), grow)
	_, err = Open(dir)
	wantErr(t, err, "but its descriptor declares")

	// A layer's size is checked on opening, its digest as it is read.
	dir, d = layoutImage(t)
	edit(blobFile(dir, layerDigest(t, dir, d)), grow)
	_, err = Open(dir)
	wantErr(t, err, "but its descriptor declares")

	dir, d = layoutImage(t)
	edit(blobFile(dir, layerDigest(t, dir, d)), flip)
	f, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	layers, _ := f.Images[0].Layers()
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	wantErr(t, err, "it was changed")
	if _, err := f.Images[0].ConfigFile(); err != nil {
		t.Errorf("the config, untouched: %v", err)
	}
}

// TestFIFOs: a FIFO where a file should be is refused at once, whether it
// is a blob, index.json, or the archive itself.
func TestFIFOs(t *testing.T) {
	mkfifo := func(p string) {
		os.Remove(p)
		testenv.Mkfifo(t, p)
	}
	dir, d := layoutImage(t)
	mkfifo(blobFile(dir, layerDigest(t, dir, d)))
	_, err := openQuickly(t, dir)
	wantErr(t, err, "a named pipe (FIFO)")

	dir, d = layoutImage(t)
	mkfifo(blobFile(dir, d.Digest))
	_, err = openQuickly(t, dir)
	wantErr(t, err, "a named pipe (FIFO)")

	dir, _ = layoutImage(t)
	mkfifo(filepath.Join(dir, "index.json"))
	_, err = openQuickly(t, dir)
	wantErr(t, err, "index.json", "a named pipe (FIFO)")

	p := filepath.Join(t.TempDir(), "image.tar")
	mkfifo(p)
	_, err = openQuickly(t, p)
	wantErr(t, err, p, "is not a regular file but a named pipe (FIFO)")
}

// TestCaps: JSON files over MaxJSON are refused, naming the file and the
// cap, before they are read.
func TestCaps(t *testing.T) {
	big := []byte(`{"manifests":[],"x":"` + strings.Repeat("x", MaxJSON) + `"}`)
	dir, _ := layoutImage(t)
	os.WriteFile(filepath.Join(dir, "index.json"), big, 0o644)
	_, err := Open(dir)
	wantErr(t, err, "index.json", fmt.Sprintf("over the %d-byte cap", MaxJSON))

	dir, _ = layoutImage(t)
	d := writeBlob(t, dir, types.OCIManifestSchema1, big)
	writeIndex(t, dir, d)
	_, err = Open(dir)
	wantErr(t, err, d.Digest.String(), fmt.Sprintf("over the %d-byte cap", MaxJSON))

	p := filepath.Join(t.TempDir(), "d.tar")
	f, _ := os.Create(p)
	tw := tar.NewWriter(f)
	tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: int64(len(big))})
	tw.Write(big)
	tw.Close()
	f.Close()
	_, err = Open(p)
	wantErr(t, err, "manifest.json", fmt.Sprintf("over the %d-byte cap", MaxJSON))
}

// TestIndexTrees: an index that lists itself, indexes nested too deep, an
// index listing too many manifests, and one listing none are errors.
func TestIndexTrees(t *testing.T) {
	// A blob cannot hold its own digest, so a cycle shows as a blob whose
	// digest is not the one it is stored under.
	dir, _ := layoutImage(t)
	self := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	raw, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, Manifests: []v1.Descriptor{{MediaType: types.OCIImageIndex, Digest: self, Size: 0}}})
	desc := v1.Descriptor{MediaType: types.OCIImageIndex, Digest: self, Size: int64(len(raw))}
	raw, _ = json.Marshal(v1.IndexManifest{SchemaVersion: 2, Manifests: []v1.Descriptor{desc}})
	desc.Size = int64(len(raw))
	raw, _ = json.Marshal(v1.IndexManifest{SchemaVersion: 2, Manifests: []v1.Descriptor{desc}})
	os.WriteFile(blobFile(dir, self), raw, 0o644)
	writeIndex(t, dir, desc)
	_, err := Open(dir)
	wantErr(t, err, self.String())

	dir, d := layoutImage(t)
	for range MaxDepth + 1 {
		raw, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{d}})
		d = writeBlob(t, dir, types.OCIImageIndex, raw)
	}
	writeIndex(t, dir, d)
	_, err = Open(dir)
	wantErr(t, err, fmt.Sprintf("indexes nest deeper than %d", MaxDepth))

	// Nesting the same index twice at each level doubles the images.
	dir, d = layoutImage(t)
	for range MaxDepth - 1 {
		raw, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{d, d}})
		d = writeBlob(t, dir, types.OCIImageIndex, raw)
	}
	writeIndex(t, dir, d, d, d, d, d)
	_, err = Open(dir)
	wantErr(t, err, fmt.Sprintf("more than %d manifests", MaxManifests))

	dir, _ = layoutImage(t)
	writeIndex(t, dir)
	_, err = Open(dir)
	wantErr(t, err, "index.json lists no image manifest")
}

// TestTarEntriesCap: an archive of more headers than MaxTarEntries is
// refused, rather than indexed without bound.
func TestTarEntriesCap(t *testing.T) {
	p := filepath.Join(t.TempDir(), "many.tar")
	f, _ := os.Create(p)
	tw := tar.NewWriter(f)
	for i := range MaxTarEntries + 1 {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f%d", i), Mode: 0o644, Typeflag: tar.TypeReg})
	}
	tw.Close()
	f.Close()
	_, err := Open(p)
	wantErr(t, err, fmt.Sprintf("more than %d entries", MaxTarEntries))
}

// TestOpenThroughSymlink: the image path itself may be a symlink, as
// nix-build's result is: only what is inside the layout is confined.
func TestOpenThroughSymlink(t *testing.T) {
	dir, _ := layoutImage(t)
	link := filepath.Join(t.TempDir(), "result")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	f, err := Open(link)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestDockerArchiveAmbiguousMembers: a docker-archive in which the
// manifest, the config or a layer is named by more than one member, or by
// a link, is refused, naming the member: ggcr, which reads it after
// bunix, takes the first member of a name and follows links.
func TestDockerArchiveAmbiguousMembers(t *testing.T) {
	ms := assemble(true, []byte(seedDocker), nil, []byte(seedConfig), []byte("layer"))
	write := func(extra []tar.Header, ms []member) []byte {
		var b strings.Builder
		tw := tar.NewWriter(&b)
		for _, h := range extra {
			if err := tw.WriteHeader(&h); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range ms {
			if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			tw.Write(m.data)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		return []byte(b.String())
	}
	open := func(data []byte) (*File, error) {
		return openArchive(strings.NewReader(string(data)), int64(len(data)), nil)
	}
	f, err := open(write(nil, ms))
	if err != nil {
		t.Fatalf("the archive itself: %v", err)
	}
	f.Close()
	other := []byte(`{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	for _, c := range []struct {
		what   string
		member string
		data   []byte
	}{
		{"a duplicate config", "config.json", write([]tar.Header{{Name: "config.json", Mode: 0o644, Size: 0, Typeflag: tar.TypeReg}}, append(ms, member{"./config.json", other}))},
		{"a symlinked config", "config.json", write([]tar.Header{{Name: "real.json", Mode: 0o644, Typeflag: tar.TypeReg}, {Name: "config.json", Linkname: "real.json", Typeflag: tar.TypeSymlink}}, ms)},
		{"a hard-linked config", "config.json", write([]tar.Header{{Name: "real.json", Mode: 0o644, Typeflag: tar.TypeReg}, {Name: "config.json", Linkname: "real.json", Typeflag: tar.TypeLink}}, ms)},
		{"a duplicate layer", "layer.tar", write(nil, append(ms, member{"layer.tar", []byte("other")}))},
		{"a duplicate manifest.json", "manifest.json", write(nil, append(ms, member{"manifest.json", ms[0].data}))},
	} {
		f, err := open(c.data)
		if err == nil {
			f.Close()
			t.Errorf("%s: opened", c.what)
			continue
		}
		var ie *InvalidError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), fmt.Sprintf("more than one member %q", c.member)) {
			t.Errorf("%s: %v, want an InvalidError refusing %s as ambiguous", c.what, err, c.member)
		}
	}
}

// TestDockerArchiveLayerCount: a docker-archive whose manifest.json lists
// more or fewer layers than its config has diffIDs is refused, naming
// both counts; before, run unpacked the first layers and inspect refused.
func TestDockerArchiveLayerCount(t *testing.T) {
	for _, layers := range []string{`[]`, `["@layer","@layer"]`, `["@layer","@layer","@layer"]`} {
		index := strings.Replace(seedDocker, `["@layer"]`, layers, 1)
		f, err := openAssembled(true, []byte(index), nil, []byte(seedConfig), []byte("layer"))
		if err == nil {
			f.Close()
		}
		var ie *InvalidError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "but the config \"config.json\" lists 1 diffIDs") {
			t.Errorf("Layers %s: %v, want an InvalidError naming the counts", layers, err)
		}
	}
	f, err := openAssembled(true, []byte(seedDocker), nil, []byte(seedConfig), []byte("layer"))
	if err != nil {
		t.Fatalf("one layer, one diffID: %v", err)
	}
	f.Close()
}

// TestLinkMembers: an archive whose index.json, blob, manifest.json or
// layer is a link member (to /etc/passwd, to another member) is refused
// saying it is a link and to what, not that the file is missing or that
// the archive is no image at all.
func TestLinkMembers(t *testing.T) {
	layer := []byte("layer")
	for _, tc := range []struct {
		docker bool
		member func(ms []member) int // which member becomes a link
		link   tar.Header
		want   string
	}{
		{false, func([]member) int { return 1 }, tar.Header{Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, `"index.json" is a symbolic link (to "/etc/passwd") in the archive, not a regular file`},
		{false, func(ms []member) int { return len(ms) - 1 }, tar.Header{Typeflag: tar.TypeLink, Linkname: "oci-layout"}, `is a hard link (to "oci-layout") in the archive, not a regular file`},
		{true, func(ms []member) int { return indexOf(ms, "manifest.json") }, tar.Header{Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, `the archive has more than one member "manifest.json", or a link by that name`},
		{true, func(ms []member) int { return indexOf(ms, "layer.tar") }, tar.Header{Typeflag: tar.TypeLink, Linkname: "manifest.json"}, `which is a hard link (to "manifest.json") in the archive, not a regular file`},
	} {
		index, manifest := []byte(seedIndex), []byte(seedManifest)
		if tc.docker {
			index, manifest = []byte(seedDocker), nil
		}
		ms := assemble(tc.docker, index, manifest, []byte(seedConfig), layer)
		i := tc.member(ms)
		if i < 0 {
			t.Fatalf("no such member in %v", ms)
		}
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for j, m := range ms {
			h := tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg}
			if j == i {
				h.Typeflag, h.Linkname, h.Size = tc.link.Typeflag, tc.link.Linkname, 0
			}
			tw.WriteHeader(&h)
			if j != i {
				tw.Write(m.data)
			}
		}
		tw.Close()
		_, err := openArchive(bytes.NewReader(b.Bytes()), int64(b.Len()), nil)
		wantErr(t, err, tc.want)
	}
}

func indexOf(ms []member, name string) int {
	for i, m := range ms {
		if m.name == name {
			return i
		}
	}
	return -1
}
