package args

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Load reads the description in file: args.nix (evaluated with
// nix-instantiate), args.json or args.hcl. Relative sources are resolved
// against the file's directory.
func Load(ctx context.Context, file string) (*Args, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("locating %s: %w", file, err)
	}
	root := filepath.Dir(abs)
	ext := filepath.Ext(file)
	switch ext {
	case ".nix":
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("reading %s: %w", file, err)
		}
		out, err := evalNix(ctx, abs, file)
		if err != nil {
			return nil, err
		}
		return decodeNixEval(out, file, abs, root)
	case ".json", ".hcl":
		src, err := os.ReadFile(abs)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", file, err)
		}
		return DecodeHCL(src, file, root)
	}
	return nil, fmt.Errorf("reading %s: unknown description format %q (want .nix, .json or .hcl)", file, ext)
}
