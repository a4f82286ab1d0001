package registry

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nubificus/bunix/pkg/sign"
)

// maxSignatures bounds the signature layers read from one signature
// manifest.
const maxSignatures = 100

// ErrNoSignature is the error (wrapped) for an image that has no signature
// at all: no signature manifest under sign.SignatureTag of its digest.
var ErrNoSignature = errors.New("no signature")

// Sign signs the manifest (or index) d names with key the way
// cosign sign --key does, without a transparency log: it pushes, under
// the tag sign.SignatureTag of d's digest in d's repository, a signature
// manifest whose layer is the simple-signing payload of d, annotated with
// its signature. Signatures already there by other keys are kept; one by
// key is replaced. It returns the signature manifest's reference.
func Sign(ctx context.Context, d name.Digest, key *ecdsa.PrivateKey, opts ...Option) (name.Digest, error) {
	o := makeOptions(opts)
	ropts := o.remoteOptions(ctx)
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return name.Digest{}, fmt.Errorf("signing %s: %w", d, err)
	}
	payload := sign.NewPayload(d.Context().Name(), h)
	sig, err := sign.Sign(key, payload)
	if err != nil {
		return name.Digest{}, fmt.Errorf("signing %s: %w", d, err)
	}
	tag := d.Context().Tag(sign.SignatureTag(h))
	img, err := signatureBase(tag, &key.PublicKey, ropts)
	if err != nil {
		return name.Digest{}, fmt.Errorf("signing %s: reading the signatures at %s: %w", d, tag, err)
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:       static.NewLayer(payload, sign.PayloadMediaType),
		Annotations: map[string]string{sign.SignatureAnnotation: sig},
	})
	if err != nil {
		return name.Digest{}, fmt.Errorf("signing %s: %w", d, err)
	}
	if err := remote.Write(tag, img, ropts...); err != nil {
		return name.Digest{}, fmt.Errorf("signing %s: pushing the signature to %s: %w", d, tag, err)
	}
	sd, err := img.Digest()
	if err != nil {
		return name.Digest{}, fmt.Errorf("signing %s: %w", d, err)
	}
	return tag.Context().Digest(sd.String()), nil
}

// signatureBase returns the signature manifest to add a signature to: an
// empty OCI image when tag does not exist, else the one there less the
// layers that pub verifies (an older signature by the same key).
func signatureBase(tag name.Tag, pub *ecdsa.PublicKey, ropts []remote.Option) (v1.Image, error) {
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	old, err := remote.Image(tag, ropts...)
	if isNotFound(err) {
		return base, nil
	}
	if err != nil {
		return nil, err
	}
	sigs, err := signatures(old)
	if err != nil {
		return nil, err
	}
	for _, s := range sigs {
		if sign.Verify(pub, s.payload, s.sig, s.signs) == nil {
			continue
		}
		base, err = mutate.Append(base, mutate.Addendum{Layer: s.layer, Annotations: s.annotations})
		if err != nil {
			return nil, err
		}
	}
	return base, nil
}

// signature is one layer of a signature manifest.
type signature struct {
	layer       v1.Layer
	annotations map[string]string
	payload     []byte
	sig         string
	// signs is the digest the payload names, or the zero Hash.
	signs v1.Hash
}

// signatures reads the simple-signing layers of img, a signature
// manifest, each checked against its digest.
func signatures(img v1.Image) ([]signature, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if len(m.Layers) > maxSignatures {
		return nil, fmt.Errorf("the signature manifest has %d layers, over the %d bunix reads", len(m.Layers), maxSignatures)
	}
	var out []signature
	for _, desc := range m.Layers {
		if desc.MediaType != sign.PayloadMediaType {
			continue
		}
		if desc.Size > sign.MaxPayloadSize {
			return nil, fmt.Errorf("signature layer %s is %d bytes, over the %d bunix reads", desc.Digest, desc.Size, sign.MaxPayloadSize)
		}
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return nil, err
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, fmt.Errorf("reading signature layer %s: %w", desc.Digest, err)
		}
		payload, err := io.ReadAll(io.LimitReader(rc, sign.MaxPayloadSize))
		if cerr := rc.Close(); err == nil {
			err = cerr // the digest check happens on Close or at EOF
		}
		if err != nil {
			return nil, fmt.Errorf("reading signature layer %s: %w", desc.Digest, err)
		}
		s := signature{layer: l, annotations: desc.Annotations, payload: payload, sig: desc.Annotations[sign.SignatureAnnotation]}
		var p sign.Payload
		if sign.DecodePayload(payload, &p) == nil {
			s.signs, _ = v1.NewHash(p.Critical.Image.DockerManifestDigest)
		}
		out = append(out, s)
	}
	return out, nil
}

// Verify checks that what ref names now (a tag, resolved to its digest
// now, or a digest) carries a signature by key, made as Sign makes it, and
// returns the digest it signs. It fails with ErrNoSignature when there is
// no signature manifest for that digest, and otherwise with the reason
// each signature there fails (sign.ErrOtherKey, sign.ErrOtherImage).
func Verify(ctx context.Context, ref string, key *ecdsa.PublicKey, opts ...Option) (name.Digest, error) {
	o := makeOptions(opts)
	ropts := o.remoteOptions(ctx)
	r, err := parseRef(ref, o.nameOptions()...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("verifying %q: %w: %v", ref, ErrBadReference, err)
	}
	desc, err := remote.Head(r, ropts...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("verifying %s: %w", ref, err)
	}
	tag := r.Context().Tag(sign.SignatureTag(desc.Digest))
	img, err := remote.Image(tag, ropts...)
	if isNotFound(err) {
		return name.Digest{}, fmt.Errorf("verifying %s: %w for %s, the manifest it names now (no tag %s in %s): it was pushed unsigned, or changed since it was signed", ref, ErrNoSignature, desc.Digest, tag.TagStr(), r.Context())
	}
	if err != nil {
		return name.Digest{}, fmt.Errorf("verifying %s: reading the signatures at %s: %w", ref, tag, err)
	}
	sigs, err := signatures(img)
	if err != nil {
		return name.Digest{}, fmt.Errorf("verifying %s: reading the signatures at %s: %w", ref, tag, err)
	}
	if len(sigs) == 0 {
		return name.Digest{}, fmt.Errorf("verifying %s: %w for %s: %s holds no signature layer", ref, ErrNoSignature, desc.Digest, tag)
	}
	var errs []error
	for _, s := range sigs {
		err := sign.Verify(key, s.payload, s.sig, desc.Digest)
		if err == nil {
			return r.Context().Digest(desc.Digest.String()), nil
		}
		errs = append(errs, err)
	}
	reason := errs[0]
	if len(errs) > 1 {
		reason = fmt.Errorf("none of its %d signatures verifies: %w", len(errs), errors.Join(errs...))
	}
	return name.Digest{}, fmt.Errorf("verifying %s (%s): %w", ref, desc.Digest, reason)
}

// isNotFound reports whether err is a registry's 404.
func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
