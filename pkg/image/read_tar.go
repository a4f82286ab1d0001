package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
)

// maxMemberName caps the names of the archive members indexed: longer
// names name nothing bunix reads, and would cost memory.
const maxMemberName = 1024

// tarFile is a tar whose regular files can be opened in place.
type tarFile struct {
	r     io.ReaderAt
	size  int64
	c     io.Closer
	files map[string]section
	// ambiguous holds the names that more than one member has, or that
	// a link has: readers disagree on which member such a name means
	// (ggcr's tarball takes the first and follows links).
	ambiguous map[string]bool
	// notRegular holds the names of members that are no regular file (a
	// link, a directory), for a message that says so.
	notRegular map[string]string
}

type section struct{ off, size int64 }

// indexTar records where each regular file of the tar r, of size bytes,
// starts. It reads the headers only, at most MaxTarEntries of them:
// archive/tar seeks over the contents. Close closes c.
func indexTar(r io.ReaderAt, size int64, c io.Closer) (*tarFile, error) {
	tf := &tarFile{r: r, size: size, c: c, files: map[string]section{}, ambiguous: map[string]bool{}, notRegular: map[string]string{}}
	seen := map[string]bool{}
	// A SectionReader is an io.Seeker, so that archive/tar seeks over the
	// contents instead of reading them; after Next, its offset is where
	// the entry's contents start.
	sr := io.NewSectionReader(r, 0, size)
	tr := tar.NewReader(sr)
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tf, nil
		}
		if err != nil {
			return nil, invalidf("not a tar archive: %w", err)
		}
		if n >= MaxTarEntries {
			return nil, invalidf("the archive holds more than %d entries, the most bunix reads", MaxTarEntries)
		}
		if name := cleanName(h.Name); len(name) <= maxMemberName {
			if seen[name] || h.Typeflag == tar.TypeLink || h.Typeflag == tar.TypeSymlink {
				tf.ambiguous[name] = true
			}
			seen[name] = true
			if h.Typeflag != tar.TypeReg {
				tf.notRegular[name] = memberKind(h)
			}
		}
		if h.Typeflag == tar.TypeReg && len(h.Name) <= maxMemberName {
			off, _ := sr.Seek(0, io.SeekCurrent) // a SectionReader's never fails
			tf.files[cleanName(h.Name)] = section{off, h.Size}
		}
	}
}

// memberKind names the type of the non-regular member h.
func memberKind(h *tar.Header) string {
	switch h.Typeflag {
	case tar.TypeSymlink:
		return "a symbolic link (to " + clip(h.Linkname) + ")"
	case tar.TypeLink:
		return "a hard link (to " + clip(h.Linkname) + ")"
	case tar.TypeDir:
		return "a directory"
	}
	return fmt.Sprintf("a member of type %q", h.Typeflag)
}

func cleanName(name string) string { return path.Clean(name) }

// absent says why name is no regular member, for a message: "is not in
// the archive", or what kind of member it is.
func (t *tarFile) absent(name string) string {
	if kind, ok := t.notRegular[cleanName(name)]; ok {
		return "is " + kind + " in the archive, not a regular file"
	}
	return "is not in the archive"
}

// named reports whether a member of any type has the name name: a link
// named manifest.json still makes the archive a docker-archive, one whose
// manifest.json is refused for what it is.
func (t *tarFile) named(name string) bool {
	_, link := t.notRegular[cleanName(name)]
	return t.has(name) || link
}

func (t *tarFile) has(name string) bool { _, ok := t.files[cleanName(name)]; return ok }

func (t *tarFile) open(name string) (io.ReadCloser, int64, error) {
	s, ok := t.files[cleanName(name)]
	if !ok {
		if _, ok := t.notRegular[cleanName(name)]; ok {
			return nil, 0, invalidf("%s %s", clip(name), t.absent(name))
		}
		return nil, 0, errNotExist(name)
	}
	if s.off+s.size > t.size {
		return nil, 0, invalidf("%s: the archive ends inside it", clip(name))
	}
	return io.NopCloser(io.NewSectionReader(t.r, s.off, s.size)), s.size, nil
}

func (t *tarFile) Close() error {
	if t.c == nil {
		return nil
	}
	return t.c.Close()
}
