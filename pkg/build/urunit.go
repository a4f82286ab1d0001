package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/urunc"
)

// maxUrunit is the largest /urunit fetchUrunit takes from an image; urunit
// is a small static binary.
const maxUrunit = 64 << 20

// fetchUrunit takes /urunit out of the image a's urunit names (pulled by
// digest from its registry, or, in a builder spec, the image Nix pulled)
// into a file under tempDir, and makes it a's urunit binary. done removes
// the file; with no urunit image it does nothing.
func fetchUrunit(ctx context.Context, a *args.Args, tempDir string, ropts []registry.Option) (done func(), err error) {
	done = func() {}
	u := a.UrunitImage
	if u == nil || (u.Path == "" && u.Digest == "") {
		return done, nil // not pinned: Resolve reports it
	}
	name := u.Path
	if name == "" {
		name = u.Ref + "@" + u.Digest
	}
	where := a.Where("urunit")
	fail := func(err error) error { return &BaseError{Where: where, Field: "urunit", Base: name, Err: err} }
	arch := args.DefaultArchitecture
	if v, ok := urunc.Architectures[a.Architecture]; ok {
		arch = v
	}
	dir, err := os.MkdirTemp(tempDir, ".bunix-urunit-*")
	if err != nil {
		return done, fmt.Errorf("creating a directory to fetch urunit into: %w", err)
	}
	done = func() { os.RemoveAll(dir) }
	p := u.Path
	if p == "" {
		p = filepath.Join(dir, "image")
		if err := registry.Pull(ctx, u.Ref, u.Digest, arch, p, ropts...); err != nil {
			done()
			if registry.IsRefused(err) {
				return func() {}, fail(err)
			}
			return func() {}, fmt.Errorf("%s: urunit = %q: %w", where, name, err)
		}
	}
	data, err := readUrunit(ctx, p, name, arch)
	if err != nil {
		done()
		var inv *image.InvalidError
		if errors.As(err, &inv) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return func() {}, fail(err)
		}
		return func() {}, fmt.Errorf("%s: urunit = %q: %w", where, name, err)
	}
	file := filepath.Join(dir, "urunit")
	if err := os.WriteFile(file, data, 0o755); err != nil {
		done()
		return func() {}, fmt.Errorf("writing urunit: %w", err)
	}
	a.SetUrunit(file, name)
	return done, nil
}

// readUrunit returns /urunit of the image file at p.
func readUrunit(ctx context.Context, p, name, arch string) ([]byte, error) {
	f, err := image.Open(p, image.FollowStoreLinks(image.NixStoreDir))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := image.OpenBase(f, name, arch)
	if err != nil {
		return nil, err
	}
	return b.ReadFile(ctx, args.UrunitPath, maxUrunit)
}
