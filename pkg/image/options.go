package image

import (
	"context"
	"fmt"
)

// DefaultMaxLayers is the most layers an image gets unless WithMaxLayers
// says otherwise. Docker and containerd stack at most about 125.
const DefaultMaxLayers = 100

// Option configures Write and WritePath.
type Option func(*options)

type options struct {
	format      Format
	compression Compression
	maxLayers   int
	tempDir     string // where compressed layers wait for their size; "" is os.TempDir
	tempDirSet  bool
	noSync      bool
	ctx         context.Context
}

func newOptions(opts []Option) (*options, error) {
	o := &options{format: DockerArchive, compression: Uncompressed, maxLayers: DefaultMaxLayers, ctx: context.Background()}
	for _, opt := range opts {
		opt(o)
	}
	if _, err := ParseFormat(string(o.format)); err != nil {
		return nil, err
	}
	if _, err := ParseCompression(string(o.compression)); err != nil {
		return nil, err
	}
	if o.maxLayers < 1 {
		return nil, fmt.Errorf("the layer cap must be at least 1, not %d", o.maxLayers)
	}
	return o, nil
}

// WithFormat sets the output format; the default is DockerArchive.
func WithFormat(f Format) Option {
	return func(o *options) { o.format = f }
}

// WithCompression sets how layers are compressed; the default is
// Uncompressed.
func WithCompression(c Compression) Option {
	return func(o *options) { o.compression = c }
}

// WithMaxLayers caps the number of layers of each image at n: past it, the
// smallest neighbouring layers are merged until n remain, so that large
// layers stay shared between images. WithMaxLayers(1) puts every file in
// one layer. The default is DefaultMaxLayers.
func WithMaxLayers(n int) Option {
	return func(o *options) { o.maxLayers = n }
}

// WithContext makes the write stop, with context.Cause(ctx) as its error,
// soon after ctx is done: the writer checks it between chunks of 256 KiB. A
// file or directory being written by WritePath is then removed, and what
// was at its path stays as it was.
func WithContext(ctx context.Context) Option {
	return func(o *options) { o.ctx = ctx }
}

// WithTempDir names the directory where compressed layers wait, in unnamed
// files, until their size and digest are known. The default is the
// directory of the output for WritePath, os.TempDir for Write.
func WithTempDir(dir string) Option {
	return func(o *options) { o.tempDir, o.tempDirSet = dir, true }
}

// WithoutSync has WritePath rename its output into
// place without syncing it to disk first: for a Nix builder, whose output
// Nix registers without syncing it either, so that a sync would only make
// the build wait for the disk. The output still appears only once
// complete.
func WithoutSync() Option {
	return func(o *options) { o.noSync = true }
}
