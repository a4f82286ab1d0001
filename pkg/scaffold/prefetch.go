package scaffold

import (
	"context"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/registry"
)

// WithPrefetch has Convert pin a base image as bunix prefetch does: the
// digest the registry serves today and the NAR hash of the image for
// args.DefaultArchitecture (registry.Prefetch). pinned, when not nil, is
// told of each base pinned, by the reference Convert read.
func WithPrefetch(ctx context.Context, pinned func(ref string, b Base), opts ...registry.Option) ConvertOption {
	return WithResolver(func(ref string) (Base, error) {
		p, err := registry.Prefetch(ctx, ref, args.DefaultArchitecture, "", opts...)
		if err != nil {
			return Base{}, err
		}
		b := Base{Ref: p.Ref, Digest: p.Digest, Hash: p.Hash, Entrypoint: p.Entrypoint, Cmd: p.Cmd}
		if pinned != nil {
			pinned(ref, b)
		}
		return b, nil
	})
}
