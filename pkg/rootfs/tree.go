package rootfs

import (
	"fmt"
	"strings"

	"github.com/nubificus/bunix/pkg/image"
)

// Tree returns entries in the order of image.Tree, the directories above
// them added, for WriteInitrd and PlanExt. A directory copied to "/" is the
// root itself, so a directory entry for "/" is dropped.
func Tree(entries []image.Entry) ([]image.Entry, error) {
	var in []image.Entry
	for _, e := range entries {
		if e.Path != "/" || e.Type != image.Directory {
			in = append(in, e)
		}
	}
	tree, err := image.Tree(in)
	if err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	return tree, nil
}

// entryLimits is what one rootfs format holds of an entry, and the reasons
// its refusals give. A reason that takes numbers gets the entry's length
// and the limit, in that order.
type entryLimits struct {
	// name is what the format stores of a path as a name.
	name                         func(path string) string
	maxName, maxLink             int
	maxSize                      int64
	nameLong, nameNUL            string
	linkEmpty, linkLong, linkNUL string
	sizeLong                     string
}

// check refuses, as a *LimitError, an entry whose name, symlink target or
// size is beyond l.
func (l *entryLimits) check(e image.Entry) error {
	refuse := func(reason string) error { return &LimitError{Path: e.Path, Reason: reason} }
	name := l.name(e.Path)
	switch {
	case len(name) > l.maxName:
		return refuse(fmt.Sprintf(l.nameLong, len(name), l.maxName))
	case strings.IndexByte(name, 0) >= 0:
		return refuse(l.nameNUL)
	}
	switch e.Type {
	case image.Symlink:
		switch {
		case e.Linkname == "":
			return refuse(l.linkEmpty)
		case len(e.Linkname) > l.maxLink:
			return refuse(fmt.Sprintf(l.linkLong, len(e.Linkname), l.maxLink))
		case strings.IndexByte(e.Linkname, 0) >= 0:
			return refuse(l.linkNUL)
		}
	case image.Regular:
		size := int64(len(e.Data))
		if e.Source != "" {
			size = e.Size
		}
		if size > l.maxSize {
			return refuse(fmt.Sprintf(l.sizeLong, size, l.maxSize))
		}
	}
	return nil
}
