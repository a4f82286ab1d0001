package registry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/nubificus/bunix/pkg/sign"
)

func p256(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pushRandom pushes a new image to ref and returns its digest reference.
func pushRandom(t *testing.T, ref string) name.Digest {
	t.Helper()
	r, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	img := testImage(t, "amd64")
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	return r.Context().Digest(h.String())
}

// signatureLayers counts the layers of d's signature manifest.
func signatureLayers(t *testing.T, d name.Digest) int {
	t.Helper()
	img, err := remote.Image(d.Context().Tag("sha256-" + strings.TrimPrefix(d.DigestStr(), "sha256:") + ".sig"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return len(m.Layers)
}

// TestSignVerify: Sign's signature verifies with its key only; signing
// again with the same key replaces it, another key's is kept beside it;
// an unsigned image has ErrNoSignature; a signature manifest copied to
// another image's tag signs the wrong manifest.
func TestSignVerify(t *testing.T) {
	ctx := context.Background()
	reg := testRegistry(t)
	a, b := p256(t), p256(t)
	d := pushRandom(t, reg+"/urunc/x:1")
	if _, err := Sign(ctx, d, a); err != nil {
		t.Fatal(err)
	}
	got, err := Verify(ctx, reg+"/urunc/x:1", &a.PublicKey)
	if err != nil || got != d {
		t.Fatalf("Verify = %v, %v; want %v", got, err, d)
	}
	if _, err := Verify(ctx, reg+"/urunc/x:1", &b.PublicKey); !errors.Is(err, sign.ErrOtherKey) {
		t.Errorf("another key: %v", err)
	}
	if _, err := Sign(ctx, d, a); err != nil {
		t.Fatal(err)
	}
	if n := signatureLayers(t, d); n != 1 {
		t.Errorf("signing twice with one key: %d signatures", n)
	}
	if _, err := Sign(ctx, d, b); err != nil {
		t.Fatal(err)
	}
	if n := signatureLayers(t, d); n != 2 {
		t.Errorf("two keys: %d signatures", n)
	}
	for _, k := range []*ecdsa.PrivateKey{a, b} {
		if _, err := Verify(ctx, d.String(), &k.PublicKey); err != nil {
			t.Errorf("Verify by digest: %v", err)
		}
	}
	if _, err := Verify(ctx, d.String(), &p256(t).PublicKey); err == nil || !strings.Contains(err.Error(), "none of its 2 signatures verifies") {
		t.Errorf("a third key: %v", err)
	}

	other := pushRandom(t, reg+"/urunc/x:2")
	if _, err := Verify(ctx, reg+"/urunc/x:2", &a.PublicKey); !errors.Is(err, ErrNoSignature) || !strings.Contains(err.Error(), other.DigestStr()) {
		t.Errorf("unsigned: %v", err)
	}
	sig, err := remote.Image(d.Context().Tag(sign.SignatureTag(mustHash(t, d))))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(other.Context().Tag(sign.SignatureTag(mustHash(t, other))), sig); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, reg+"/urunc/x:2", &a.PublicKey); !errors.Is(err, sign.ErrOtherImage) {
		t.Errorf("a signature copied to another image: %v", err)
	}
}

// TestAttach: the artifact refers to its subject, and a registry with the
// referrers API (go-containerregistry's) lists it.
func TestAttach(t *testing.T) {
	reg := testRegistry(t)
	d := pushRandom(t, reg+"/urunc/x:1")
	ref, err := Attach(context.Background(), d, "application/spdx+json", "x.spdx.json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Digest.String() != ref.DigestStr() || m.Manifests[0].ArtifactType != "application/spdx+json" {
		t.Errorf("referrers %+v, attached %s", m.Manifests, ref)
	}
}

func mustHash(t *testing.T, d name.Digest) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return h
}
