// Package source reads the image a command line names: a file, - for an
// archive on standard input, or an explicit registry reference
// (registry.Reference). It is what bunix inspect and bunix push read; whether
// one of its errors is the user's is registry.IsUserError.
package source

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/inspect"
	"github.com/nubificus/bunix/pkg/registry"
)

// Stdin is the argument that names standard input.
const Stdin = "-"

// stdinName names standard input in errors and reports.
const stdinName = "standard input"

// Inspect reports on arg: a file (one that exists is always read as one),
// Stdin, or an explicit registry reference; a name that is neither an
// existing file nor such a reference is an error wrapping fs.ErrNotExist,
// and no registry is asked. One report for each image.
func Inspect(ctx context.Context, arg string, stdin io.Reader, opts ...registry.Option) ([]*inspect.Report, error) {
	if arg == Stdin {
		f, err := image.OpenReader(stdin, "", "on "+stdinName)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return inspect.Open(f, stdinName)
	}
	ref, explicit := registry.Reference(arg)
	if !strings.HasPrefix(arg, registry.Scheme) {
		_, err := os.Lstat(arg)
		if err == nil {
			return inspect.Path(arg)
		}
		if !explicit {
			return nil, fmt.Errorf("inspecting %s: %w (an image in a registry is docker://REF, or HOST/NAME:TAG)", arg, err)
		}
	}
	imgs, err := registry.Get(ctx, ref, opts...)
	if err != nil {
		return nil, err
	}
	var out []*inspect.Report
	for _, img := range imgs {
		r, err := inspect.Image(img, []string{ref})
		if err != nil {
			return nil, fmt.Errorf("inspecting %s: %w", ref, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Push sends the image file src, or with Stdin the archive on stdin, to
// ref (registry.Push).
func Push(ctx context.Context, src, ref string, stdin io.Reader, opts ...registry.Option) (name.Digest, error) {
	if src != Stdin {
		return registry.Push(ctx, src, ref, opts...)
	}
	f, err := image.OpenReader(stdin, "", "on "+stdinName)
	if err != nil {
		return name.Digest{}, err
	}
	defer f.Close()
	return registry.PushFile(ctx, f, stdinName, ref, opts...)
}
