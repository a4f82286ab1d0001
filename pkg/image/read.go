// This file and the other read*.go files open image files in every format
// this package writes, a docker-archive tar, an oci-archive tar or an OCI
// image layout directory, as go-containerregistry images, without
// unpacking them: blobs in a tar are read in place.
//
// The files are foreign input, so every read is bounded and checked: a
// layout directory is read through an os.Root, so no path or symlink leads
// out of it; only regular files are opened, without blocking on a FIFO;
// every blob is checked against its descriptor's digest and size as it is
// read, manifests and configs included; JSON files are capped at MaxJSON,
// an archive at MaxTarEntries headers, an index tree at MaxManifests
// manifests nested at most MaxDepth deep, with cycles refused.

package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/internal/msg"
)

// The bounds on what an image file may ask bunix to read.
const (
	// MaxJSON caps the size of each JSON file of an image: index.json,
	// manifest.json, manifests, nested indexes and configs. Registries cap
	// manifests at 4 MiB too.
	MaxJSON = 4 << 20
	// MaxManifests caps how many manifests an image file lists, counted
	// over all its indexes.
	MaxManifests = 1024
	// MaxDepth caps how deep indexes nest below index.json.
	MaxDepth = 8
	// MaxTarEntries caps the headers of an archive.
	MaxTarEntries = 1 << 14
)

// InvalidError is a fault in an image file's contents: the file is not what it
// claims to be. It is bad input, not a failure of bunix.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *InvalidError) Unwrap() error { return e.Err }

func invalidf(format string, a ...any) error { return &InvalidError{fmt.Errorf(format, a...)} }

// File is an opened image file.
type File struct {
	Format Format
	// Index is the file's OCI index, index.json (or the one index it
	// nests); nil for a docker-archive.
	Index v1.ImageIndex
	// Images are the file's images, in index order.
	Images []v1.Image
	// Names[i] are the names the file records for Images[i]: a
	// docker-archive's RepoTags, or the org.opencontainers.image.ref.name
	// annotation of the image's descriptor (or of the index that nests it).
	Names [][]string
	// Platforms[i] is the platform the index gives Images[i], nil when it
	// gives none (and for a docker-archive).
	Platforms []*v1.Platform
	// Docker is a docker-archive's manifest.json entry; nil otherwise.
	Docker *tarball.Descriptor

	closer io.Closer
	files  blobs
}

// Member opens the regular file named name inside f: a file of the
// archive, in place, or of the layout directory.
func (f *File) Member(name string) (io.ReadCloser, error) {
	rc, _, err := f.files.open(name)
	return rc, err
}

// ReadJSON reads the member name, a JSON file, whole: at most MaxJSON bytes.
func (f *File) ReadJSON(name string) ([]byte, error) { return readMember(f.files, name) }

// Close releases the file.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// NixStoreDir is the Nix store, whose files the layouts nix/lib.nix builds
// link their layer blobs to (FollowStoreLinks).
const NixStoreDir = "/nix/store"

// ReadOption configures Open.
type ReadOption func(*readOptions)

type readOptions struct {
	storeDir string
}

// FollowStoreLinks lets an OCI layout's blobs be symlinks to regular files
// in the Nix store storeDir (e.g. "/nix/store"), as the layouts nix/lib.nix
// builds link each layer blob to its layer derivation's output. Nothing
// else of the layout may be a link; the target must be an absolute, clean
// path in storeDir, is opened through an os.Root on storeDir (so no link
// on the way leads out of it) and must be a regular file, and its bytes
// are checked against the blob's digest as they are read, as every
// blob's are.
func FollowStoreLinks(storeDir string) ReadOption {
	return func(o *readOptions) { o.storeDir = filepath.Clean(storeDir) }
}

// Open opens the image file at p, telling the format from its contents.
func Open(p string, opts ...ReadOption) (*File, error) {
	o := &readOptions{}
	for _, opt := range opts {
		opt(o)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("opening image %s: %w", p, err)
	}
	if fi.IsDir() {
		f, err := openLayout(p, o)
		if err != nil {
			return nil, fmt.Errorf("opening image %s: %w", p, err)
		}
		return f, nil
	}
	file, size, err := openRegular(p)
	if err != nil {
		return nil, fmt.Errorf("opening image %s: %w", p, err)
	}
	f, err := openArchive(file, size, file)
	if err != nil {
		return nil, fmt.Errorf("opening image %s: %w", p, err)
	}
	return f, nil
}

// openArchive opens the archive r of size bytes, an oci-archive or a
// docker-archive; closing the File closes c, and so does a failure.
func openArchive(r io.ReaderAt, size int64, c io.Closer) (*File, error) {
	tf, err := indexTar(r, size, c)
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, err
	}
	var f *File
	switch {
	case tf.named("oci-layout"):
		f, err = openOCI(tf, OCIArchive)
	case tf.named("manifest.json"):
		f, err = openDockerArchive(tf)
	default:
		err = invalidf("neither an oci-archive (no oci-layout) nor a docker-archive (no manifest.json)")
	}
	if err != nil {
		tf.Close()
		return nil, err
	}
	f.closer = tf
	return f, nil
}

// openRegular opens p for reading if it is a regular file, without
// blocking should it be a FIFO, and returns its size.
func openRegular(p string) (*os.File, int64, error) {
	f, fi, err := filekind.OpenRegular(p)
	var nr *filekind.NotRegularError
	if errors.As(err, &nr) {
		return nil, 0, invalidf("%s is not a regular file but %s", p, filekind.Of(nr.Mode))
	}
	if err != nil {
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

func openDockerArchive(tf *tarFile) (*File, error) {
	if err := unambiguous(tf, "manifest.json"); err != nil {
		return nil, err
	}
	raw, err := readMember(tf, "manifest.json")
	if err != nil {
		return nil, err
	}
	var m tarball.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, invalidf("reading manifest.json: %w", err)
	}
	if len(m) != 1 {
		return nil, invalidf("manifest.json lists %d images; bunix reads docker-archives of one", len(m))
	}
	d := m[0]
	s, ok := tf.files[cleanName(d.Config)]
	switch {
	case !ok:
		return nil, invalidf("manifest.json names the config %s, which %s", clip(d.Config), tf.absent(d.Config))
	case s.size > MaxJSON:
		return nil, invalidf("the config %s is %d bytes, over the %d-byte cap", clip(d.Config), s.size, MaxJSON)
	}
	if err := unambiguous(tf, d.Config); err != nil {
		return nil, err
	}
	for i, l := range d.Layers {
		if !tf.has(cleanName(l)) {
			return nil, invalidf("manifest.json names layer %d %s, which %s", i, clip(l), tf.absent(l))
		}
		if err := unambiguous(tf, l); err != nil {
			return nil, err
		}
	}
	// ggcr reads the archive again through opener, seeking over contents.
	opener := func() (io.ReadCloser, error) { return seekNopCloser{io.NewSectionReader(tf.r, 0, tf.size)}, nil }
	img, err := tarball.Image(opener, nil)
	if err != nil {
		return nil, invalidf("reading the docker-archive: %w", err)
	}
	// ggcr takes the image's layers from the config's diffIDs and pairs
	// them with manifest.json's Layers by position: were there more (or
	// fewer) of those, the layers read would not be the ones the archive
	// lists (inspect refused such an archive, run ran its first layers).
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, invalidf("reading the config %s: %w", clip(d.Config), err)
	}
	if len(cf.RootFS.DiffIDs) != len(d.Layers) {
		return nil, invalidf("manifest.json lists %d layers, but the config %s lists %d diffIDs", len(d.Layers), clip(d.Config), len(cf.RootFS.DiffIDs))
	}
	return &File{Format: DockerArchive, Images: []v1.Image{img}, Names: [][]string{d.RepoTags}, Platforms: []*v1.Platform{nil}, Docker: &d, files: tf}, nil
}

// unambiguous refuses the member name of the docker-archive tf when more
// than one member has it or a link does: bunix and ggcr, which reads the
// archive after, could then read different bytes for it.
func unambiguous(tf *tarFile, name string) error {
	if tf.ambiguous[cleanName(name)] {
		return invalidf("the archive has more than one member %s, or a link by that name: bunix reads a docker-archive only when each file it needs is one regular member", clip(name))
	}
	return nil
}

// seekNopCloser is an io.ReadSeeker with a Close that does nothing; unlike
// io.NopCloser, it keeps the Seek that lets archive/tar skip contents.
type seekNopCloser struct{ io.ReadSeeker }

func (seekNopCloser) Close() error { return nil }

// blobs reads the files of an image file.
type blobs interface {
	// open opens the regular file name and returns its size.
	open(name string) (io.ReadCloser, int64, error)
}

// readMember reads the JSON file name of b whole, refusing one over MaxJSON.
func readMember(b blobs, name string) ([]byte, error) {
	rc, size, err := b.open(name)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	defer rc.Close()
	if size > MaxJSON {
		return nil, invalidf("reading %s: it is %d bytes, over the %d-byte cap", name, size, MaxJSON)
	}
	data, err := io.ReadAll(io.LimitReader(rc, MaxJSON+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > MaxJSON {
		return nil, invalidf("reading %s: it is over the %d-byte cap", name, MaxJSON)
	}
	return data, nil
}

// clip quotes s for a message, at most 120 bytes of it (see msg.Quote).
func clip(s string) string { return msg.Quote(s, 120) }

// errNotExist is the error for a member that is not in the file.
func errNotExist(name string) error {
	return &InvalidError{fmt.Errorf("%s: %w", clip(name), os.ErrNotExist)}
}
