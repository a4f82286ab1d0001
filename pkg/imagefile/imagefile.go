// Package imagefile opens image files in every format bunix writes, a
// docker-archive tar, an oci-archive tar or an OCI image layout directory,
// as go-containerregistry images, without unpacking them: blobs in a tar
// are read in place.
package imagefile

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Format names an image file format.
type Format string

// The formats bunix writes.
const (
	DockerArchive Format = "docker-archive"
	OCIArchive    Format = "oci-archive"
	OCI           Format = "oci"
)

// File is an opened image file.
type File struct {
	Format Format
	// Index is the file's OCI index, index.json; nil for a docker-archive.
	Index v1.ImageIndex
	// Images are the file's images, in index order.
	Images []v1.Image
	// Tags are the names the file records: a docker-archive's RepoTags, or
	// the org.opencontainers.image.ref.name annotations of an OCI index.
	Tags []string

	closer io.Closer
	files  blobs
}

// Member opens the file named name inside f: a file of the archive, in
// place, or of the layout directory.
func (f *File) Member(name string) (io.ReadCloser, error) {
	if f.files == nil {
		return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
	}
	return f.files.open(name)
}

// Close releases the file.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// Open opens the image file at p, telling the format from its contents.
func Open(p string) (*File, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("opening image %s: %w", p, err)
	}
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(p, "oci-layout")); err != nil {
			return nil, fmt.Errorf("opening image %s: a directory, but not an OCI image layout (no oci-layout file)", p)
		}
		f, err := openOCI(dirBlobs(p), OCI)
		if err != nil {
			return nil, fmt.Errorf("opening image %s: %w", p, err)
		}
		f.files = dirBlobs(p)
		return f, nil
	}
	tf, err := indexTar(p)
	if err != nil {
		return nil, fmt.Errorf("opening image %s: %w", p, err)
	}
	var f *File
	switch {
	case tf.has("oci-layout"):
		f, err = openOCI(tf, OCIArchive)
	case tf.has("manifest.json"):
		f, err = openDockerArchive(p)
	default:
		err = errors.New("neither an oci-archive (no oci-layout) nor a docker-archive (no manifest.json)")
	}
	if err != nil {
		tf.Close()
		return nil, fmt.Errorf("opening image %s: %w", p, err)
	}
	f.closer, f.files = tf, tf
	return f, nil
}

func openDockerArchive(p string) (*File, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(p) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, err
	}
	f := &File{Format: DockerArchive}
	for _, d := range m {
		f.Tags = append(f.Tags, d.RepoTags...)
	}
	if len(m) != 1 {
		return nil, fmt.Errorf("it holds %d images; bunix reads docker-archives of one", len(m))
	}
	img, err := tarball.Image(opener, nil)
	if err != nil {
		return nil, err
	}
	f.Images = []v1.Image{img}
	return f, nil
}

// blobs reads the files of an OCI layout.
type blobs interface {
	open(name string) (io.ReadCloser, error)
}

type dirBlobs string

func (d dirBlobs) open(name string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(string(d), filepath.FromSlash(name)))
}

// tarFile is a tar whose regular files can be opened in place.
type tarFile struct {
	f     *os.File
	files map[string]section
}

type section struct{ off, size int64 }

// indexTar records where each regular file of the tar at p starts. It
// reads the headers only: archive/tar seeks over the contents.
func indexTar(p string) (*tarFile, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	tf := &tarFile{f: f, files: map[string]section{}}
	cr := &offsetReader{f: f}
	tr := tar.NewReader(cr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tf, nil
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("not a tar archive: %w", err)
		}
		if h.Typeflag == tar.TypeReg {
			tf.files[path.Clean(h.Name)] = section{cr.n, h.Size}
		}
	}
}

func (t *tarFile) has(name string) bool { _, ok := t.files[name]; return ok }

func (t *tarFile) open(name string) (io.ReadCloser, error) {
	s, ok := t.files[path.Clean(name)]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
	}
	return io.NopCloser(io.NewSectionReader(t.f, s.off, s.size)), nil
}

func (t *tarFile) Close() error { return t.f.Close() }

// offsetReader reads f and knows its offset; it is an io.Seeker, so that
// archive/tar seeks over contents instead of reading them.
type offsetReader struct {
	f *os.File
	n int64
}

func (o *offsetReader) Read(p []byte) (int, error) {
	n, err := o.f.Read(p)
	o.n += int64(n)
	return n, err
}

func (o *offsetReader) Seek(offset int64, whence int) (int64, error) {
	n, err := o.f.Seek(offset, whence)
	if err == nil {
		o.n = n
	}
	return n, err
}

func readAll(b blobs, name string) ([]byte, error) {
	rc, err := b.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func blobName(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

func openOCI(b blobs, format Format) (*File, error) {
	raw, err := readAll(b, "index.json")
	if err != nil {
		return nil, fmt.Errorf("reading index.json: %w", err)
	}
	idx, err := newIndex(b, raw)
	if err != nil {
		return nil, fmt.Errorf("reading index.json: %w", err)
	}
	f := &File{Format: format, Index: idx}
	for _, d := range idx.manifest.Manifests {
		if name := d.Annotations["org.opencontainers.image.ref.name"]; name != "" {
			f.Tags = append(f.Tags, name)
		}
	}
	// A multi-platform image is an index.json naming one nested index:
	// that index is the image to push.
	if m := idx.manifest.Manifests; len(m) == 1 && m[0].MediaType.IsIndex() {
		nested, err := idx.ImageIndex(m[0].Digest)
		if err != nil {
			return nil, err
		}
		f.Index = nested
	}
	if f.Images, err = imagesOf(idx); err != nil {
		return nil, err
	}
	return f, nil
}

// imagesOf returns the images of idx and of the indexes it nests.
func imagesOf(idx v1.ImageIndex) ([]v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []v1.Image
	for _, d := range m.Manifests {
		switch {
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, err
			}
			out = append(out, img)
		case d.MediaType.IsIndex():
			nested, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			imgs, err := imagesOf(nested)
			if err != nil {
				return nil, err
			}
			out = append(out, imgs...)
		}
	}
	return out, nil
}

// index is an OCI image index whose blobs come from b.
type index struct {
	b        blobs
	raw      []byte
	manifest *v1.IndexManifest
}

func newIndex(b blobs, raw []byte) (*index, error) {
	m, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return &index{b: b, raw: raw, manifest: m}, nil
}

func (i *index) MediaType() (types.MediaType, error) {
	if i.manifest.MediaType != "" {
		return i.manifest.MediaType, nil
	}
	return types.OCIImageIndex, nil
}
func (i *index) Digest() (v1.Hash, error)                  { return partial.Digest(i) }
func (i *index) Size() (int64, error)                      { return int64(len(i.raw)), nil }
func (i *index) IndexManifest() (*v1.IndexManifest, error) { return i.manifest.DeepCopy(), nil }
func (i *index) RawManifest() ([]byte, error)              { return i.raw, nil }

func (i *index) Image(h v1.Hash) (v1.Image, error) {
	raw, err := readAll(i.b, blobName(h))
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", h, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", h, err)
	}
	return partial.CompressedToImage(&image{b: i.b, raw: raw, manifest: m})
}

func (i *index) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	raw, err := readAll(i.b, blobName(h))
	if err != nil {
		return nil, fmt.Errorf("reading index %s: %w", h, err)
	}
	return newIndex(i.b, raw)
}

// image is an OCI image whose blobs come from b.
type image struct {
	b        blobs
	raw      []byte
	manifest *v1.Manifest
}

func (i *image) MediaType() (types.MediaType, error) {
	if i.manifest.MediaType != "" {
		return i.manifest.MediaType, nil
	}
	return types.OCIManifestSchema1, nil
}
func (i *image) RawManifest() ([]byte, error) { return i.raw, nil }
func (i *image) RawConfigFile() ([]byte, error) {
	return readAll(i.b, blobName(i.manifest.Config.Digest))
}

func (i *image) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, d := range append([]v1.Descriptor{i.manifest.Config}, i.manifest.Layers...) {
		if d.Digest == h {
			return &layer{b: i.b, desc: d}, nil
		}
	}
	return nil, fmt.Errorf("blob %s is not in manifest", h)
}

type layer struct {
	b    blobs
	desc v1.Descriptor
}

func (l *layer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *layer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *layer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *layer) Compressed() (io.ReadCloser, error)  { return l.b.open(blobName(l.desc.Digest)) }
