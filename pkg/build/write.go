package build

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/output"
	"github.com/nubificus/bunix/pkg/registry"
)

// Option configures Write, WriteTo and Check.
type Option func(*options)

type options struct {
	created  time.Time
	format   image.Format
	tempDir  string
	progress func(total int64, w io.Writer) io.Writer
	warn     func(string)
	registry []registry.Option
	prebuilt []Prebuilt
	noSync   bool
	// sbom is where WithSBOM writes the SBOM, sbomTool its creator.
	sbom, sbomTool string
}

// WithRegistryOptions adds to how a base image named by reference is
// pulled: credentials, transport, timeout (FromEnv gives one). Later
// options win, as in registry.
func WithRegistryOptions(opts ...registry.Option) Option {
	return func(o *options) { o.registry = append(o.registry, opts...) }
}

// WithCreated sets the images' creation time and their files' modification
// time; the default is image.DefaultCreated.
func WithCreated(t time.Time) Option {
	return func(o *options) { o.created = t }
}

// WithFormat writes the images in format f, whatever the descriptions say.
func WithFormat(f image.Format) Option {
	return func(o *options) { o.format = f }
}

// WithTempDir names the directory for temporary files: the rootfs files
// bunix builds and compressed layers waiting for their digest, all of them
// unnamed where the file system allows. The default is the output's
// directory for Write to a file, else os.TempDir.
func WithTempDir(dir string) Option {
	return func(o *options) { o.tempDir = dir }
}

// WithProgress has an archive written through wrap(total, w), where total
// is about how many bytes the archive holds: the caller's progress bar.
func WithProgress(wrap func(total int64, w io.Writer) io.Writer) Option {
	return func(o *options) { o.progress = wrap }
}

// WithoutSync writes the output without syncing it to disk before it is
// renamed into place (image.WithoutSync, output.WithoutSync): for the Nix builder, whose
// output Nix does not sync either.
func WithoutSync() Option {
	return func(o *options) { o.noSync = true }
}

// WithWarnings hands each warning about a description (problems that do
// not stop the build) to warn, before anything is built.
func WithWarnings(warn func(string)) Option {
	return func(o *options) { o.warn = warn }
}

// Summary describes an image Write, WriteTo or Check went through.
type Summary struct {
	// Ref is the image's "name:tag".
	Ref string
	// Layers is how many layers the description gives it, before any cap,
	// its base's included.
	Layers int
}

// Write builds the images descs describe (one, or one per platform for an
// index) and writes them to out: a file for the archive formats, a
// directory for the oci format. The output appears only once complete, and
// every failure, ctx's end included, leaves out as it was; output.WriteFile
// and image.CheckLayoutOutput say how what is at out is treated. An out
// that is or lies inside one of the build's sources or description files,
// or an oci directory that holds one, is refused before anything is
// written (an *output.Error, a user error).
func Write(ctx context.Context, out string, descs []*args.Args, opts ...Option) ([]Summary, error) {
	return pipeline(ctx, descs, opts, func(b *batch, o *options) error {
		device, err := checkOutput(out, b)
		if err == nil {
			err = checkSBOM(out, b, o)
		}
		if err == nil && o.tempDir == "" && !device {
			o.tempDir = filepath.Dir(filepath.Clean(out))
		}
		return err
	}, func(b *batch, o *options) error {
		wopts := b.writeOptions(ctx, o)
		var fopts []output.Option
		if o.noSync {
			fopts = append(fopts, output.WithoutSync())
		}
		var err error
		switch {
		case b.format == image.OCILayout:
			err = image.WritePath(out, b.images, wopts...)
		case o.sbom != "" && isDevice(out):
			// A device or FIFO cannot be read back: the SBOM is made
			// from a copy.
			return output.WriteFileContext(ctx, out, func(w io.Writer) error {
				return teeSBOM(ctx, w, b, o, func(w io.Writer) error { return image.Write(b.wrap(w, o), b.images, wopts...) })
			}, fopts...)
		default:
			err = output.WriteFileContext(ctx, out, func(w io.Writer) error { return image.Write(b.wrap(w, o), b.images, wopts...) }, fopts...)
		}
		if err != nil || o.sbom == "" {
			return err
		}
		return writeSBOM(ctx, out, b, o)
	})
}

// WriteTo builds the images descs describe, as Write does, and writes them
// to w as an archive: the oci format, a directory, is refused.
func WriteTo(ctx context.Context, w io.Writer, descs []*args.Args, opts ...Option) ([]Summary, error) {
	return pipeline(ctx, descs, opts, func(b *batch, o *options) error {
		if b.format == image.OCILayout {
			return &output.Error{Path: "-", Reason: "the oci format is a directory, not a stream: write it to a directory, or use oci-archive for a stream"}
		}
		return checkSBOM("", b, o)
	}, func(b *batch, o *options) error {
		return teeSBOM(ctx, w, b, o, func(w io.Writer) error { return image.Write(b.wrap(w, o), b.images, b.writeOptions(ctx, o)...) })
	})
}

// Check resolves and checks descs as Write does, builds the rootfs files
// they ask for (in unnamed temporary files, then gone) and writes nothing.
func Check(ctx context.Context, descs []*args.Args, opts ...Option) ([]Summary, error) {
	return pipeline(ctx, descs, opts, nil, nil)
}

// pipeline is the one path from descriptions to bytes: resolve and plan
// descs; check the output (check, before anything is written); build the
// rootfs files; write the images (write); remove the rootfs files.
func pipeline(ctx context.Context, descs []*args.Args, opts []Option, check, write func(*batch, *options) error) ([]Summary, error) {
	o := newOptions(opts)
	b, err := prepare(ctx, descs, o)
	if err != nil {
		return nil, err
	}
	defer b.close()
	if check != nil {
		if err := check(b, o); err != nil {
			return nil, err
		}
	}
	if err := b.finish(ctx, o); err != nil {
		return nil, err
	}
	if write != nil {
		if err := write(b, o); err != nil {
			return nil, err
		}
	}
	return b.summaries(), nil
}

func newOptions(opts []Option) *options {
	o := &options{warn: func(string) {}}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// batch is the images of one build.
type batch struct {
	jobs   []*job
	images []*image.Image
	// format, compression and maxLayers are the write settings: those of
	// the last description, the format unless WithFormat overrides it.
	format      image.Format
	compression image.Compression
	maxLayers   int
	sources     []source
	done        []func()
}

// prepare resolves and plans descs, reporting the problems of all of them
// at once.
func prepare(ctx context.Context, descs []*args.Args, o *options) (*batch, error) {
	if len(descs) == 0 {
		return nil, errors.New("no image description to build")
	}
	b := &batch{}
	var errs []error
	for _, a := range descs {
		if o.format != "" {
			a = a.WithFormat(o.format)
		}
		bs, err := openBase(ctx, a, o.tempDir, o.registry)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if bs != nil {
			// Closed (its pull removed) however the rest goes.
			b.done = append(b.done, bs.close)
		}
		a, done, err := fetchCopies(ctx, a, o.tempDir, o.registry)
		b.done = append(b.done, done)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		setsCmd := a.SetsCommand()
		if bs != nil {
			a = a.WithBaseSettings(bs.settings(), bs.from.String(), bs.command())
			a = bs.catalogDefaults(a, o.warn)
		}
		r, err := a.Resolve()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, w := range r.Warnings {
			o.warn(w)
		}
		j, err := planImage(r, o.created, bs, setsCmd)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b.jobs = append(b.jobs, j)
		b.format, b.compression, b.maxLayers = r.Format, r.Compression, r.MaxLayers
		b.sources = append(b.sources, sourcesOf(a, r)...)
	}
	if err := errors.Join(errs...); err != nil {
		b.close()
		return nil, err
	}
	if o.format != "" {
		b.format = o.format
	}
	if err := usePrebuilt(b.jobs, o.prebuilt); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// finish writes the rootfs files and completes the images.
func (b *batch) finish(ctx context.Context, o *options) error {
	dir := o.tempDir
	if dir == "" {
		dir = os.TempDir()
	}
	for _, j := range b.jobs {
		done, err := j.finish(ctx, dir, b.compression)
		if err != nil {
			return err
		}
		b.done = append(b.done, done)
		b.images = append(b.images, j.img)
	}
	return nil
}

// close removes the rootfs files.
func (b *batch) close() {
	for _, done := range b.done {
		done()
	}
}

func (b *batch) writeOptions(ctx context.Context, o *options) []image.Option {
	opts := []image.Option{image.WithContext(ctx), image.WithFormat(b.format), image.WithCompression(b.compression), image.WithMaxLayers(b.maxLayers)}
	if o.tempDir != "" {
		opts = append(opts, image.WithTempDir(o.tempDir))
	}
	if o.noSync {
		opts = append(opts, image.WithoutSync())
	}
	return opts
}

// wrap returns w through the progress option, if any.
func (b *batch) wrap(w io.Writer, o *options) io.Writer {
	if o.progress == nil {
		return w
	}
	var total int64
	for _, img := range b.images {
		if img.Base != nil {
			for _, l := range img.Base.Layers {
				total += l.Size
			}
		}
		for _, l := range img.Layers {
			for _, e := range l.Entries {
				total += e.Size
			}
		}
	}
	return o.progress(total, w)
}

func (b *batch) summaries() []Summary {
	var out []Summary
	for _, img := range b.images {
		n := len(img.Layers)
		if img.Base != nil {
			n += len(img.Base.Layers)
		}
		out = append(out, Summary{Ref: img.RepoTags[0], Layers: n})
	}
	return out
}
