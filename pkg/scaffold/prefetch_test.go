package scaffold

import (
	"context"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/registry"
)

// TestWithPrefetch: a base is pinned as registry.Prefetch pins it for the
// default architecture, and pinned hears of it; a registry that lacks the
// image is an error, and pinned hears nothing.
func TestWithPrefetch(t *testing.T) {
	reg := testenv.Registry(t)
	idx, _ := testenv.BaseImage(t, compression.GZip, "")
	ref := reg.PushIndex(t, "unikraft/nginx:1.15", idx)
	ctx := context.Background()
	want, err := registry.Prefetch(ctx, ref, image.Want{Architecture: args.DefaultArchitecture}, "")
	if err != nil {
		t.Fatal(err)
	}
	var heard []string
	var o convertOptions
	WithPrefetch(ctx, func(r string, b Base) { heard = append(heard, r, b.Digest) }, false)(&o)
	b, err := o.resolve(ref, "")
	if err != nil || !reflect.DeepEqual(b, Base{Ref: want.Ref, Digest: want.Digest, Hash: want.Hash, Entrypoint: want.Entrypoint, Cmd: want.Cmd}) || b.Hash == "" {
		t.Errorf("resolve = %+v, %v; want %+v", b, err, want)
	}
	if len(heard) != 2 || heard[0] != ref || heard[1] != want.Digest {
		t.Errorf("pinned heard %q", heard)
	}
	heard = nil
	if _, err := o.resolve(reg.Addr+"/urunc/missing:1", ""); err == nil || len(heard) != 0 {
		t.Errorf("a missing image: %v, pinned heard %q", err, heard)
	}
}
