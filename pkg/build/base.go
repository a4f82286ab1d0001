package build

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/urunc"
)

// base is the base image of a description, opened.
type base struct {
	from *args.From
	file *image.File
	img  *image.Base
	// pulled is the temporary layout a registry base was pulled to, "" for
	// an image file.
	pulled string
}

// close closes the base's file and removes what was pulled.
func (b *base) close() {
	b.file.Close()
	if b.pulled != "" {
		os.RemoveAll(b.pulled)
	}
}

// BaseError is a base image that cannot be used: a file that is not an
// image, a corrupt layer, a platform it lacks, a registry that refuses. It
// is the user's input, not a failure of bunix.
type BaseError struct {
	// Where and Field say where the from field stands.
	Where, Field string
	// Base names the base: its path or reference.
	Base string
	Err  error
}

func (e *BaseError) Error() string {
	return fmt.Sprintf("%s: %s = %q: %v", e.Where, e.Field, e.Base, e.Err)
}

// Unwrap returns the underlying error.
func (e *BaseError) Unwrap() error { return e.Err }

// openBase opens the base image a names, if any, for the architecture a
// asks for: an image file as it is, a registry image pulled by digest into
// a temporary directory under tempDir.
func openBase(ctx context.Context, a *args.Args, tempDir string, ropts []registry.Option) (*base, error) {
	from, err := a.Base()
	if err != nil || from == nil {
		return nil, err
	}
	fail := func(err error) error {
		return &BaseError{Where: from.Where, Field: "from", Base: from.String(), Err: err}
	}
	arch := args.DefaultArchitecture
	if v, ok := urunc.Architectures[a.Architecture]; ok {
		arch = v
	}
	b := &base{from: from}
	path := from.Path
	if path == "" {
		if from.Digest == "" {
			d, err := registry.Resolve(ctx, from.Ref, ropts...)
			if err != nil {
				return nil, pullError(from, fail, err)
			}
			return nil, fail(fmt.Errorf("a tag alone is not reproducible: it resolves to %s today; pin it: from = \"%s@%s\", or { ref = %q; digest = %q; hash = ...; } (bunix prefetch %s prints it)", d, from.Ref, d, from.Ref, d, from.Ref))
		}
		dir, err := os.MkdirTemp(tempDir, ".bunix-base-*")
		if err != nil {
			return nil, fmt.Errorf("creating a directory to pull the base into: %w", err)
		}
		b.pulled = dir
		path = dir + "/image"
		if err := registry.Pull(ctx, from.Ref, from.Digest, arch, path, ropts...); err != nil {
			os.RemoveAll(dir)
			return nil, pullError(from, fail, err)
		}
	}
	// A layout bunix built in Nix links its blobs into the store.
	b.file, err = image.Open(path, image.FollowStoreLinks(image.NixStoreDir))
	if err == nil {
		var opts []image.BaseOption
		if f := a.WrittenFormat(); f != "" {
			opts = append(opts, image.WrittenAs(f))
		}
		b.img, err = image.OpenBase(b.file, from.String(), arch, opts...)
		if err != nil {
			b.file.Close()
		}
	}
	if err != nil {
		if b.pulled != "" {
			os.RemoveAll(b.pulled)
		}
		var inv *image.InvalidError
		if errors.As(err, &inv) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return nil, fail(err)
		}
		return nil, fmt.Errorf("reading the base %s: %w", from, err)
	}
	return b, nil
}

// settings returns the urunc settings the base carries, by short key: its
// Labels, overridden by its manifest annotations (urunc's precedence).
func (b *base) settings() map[string]string {
	s := map[string]string{}
	for _, m := range []map[string]string{b.img.Config.Labels, b.img.Annotations} {
		for k, v := range m {
			if short, ok := strings.CutPrefix(k, urunc.Prefix); ok && urunc.IsKey(short) {
				s[short] = v
			}
		}
	}
	return s
}

// inherit returns the config of an image on b: the base's Env,
// Entrypoint, Cmd, WorkingDir and Labels (without its urunc settings),
// overridden by what the description sets: its env by name, its urunc
// labels, and Entrypoint and Cmd both when it gives a command (setsCmd:
// entrypoint, cmd or the cmdline), as a Dockerfile's ENTRYPOINT resets CMD.
func (b *base) inherit(own v1.Config, setsCmd bool) v1.Config {
	bc := b.img.Config
	cfg := v1.Config{
		Env:        mergeEnv(bc.Env, own.Env),
		Entrypoint: bc.Entrypoint,
		Cmd:        bc.Cmd,
		WorkingDir: bc.WorkingDir,
		Labels:     map[string]string{},
	}
	for k, v := range bc.Labels {
		if !strings.HasPrefix(k, urunc.Prefix) {
			cfg.Labels[k] = v
		}
	}
	maps.Copy(cfg.Labels, own.Labels)
	if setsCmd {
		cfg.Entrypoint, cfg.Cmd = own.Entrypoint, own.Cmd
	}
	return cfg
}

// mergeEnv returns the base's environment with own's variables in place
// of the base's of the same name, in the base's order, then own's other
// variables, in their order.
func mergeEnv(base, own []string) []string {
	mine := map[string]string{}
	for _, e := range own {
		name, _, _ := strings.Cut(e, "=")
		mine[name] = e
	}
	var out []string
	done := map[string]bool{}
	for _, e := range base {
		name, _, _ := strings.Cut(e, "=")
		if o, ok := mine[name]; ok {
			e = o
			done[name] = true
		}
		out = append(out, e)
	}
	for _, e := range own {
		if name, _, _ := strings.Cut(e, "="); !done[name] {
			out = append(out, e)
		}
	}
	return out
}

// hasCommand reports whether the base gives the process a command.
func (b *base) hasCommand() bool {
	return len(b.img.Config.Entrypoint) > 0 || len(b.img.Config.Cmd) > 0
}

// check returns what is wrong with p, a path that no copy provides, as
// binary, initrd or block on b: "" when the base has a regular file there.
func (b *base) check(p string) string {
	switch t, ok := b.img.Files[p]; {
	case !ok:
		return fmt.Sprintf("neither the image's files nor the base %s have a file at this path", b.from)
	case t != image.Regular:
		return fmt.Sprintf("must name a regular file, but the base %s has a %s there", b.from, t)
	}
	return ""
}

// pullError is err, from pulling a base, as a BaseError (bad input) when
// the registry refused the request, else as a failure (the registry down).
func pullError(from *args.From, fail func(error) error, err error) error {
	if registry.IsRefused(err) {
		return fail(err)
	}
	return fmt.Errorf("%s: from = %q: %w", from.Where, from, err)
}
