package image

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nubificus/bunix/pkg/output"
)

// Write writes images to w as an archive: a docker-archive of one image, or
// an oci-archive of one image or of an index of several, one per platform.
// The same images and options give the same bytes.
//
// Layers are streamed: a source file's bytes are read once and written
// once, hashed on the way on another core, and memory use does not grow
// with file size. The exceptions cost little: an uncompressed layer of an
// oci-archive written to a stream that is not a regular file is read twice
// (it is hashed first, since the tar names it by digest; to a file, its
// header is written again once the digest is known), and a compressed
// layer of an archive waits in a temporary file in os.TempDir until its
// size and digest are known. A layer written apart (Blob) is hashed again
// as it is copied in, and must match its digest.
func Write(w io.Writer, images []*Image, opts ...Option) error {
	o, err := prepare(images, opts)
	if err != nil {
		return err
	}
	return writeArchive(w, images, o)
}

// WritePath writes images to path: a file for the archive formats, a
// directory for OCILayout. The output appears only when it is complete: a
// failure leaves path as it was. An OCI layout already at path, holding
// nothing else (CheckLayoutOutput), gets the image added: the images it
// holds under other names stay, one under a name of the new image is
// replaced, as skopeo and umoci add to a layout. Compressed layers wait in
// temporary files beside path unless WithTempDir says otherwise.
// output.WriteFile says how a file output treats what is at path.
func WritePath(path string, images []*Image, opts ...Option) error {
	o, err := prepare(images, opts)
	if err != nil {
		return err
	}
	if o.format == OCILayout {
		return writeLayoutDir(path, images, o)
	}
	if !o.tempDirSet {
		o.tempDir = filepath.Dir(path)
	}
	var wo []output.Option
	if o.noSync {
		wo = append(wo, output.WithoutSync())
	}
	return output.WriteFileContext(o.ctx, path, func(w io.Writer) error { return writeArchive(w, images, o) }, wo...)
}

func writeArchive(w io.Writer, images []*Image, o *options) error {
	switch o.format {
	case DockerArchive:
		return writeDockerArchive(w, images[0], o)
	case OCIArchive:
		t := newTarWriter(o.ctx, w, latest(images))
		if err := writeOCI(&ociArchive{t: t, o: o, pool: newChunkPool(o.ctx)}, images, o, nil); err != nil {
			return err
		}
		return t.close()
	}
	return fmt.Errorf("the %s format is a directory, not a stream: write it with WritePath", o.format)
}

// prepare returns the options opts set, and checks that their format can
// hold images.
func prepare(images []*Image, opts []Option) (*options, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return o, check(images, o.format)
}

// check reports what format cannot hold about images.
func check(images []*Image, f Format) error {
	if len(images) == 0 {
		return fmt.Errorf("no image to write")
	}
	if f == DockerArchive && len(images) > 1 {
		var names []string
		for _, img := range images {
			names = append(names, img.platform().String())
		}
		return fmt.Errorf("the docker-archive format holds one image, not %d (%s): write an index with the oci or oci-archive format", len(images), strings.Join(names, ", "))
	}
	platforms := map[string]bool{}
	for _, img := range images {
		p := img.platform().String()
		if platforms[p] {
			return fmt.Errorf("two images are for %s: an index holds one image per platform", p)
		}
		platforms[p] = true
		if err := checkBase(img, f); err != nil {
			return err
		}
		if !slices.Equal(img.RepoTags, images[0].RepoTags) {
			return fmt.Errorf("the images of an index must have the same RepoTags, not %q and %q", images[0].RepoTags, img.RepoTags)
		}
	}
	return nil
}

// latest returns the latest creation time of images.
func latest(images []*Image) time.Time {
	t := images[0].created()
	for _, img := range images[1:] {
		if c := img.created(); c.After(t) {
			t = c
		}
	}
	return t
}
