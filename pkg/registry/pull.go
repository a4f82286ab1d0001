package registry

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nubificus/bunix/internal/ctxio"
	"github.com/nubificus/bunix/internal/nixexpr"
	"github.com/nubificus/bunix/pkg/image"
)

// Resolve returns the digest ref (a tag) points at today: of the index,
// when the registry serves one.
func Resolve(ctx context.Context, ref string, opts ...Option) (v1.Hash, error) {
	o := makeOptions(opts)
	r, err := parseRef(ref, o.nameOptions()...)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("resolving %q: %w: %v", ref, ErrBadReference, err)
	}
	desc, err := remote.Head(r, o.remoteOptions(ctx)...)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("resolving %s: %w", ref, err)
	}
	return desc.Digest, nil
}

// Pull fetches ref pinned by digest (the registry's answer is checked
// against it) and writes, at dir, which must not exist, an OCI image
// layout of the image want picks: when digest names an index, the one
// image.ChoosePlatform chooses (a Unikraft catalog index's for the
// monitor, else the linux one). The
// layout holds oci-layout, index.json naming that image's manifest (with
// its platform), and the manifest, config and layers as the registry
// serves them; nothing depends on time or order of arrival, so the same
// digest and arch always give the same files, the same NAR hash.
func Pull(ctx context.Context, ref, digest string, want image.Want, dir string, opts ...Option) error {
	o := makeOptions(opts)
	r, err := parseRef(ref, o.nameOptions()...)
	if err != nil {
		return fmt.Errorf("pulling %q: %w: %v", ref, ErrBadReference, err)
	}
	d := r.Context().Digest(digest)
	if _, err := name.NewDigest(d.String(), o.nameOptions()...); err != nil {
		return fmt.Errorf("pulling %q: %w: %v", d, ErrBadReference, err)
	}
	ropts := o.remoteOptions(ctx)
	desc, err := remote.Get(d, ropts...)
	if err != nil {
		return fmt.Errorf("pulling %s: %w", d, err)
	}
	var img v1.Image
	var top v1.Descriptor
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return fmt.Errorf("pulling %s: %w", d, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return fmt.Errorf("pulling %s: %w", d, err)
		}
		if len(im.Manifests) > image.MaxManifests {
			return fmt.Errorf("pulling %s: the index lists %d manifests, over the %d bunix reads", d, len(im.Manifests), image.MaxManifests)
		}
		var descs []v1.Descriptor
		var plats []v1.Platform
		for _, m := range im.Manifests {
			if m.MediaType.IsImage() {
				descs = append(descs, m)
				p := v1.Platform{}
				if m.Platform != nil {
					p = *m.Platform
				}
				plats = append(plats, p)
			}
		}
		i, err := image.ChoosePlatform(plats, want)
		if err != nil {
			return fmt.Errorf("pulling %s: the index: %w", d, err)
		}
		top = descs[i]
		if img, err = idx.Image(top.Digest); err != nil {
			return fmt.Errorf("pulling %s: %w", d, err)
		}
	} else {
		if img, err = desc.Image(); err != nil {
			return fmt.Errorf("pulling %s: %w", d, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return fmt.Errorf("pulling %s: reading the config: %w", d, err)
		}
		p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		if _, err := image.ChoosePlatform([]v1.Platform{p}, want); err != nil {
			return fmt.Errorf("pulling %s: the image: %w", d, err)
		}
		top = desc.Descriptor
		top.Platform = &p
	}
	top.Annotations, top.URLs, top.Data = nil, nil, nil
	// dir is made here, so that a failure removes only what Pull made.
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("pulling %s into %s: %w", d, dir, err)
	}
	if err := writeLayout(ctx, dir, img, top); err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("pulling %s into %s: %w", d, dir, err)
	}
	return nil
}

// writeLayout writes the OCI layout of img, whose manifest top describes,
// into the empty directory dir.
func writeLayout(ctx context.Context, dir string, img v1.Image, top v1.Descriptor) error {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return err
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	index, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{top}})
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{filepath.Join("blobs", "sha256", top.Digest.Hex), raw},
		{filepath.Join("blobs", "sha256", m.Config.Digest.Hex), cfg},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	seen := map[v1.Hash]bool{top.Digest: true, m.Config.Digest: true}
	for _, l := range m.Layers {
		if err := context.Cause(ctx); err != nil {
			return err
		}
		if seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		layer, err := img.LayerByDigest(l.Digest)
		if err != nil {
			return fmt.Errorf("layer %s: %w", l.Digest, err)
		}
		if err := writeBlob(ctx, filepath.Join(blobs, l.Digest.Hex), layer); err != nil {
			return fmt.Errorf("layer %s: %w", l.Digest, err)
		}
	}
	return nil
}

// writeBlob writes the compressed bytes of layer to p. go-containerregistry
// checks them against the manifest's digest and size as they are read
// (TestPullRefusesTamperedBlob), so a blob the registry changed fails here.
func writeBlob(ctx context.Context, p string, layer v1.Layer) error {
	rc, err := layer.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := ctxio.Copy(ctx, f, rc); err != nil {
		return err
	}
	return f.Close()
}

// Prefetched is what a description's from needs to pull an image in a
// fixed-output derivation: the reference, the digest it is pinned by, and
// the NAR hash (SRI) of the layout Pull writes for the platform Want picks.
type Prefetched struct {
	Ref, Digest, Hash string
	Want              image.Want
	// Platform is the platform of the image pulled, as the registry
	// gives it, e.g. qemu/x86_64.
	Platform v1.Platform
	// Entrypoint and Cmd are the pulled image's, from its config: what a
	// Containerfile on it inherits.
	Entrypoint, Cmd []string
}

// Prefetch resolves ref (a tag, or ref@digest) to its digest, pulls the
// image want picks into a temporary directory under tempDir ("" for os.TempDir), and
// computes the NAR hash Nix will find for lib.pullImage's output.
func Prefetch(ctx context.Context, ref string, want image.Want, tempDir string, opts ...Option) (Prefetched, error) {
	o := makeOptions(opts)
	r, err := parseRef(ref, o.nameOptions()...)
	if err != nil {
		return Prefetched{}, fmt.Errorf("prefetching %q: %w: %v", ref, ErrBadReference, err)
	}
	p := Prefetched{Ref: ref, Want: want}
	if d, ok := r.(name.Digest); ok {
		p.Ref, p.Digest = strings.TrimSuffix(ref, "@"+d.DigestStr()), d.DigestStr()
	} else {
		h, err := Resolve(ctx, ref, opts...)
		if err != nil {
			return Prefetched{}, err
		}
		p.Digest = h.String()
	}
	tmp, err := os.MkdirTemp(tempDir, ".bunix-prefetch-*")
	if err != nil {
		return Prefetched{}, fmt.Errorf("prefetching %s: %w", ref, err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "image")
	if err := Pull(ctx, p.Ref, p.Digest, want, dir, opts...); err != nil {
		return Prefetched{}, err
	}
	if p.Hash, err = NARHash(dir); err != nil {
		return Prefetched{}, fmt.Errorf("prefetching %s: %w", ref, err)
	}
	if p.Entrypoint, p.Cmd, p.Platform, err = process(dir); err != nil {
		return Prefetched{}, fmt.Errorf("prefetching %s: reading the pulled image: %w", ref, err)
	}
	return p, nil
}

// NARHash returns the hash Nix gives the directory dir as a fixed output
// (recursive, sha256), in SRI form: what a description's from.hash says of
// the layout Pull writes.
func NARHash(dir string) (string, error) {
	h := sha256.New()
	if err := nar.DumpPath(h, dir); err != nil {
		return "", fmt.Errorf("hashing the pulled image: %w", err)
	}
	return "sha256-" + base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// HashMismatch is the error for a pulled image whose NAR hash is not the
// one its description pins, worded as Nix words the same failure of
// lib.pullImage's fixed-output derivation.
type HashMismatch struct{ Specified, Got string }

func (e *HashMismatch) Error() string {
	return fmt.Sprintf("hash mismatch in fixed-output derivation: specified: %s, got: %s (nix-build fails the same way; if the digest is the one you mean, write hash = %q)", e.Specified, e.Got, e.Got)
}

// process returns the Entrypoint, Cmd and platform of the one image in
// the layout dir, which Pull wrote.
func process(dir string) (entrypoint, cmd []string, platform v1.Platform, err error) {
	f, err := image.Open(dir)
	if err != nil {
		return nil, nil, platform, err
	}
	defer f.Close()
	cfg, err := f.Images[0].ConfigFile()
	if err != nil {
		return nil, nil, platform, err
	}
	if len(f.Platforms) > 0 && f.Platforms[0] != nil {
		platform = *f.Platforms[0]
	}
	return cfg.Config.Entrypoint, cfg.Config.Cmd, platform, nil
}

// Nix returns p as the Nix attribute set a description's from takes.
func (p Prefetched) Nix() string {
	return fmt.Sprintf("{\n  ref = %s;\n  digest = %s;\n  hash = %s;\n}\n", nixexpr.String(p.Ref), nixexpr.String(p.Digest), nixexpr.String(p.Hash))
}

// IsRefused reports whether err is the registry's answer to the request
// rather than a failure to reach it: a reference that does not parse, or a
// registry saying no such manifest, or that it wants credentials (HTTP
// 401, 403, 404), or an index with no image for the architecture, or an
// image that is not what it claims to be. A network failure
// (IsNetworkFailure) is never refused, even where a reader took the broken
// stream for a corrupt layer.
func IsRefused(err error) bool {
	if IsNetworkFailure(err) {
		return false
	}
	var te *transport.Error
	var inv *image.InvalidError
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
			return true
		}
	}
	return errors.Is(err, ErrBadReference) || errors.As(err, &inv)
}

// IsUserError reports whether err, from Get, Push, Prefetch or Pull (or
// pkg/source, which calls them), is the user's: what the registry refuses
// (IsRefused: a reference that does not parse, no such image, credentials
// wanted, no image for the architecture, an image that is not what it
// claims to be), a missing file (or a path that names none: a link loop,
// a file where a directory should be, a name too long), a standard input over its limit
// (*image.SpoolLimitError), or a bad value in the environment
// (*EnvError). A network failure never is (IsNetworkFailure). It is the
// one rule of every command that reads or writes a registry, and of the
// Nix builder nix-pull.
func IsUserError(err error) bool {
	if IsNetworkFailure(err) {
		return false
	}
	var sl *image.SpoolLimitError
	var ee *EnvError
	return IsRefused(err) || errors.Is(err, fs.ErrNotExist) || badPath(err) || errors.As(err, &sl) || errors.As(err, &ee)
}

// badPath reports whether err says a path the user gave names no file for
// another reason than its absence: a link loop, a file where a directory
// should be, a name too long.
func badPath(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENAMETOOLONG)
}

// IsNetworkFailure reports whether err comes from the network rather than
// from what a registry answered: a connection refused, reset or broken, a
// name that does not resolve, a registry that stalls (*StallError) or
// redirects in a loop. It is the one rule that makes each of them a
// failure (exit 1), never the user's input.
func IsNetworkFailure(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	var stall *StallError
	switch {
	case errors.As(err, &op), errors.As(err, &dns), errors.As(err, &stall), errors.Is(err, ErrRedirectLoop):
		return true
	}
	for _, e := range []syscall.Errno{syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
