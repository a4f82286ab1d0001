package registry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/internal/refname"
)

// parseRef parses ref as ParseReference does, and refuses what ggcr
// takes but no registry should be asked for: a port out of range, a
// repository with an empty, "." or ".." component (refname.Problem). A digest that is not
// sha256: and 64 hex digits is named as the problem, not the repository
// ggcr then mistakes the rest for.
func parseRef(ref string, opts ...name.Option) (name.Reference, error) {
	if _, d, ok := strings.Cut(ref, "@"); ok {
		if err := checkDigest(d); err != nil {
			return nil, err
		}
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, err
	}
	if err := checkRepository(r.Context()); err != nil {
		return nil, err
	}
	return r, nil
}

// parseTag parses ref, the target of a push, as name.NewTag does, with
// parseRef's checks.
func parseTag(ref string, opts ...name.Option) (name.Tag, error) {
	if strings.Contains(ref, "@") {
		return name.Tag{}, fmt.Errorf("a push goes to a tag, not a digest: give HOST/NAME:TAG")
	}
	t, err := name.NewTag(ref, opts...)
	if err != nil {
		return name.Tag{}, err
	}
	if err := checkRepository(t.Context()); err != nil {
		return name.Tag{}, err
	}
	return t, nil
}

// checkDigest says what is wrong with d, the digest of a reference.
func checkDigest(d string) error {
	if refname.Digest(d) {
		return nil
	}
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok {
		return fmt.Errorf("digest %s must be sha256: and 64 hex digits", msg.Quote(d, 80))
	}
	return fmt.Errorf("digest %s must be sha256: and 64 lowercase hex digits (it has %d characters after sha256:)", msg.Quote(d, 80), len(hex))
}

// checkRepository refuses what refname.Problem finds in r.
func checkRepository(r name.Repository) error {
	if p := refname.Problem(r); p != "" {
		return errors.New(p)
	}
	return nil
}
