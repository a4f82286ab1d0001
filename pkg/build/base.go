package build

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/urunc"
)

// base is the base image of a description, opened.
type base struct {
	from *args.From
	file *image.File
	img  *image.Base
	// pulled is the temporary layout a registry base was pulled to, "" for
	// an image file.
	pulled string
}

// close closes the base's file and removes what was pulled.
func (b *base) close() {
	b.file.Close()
	if b.pulled != "" {
		os.RemoveAll(b.pulled)
	}
}

// BaseError is a base image that cannot be used: a file that is not an
// image, a corrupt layer, a platform it lacks, a registry that refuses. It
// is the user's input, not a failure of bunix.
type BaseError struct {
	// Where and Field say where the from field stands.
	Where, Field string
	// Base names the base: its path or reference.
	Base string
	Err  error
}

func (e *BaseError) Error() string {
	return fmt.Sprintf("%s: %s = %q: %v", e.Where, e.Field, e.Base, e.Err)
}

// Unwrap returns the underlying error.
func (e *BaseError) Unwrap() error { return e.Err }

// openBase opens the base image a names, if any, for the architecture a
// asks for and the hypervisor it gives (image.ChoosePlatform: a Unikraft
// catalog index holds one image per monitor): an image file as it is, a
// registry image pulled by digest into a temporary directory under
// tempDir.
func openBase(ctx context.Context, a *args.Args, tempDir string, ropts []registry.Option) (*base, error) {
	from, err := a.Base()
	if err != nil || from == nil {
		return nil, err
	}
	fail := func(err error) error {
		return &BaseError{Where: from.Where, Field: "from", Base: from.String(), Err: err}
	}
	want := wantOf(a)
	b := &base{from: from}
	b.file, b.pulled, err = openImage(ctx, from, "from", want, tempDir, ropts, fail)
	if err != nil {
		return nil, err
	}
	var opts []image.BaseOption
	if f := a.WrittenFormat(); f != "" {
		opts = append(opts, image.WrittenAs(f))
	}
	if b.img, err = image.OpenBase(b.file, from.String(), want, opts...); err != nil {
		b.close()
		return nil, imageError(from, fail, err)
	}
	return b, nil
}

// wantOf says which image of an index a takes: for its architecture and
// the hypervisor it gives.
func wantOf(a *args.Args) image.Want {
	want := image.Want{Architecture: args.DefaultArchitecture, Monitor: a.Monitor()}
	if v, ok := urunc.Architectures[a.Architecture]; ok {
		want.Architecture = v
	}
	return want
}

// openImage opens the image from (the field named field) names: an image
// file as it is, a registry image pulled by digest, for want, into a
// temporary directory under tempDir (pulled, which the caller removes).
// fail makes an error of the user's input.
func openImage(ctx context.Context, from *args.From, field string, want image.Want, tempDir string, ropts []registry.Option, fail func(error) error) (f *image.File, pulled string, err error) {
	if from.Insecure {
		ropts = append(slices.Clip(ropts), registry.Insecure())
	}
	path := from.Path
	if path == "" {
		if from.Digest == "" {
			d, err := registry.Resolve(ctx, from.Ref, ropts...)
			if err != nil {
				return nil, "", pullError(from, field, fail, err)
			}
			return nil, "", fail(fmt.Errorf("a tag alone is not reproducible: it resolves to %s today; pin it: \"%s@%s\", or { ref = %q; digest = %q; hash = ...; } (bunix prefetch %s prints it)", d, from.Ref, d, from.Ref, d, from.Ref))
		}
		if pulled, err = os.MkdirTemp(tempDir, ".bunix-base-*"); err != nil {
			return nil, "", fmt.Errorf("creating a directory to pull %s into: %w", from, err)
		}
		path = pulled + "/image"
		if err := registry.Pull(ctx, from.Ref, from.Digest, want, path, ropts...); err != nil {
			os.RemoveAll(pulled)
			return nil, "", pullError(from, field, fail, err)
		}
		// nix-build checks what it pulled against hash (a fixed-output
		// derivation): so does the CLI, with the same verdict.
		if from.Hash != "" {
			got, err := registry.NARHash(path)
			if err != nil {
				os.RemoveAll(pulled)
				return nil, "", fmt.Errorf("pulling %s: %w", from, err)
			}
			if got != from.Hash {
				os.RemoveAll(pulled)
				return nil, "", fail(&registry.HashMismatch{Specified: from.Hash, Got: got})
			}
		}
	}
	// A layout bunix built in Nix links its blobs into the store.
	if f, err = image.Open(path, image.FollowStoreLinks(image.NixStoreDir)); err != nil {
		if pulled != "" {
			os.RemoveAll(pulled)
		}
		return nil, "", imageError(from, fail, err)
	}
	return f, pulled, nil
}

// imageError is err, from reading the image from names, as the user's
// error (fail) when the image is bad or missing, else as a failure.
func imageError(from *args.From, fail func(error) error, err error) error {
	var inv *image.InvalidError
	if errors.As(err, &inv) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
		return fail(err)
	}
	return fmt.Errorf("reading the image %s: %w", from, err)
}

// fetchCopies returns a with every copy out of an image fetched: its
// contents and rootfs.include entries with an image read files instead,
// and its urunit image becomes the urunit binary. Each image is opened as
// from is, and the path the copy names is extracted (copyOut) into a
// temporary directory under tempDir, which done removes. bunix build and
// the rootfs layer's builder both call it, so both copy the same files.
func fetchCopies(ctx context.Context, a *args.Args, tempDir string, ropts []registry.Option) (_ *args.Args, done func(), err error) {
	done = func() {}
	srcs, err := a.ImageSources()
	if err != nil {
		return a, done, err
	}
	u := a.UrunitImage
	hasUrunit := u != nil && (u.Path != "" || u.Digest != "") // not pinned: Resolve reports it
	if len(srcs) == 0 && !hasUrunit {
		return a, done, nil
	}
	dir, err := os.MkdirTemp(tempDir, ".bunix-sources-*")
	if err != nil {
		return nil, done, fmt.Errorf("creating a directory to extract files into: %w", err)
	}
	done = func() { os.RemoveAll(dir) }
	fail := func(err error) (*args.Args, func(), error) {
		done()
		return nil, func() {}, err
	}
	want := wantOf(a)
	extracted := map[string][]args.Content{}
	for i, s := range srcs {
		p, err := copyOut(ctx, s.Image, s.Field+".image", s.Path, want, filepath.Join(dir, strconv.Itoa(i)), tempDir, ropts)
		if err != nil {
			return fail(err)
		}
		if s.Target == "/" {
			if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
				return fail(copyError(s.Image, s.Field+".image", fmt.Errorf("%s is a file: only a directory can be copied to /; give the file a path as target", s.Path)))
			}
		}
		// A tree copied to the root is one copy of the whole tree, its
		// symlinks kept as symlinks (/bin -> usr/bin), never followed.
		extracted[s.Field] = []args.Content{{Source: p, Target: s.Target, Field: s.Field, Extracted: true, Key: s.Image.String() + ":" + s.Path}}
	}
	if len(extracted) > 0 {
		a = a.WithExtracted(extracted)
	}
	if hasUrunit {
		from := &args.From{Path: u.Path, Ref: u.Ref, Digest: u.Digest, Hash: u.Hash, Insecure: u.Insecure, Where: a.Where("urunit")}
		want.Monitor = "" // urunit is a Linux binary, whatever the monitor
		p, err := copyOut(ctx, from, "urunit", args.UrunitPath, want, filepath.Join(dir, "urunit"), tempDir, ropts)
		if err != nil {
			return fail(err)
		}
		// urunit is the guest's init: a regular file, made executable.
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			return fail(copyError(from, "urunit", fmt.Errorf("%s is not a regular file in the image", args.UrunitPath)))
		}
		if err := os.Chmod(p, 0o755); err != nil {
			return fail(fmt.Errorf("making %s executable: %w", p, err))
		}
		withUrunit := *a
		withUrunit.SetUrunit(p, from.String())
		a = &withUrunit
	}
	return a, done, nil
}

// copyOut extracts p, a path in the image from (the field named field)
// names, opened for want as from is, into out, a new directory, and
// returns where p is below it (image.Extract).
func copyOut(ctx context.Context, from *args.From, field, p string, want image.Want, out, tempDir string, ropts []registry.Option) (string, error) {
	fail := func(err error) error { return copyError(from, field, err) }
	f, pulled, err := openImage(ctx, from, field, want, tempDir, ropts, fail)
	if err != nil {
		return "", err
	}
	err = os.Mkdir(out, 0o755)
	if err == nil {
		var img v1.Image
		if img, err = f.Choose(want); err == nil {
			err = image.Extract(ctx, img, p, out)
		}
	}
	f.Close()
	if pulled != "" {
		os.RemoveAll(pulled)
	}
	if err != nil {
		return "", imageError(from, func(err error) error { return fail(fmt.Errorf("%s: %w", p, err)) }, err)
	}
	return image.ExtractedPath(out, p), nil
}

// copyError is err, about the image from that the field named field
// copies out of, as the user's error.
func copyError(from *args.From, field string, err error) error {
	return &BaseError{Where: from.Where, Field: field, Base: from.String(), Err: err}
}

// settings returns the urunc settings the base carries, by short key: its
// Labels, overridden by its manifest annotations (urunc's precedence).
func (b *base) settings() map[string]string {
	s := map[string]string{}
	for _, m := range []map[string]string{b.img.Config.Labels, b.img.Annotations} {
		for k, v := range m {
			if short, ok := strings.CutPrefix(k, urunc.Prefix); ok && urunc.IsKey(short) {
				s[short] = v
			}
		}
	}
	return s
}

// inherit returns the config of an image on b: the base's Env,
// Entrypoint, Cmd, WorkingDir, User and Labels (without its urunc
// settings), overridden by what the description sets: its env by name, its
// urunc labels, its workingDir and user, and Entrypoint and Cmd both when it gives a command (setsCmd:
// entrypoint, cmd or the cmdline), as a Dockerfile's ENTRYPOINT resets CMD.
func (b *base) inherit(own v1.Config, setsCmd bool) v1.Config {
	bc := b.img.Config
	cfg := v1.Config{
		Env:        mergeEnv(bc.Env, own.Env),
		Entrypoint: bc.Entrypoint,
		Cmd:        bc.Cmd,
		WorkingDir: bc.WorkingDir,
		User:       bc.User,
		Labels:     map[string]string{},
	}
	if own.WorkingDir != "" {
		cfg.WorkingDir = own.WorkingDir
	}
	if own.User != "" {
		cfg.User = own.User
	}
	for k, v := range bc.Labels {
		if !strings.HasPrefix(k, urunc.Prefix) {
			cfg.Labels[k] = v
		}
	}
	maps.Copy(cfg.Labels, own.Labels)
	if setsCmd {
		cfg.Entrypoint, cfg.Cmd = own.Entrypoint, own.Cmd
	}
	return cfg
}

// mergeEnv returns the base's environment with own's variables in place
// of the base's of the same name, in the base's order, then own's other
// variables, in their order.
func mergeEnv(base, own []string) []string {
	mine := map[string]string{}
	for _, e := range own {
		name, _, _ := strings.Cut(e, "=")
		mine[name] = e
	}
	var out []string
	done := map[string]bool{}
	for _, e := range base {
		name, _, _ := strings.Cut(e, "=")
		if o, ok := mine[name]; ok {
			e = o
			done[name] = true
		}
		out = append(out, e)
	}
	for _, e := range own {
		if name, _, _ := strings.Cut(e, "="); !done[name] {
			out = append(out, e)
		}
	}
	return out
}

// Where kraft pkg puts a Unikraft catalog image's kernel and initrd.
const (
	catalogKernel = "/unikraft/bin/kernel"
	catalogInitrd = "/unikraft/bin/initrd"
)

// catalogDefaults returns a with the kernel of b, when b is a Unikraft
// catalog image (kraft pkg puts it at /unikraft/bin/kernel) and neither a
// nor b's labels name a binary: that kernel as binary, and
// /unikraft/bin/initrd as initrd when b has one and a gives none. note
// hears what was taken.
func (b *base) catalogDefaults(a *args.Args, note func(string)) *args.Args {
	if t, ok := b.img.Files[catalogKernel]; !ok || t != image.Regular {
		return a
	}
	origin := "the base " + b.from.String() + " (the kernel kraft pkg puts at " + catalogKernel + ")"
	a, ok := a.WithDefault(urunc.Binary, catalogKernel, origin)
	if !ok {
		return a
	}
	took := "binary = " + catalogKernel
	if t, ok := b.img.Files[catalogInitrd]; ok && t == image.Regular {
		var withInitrd bool
		if a, withInitrd = a.WithDefault(urunc.Initrd, catalogInitrd, "the base "+b.from.String()+" (the initrd kraft pkg puts at "+catalogInitrd+")"); withInitrd {
			took += " and initrd = " + catalogInitrd
		}
	}
	note(fmt.Sprintf("%s: annotations give no binary: bunix uses the Unikraft catalog image's %s, from the base %s", a.File, took, b.from))
	return a
}

// command is the command the base gives the process: its Entrypoint,
// then its Cmd.
func (b *base) command() []string {
	return slices.Concat(b.img.Config.Entrypoint, b.img.Config.Cmd)
}

// check returns what is wrong with p, a path that no copy provides, as
// binary, initrd or block on b: "" when the base has a regular file there.
func (b *base) check(p string) string {
	switch t, ok := b.img.Files[p]; {
	case !ok:
		return fmt.Sprintf("neither the image's files nor the base %s have a file at this path", b.from)
	case t != image.Regular:
		return fmt.Sprintf("must name a regular file, but the base %s has a %s there", b.from, t)
	}
	return ""
}

// pullError is err, from pulling the image of field, as a BaseError (bad
// input) when the registry refused the request, else as a failure (the
// registry down).
func pullError(from *args.From, field string, fail func(error) error, err error) error {
	if registry.IsRefused(err) {
		return fail(err)
	}
	return fmt.Errorf("%s: %s = %q: %w", from.Where, field, from, err)
}
