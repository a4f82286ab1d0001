package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// WriteNew writes each file (path to contents) only if none of them exists
// yet: it never overwrites. When a write fails, the files it made are
// removed again.
func WriteNew(files map[string][]byte) error {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var exist []string
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			exist = append(exist, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("checking %s: %w", p, err)
		}
	}
	if len(exist) > 0 {
		return &Error{Problems: []string{fmt.Sprintf("%v already exists: bunix never overwrites a file; move it away or pick another directory", exist)}}
	}
	var made []string
	for _, p := range paths {
		err := writeExcl(p, files[p])
		if err != nil {
			for _, m := range made {
				os.Remove(m)
			}
			return err
		}
		made = append(made, p)
	}
	return nil
}

func writeExcl(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("creating %s: %w", p, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(p)
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(p)
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

// WriteInit writes in dir the args.nix Init makes of a, named after dir
// (DefaultName) when a.Name is empty, and, with flake, a flake.nix that
// builds it. It never overwrites a file (WriteNew) and returns the paths
// it wrote, sorted. What is wrong with a or in the way is an *Error.
func WriteInit(a Answers, dir string, flake bool) ([]string, error) {
	if a.Name == "" {
		a.Name = DefaultName(dir)
	}
	d, err := Init(a)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{filepath.Join(dir, "args.nix"): d.Nix()}
	if flake {
		files[filepath.Join(dir, "flake.nix")] = Flake()
	}
	if err := WriteNew(files); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(files)), nil
}

// ConvertFile converts file, a bunnyfile or Containerfile read with
// ReadSource, into the args.nix to write at out ("" or "-" for standard
// output, as if in the working directory), named name (DefaultName of
// file's directory when empty) and tag. What is wrong with the file is an
// *Error.
func ConvertFile(file, out, name, tag string) ([]byte, error) {
	src, err := ReadSource(file)
	if err != nil {
		return nil, err
	}
	outDir := "."
	if out != "" && out != "-" {
		outDir = filepath.Dir(out)
	}
	if name == "" {
		name = DefaultName(filepath.Dir(file))
	}
	d, err := Convert(src, file, outDir, name, tag)
	if err != nil {
		return nil, err
	}
	return d.Nix(), nil
}
