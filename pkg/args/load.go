package args

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/nubificus/bunix/internal/filekind"
)

// Load reads the description in file: args.nix (evaluated with
// nix-instantiate), args.json or args.hcl. Relative sources are resolved
// against the file's directory. file must be a regular file (or a symlink
// to one) of at most MaxFileSize bytes: a FIFO or a device is refused
// before it is opened, since reading one could block forever.
//
// An args.nix is evaluated under a memory and a time cap (WithEvalMemory,
// WithEvalTimeout), and what its evaluation reads is recorded in the
// result's Reads.
func Load(ctx context.Context, file string, opts ...LoadOption) (*Args, error) {
	lim := evalLimits{memory: DefaultEvalMemory, timeout: DefaultEvalTimeout}
	for _, o := range opts {
		o(&lim)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("locating %s: %w", file, err)
	}
	root := filepath.Dir(abs)
	ext := filepath.Ext(file)
	switch ext {
	case ".nix":
		if _, err := readRegular(abs, file); err != nil {
			return nil, err
		}
		out, reads, err := evalNix(ctx, abs, file, lim)
		if err != nil {
			return nil, err
		}
		a, err := decodeNixEval(out, file, abs, root)
		if a != nil {
			a.Reads = reads
		}
		return a, err
	case ".json", ".hcl":
		src, err := readRegular(abs, file)
		if err != nil {
			return nil, err
		}
		return DecodeHCL(src, file, root)
	}
	return nil, &EvalError{File: file, Message: fmt.Sprintf("unknown description format %q (want .nix, .json or .hcl)", ext)}
}

// readRegular reads the regular file at abs, at most MaxFileSize bytes;
// display names it in messages. The type is checked before the file is
// opened, and again on the open file (opened non-blocking, so that a FIFO
// swapped in between cannot block either).
func readRegular(abs, display string) ([]byte, error) {
	src, err := filekind.ReadRegular(abs, MaxFileSize)
	var nr *filekind.NotRegularError
	switch {
	case errors.As(err, &nr):
		return nil, &EvalError{File: display, Message: "is " + filekind.Of(nr.Mode) + ": a description must be a regular file"}
	case errors.Is(err, filekind.ErrTooLarge):
		return nil, tooLarge(display, MaxFileSize)
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", display, err)
	}
	return src, nil
}
