package scaffold

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// Convert reads a bunnyfile or a Containerfile (whichever src is: a
// bunnyfile has a "version:" line) found at file, and returns it as a
// description named name:tag whose sources are relative to outDir, the
// directory the args.nix will live in.
func Convert(src []byte, file, outDir, name, tag string) (*Description, error) {
	var d *Description
	var err error
	kind := "Containerfile"
	if isBunnyfile(src) {
		kind = "bunnyfile"
		d, err = Bunnyfile(src, file)
	} else {
		d, err = Containerfile(src, file)
	}
	if err != nil {
		return nil, err
	}
	absFile, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	context := filepath.Dir(absFile)
	rebase := func(copies []Copy) error {
		for i, c := range copies {
			if c.Source, err = relativeTo(outDir, context, c.Source); err != nil {
				return err
			}
			copies[i] = c
		}
		return nil
	}
	if err := rebase(d.Files); err != nil {
		return nil, err
	}
	if d.Rootfs != nil {
		if err := rebase(d.Rootfs.Include); err != nil {
			return nil, err
		}
		if d.Rootfs.From != "" {
			if d.Rootfs.From, err = relativeTo(outDir, context, d.Rootfs.From); err != nil {
				return nil, err
			}
		}
	}
	// A Containerfile's COPY order does not matter to bunix: sort for a
	// stable file.
	sort.SliceStable(d.Files, func(i, j int) bool { return d.Files[i].Target < d.Files[j].Target })
	d.Name, d.Tag = name, tag
	d.Comment = []string{
		fmt.Sprintf("Converted by `bunix convert` from %s %s.", kind, filepath.Base(file)),
		"Build it with: nix-build default.nix --arg args ./args.nix, or bunix build -f args.nix -o image.tar",
	}
	return d, nil
}

// isBunnyfile reports whether src has a top-level "version:" key.
func isBunnyfile(src []byte) bool {
	for _, l := range bytes.Split(src, []byte("\n")) {
		if bytes.HasPrefix(l, []byte("version:")) {
			return true
		}
	}
	return false
}

// relativeTo returns src, a path relative to context, as a path relative to
// outDir, spelled "./x" or "../x".
func relativeTo(outDir, context, src string) (string, error) {
	if filepath.IsAbs(src) {
		return src, nil
	}
	absOut, err := filepath.Abs(outDir)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(absOut, filepath.Join(context, src))
	if err != nil {
		return "", fmt.Errorf("locating %s from %s: %w", src, outDir, err)
	}
	if !strings.HasPrefix(rel, "..") {
		rel = "./" + rel
	}
	return filepath.ToSlash(rel), nil
}
