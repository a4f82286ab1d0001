package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/registry"
)

// maxUrunit is the largest /urunit fetchUrunit takes from an image; urunit
// is a small static binary.
const maxUrunit = 64 << 20

// fetchUrunit takes /urunit out of the image a's urunit names (pulled by
// digest from its registry, or, in a builder spec, the image Nix pulled),
// opened as from is, into a file under tempDir, and makes it a's urunit
// binary. done removes the file; with no urunit image it does nothing.
func fetchUrunit(ctx context.Context, a *args.Args, tempDir string, ropts []registry.Option) (done func(), err error) {
	done = func() {}
	u := a.UrunitImage
	if u == nil || (u.Path == "" && u.Digest == "") {
		return done, nil // not pinned: Resolve reports it
	}
	from := &args.From{Path: u.Path, Ref: u.Ref, Digest: u.Digest, Where: a.Where("urunit")}
	fail := func(err error) error {
		return &BaseError{Where: from.Where, Field: "urunit", Base: from.String(), Err: err}
	}
	want := wantOf(a)
	want.Monitor = "" // urunit is a Linux binary, whatever the monitor
	f, pulled, err := openImage(ctx, from, "urunit", want, tempDir, ropts, fail)
	if err != nil {
		return done, err
	}
	defer func() {
		f.Close()
		if pulled != "" {
			os.RemoveAll(pulled)
		}
	}()
	b, err := image.OpenBase(f, from.String(), want)
	if err != nil {
		return done, imageError(from, fail, err)
	}
	data, err := b.ReadFile(ctx, args.UrunitPath, maxUrunit)
	if err != nil {
		if ctx.Err() != nil {
			return done, err
		}
		return done, fail(err) // what the image holds, or lacks
	}
	dir, err := os.MkdirTemp(tempDir, ".bunix-urunit-*")
	if err != nil {
		return done, fmt.Errorf("creating a directory for urunit: %w", err)
	}
	file := filepath.Join(dir, "urunit")
	if err := os.WriteFile(file, data, 0o755); err != nil {
		os.RemoveAll(dir)
		return done, fmt.Errorf("writing urunit: %w", err)
	}
	a.SetUrunit(file, from.String())
	return func() { os.RemoveAll(dir) }, nil
}
