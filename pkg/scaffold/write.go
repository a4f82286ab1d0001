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
	"strings"
	"syscall"
)

// WriteNew writes each file (path to contents) only if none of them exists
// yet: it never overwrites. When a write fails, the files it made are
// removed again. A path that cannot name a new file (under a file, in a
// missing directory, too long) is an *Error, the user's.
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
		} else if badPath(err) {
			return &Error{Problems: []string{fmt.Sprintf("%s: %v: give a path in a directory that exists", clip(p), err)}}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("checking %s: %w", p, err)
		}
	}
	if len(exist) > 0 {
		return &Error{Problems: []string{fmt.Sprintf("%s already %s: bunix never overwrites a file; move it away or pick another directory", strings.Join(exist, ", "), map[bool]string{true: "exists", false: "exist"}[len(exist) == 1])}}
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
	if errors.Is(err, fs.ErrNotExist) || badPath(err) {
		return &Error{Problems: []string{fmt.Sprintf("%s: %v: give a path in a directory that exists", clip(p), err)}}
	}
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

// WriteInit writes in dir the description Init makes of a, as
// args.<format> (format is one of Formats), named after dir (DefaultName)
// when a.Name is empty, and, with flake, a flake.nix that builds it (an
// args.nix only: flake.nix imports it). It never overwrites a file
// (WriteNew) and returns the paths it wrote, sorted. What is wrong with a
// or in the way is an *Error.
func WriteInit(a Answers, dir, format string, flake bool) ([]string, error) {
	if !slices.Contains(Formats, format) {
		return nil, &Error{Problems: []string{fmt.Sprintf("--format %s: unknown description format (known: %s)", quoted(format), strings.Join(Formats, ", "))}}
	}
	if flake && format != "nix" {
		return nil, &Error{Problems: []string{fmt.Sprintf("--flake with --format %s: flake.nix builds an args.nix; drop --flake or write args.nix", format)}}
	}
	if a.Name == "" {
		a.Name = DefaultName(dir)
	}
	// The kernel and initrd the answers name must be there.
	a.Dir = dir
	d, err := Init(a)
	if err != nil {
		return nil, err
	}
	d.File = "args." + format
	text, err := d.Render(format)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{filepath.Join(dir, d.File): text}
	if flake {
		files[filepath.Join(dir, "flake.nix")] = Flake()
	}
	if err := WriteNew(files); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(files)), nil
}

// ConvertFile converts file, a bunnyfile or Containerfile read with
// ReadSource, into the description to write at out ("" or "-" for standard
// output, as if in the working directory), in the format out's name says
// (FormatOf), or format for standard output; format "" means the one out
// says, and a format out's name contradicts is an error. The image is named
// name (DefaultName of file's directory when empty) and tag. What is wrong
// with the file is an *Error.
func ConvertFile(file, out, format, name, tag string, opts ...ConvertOption) ([]byte, error) {
	named, err := FormatOf(out)
	if err != nil {
		return nil, err
	}
	toStdout := out == "" || out == "-"
	switch {
	case format == "":
		format = named
	case !slices.Contains(Formats, format):
		return nil, &Error{Problems: []string{fmt.Sprintf("--format %s: unknown description format (known: %s)", quoted(format), strings.Join(Formats, ", "))}}
	case !toStdout && format != named:
		return nil, &Error{Problems: []string{fmt.Sprintf("--format %s with -o %s: the output name says %s; drop --format or name the file .%s", format, quoted(out), named, format)}}
	}
	src, err := ReadSource(file)
	if err != nil {
		return nil, err
	}
	outDir := "."
	base := "args." + format
	if !toStdout {
		outDir = filepath.Dir(out)
		base = filepath.Base(out)
	}
	if name == "" {
		name = DefaultName(filepath.Dir(file))
	}
	d, err := Convert(src, file, outDir, name, tag, opts...)
	if err != nil {
		return nil, err
	}
	d.File = base
	return d.Render(format)
}

// badPath reports whether err says a path cannot name a file at all: a
// component is not a directory, the name is too long, or links loop.
func badPath(err error) bool {
	return errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENAMETOOLONG) || errors.Is(err, syscall.ELOOP)
}
