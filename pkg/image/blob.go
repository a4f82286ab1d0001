package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nubificus/bunix/internal/filekind"
)

// Blob is a layer written apart, ahead of the image (by WriteLayer, in its
// own Nix derivation): a file holding exactly the bytes the writer would
// give the layer, and what describes them. A Layer that carries one is
// copied from it (an archive) or linked to it (an OCI layout) rather than
// encoded again: its bytes are not read from the sources. An archive's
// copy hashes them on another core and fails unless they hash to Digest;
// a layout's link checks the size alone.
type Blob struct {
	// Path is the file holding the layer's bytes. An OCI layout's blob is
	// a symlink to it, so it must outlive the layout (a Nix store path
	// does).
	Path string
	// Compression is how the bytes are compressed. A Blob is used only by
	// a write with the same compression; another write encodes the layer.
	Compression Compression
	// Digest is the sha256 of the bytes, DiffID that of the uncompressed
	// tar and Size the number of bytes.
	Digest, DiffID v1.Hash
	Size           int64
}

// MediaType is the OCI media type of the blob's layer.
func (b *Blob) MediaType() types.MediaType {
	return layerMediaType[b.Compression]
}

func (b *Blob) blob() blob {
	return blob{diffID: b.DiffID, digest: b.Digest, size: b.Size}
}

// WriteLayer writes l to w as Write would write it as one layer of an
// image created at created (the zero time means DefaultCreated),
// compressed as c, and describes it: a Blob without a Path. Each source
// byte is read once and hashed on the way. ctx stops the write between two
// chunks.
func WriteLayer(ctx context.Context, w io.Writer, l Layer, created time.Time, c Compression) (Blob, error) {
	if _, err := ParseCompression(string(c)); err != nil {
		return Blob{}, err
	}
	lp, err := planLayer(l, (&Image{Created: created}).created())
	if err != nil {
		return Blob{}, fmt.Errorf("planning the layer (%s): %w", l.CreatedBy, err)
	}
	b, err := lp.encode(w, c, newChunkPool(ctx))
	if err != nil {
		return Blob{}, fmt.Errorf("writing the layer (%s): %w", l.CreatedBy, err)
	}
	return Blob{Compression: c, Digest: b.digest, DiffID: b.diffID, Size: b.size}, nil
}

// openLayerBlob opens the file of b and checks that it holds b.Size bytes: a
// cheap guard against a blob that is not the one described, which does
// not read it.
func openLayerBlob(b *Blob) (*os.File, error) {
	f, fi, err := filekind.OpenRegular(b.Path)
	if err != nil {
		return nil, fmt.Errorf("opening the layer blob: %w", err)
	}
	if fi.Size() != b.Size {
		f.Close()
		return nil, fmt.Errorf("the layer blob %s holds %d bytes, not the %d its description says", b.Path, fi.Size(), b.Size)
	}
	return f, nil
}
