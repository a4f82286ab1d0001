package image

import (
	"archive/tar"
	"io"
	"path"
	"strings"
)

// WhiteoutPrefix starts the name of an OCI whiteout, which hides from the
// layers below the path the rest of the name makes; whiteoutOpaque in a
// directory hides everything lower layers put in it.
const (
	WhiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// Whiteout reads p, a clean absolute path of a layer entry, as an OCI
// whiteout: ok when it is one. An opaque one hides the contents of the
// directory target from the layers below; another hides the path target.
// A whiteout of / itself (".wh." or ".wh.." at the top) hides nothing:
// target is "". The one rule for OpenBase's file set and inspect's.
func Whiteout(p string) (target string, opaque, ok bool) {
	dir, base := path.Split(p)
	dir = path.Clean(dir)
	switch {
	case base == whiteoutOpaque:
		return dir, true, true
	case strings.HasPrefix(base, WhiteoutPrefix):
		if target = path.Join(dir, base[len(WhiteoutPrefix):]); target == "/" {
			target = ""
		}
		return target, false, true
	}
	return "", false, false
}

// applyLayer reads the layer tar tr and applies it to files: its
// whiteouts remove what lower layers put there, then its entries are
// added. With files nil it only reads the tar and counts its entries.
func applyLayer(tr *tar.Reader, files map[string]Type, entries *int) error {
	var deletes []string
	var opaque []string
	adds := map[string]Type{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return invalidf("reading its tar: %w", err)
		}
		if *entries++; *entries > MaxBaseEntries {
			return invalidf("the image's layers hold more than %d entries, the most bunix reads", MaxBaseEntries)
		}
		p := path.Clean("/" + h.Name)
		if p == "/" || files == nil {
			continue
		}
		if target, opq, ok := Whiteout(p); ok {
			if opq {
				opaque = append(opaque, target)
			} else if target != "" {
				deletes = append(deletes, target)
			}
			continue
		}
		switch h.Typeflag {
		case tar.TypeLink:
			// A hard link is what it links to, an earlier entry; one to
			// nothing the layers hold (a hostile /unikraft/bin/kernel
			// linked to /etc/passwd) is no file, and containerd would
			// fail to extract it.
			target := path.Clean("/" + h.Linkname)
			if t, ok := adds[target]; ok {
				adds[p] = t
			} else if t, ok := files[target]; ok {
				adds[p] = t
			}
		case tar.TypeReg:
			adds[p] = Regular
		case tar.TypeDir:
			adds[p] = Directory
		case tar.TypeSymlink:
			adds[p] = Symlink
		}
	}
	if len(deletes) > 0 || len(opaque) > 0 {
		// A path goes when a whiteout names it or one of its directories,
		// or an opaque whiteout is in one of its directories: one look-up
		// per directory up from it, not one per whiteout.
		del := make(map[string]bool, len(deletes))
		for _, d := range deletes {
			del[d] = true
		}
		opq := make(map[string]bool, len(opaque))
		for _, d := range opaque {
			opq[d] = true
		}
		for p := range files {
			if del[p] {
				delete(files, p)
				continue
			}
			for q := path.Dir(p); ; q = path.Dir(q) {
				if del[q] || opq[q] {
					delete(files, p)
					break
				}
				if q == "/" {
					break
				}
			}
		}
	}
	for p, t := range adds {
		files[p] = t
	}
	return nil
}
