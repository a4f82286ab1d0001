package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/urunc"
)

// MaxSourceSize is the largest Containerfile or bunnyfile convert reads.
const MaxSourceSize = 1 << 20

// ReadSource reads the Containerfile or bunnyfile at name: a regular file
// (a FIFO or a device is refused before it is opened, so convert never
// blocks on one) of at most MaxSourceSize bytes. What is wrong with the
// file is an *Error.
func ReadSource(name string) ([]byte, error) {
	data, err := filekind.ReadRegular(name, MaxSourceSize)
	var nr *filekind.NotRegularError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if li, lerr := os.Lstat(name); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
			return nil, &Error{Problems: []string{fmt.Sprintf("%s is a dangling symbolic link", name)}}
		}
		return nil, &Error{Problems: []string{fmt.Sprintf("%s: no such file", name)}}
	case errors.As(err, &nr):
		return nil, &Error{Problems: []string{fmt.Sprintf("%s is %s: convert reads regular files only", name, filekind.Of(nr.Mode))}}
	case errors.Is(err, filekind.ErrTooLarge):
		return nil, &Error{Problems: []string{fmt.Sprintf("%s is larger than 1 MiB: not a Containerfile or bunnyfile convert reads", name)}}
	case badPath(err) || errors.Is(err, fs.ErrPermission):
		return nil, &Error{Problems: []string{fmt.Sprintf("%s: %v", clip(name), err)}}
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return data, nil
}

// Convert reads a bunnyfile or a Containerfile (whichever src is: a
// bunnyfile has a "version:" line) found at file, and returns it as a
// description named name:tag whose sources are relative to outDir, the
// directory the args.nix will live in. The build context is file's
// directory: a source outside it, by its path or through a symlink, is an
// error, as it is to Docker's builder; so is an ADD of an archive, which
// Docker would extract.
//
// A base image (FROM registry/repo:tag, a bunnyfile's kernel.from) is
// pinned by the resolver WithResolver gives; without one it is an error.
func Convert(src []byte, file, outDir, name, tag string, opts ...ConvertOption) (*Description, error) {
	var o convertOptions
	for _, opt := range opts {
		opt(&o)
	}
	release := ""
	target, err := urunc.ParseRelease(urunc.DefaultReleaseName)
	if err != nil {
		return nil, err
	}
	if o.urunc != "" {
		if target, err = urunc.ParseRelease(o.urunc); err != nil {
			return nil, err
		}
		release = target.String()
	}
	// A name or tag the build would refuse is refused before anything is
	// read or pulled.
	if p := nameProblem(name, tag); p != "" {
		return nil, &Error{Problems: []string{p}}
	}
	// No value bunix writes can hold a NUL byte (a Nix string cannot; the
	// build refuses one in JSON or HCL): refuse it here, where the line is
	// known, rather than write an args.nix that does not parse.
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return nil, &Error{Problems: []string{fmt.Sprintf("%s:%d: holds a NUL byte: not a text file", file, bytes.Count(src[:i], []byte("\n"))+1)}}
	}
	// Nor can JSON or HCL hold bytes that are not UTF-8: their writers
	// would change them to U+FFFD, where args.nix would keep them.
	if i := msg.InvalidUTF8(src); i >= 0 {
		return nil, &Error{Problems: []string{fmt.Sprintf("%s:%d: not valid UTF-8 (byte %#x): not a text file bunix reads", file, bytes.Count(src[:i], []byte("\n"))+1, src[i])}}
	}
	var d *Description
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
	bc, err := openContext(filepath.Dir(absFile))
	if err != nil {
		return nil, err
	}
	defer bc.root.Close()
	var bad problems
	d.Files = bc.directories(d.Files)
	all := d.Files
	if d.Rootfs != nil {
		all = append(append([]Copy(nil), all...), d.Rootfs.Include...)
		if d.Rootfs.From != "" {
			all = append(all, Copy{Source: d.Rootfs.From, Where: d.Rootfs.FromWhere})
		}
	}
	for _, c := range all {
		if c.Image != "" {
			continue // a path in an image, not in the context
		}
		msg, err := bc.check(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Where, err)
		}
		if msg != "" {
			bad.add("%s: %s", c.Where, msg)
		}
	}
	// Each image copied from is pinned as the base is, once.
	pinned := map[string]*Base{}
	var failure error
	pin := func(copies []Copy) {
		for i, c := range copies {
			if c.Image == "" {
				continue
			}
			if b, ok := pinned[c.Image]; ok {
				copies[i].Base = b
				continue
			}
			if o.resolve == nil {
				bad.add("%s: %s: an image needs resolving to its digest, which this conversion cannot do", c.Where, clip(c.Image))
				continue
			}
			b, err := o.resolve(c.Image, d.Annotations[urunc.Hypervisor])
			if err != nil && !registry.IsRefused(err) && failure == nil {
				// Not the file's problem: a registry out of reach.
				failure = fmt.Errorf("%s: %s: pinning the image: %w", c.Where, clip(c.Image), err)
			}
			if err != nil {
				bad.add("%s: %s: pinning the image: %v", c.Where, clip(c.Image), err)
				continue
			}
			pinned[c.Image], copies[i].Base = &b, &b
		}
	}
	pin(d.Files)
	if d.Rootfs != nil {
		pin(d.Rootfs.Include)
	}
	if failure != nil {
		return nil, failure
	}
	if d.From != "" {
		if o.resolve == nil {
			bad.add("%s: %s: a base image needs resolving to its digest, which this conversion cannot do", d.FromWhere, clip(d.From))
		} else if b, err := o.resolve(d.From, d.Annotations[urunc.Hypervisor]); err != nil {
			// What the registry refuses is the file's problem; a failure
			// to reach it (registry.IsNetworkFailure) or to store the image
			// is not.
			if !registry.IsRefused(err) {
				return nil, fmt.Errorf("%s: %s: pinning the base image: %w", d.FromWhere, clip(d.From), err)
			}
			bad.add("%s: %s: pinning the base image: %v", d.FromWhere, clip(d.From), err)
		} else {
			d.Base = &b
		}
	}
	// The release the image is for must run its guest on its monitor, or
	// the build refuses it.
	if p := target.Problem(d.Annotations[urunc.UnikernelType], d.Annotations[urunc.Hypervisor]); p != "" {
		bad.add("%s: %s (convert takes the release as --urunc RELEASE)", filepath.Base(file), p)
	}
	inherited := d.Base != nil && inheritEntrypoint(d, kind, *d.Base)
	if _, err := args.SplitCmdline(d.Annotations[urunc.Cmdline]); err != nil {
		// The build splits it into the process args and would refuse it.
		bad.add("%s: the cmdline %s cannot be split into words: %v", filepath.Base(file), quoted(d.Annotations[urunc.Cmdline]), err)
	} else if cl, ok := d.Annotations[urunc.Cmdline]; ok && len(d.Entrypoint)+len(d.Cmd) > 0 {
		if proc := slices.Concat(d.Entrypoint, d.Cmd); !args.CmdlineAgrees(cl, proc) {
			from := ""
			if inherited {
				from = fmt.Sprintf(" (its entrypoint %q is the base's ENTRYPOINT, which docker build keeps under a CMD)", d.Entrypoint)
			}
			bad.add("%s: the cmdline %s disagrees with the command %q%s (which urunc joins as %s): give the command once, or make them agree", filepath.Base(file), quoted(cl), proc, from, quoted(args.JoinArgs(proc)))
		}
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	rebase := func(copies []Copy) error {
		for i, c := range copies {
			if c.Image != "" {
				continue
			}
			if c.Source, err = relativeTo(outDir, bc.dir, c.Source); err != nil {
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
			if d.Rootfs.From, err = relativeTo(outDir, bc.dir, d.Rootfs.From); err != nil {
				return nil, err
			}
		}
	}
	// A Containerfile's COPY order does not matter to bunix: sort for a
	// stable file.
	sort.SliceStable(d.Files, func(i, j int) bool { return d.Files[i].Target < d.Files[j].Target })
	d.Name, d.Tag = name, tag
	d.Urunc = release
	from := kind + " " + filepath.Base(file)
	if filepath.Base(file) == kind {
		from = filepath.Base(file)
	}
	d.Comment = []string{fmt.Sprintf("Converted by `bunix convert` from %s.", from)}
	// Without a base to inherit them from, the labels are all urunc has:
	// say which are missing rather than leave the build to find out.
	if missing := missingAnnotations(d); d.Base == nil && len(missing) > 0 {
		list := "com.urunc.unikernel." + strings.Join(missing, ", com.urunc.unikernel.")
		d.Hints = append(d.Hints, fmt.Sprintf("Warning: %s sets no label %s,", from, list),
			"which urunc needs: add them to annotations before building (bunix init --help",
			"lists the guests and monitors urunc runs).")
		if o.warn != nil {
			o.warn(fmt.Sprintf("%s sets no label %s, which urunc needs: add them to the annotations of the args file before building", from, list))
		}
	}
	if w := rumprunWithoutFS(d, file); w != "" {
		d.Hints = append(d.Hints, "Warning: the rumprun guest gets no file system under urunc 0.7: set",
			"mountRootfs = \"true\" (the container's rootfs as its block device, at /data;",
			"needs a block snapshotter) or package a block image (rootfs.type = \"block\").")
		if o.warn != nil {
			o.warn(w)
		}
	}
	return d, nil
}

// missingAnnotations lists the keys urunc requires that d's labels do not
// set.
func missingAnnotations(d *Description) []string {
	var missing []string
	for _, k := range urunc.Required {
		if d.Annotations[k] == "" {
			missing = append(missing, k)
		}
	}
	return missing
}

// ConvertOption configures Convert.
type ConvertOption func(*convertOptions)

type convertOptions struct {
	resolve func(ref, monitor string) (Base, error)
	warn    func(string)
	urunc   string
}

// WithUrunc makes the args.nix say urunc = release, the oldest urunc
// release the image must run on; Convert refuses a release urunc.ParseRelease
// does not take.
func WithUrunc(release string) ConvertOption {
	return func(o *convertOptions) { o.urunc = release }
}

// WithWarnings has Convert hand warn each problem that does not stop the
// conversion but will trouble the image under urunc, e.g. a rumprun guest
// left without a file system. They are in the args.nix as comments too.
func WithWarnings(warn func(string)) ConvertOption {
	return func(o *convertOptions) { o.warn = warn }
}

// rumprunWithoutFS returns a warning when d describes a rumprun guest that
// gets no file system under urunc 0.7 (pun's README Containerfile, which
// gives no useDMBlock or mountRootfs): rumprun reads only a block device,
// and urunc gives it one only for mountRootfs = "true" or a block image.
func rumprunWithoutFS(d *Description, file string) string {
	if d.Annotations[urunc.UnikernelType] != "rumprun" || d.Rootfs != nil || d.Annotations[urunc.Block] != "" {
		return ""
	}
	for _, k := range []string{urunc.MountRootfs, urunc.UseDMBlock} {
		if v, err := strconv.ParseBool(d.Annotations[k]); err == nil && v {
			return ""
		}
	}
	return fmt.Sprintf("%s: the rumprun guest gets no file system under urunc 0.7: urunc gives rumprun one only as a block device; set the label com.urunc.unikernel.mountRootfs=true (the container's rootfs, mounted at /data; needs a block snapshotter such as devmapper) or package a block image (com.urunc.unikernel.block)", filepath.Base(file))
}

// inheritEntrypoint carries Docker's rule for a base's ENTRYPOINT and CMD
// over to a Containerfile on b, where a description that gives a command
// replaces both (so that the cmdline and the process args agree). A
// Containerfile that sets only CMD runs under the base's ENTRYPOINT, which
// is written out, and inheritEntrypoint reports that it was. One that sets
// only the cmdline label gets bunix's process args from it, not the base's
// command docker build would keep: a hint says so. A bunnyfile's cmd is
// bunny's own and is left as it is.
func inheritEntrypoint(d *Description, kind string, b Base) bool {
	if kind != "Containerfile" || d.Entrypoint != nil {
		return false
	}
	if _, ok := d.Annotations[urunc.Cmdline]; ok && d.Cmd == nil && len(b.Entrypoint)+len(b.Cmd) > 0 {
		d.Hints = append(d.Hints, fmt.Sprintf("The base's command, ENTRYPOINT %q and CMD %q, gives way to the cmdline label:", b.Entrypoint, b.Cmd),
			"bunix derives the process args from it, so that both agree (docker build would keep the base's).")
		return false
	}
	if d.Cmd == nil || len(b.Entrypoint) == 0 {
		return false
	}
	d.Entrypoint = b.Entrypoint
	d.Hints = append(d.Hints, "entrypoint is the base image's ENTRYPOINT, which Docker keeps under the Containerfile's CMD;",
		"bunix replaces both when a command is given, so convert wrote it out.")
	return true
}

// WithResolver has Convert pin a base image with resolve: its digest (of
// the index, when the registry serves one) and the NAR hash of the image
// lib.pullImage writes for monitor (the description's hypervisor, "" for
// none), as bunix prefetch computes them.
func WithResolver(resolve func(ref, monitor string) (Base, error)) ConvertOption {
	return func(o *convertOptions) { o.resolve = resolve }
}

// buildContext is the directory a Containerfile's or bunnyfile's sources
// are relative to, opened as an os.Root so that nothing resolves outside it.
type buildContext struct {
	dir  string
	real string // dir with its symlinks resolved
	root *os.Root
}

func openContext(dir string) (*buildContext, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the build context %s: %w", dir, err)
	}
	planned, err := os.Lstat(real)
	if err != nil {
		return nil, fmt.Errorf("opening the build context %s: %w", dir, err)
	}
	root, err := os.OpenRoot(real)
	if err != nil {
		return nil, fmt.Errorf("opening the build context %s: %w", dir, err)
	}
	// os.OpenRoot follows links in real's path: make sure it opened the
	// directory EvalSymlinks found, not one a link swapped in since.
	if fi, err := root.Stat("."); err != nil || filekind.IDOf(fi) != filekind.IDOf(planned) {
		root.Close()
		return nil, &filekind.ChangedError{Path: real, While: "the build context was read", Reason: "it is now another directory"}
	}
	return &buildContext{dir: dir, real: real, root: root}, nil
}

// check returns what is wrong with c's source, or "": it must lie inside the
// context, after symlinks too, and an ADD must not name an archive. A source
// that does not exist yet is left for the build to report. The error is a
// *filekind.ChangedError: the file read to tell an archive is not the one
// checked, swapped since (for a link, or another file).
func (bc *buildContext) check(c Copy) (string, error) {
	outside := "forbidden path outside the build context " + bc.dir
	src := filepath.FromSlash(c.Source)
	if filepath.IsAbs(src) {
		return outside + " (Docker reads absolute sources from the context too; write it relative to the context)", nil
	}
	if !filepath.IsLocal(src) {
		return outside, nil
	}
	fi, err := bc.root.Stat(src)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// os.Root refuses an escaping path or link before it looks for
		// the file, so this one is inside.
		return addArchive(c, nil)
	case err != nil:
		if bc.escapes(src) {
			return outside, nil
		}
		return fmt.Sprintf("reading it: %v", err), nil
	}
	if !fi.Mode().IsRegular() {
		return "", nil // a directory is copied, not extracted, by ADD too
	}
	// A source that is a link (inside the context, which os.Root keeps
	// to) is followed as checked; any other is opened following no link.
	flags := os.O_RDONLY | syscall.O_NONBLOCK
	if lfi, err := bc.root.Lstat(src); err == nil && lfi.Mode()&fs.ModeSymlink == 0 {
		flags |= syscall.O_NOFOLLOW
	}
	return addArchive(c, func() ([]byte, error) {
		filekind.Opening(filepath.Join(bc.real, src))
		f, err := bc.root.OpenFile(src, flags, 0)
		if err != nil {
			if lfi, lerr := bc.root.Lstat(src); flags&syscall.O_NOFOLLOW != 0 && lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 || bc.escapes(src) {
				return nil, &filekind.ChangedError{Path: filepath.Join(bc.dir, src), While: "the build context was read", Reason: "it is now a symbolic link"}
			}
			return nil, err
		}
		defer f.Close()
		if ofi, err := f.Stat(); err != nil || filekind.IDOf(ofi) != filekind.IDOf(fi) {
			return nil, &filekind.ChangedError{Path: filepath.Join(bc.dir, src), While: "the build context was read", Reason: "it is now another file"}
		}
		head := make([]byte, 512)
		n, err := io.ReadFull(f, head)
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = nil
		}
		return head[:n], err
	})
}

// directories returns copies with those of a Containerfile whose source is
// a directory of the context as Docker has them: the directory's contents
// go into the target as written (COPY conf /etc/ fills /etc, not
// /etc/conf), and into / as one copy per entry, since args.nix has no
// target for the image root.
func (bc *buildContext) directories(copies []Copy) []Copy {
	var out []Copy
	for _, c := range copies {
		if c.Image != "" {
			out = append(out, c)
			continue
		}
		fi, err := bc.root.Stat(filepath.FromSlash(c.Source))
		if c.into == "" || err != nil || !fi.IsDir() {
			out = append(out, c)
			continue
		}
		if c.into != "/" {
			c.Target = c.into
			out = append(out, c)
			continue
		}
		f, err := bc.root.Open(filepath.FromSlash(c.Source))
		if err != nil {
			out = append(out, c)
			continue
		}
		names, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			out = append(out, c)
			continue
		}
		slices.Sort(names)
		for _, n := range names {
			out = append(out, Copy{Source: path.Join(c.Source, n), Target: "/" + n, Where: c.Where, add: c.add})
		}
	}
	return out
}

// escapes reports whether src, relative to the context, resolves outside
// it (or cannot be resolved): it tells os.Root's refusal of an escaping
// path from its other errors.
func (bc *buildContext) escapes(src string) bool {
	r, err := filepath.EvalSymlinks(filepath.Join(bc.real, src))
	if err != nil {
		return true
	}
	rel, err := filepath.Rel(bc.real, r)
	return err != nil || !filepath.IsLocal(rel)
}

// archiveSuffixes are the names of the archives Docker's ADD extracts.
var archiveSuffixes = []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst", ".tzst"}

// archiveMagic are the file heads by which Docker's ADD recognises a
// (compressed) tar archive: gzip, bzip2, xz, zstd.
var archiveMagic = [][]byte{{0x1f, 0x8b}, []byte("BZh"), {0xfd, '7', 'z', 'X', 'Z', 0}, {0x28, 0xb5, 0x2f, 0xfd}}

// addArchive returns the problem with c when it is an ADD of an archive,
// judged by its name, and by its first bytes when head can read them. The
// error is head's *filekind.ChangedError.
func addArchive(c Copy, head func() ([]byte, error)) (string, error) {
	if !c.add {
		return "", nil
	}
	const msg = "Docker extracts this archive, bunix copies files as they are: COPY it to keep it packed, or extract it and COPY the files"
	for _, s := range archiveSuffixes {
		if strings.HasSuffix(strings.ToLower(c.Source), s) {
			return msg, nil
		}
	}
	if head == nil {
		return "", nil
	}
	b, err := head()
	var ce *filekind.ChangedError
	if errors.As(err, &ce) {
		return "", err
	}
	if err != nil {
		return fmt.Sprintf("reading it: %v", err), nil
	}
	for _, m := range archiveMagic {
		if bytes.HasPrefix(b, m) {
			return msg, nil
		}
	}
	if len(b) >= 262 && string(b[257:262]) == "ustar" {
		return msg, nil
	}
	return "", nil
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
	absOut, err := filepath.Abs(outDir)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(absOut, filepath.Join(context, src))
	if err != nil {
		return "", fmt.Errorf("locating %s from %s: %w", src, outDir, err)
	}
	return dotSlash(rel), nil
}
