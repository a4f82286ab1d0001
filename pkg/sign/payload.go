package sign

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// What cosign writes and reads.
const (
	// PayloadMediaType is the media type of the layer holding a
	// simple-signing payload in a signature manifest.
	PayloadMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation is that layer's annotation holding the
	// base64 signature of the payload.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	// payloadType is the simple-signing payload's critical.type.
	payloadType = "cosign container image signature"
)

// MaxPayloadSize bounds a payload read back: cosign's are a few hundred
// bytes.
const MaxPayloadSize = 1 << 20

// Payload is the simple-signing payload cosign signs
// (github.com/containers/image's signature format, as sigstore's
// payload.Cosign writes it): the signed manifest's digest and the
// repository it was pushed to.
type Payload struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// NewPayload returns the payload that signs digest, the manifest pushed to
// repo ("registry/repository").
func NewPayload(repo string, digest v1.Hash) []byte {
	var p Payload
	p.Critical.Identity.DockerReference = repo
	p.Critical.Image.DockerManifestDigest = digest.String()
	p.Critical.Type = payloadType
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // strings only
	}
	return b
}

// SignatureTag is the tag under which cosign keeps the signatures of
// digest: "sha256-<hex>.sig".
func SignatureTag(digest v1.Hash) string {
	return digest.Algorithm + "-" + digest.Hex + ".sig"
}

// Sign returns the base64 ECDSA signature of payload's SHA-256, the value
// of SignatureAnnotation.
func Sign(key *ecdsa.PrivateKey, payload []byte) (string, error) {
	sum := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Reasons a signature is refused.
var (
	// ErrOtherKey: the signature does not verify with the key: another key
	// made it, or it or its payload was changed.
	ErrOtherKey = errors.New("the signature does not verify with this key (another key made it, or it was changed)")
	// ErrOtherImage: the signature verifies, but its payload signs another
	// manifest.
	ErrOtherImage = errors.New("the signature is for another manifest")
)

// Verify checks that sig (base64, SignatureAnnotation's value) is key's
// signature of payload, and that payload signs digest. Errors wrap
// ErrOtherKey or ErrOtherImage, or say what in payload or sig does not
// parse.
func Verify(key *ecdsa.PublicKey, payload []byte, sig string, digest v1.Hash) error {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil {
		return fmt.Errorf("the %s annotation is not base64: %w", SignatureAnnotation, err)
	}
	sum := sha256.Sum256(payload)
	if !ecdsa.VerifyASN1(key, sum[:], raw) {
		return ErrOtherKey
	}
	var p Payload
	if err := DecodePayload(payload, &p); err != nil {
		return err
	}
	if p.Critical.Type != payloadType {
		return fmt.Errorf("the signed payload's critical.type is %q, not %q", p.Critical.Type, payloadType)
	}
	if p.Critical.Image.DockerManifestDigest != digest.String() {
		return fmt.Errorf("%w: it signs %s, not %s", ErrOtherImage, p.Critical.Image.DockerManifestDigest, digest)
	}
	return nil
}

// DecodePayload decodes payload, a simple-signing payload, into p.
func DecodePayload(payload []byte, p *Payload) error {
	if err := json.NewDecoder(bytes.NewReader(payload)).Decode(p); err != nil {
		return fmt.Errorf("the signed payload is not simple-signing JSON: %w", err)
	}
	return nil
}
