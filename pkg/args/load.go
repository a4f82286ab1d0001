package args

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/nubificus/bunix/internal/filekind"
)

// Load reads the description in file: args.nix (evaluated with
// nix-instantiate), args.json or args.hcl. Relative sources are resolved
// against the file's directory. file must be a regular file (or a symlink
// to one) of at most MaxFileSize bytes: a FIFO or a device is refused
// before it is opened, since reading one could block forever.
func Load(ctx context.Context, file string) (*Args, error) {
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
		out, err := evalNix(ctx, abs, file)
		if err != nil {
			return nil, err
		}
		return decodeNixEval(out, file, abs, root)
	case ".json", ".hcl":
		src, err := readRegular(abs, file)
		if err != nil {
			return nil, err
		}
		return DecodeHCL(src, file, root)
	}
	return nil, fmt.Errorf("reading %s: unknown description format %q (want .nix, .json or .hcl)", file, ext)
}

// readRegular reads the regular file at abs, at most MaxFileSize bytes;
// display names it in messages. The type is checked before the file is
// opened, and again on the open file (opened non-blocking, so that a FIFO
// swapped in between cannot block either).
func readRegular(abs, display string) ([]byte, error) {
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", display, err)
	}
	if err := regular(fi, display); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(abs, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", display, err)
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", display, err)
	}
	if err := regular(fi, display); err != nil {
		return nil, err
	}
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", display, err)
	}
	if len(src) > MaxFileSize {
		return nil, tooLarge(display, MaxFileSize)
	}
	return src, nil
}

// regular refuses anything but a regular file, naming what it is.
func regular(fi fs.FileInfo, display string) error {
	m := fi.Mode()
	if m.IsRegular() {
		return nil
	}
	return &EvalError{File: display, Message: "is " + filekind.Of(m) + ": a description must be a regular file"}
}
