package registry

import (
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/nubificus/bunix/internal/msg"
)

// Scheme is the prefix that makes an argument a registry reference,
// whatever else it looks like, as skopeo's and dive's docker:// transport.
const Scheme = "docker://"

// Reference reports whether s names an image in a registry explicitly,
// and returns the reference to fetch. An explicit reference is
// docker://REF (the prefix is dropped), or HOST/NAME:TAG or
// HOST/NAME@DIGEST, whose first component is a registry host: localhost,
// or a name with a "." or a ":" that does not start with "."
// (127.0.0.1:5000/urunc/redis:test, ghcr.io/org/app@sha256:...).
//
// Anything else is a file name, even if a registry could resolve it:
// imag.tar, ./out, result/image.tar, redis. Unlike docker, crane or dive,
// bunix reads files first, so a mistyped file name must not turn into a
// request to Docker Hub; skopeo, whose transports are always spelt out,
// is the model.
func Reference(s string) (string, bool) {
	if ref, ok := strings.CutPrefix(s, Scheme); ok {
		return ref, true
	}
	host, rest, ok := strings.Cut(s, "/")
	if !ok || rest == "" || strings.HasPrefix(host, ".") {
		return "", false
	}
	if host != "localhost" && !strings.ContainsAny(host, ".:") {
		return "", false
	}
	if strings.Contains(rest, "@") || strings.Contains(path.Base(rest), ":") {
		return s, true
	}
	return "", false
}

// RefOnly returns the reference s names for a command that reads
// registries only (bunix prefetch): s itself, or REF of docker://REF. A
// path is not a reference, though a registry might resolve it: s that
// starts with "/", "./", "../" or "~", is "." or "..", or names a file
// that exists is an error wrapping ErrBadReference (the user's), and no
// registry is asked.
func RefOnly(s string) (string, error) {
	if ref, ok := strings.CutPrefix(s, Scheme); ok {
		return ref, nil
	}
	looksLikePath := s == "." || s == ".." || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || strings.HasPrefix(s, "~")
	if _, err := os.Lstat(s); err == nil || looksLikePath {
		return "", fmt.Errorf("%s: %w: it is a file path, and only registries are read here (HOST/NAME:TAG, or docker://REF)", msg.Quote(s, 120), ErrBadReference)
	}
	return s, nil
}
