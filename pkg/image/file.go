package image

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile calls write with a temporary file in the directory of path and
// renames it to path only when write succeeds, so that path is either the
// complete new output or, on any failure, exactly what it was before. The
// file gets mode 0644.
func WriteFile(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(tempBeside(path))
	if err != nil {
		return fmt.Errorf("creating a temporary file for %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// tempBeside returns the directory of path and a pattern for a temporary
// name there: the arguments of os.CreateTemp and os.MkdirTemp for an output
// that is renamed to path once complete.
func tempBeside(path string) (dir, pattern string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	return dir, "." + base + ".tmp-*"
}
