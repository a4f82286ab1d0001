// Package source reads the image a command line names: a file, - for an
// archive on standard input, or an explicit registry reference
// (registry.Reference). It is what bunix inspect and bunix push read; whether
// one of its errors is the user's is registry.IsUserError.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
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

// Input is standard input as Inspect and Push read it: R, copied to a
// temporary file of at most Limit bytes (image.OpenReader;
// image.DefaultSpoolLimit when 0).
type Input struct {
	R     io.Reader
	Limit int64
}

// Open opens the image archive on in (image.OpenReader); a spool over
// the limit names LimitEnv, which raises it.
func (in Input) Open(ctx context.Context) (*image.File, error) {
	f, err := image.OpenReader(ctx, in.R, "", "on "+stdinName, in.Limit)
	var sl *image.SpoolLimitError
	if errors.As(err, &sl) {
		return nil, fmt.Errorf("%w (%s=SIZE raises the limit)", err, LimitEnv)
	}
	return f, err
}

// LimitEnv is the environment variable that sets Input.Limit: a size in
// bytes, or with a suffix K, M, G or T (powers of 1024).
const LimitEnv = "BUNIX_STDIN_LIMIT"

// InputFromEnv returns r as an Input with the limit the environment sets
// (LimitEnv), read through getenv. A bad value is a *registry.EnvError.
func InputFromEnv(r io.Reader, getenv func(string) string) (Input, error) {
	in := Input{R: r}
	if s := getenv(LimitEnv); s != "" {
		n, err := ParseSize(s)
		if err != nil {
			return in, &registry.EnvError{Name: LimitEnv, Value: s, Reason: err.Error()}
		}
		in.Limit = n
	}
	return in, nil
}

// ParseSize reads a size of more than 0 bytes: a number of bytes, or a
// number with a suffix K, M, G or T (KiB, MiB, GiB, TiB; "G", "GiB" and
// "GB" alike).
func ParseSize(s string) (int64, error) {
	num := strings.TrimRight(strings.TrimSuffix(strings.TrimSuffix(s, "B"), "i"), "KMGTkmgt")
	unit := strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(s[len(num):], "B"), "i"))
	shift := map[string]uint{"": 0, "K": 10, "M": 20, "G": 30, "T": 40}
	sh, ok := shift[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n <= 0 || n > math.MaxInt64>>sh {
		return 0, fmt.Errorf("want a size of more than 0 bytes: a number of bytes, or one with K, M, G or T (8G, 512M)")
	}
	return n << sh, nil
}

// Inspect reports on arg: a file (one that exists is always read as one),
// Stdin, or an explicit registry reference; a name that is neither an
// existing file nor such a reference is an error wrapping fs.ErrNotExist,
// and no registry is asked. One report for each image.
func Inspect(ctx context.Context, arg string, stdin Input, opts ...registry.Option) ([]*inspect.Report, error) {
	if arg == Stdin {
		f, err := stdin.Open(ctx)
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
func Push(ctx context.Context, src, ref string, stdin Input, opts ...registry.Option) (name.Digest, error) {
	if src != Stdin {
		return registry.Push(ctx, src, ref, opts...)
	}
	f, err := stdin.Open(ctx)
	if err != nil {
		return name.Digest{}, err
	}
	defer f.Close()
	return registry.PushFile(ctx, f, stdinName, ref, opts...)
}
