package build

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/output"
	"github.com/nubificus/bunix/pkg/rootfs"
	"github.com/nubificus/bunix/pkg/urunc"
)

// rootfsPlan is the rootfs file of an image: a prebuilt one, checked, or
// one to write from a tree.
type rootfsPlan struct {
	rf    *args.Rootfs
	entry image.Entry   // the file in the image; Source and Size once known
	tree  []image.Entry // what an initrd or block image holds
	ext   *rootfs.Ext   // a block image's layout
	kind  rootfs.Kind   // a prebuilt file's kind, as checkFrom detected it

}

// planRootfs checks r's rootfs: a prebuilt file's source and kind, or the
// sources of the includes, their collisions and, for a block image, that it
// fits its size, and that the init and the executables it holds are built
// for the image's architecture. It reads metadata, and the first bytes of
// those.
func planRootfs(r *args.Resolved, mtime time.Time) (*rootfsPlan, error) {
	rf := r.Rootfs
	p := &rootfsPlan{rf: rf, entry: image.Entry{Path: rf.Path, Type: image.Regular}}
	if rf.From != nil {
		return p, p.checkFrom()
	}
	var errs []error
	paths := map[string]owner{}
	var entries []image.Entry
	guest := guestFilesOf(r)
	for _, cp := range rf.Include {
		es, err := entriesOf(cp, paths)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, guest.check(cp, es, true)...)
		if len(es) == 1 && es[0].Path == "/" && es[0].Type != image.Directory {
			errs = append(errs, cp.Errorf("is a %s, which cannot be the rootfs's root: copy a directory to \"/\", or give the file its path", es[0].Type))
			continue
		}
		entries = append(entries, es...)
	}
	if rf.Type == urunc.RootfsInitrd && rf.Guest == "linux" {
		// urunc appends the container's file mounts (/etc/hosts,
		// /etc/resolv.conf, ...) to a Linux guest's initrd, and the
		// kernel drops them when the initrd has no /etc.
		switch o, ok := paths["/etc"]; {
		case !ok:
			entries = append(entries, image.Entry{Path: "/etc", Type: image.Directory})
		case o.typ == image.Regular:
			errs = append(errs, pathErrorf(o.copy, "/etc", "puts a file at /etc, which a Linux initrd needs as a directory: urunc appends the container's /etc/hosts, /etc/hostname and /etc/resolv.conf to it"))
		}
	}
	errs = append(errs, dirConflicts(paths)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	tree, err := rootfs.Tree(entries)
	if err != nil {
		return nil, err
	}
	p.tree = tree
	if rf.Type != urunc.RootfsBlock {
		if err := rootfs.CheckInitrd(tree, mtime); err != nil {
			return nil, limitError(r, paths, err)
		}
		return p, nil
	}
	x, err := rootfs.PlanExt(tree, rootfs.ExtOptions{FSType: rf.FSType, Size: rf.Size, MTime: mtime})
	var se *rootfs.SizeError
	var me *rootfs.MaxSizeError
	switch {
	case errors.As(err, &se):
		return nil, &args.FieldError{Where: r.Where("rootfs.size"), Field: "rootfs.size", Value: strconv.FormatInt(rf.Size, 10),
			Reason: fmt.Sprintf("too small for the content: the %s image needs at least %d bytes; leave size out to fit it", rf.FSType, se.Need)}
	case errors.As(err, &me) && me.Size > 0:
		return nil, &args.FieldError{Where: r.Where("rootfs.size"), Field: "rootfs.size", Value: strconv.FormatInt(rf.Size, 10),
			Reason: fmt.Sprintf("more than an %s image holds: at most %d bytes (16 TiB less one)", rf.FSType, me.Max)}
	case errors.As(err, &me):
		return nil, &args.FieldError{Where: r.Where("rootfs.include"), Field: "rootfs.include", Reason: err.Error()}
	case err != nil:
		return nil, limitError(r, paths, err)
	}
	p.ext = x
	return p, nil
}

// limitError turns a *rootfs.LimitError into a field error on the include
// that puts the path there (or, for a directory the tree adds, something
// under it); other errors it returns as they are.
func limitError(r *args.Resolved, paths map[string]owner, err error) error {
	var le *rootfs.LimitError
	if !errors.As(err, &le) {
		return err
	}
	if o, ok := paths[le.Path]; ok {
		return o.copy.Errorf("%v", le)
	}
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		if strings.HasPrefix(p, le.Path+"/") {
			return paths[p].copy.Errorf("%v", le)
		}
	}
	return &args.FieldError{Where: r.Where("rootfs.include"), Field: "rootfs.include", Reason: le.Error()}
}

// checkFrom checks that a prebuilt rootfs file is there, readable, and of
// a kind its type and guest take.
func (p *rootfsPlan) checkFrom() error {
	cp := *p.rf.From
	es, err := entriesOf(cp, map[string]owner{})
	if err != nil {
		return err
	}
	if es[0].Type != image.Regular {
		return cp.Errorf("is a %s: a prebuilt rootfs is one file", es[0].Type)
	}
	kind, err := rootfs.Detect(cp.Source)
	if err != nil {
		return cp.Errorf("%v", err)
	}
	switch {
	case p.rf.Type == urunc.RootfsInitrd && !kind.IsInitrd():
		return cp.Errorf("is an %s image, not an initrd (a cpio archive): use rootfs.type = \"block\" for it", kind)
	case kind == rootfs.GzipCPIO && p.rf.Guest == "unikraft":
		return cp.Errorf("is a gzip-compressed cpio archive: %s; unpack it (gunzip) and give the plain archive", args.UnikraftGzip())
	case p.rf.Type == urunc.RootfsBlock && kind.IsInitrd():
		return cp.Errorf("is a %s archive, not a block image: use rootfs.type = \"initrd\" for it", kind)
	case p.rf.Type == urunc.RootfsBlock && p.rf.Guest != "" && !slices.Contains(urunc.GuestFSTypes[p.rf.Guest], kind.String()):
		return cp.Errorf("is an %s image, which a %s guest cannot mount (it mounts %v)", kind, p.rf.Guest, urunc.GuestFSTypes[p.rf.Guest])
	}
	p.kind = kind
	p.entry = es[0]
	p.entry.Path = p.rf.Path
	return nil
}

// write writes a rootfs bunix builds into an output.TempFile in dir and
// returns its entry, whose Source reopens the file, and a function that
// closes the file, which removes it. A prebuilt rootfs's entry is returned
// as it is. The writers see ctx through their io.Writer: they stop at
// their next write once it is done.
func (p *rootfsPlan) write(ctx context.Context, dir string, mtime time.Time) (image.Entry, func(), error) {
	if p.rf.From != nil {
		return p.entry, func() {}, nil
	}
	f, err := output.CreateTempPath(dir, ".bunix-rootfs-*")
	if err != nil {
		return image.Entry{}, nil, fmt.Errorf("writing the %s: %w", p.rf.Type, err)
	}
	w := ctxFile{ctx, f.File}
	if p.ext != nil {
		err = p.ext.Write(w)
	} else {
		err = rootfs.WriteInitrd(w, p.tree, rootfs.InitrdOptions{MTime: mtime, Gzip: p.rf.Gzip})
	}
	var fi os.FileInfo
	if err == nil {
		fi, err = f.Stat()
	}
	if err != nil {
		f.Close()
		if cause := context.Cause(ctx); cause != nil {
			return image.Entry{}, nil, cause
		}
		return image.Entry{}, nil, fmt.Errorf("writing the %s: %w", p.rf.Type, err)
	}
	e := p.entry
	// The file is bunix's own: opened by its name, links followed
	// (/proc/self/fd/N), and checked to be this file.
	e.Source, e.Root, e.ID, e.Size = f.Path, "", filekind.IDOf(fi), fi.Size()
	return e, func() { f.Close() }, nil
}

// ctxFile is a file whose writes fail once ctx is done.
type ctxFile struct {
	ctx context.Context
	f   *os.File
}

func (c ctxFile) Write(b []byte) (int, error) {
	if err := context.Cause(c.ctx); err != nil {
		return 0, err
	}
	return c.f.Write(b)
}

func (c ctxFile) WriteAt(b []byte, off int64) (int, error) {
	if err := context.Cause(c.ctx); err != nil {
		return 0, err
	}
	return c.f.WriteAt(b, off)
}
