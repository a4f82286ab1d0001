package registry

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/nubificus/bunix/internal/msg"
)

// pathComponent is one component of a repository name in the Docker
// reference grammar (distribution/reference): lowercase letters and
// digits, joined by single separators. ggcr checks only the characters,
// so it takes "x/../y" (which an HTTP client sends as /v2/y/) and "a//b".
var pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)

// parseRef parses ref as ParseReference does, and refuses what ggcr
// takes but no registry should be asked for: a port out of range, a
// repository with an empty, "." or ".." component. A digest that is not
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
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok {
		return fmt.Errorf("digest %s must be sha256: and 64 hex digits", msg.Quote(d, 80))
	}
	if len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return fmt.Errorf("digest %s must be sha256: and 64 lowercase hex digits (it has %d characters after sha256:)", msg.Quote(d, 80), len(hex))
	}
	return nil
}

// checkRepository refuses a registry port out of range and a repository
// path component the reference grammar has no room for.
func checkRepository(r name.Repository) error {
	host := r.RegistryStr()
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		if p, err := strconv.Atoi(host[i+1:]); err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("registry port %s must be a number from 1 to 65535", msg.Quote(host[i+1:], 20))
		}
	}
	for _, c := range strings.Split(r.RepositoryStr(), "/") {
		if !pathComponent.MatchString(c) {
			return fmt.Errorf("repository %s has the component %s: each is lowercase letters and digits, joined by one of . _ __ or dashes", msg.Quote(r.RepositoryStr(), 120), msg.Quote(c, 40))
		}
	}
	return nil
}
