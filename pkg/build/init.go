package build

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/rootfs"
	"github.com/nubificus/bunix/pkg/urunc"
	"github.com/u-root/u-root/pkg/cpio"
)

// fsView is a file system bunix can look paths up in: a path's type and,
// for a symlink, its target ("" when not known).
type fsView func(p string) (typ image.Type, link string, ok bool)

// treeView looks paths up in entries.
func treeView(entries []image.Entry) fsView {
	m := make(map[string]image.Entry, len(entries))
	for _, e := range entries {
		m[e.Path] = e
	}
	return func(p string) (image.Type, string, bool) {
		if p == "/" {
			return image.Directory, "", true
		}
		e, ok := m[p]
		return e.Type, e.Linkname, ok
	}
}

// maxLinks is how many symlinks lookUp follows, as Linux's path walk.
const maxLinks = 40

// lookUp follows p through fs as the kernel would, symlinks included, and
// returns the type of what it names. A symlink whose target fs does not
// know is taken to be what it should be (ok), since its type cannot be told.
func lookUp(fs fsView, p string) (image.Type, bool) {
	links := 0
	parts := strings.Split(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
	cur := "/"
	for i := 0; i < len(parts); i++ {
		if parts[i] == "" {
			continue
		}
		next := path.Join(cur, parts[i])
		typ, link, ok := fs(next)
		if !ok {
			return 0, false
		}
		if typ != image.Symlink {
			if i < len(parts)-1 && typ != image.Directory {
				return 0, false
			}
			cur = next
			continue
		}
		if link == "" {
			return image.Regular, true // a symlink the base holds, target unknown
		}
		if links++; links > maxLinks {
			return 0, false
		}
		base := cur
		if path.IsAbs(link) {
			base = "/"
		}
		rest := append(strings.Split(strings.TrimPrefix(path.Clean(path.Join(base, link)), "/"), "/"), parts[i+1:]...)
		parts, i, cur = rest, -1, "/"
	}
	if cur == "/" {
		return image.Directory, true
	}
	typ, _, _ := fs(cur)
	return typ, true
}

// initArg returns a Linux guest's init, the first process arg, and the
// field it comes from, or "" when the image has no command.
func initArg(r *args.Resolved, cfg image.Image) (arg, field string) {
	switch {
	case len(r.Entrypoint) > 0:
		return r.Entrypoint[0], "entrypoint[0]"
	case len(r.Cmd) > 0 && r.CommandField != "" && !strings.HasPrefix(r.CommandField, "cmd"):
		return r.Cmd[0], r.CommandField
	case len(r.Cmd) > 0:
		return r.Cmd[0], "cmd[0]"
	case len(cfg.Config.Entrypoint) > 0:
		return cfg.Config.Entrypoint[0], "the base's Entrypoint"
	case len(cfg.Config.Cmd) > 0:
		return cfg.Config.Cmd[0], "the base's Cmd"
	}
	return "", ""
}

// checkInit checks that a Linux guest's init is a regular file (or a link
// to one) in the rootfs it boots from, when bunix builds or can read that
// rootfs: the initrd or block image it builds, a prebuilt newc initrd, or,
// for a raw rootfs, the image's own files. Without it the guest panics at
// boot ("No working init found").
func checkInit(j *job, b *base) error {
	r := j.r
	if r.Settings[urunc.UnikernelType] != "linux" {
		return nil
	}
	arg, field := initArg(r, *j.img)
	if arg == "" {
		return nil
	}
	init := arg
	if !path.IsAbs(init) {
		init = "/" + init // the kernel runs init from /
	}
	var fs fsView
	var what string
	switch {
	case j.plan != nil && j.plan.rf.From == nil && (j.plan.rf.Type == urunc.RootfsInitrd || r.Settings[urunc.BlkMntPoint] == "/"):
		fs, what = treeView(j.plan.tree), "the "+j.plan.rf.Type+" bunix builds from rootfs.include"
	case j.plan != nil && j.plan.rf.From != nil && j.plan.rf.Type == urunc.RootfsInitrd:
		entries, err := readNewc(j.plan.rf.From.Source)
		if err != nil {
			return nil // gzipped, or not readable as newc: not checked
		}
		fs, what = treeView(entries), "the prebuilt initrd "+strconv.Quote(j.plan.rf.From.Source)+" (rootfs.from)"
	case r.Settings[urunc.MountRootfs] == "true" && j.plan == nil && r.Settings[urunc.Initrd] == "":
		fs, what = imageView(j, b), "the image's own files, which a raw rootfs hands the guest"
	default:
		return nil
	}
	if err := checkProgram(r, fs, what, "init", init, arg, field); err != nil {
		return err
	}
	// urunit runs the next arg, which must be there too.
	if arg == args.UrunitPath {
		app, field := "", ""
		switch {
		case len(r.Entrypoint) > 1:
			app, field = r.Entrypoint[1], "entrypoint[0]" // the user's, before /urunit
		case len(r.Cmd) > 0:
			app, field = r.Cmd[0], "cmd[0]"
		}
		if path.IsAbs(app) {
			return checkProgram(r, fs, what, "program urunit runs,", app, app, field)
		}
	}
	return nil
}

// checkProgram checks that p (written arg, in field) is a program in fs,
// the rootfs what describes; role names it in messages.
func checkProgram(r *args.Resolved, fs fsView, what, role, p, arg, field string) error {
	typ, ok := lookUp(fs, p)
	where := r.Where(field)
	if strings.HasPrefix(field, "the base") {
		where, field = r.File, "init"
	}
	switch {
	case !ok:
		return &args.FieldError{Where: where, Field: field, Value: strconv.Quote(arg),
			Reason: fmt.Sprintf("the linux guest's %s %s is not in its rootfs, %s: the guest would fail at boot (\"No working init found\", or urunit finding no program); put the program there, or name one that is", role, p, what)}
	case typ != image.Regular:
		return &args.FieldError{Where: where, Field: field, Value: strconv.Quote(arg),
			Reason: fmt.Sprintf("the linux guest's %s %s is a %s in its rootfs, %s, not a program", role, p, typ, what)}
	}
	return nil
}

// imageView looks paths up in the image's own files: its copies, then its
// base's.
func imageView(j *job, b *base) fsView {
	var entries []image.Entry
	for _, l := range j.layers {
		entries = append(entries, l.Entries...)
	}
	tree := treeView(entries)
	return func(p string) (image.Type, string, bool) {
		if typ, link, ok := tree(p); ok {
			return typ, link, ok
		}
		if b != nil {
			typ, ok := b.img.Files[p]
			return typ, "", ok
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Path, p+"/") {
				return image.Directory, "", true
			}
		}
		return 0, "", false
	}
}

// maxNewcRecords bounds how many records readNewc reads.
const maxNewcRecords = 1 << 20

// readNewc reads the names, types and symlink targets of an uncompressed
// newc archive, parents added as directories.
func readNewc(p string) ([]image.Entry, error) {
	kind, err := rootfs.Detect(p)
	if err != nil || kind != rootfs.CPIO {
		return nil, errors.New("not a plain newc archive")
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rr := cpio.Newc.Reader(f)
	var out []image.Entry
	for n := 0; n < maxNewcRecords; n++ {
		rec, err := rr.ReadRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := path.Clean("/" + rec.Name)
		if name == "/" || rec.Name == cpio.Trailer {
			continue
		}
		e := image.Entry{Path: name}
		switch rec.Mode & cpio.S_IFMT {
		case cpio.S_IFDIR:
			e.Type = image.Directory
		case cpio.S_IFLNK:
			e.Type = image.Symlink
			target, err := io.ReadAll(io.LimitReader(io.NewSectionReader(rec.ReaderAt, 0, int64(rec.FileSize)), 4096))
			if err != nil {
				return nil, err
			}
			e.Linkname = string(target)
		case cpio.S_IFREG:
			e.Type = image.Regular
		default:
			continue
		}
		out = append(out, e)
	}
	// Later records win, as when the kernel unpacks them; parents not in
	// the archive are directories.
	byPath := map[string]image.Entry{}
	for _, e := range out {
		byPath[e.Path] = e
	}
	for _, e := range out {
		for d := path.Dir(e.Path); d != "/"; d = path.Dir(d) {
			if _, ok := byPath[d]; !ok {
				byPath[d] = image.Entry{Path: d, Type: image.Directory}
			}
		}
	}
	entries := make([]image.Entry, 0, len(byPath))
	for _, e := range byPath {
		entries = append(entries, e)
	}
	return entries, nil
}
