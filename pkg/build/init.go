package build

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/nubificus/bunix/internal/filekind"
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
		entries, err := readNewc(j.plan.rf.From.Source, j.plan.kind)
		var bad *corruptNewcError
		if errors.As(err, &bad) {
			return j.plan.rf.From.Errorf("starts as a newc cpio archive but cannot be unpacked whole (%v): the kernel stops unpacking there, and the guest would miss what follows, its init perhaps; rebuild the archive", bad.err)
		}
		if err != nil {
			return nil // gzipped, too many records, or not readable: not checked
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

// readNewc reads the names, types and symlink targets of the uncompressed
// newc archive at p, of the kind planning detected, parents added as
// directories.
func readNewc(p string, kind rootfs.Kind) ([]image.Entry, error) {
	if kind != rootfs.CPIO {
		return nil, errors.New("not a plain newc archive")
	}
	f, fi, err := filekind.OpenRegular(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := newcEntries(io.NewSectionReader(f, 0, fi.Size()))
	if err != nil && !errors.Is(err, errTooManyRecords) {
		return nil, &corruptNewcError{err}
	}
	return entries, err
}

// corruptNewcError is a newc archive's record that the kernel could not
// unpack either: a header cut short, a bad field, a name or data past the
// end.
type corruptNewcError struct{ err error }

func (e *corruptNewcError) Error() string { return "a corrupt newc archive: " + e.err.Error() }

// errTooManyRecords is newcEntries' error for an archive of more than
// maxNewcRecords records, which is not read to its end, not corrupt.
var errTooManyRecords = fmt.Errorf("more than %d records", maxNewcRecords)

// newc header: magic and 13 eight-digit hex fields.
const newcHeaderLen = 110

// newcEntries reads the records of the newc archive r up to its trailer:
// each name at most 4095 bytes, a symlink target at most 4095, a file's
// size no more than what is left of r, at most maxNewcRecords records.
// Later records win, as when the kernel unpacks them; parents not in the
// archive are directories.
func newcEntries(r *io.SectionReader) ([]image.Entry, error) {
	byPath := map[string]image.Entry{}
	var order []string
	off := int64(0)
	for n := 0; ; n++ {
		if n == maxNewcRecords {
			return nil, errTooManyRecords
		}
		if off == r.Size() {
			break // no trailer, but an end at a record's: the kernel takes it
		}
		var hdr [newcHeaderLen]byte
		if _, err := r.ReadAt(hdr[:], off); errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("the file ends at %d bytes, inside the %d-byte header of the record at %d (or the padding before it)", r.Size(), newcHeaderLen, off)
		} else if err != nil {
			return nil, fmt.Errorf("record at %d: %w", off, err)
		}
		if hdr[0] == 0 {
			break // zero padding, which the kernel skips, to the end or another archive
		}
		if m := string(hdr[:6]); m != "070701" && m != "070702" {
			return nil, fmt.Errorf("record at %d: bad magic %q", off, m)
		}
		var fields [13]uint64
		for i := range fields {
			v, err := strconv.ParseUint(string(hdr[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("record at %d: field %d: %w", off, i, err)
			}
			fields[i] = v
		}
		mode, size, nameLen := fields[1], int64(fields[6]), int64(fields[11])
		if nameLen == 0 || nameLen > 4096 {
			return nil, fmt.Errorf("record at %d: name of %d bytes", off, nameLen)
		}
		name := make([]byte, nameLen)
		if _, err := r.ReadAt(name, off+newcHeaderLen); err != nil {
			return nil, fmt.Errorf("record at %d: name: %w", off, err)
		}
		data := round4(off + newcHeaderLen + nameLen)
		if size > r.Size()-data {
			return nil, fmt.Errorf("record at %d: %d bytes of data, past the end", off, size)
		}
		off = round4(data + size)
		s := strings.TrimRight(string(name), "\x00")
		if s == cpio.Trailer {
			break
		}
		e := image.Entry{Path: path.Clean("/" + s)}
		switch mode & cpio.S_IFMT {
		case cpio.S_IFDIR:
			e.Type = image.Directory
		case cpio.S_IFLNK:
			if size == 0 || size > 4095 {
				continue // no symlink the kernel makes
			}
			target := make([]byte, size)
			if _, err := r.ReadAt(target, data); err != nil {
				return nil, fmt.Errorf("record at %d: link: %w", off, err)
			}
			e.Type, e.Linkname = image.Symlink, string(target)
		case cpio.S_IFREG:
			e.Type = image.Regular
		default:
			continue
		}
		if e.Path == "/" {
			continue
		}
		if _, seen := byPath[e.Path]; !seen {
			order = append(order, e.Path)
		}
		byPath[e.Path] = e
	}
	for _, p := range order {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
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

func round4(n int64) int64 { return (n + 3) &^ 3 }
