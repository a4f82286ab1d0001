package scaffold

import (
	"context"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/registry"
)

// WithPrefetch has Convert pin a base image as bunix prefetch does: the
// digest the registry serves today and the NAR hash of the image for
// args.DefaultArchitecture and the description's hypervisor
// (registry.Prefetch). pinned, when not nil, is told of each base pinned,
// by the reference Convert read. insecure, which opts should then carry
// as registry.Insecure, has the args.nix say insecure = true in from.
func WithPrefetch(ctx context.Context, pinned func(ref string, b Base), insecure bool, opts ...registry.Option) ConvertOption {
	return WithResolver(func(ref, monitor string) (Base, error) {
		p, err := registry.Prefetch(ctx, ref, image.Want{Architecture: args.DefaultArchitecture, Monitor: monitor}, "", opts...)
		if err != nil {
			return Base{}, err
		}
		b := Base{Ref: p.Ref, Digest: p.Digest, Hash: p.Hash, Insecure: insecure, Entrypoint: p.Entrypoint, Cmd: p.Cmd}
		if pinned != nil {
			pinned(ref, b)
		}
		return b, nil
	})
}
