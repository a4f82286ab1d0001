package image

import (
	"encoding/hex"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// verifier reads a blob and checks it against its descriptor: it fails
// as soon as the blob holds more bytes than the descriptor's size, and at
// the end when it holds fewer or its digest differs.
type verifier struct {
	rc   io.ReadCloser
	h    hash.Hash
	desc v1.Descriptor
	n    int64
	err  error
}

func newVerifier(rc io.ReadCloser, desc v1.Descriptor) (*verifier, error) {
	h, err := v1.Hasher(desc.Digest.Algorithm)
	if err != nil {
		return nil, invalidf("blob %s: %w", desc.Digest, err)
	}
	return &verifier{rc: rc, h: h, desc: desc}, nil
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	// Read one byte past the declared size, to see that there is one.
	if left := v.desc.Size - v.n + 1; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case v.n > v.desc.Size:
		v.err = invalidf("blob %s holds more than the %d bytes its descriptor declares", v.desc.Digest, v.desc.Size)
		return 0, v.err
	case err == io.EOF && v.n < v.desc.Size:
		v.err = invalidf("blob %s holds %d bytes, but its descriptor declares %d", v.desc.Digest, v.n, v.desc.Size)
		return n, v.err
	case err == io.EOF:
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.desc.Digest.Hex {
			v.err = invalidf("blob %s has the digest %s:%s: it was changed", v.desc.Digest, v.desc.Digest.Algorithm, got)
			return n, v.err
		}
	}
	return n, err
}

func (v *verifier) Close() error { return v.rc.Close() }

// openBlob opens the blob desc describes, checking its size now and its
// digest as it is read.
func openBlob(b blobs, desc v1.Descriptor) (io.ReadCloser, error) {
	if desc.Size < 0 {
		return nil, invalidf("blob %s: its descriptor declares a negative size, %d", desc.Digest, desc.Size)
	}
	rc, size, err := b.open(blobPath(desc.Digest))
	if err != nil {
		return nil, err
	}
	if size != desc.Size {
		rc.Close()
		return nil, invalidf("blob %s holds %d bytes, but its descriptor declares %d", desc.Digest, size, desc.Size)
	}
	v, err := newVerifier(rc, desc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return v, nil
}

// readBlob reads the blob desc describes whole, a JSON file of at most
// MaxJSON bytes, and checks it.
func readBlob(b blobs, desc v1.Descriptor) ([]byte, error) {
	if desc.Size > MaxJSON {
		return nil, invalidf("blob %s is %d bytes, over the %d-byte cap", desc.Digest, desc.Size, MaxJSON)
	}
	rc, err := openBlob(b, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// checkBlob checks that the blob desc describes is there, a regular file
// of the declared size.
func checkBlob(b blobs, desc v1.Descriptor) error {
	rc, err := openBlob(b, desc)
	if err != nil {
		return err
	}
	return rc.Close()
}
