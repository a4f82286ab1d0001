package args

import (
	"encoding/base64"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/nubificus/bunix/internal/refname"
	"github.com/nubificus/bunix/pkg/urunc"
)

// FromArgs is a description's from field as written: the base image, an
// image file (Path) or an image in a registry pinned by digest (Ref,
// Digest, and Hash, the NAR hash of the pulled image, for Nix).
type FromArgs struct {
	Path   string
	Ref    string
	Digest string
	Hash   string
	// Insecure lets the pull talk plain HTTP to the registry.
	Insecure bool

	// attrs says that from was written as an attribute set.
	attrs bool
}

// From is the base image of a resolved description.
type From struct {
	// Path is the image file (docker-archive, oci-archive, OCI layout
	// directory), absolute; empty for a registry image.
	Path string
	// Ref is the registry image's reference without digest, e.g.
	// "unikraft.org/nginx:1.15", and Digest what pins it, "sha256:…".
	// Digest is empty for a reference written with a tag only, which the
	// build refuses, saying what the tag resolves to.
	Ref, Digest string
	// Hash, when given, is the NAR hash (SRI) the pulled image must have,
	// as Nix's fixed-output derivation checks it.
	Hash string
	// Insecure says that the registry is reached over plain HTTP (a
	// mirror off loopback without TLS).
	Insecure bool
	// Where is where from stands, for messages.
	Where string
}

// String names the base in messages.
func (f *From) String() string {
	if f.Path != "" {
		return f.Path
	}
	if f.Digest == "" {
		return f.Ref
	}
	return f.Ref + "@" + f.Digest
}

var (
	fromFields = []string{"ref", "digest", "hash", "insecure"}
)

// from decodes the from field: a string (a path when it starts with / or
// ., else a reference) or an attribute set { ref; digest; hash; insecure; }.
func (c *collector) from(v any) *FromArgs { return c.imageRef("from", v) }

// imageRef decodes an image named by field, as from is written.
func (c *collector) imageRef(field string, v any) *FromArgs {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		if strings.HasPrefix(v, "/") || strings.HasPrefix(v, ".") {
			return &FromArgs{Path: v}
		}
		return &FromArgs{Ref: v}
	case map[string]any:
		f := &FromArgs{attrs: true}
		for _, k := range sortedKeys(v) {
			c.imageKey(field, f, k, v[k])
		}
		// hash too, as lib.pullImage has it: the build checks what it
		// pulled against it, as nix-build does.
		for _, k := range []string{"ref", "digest", "hash"} {
			if _, ok := v[k]; !ok {
				c.add(field+"."+k, nil, "missing: an image in a registry is { ref = \"registry/repo:tag\"; digest = \"sha256:…\"; hash = \"sha256-…=\"; } (bunix prefetch REF prints it)")
			}
		}
		return f
	}
	c.add(field, v, "must be an image file (a path), a reference \"registry/repo:tag@sha256:…\" or { ref; digest; hash; }")
	return nil
}

// imageKey decodes the key k, of value v, of an image written { ref;
// digest; hash; insecure; } (the field named field) into f, and reports
// any other key.
func (c *collector) imageKey(field string, f *FromArgs, k string, v any) {
	switch k {
	case "ref":
		f.Ref = c.str(field+".ref", v)
	case "digest":
		f.Digest = c.str(field+".digest", v)
	case "hash":
		f.Hash = c.str(field+".hash", v)
	case "insecure":
		b, ok := v.(bool)
		if !ok {
			c.add(field+".insecure", v, "must be true or false")
		}
		f.Insecure = b
	default:
		c.add(field+"."+k, nil, "unknown field%s (known: %s)", suggest(k, fromFields), strings.Join(fromFields, ", "))
	}
}

// Base resolves and checks a's from field alone, before the rest of a can
// be resolved (a base's urunc settings are defaults for a's annotations):
// nil when a has no base.
func (a *Args) Base() (*From, error) {
	// A from that did not decode is reported now, with the other problems
	// found while decoding: the base must not be opened half-described.
	for _, f := range a.badFields {
		if related(f, "from") {
			return nil, (&collector{a: a, errs: slices.Clone(a.decodeErrs)}).err()
		}
	}
	if a.From == nil {
		return nil, nil
	}
	c := &collector{a: a}
	f := a.resolveFrom(c)
	if err := c.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// resolveFrom checks the from field and returns the base it names.
func (a *Args) resolveFrom(c *collector) *From { return a.resolveImage(c, "from", a.From) }

// resolveImage checks f, the image field names, and returns it resolved.
func (a *Args) resolveImage(c *collector, field string, f *FromArgs) *From {
	out := &From{Where: where(a.File, a.positions, field)}
	if f.Path != "" {
		switch {
		case strings.IndexByte(f.Path, 0) >= 0:
			c.add(field, f.Path, "must not contain a NUL byte")
		case filepath.IsAbs(f.Path):
			out.Path = filepath.Clean(f.Path)
		default:
			out.Path = filepath.Join(a.Root, f.Path)
		}
		return out
	}
	// A string: "registry/repo:tag@sha256:…"; an attribute set: ref and
	// digest apart.
	refField, digestField := field+".ref", field+".digest"
	ref, digest := f.Ref, f.Digest
	if !f.attrs {
		refField, digestField = field, field
		ref, digest, _ = strings.Cut(ref, "@")
	}
	if strings.Contains(ref, "@") {
		c.add(refField, f.Ref, "must not carry a digest: give it in %s.digest", field)
		return nil
	}
	r, err := name.ParseReference(ref)
	if err != nil || ref == "" {
		reason := "empty"
		if err != nil {
			reason = errText(err)
		}
		c.add(refField, f.Ref, "not a valid image reference (want registry/repo:tag): %s", reason)
		return nil
	}
	if p := refname.Problem(r.Context()); p != "" {
		c.add(refField, f.Ref, "not a valid image reference (want registry/repo:tag): %s", p)
		return nil
	}
	if digest != "" && !refname.Digest(digest) {
		c.add(digestField, digest, "not a digest: want sha256: and 64 lower-case hex digits")
		return nil
	}
	if f.Hash != "" && !isSRISHA256(f.Hash) {
		c.add(field+".hash", f.Hash, "not a Nix hash: want sha256- and the base64 of 32 bytes, 44 characters (bunix prefetch prints it)")
	}
	out.Ref, out.Digest, out.Insecure = ref, digest, f.Insecure
	if isSRISHA256(f.Hash) {
		out.Hash = f.Hash
	}
	return out
}

// Monitor returns the hypervisor a's annotations give (short or full key),
// "" when they give none: it says which image of a Unikraft catalog index
// (one per monitor) a base is.
func (a *Args) Monitor() string {
	_, v, _ := a.annotation(urunc.Hypervisor)
	return v
}

// WithDefault returns a copy of a whose annotation key (a short key) is
// value when a gives none, in its short or full form, or gives it empty;
// origin says where the value comes from, for messages. ok says that the
// value was taken.
func (a *Args) WithDefault(key, value, origin string) (out *Args, ok bool) {
	if _, v, given := a.annotation(key); given && v != "" {
		return a, false
	}
	b := *a
	b.Annotations = maps.Clone(a.Annotations)
	if b.Annotations == nil {
		b.Annotations = map[string]string{}
	}
	delete(b.Annotations, urunc.Prefix+key)
	b.Annotations[key] = value
	b.positions = maps.Clone(a.positions)
	if b.positions == nil {
		b.positions = map[string]string{}
	}
	b.positions["annotations."+key] = origin
	return &b, true
}

// isSRISHA256 reports whether s is an SRI sha256 hash, "sha256-" and the
// base64 of 32 bytes.
func isSRISHA256(s string) bool {
	b64, ok := strings.CutPrefix(s, "sha256-")
	if !ok {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	return err == nil && len(b) == 32
}

// SetsCommand reports whether a gives the command itself: entrypoint, cmd
// or the cmdline annotation. Then it replaces a base image's Entrypoint
// and Cmd both.
func (a *Args) SetsCommand() bool {
	_, _, cmdline := a.annotation(urunc.Cmdline)
	return a.Entrypoint != nil || a.Cmd != nil || cmdline
}

// WithBaseSettings returns a copy of a whose annotations take settings (the
// urunc settings a base image carries, by short key) as defaults: a key a
// sets, in its short or full form, keeps a's value. useDMBlock and
// mountRootfs count as one key. Messages about an inherited value say it
// comes from base (its path or reference). command is the base's
// Entrypoint and Cmd, which is the image's when a sets none: Resolve then
// does not warn that the image has no command, and checks its words as it
// checks a's own.
func (a *Args) WithBaseSettings(settings map[string]string, base string, command []string) *Args {
	out := *a
	out.baseCommand, out.base = command, base
	out.Annotations = map[string]string{}
	out.positions = maps.Clone(a.positions)
	if out.positions == nil {
		out.positions = map[string]string{}
	}
	given := map[string]bool{}
	for k, v := range a.Annotations {
		out.Annotations[k] = v
		short := strings.TrimPrefix(k, urunc.Prefix)
		given[short] = true
		if short == urunc.UseDMBlock || short == urunc.MountRootfs {
			given[urunc.UseDMBlock], given[urunc.MountRootfs] = true, true
		}
	}
	// A command given as entrypoint or cmd is the cmdline too: the base's
	// must not contradict it.
	if a.Entrypoint != nil || a.Cmd != nil {
		given[urunc.Cmdline] = true
	}
	for k, v := range settings {
		if !given[k] && urunc.IsKey(k) {
			out.Annotations[k] = v
			out.positions["annotations."+k] = "the base " + base + " (its label " + urunc.Prefix + k + ")"
		}
	}
	return &out
}

// ImageSource is a copy whose source lies in an image: Path, a file or a
// directory in Image, goes where the copy Field says.
type ImageSource struct {
	// Field names the copy, e.g. "contents[0]".
	Field string
	// Image is the image, resolved as from is.
	Image *From
	// Path is the absolute, clean path in the image; "/" for all of it.
	Path string
	// Target is where the copy puts it.
	Target string
}

// ImageSources resolves the copies of a (contents and rootfs.include
// entries) that take their source from an image, or reports what is
// wrong with them, each a FieldError.
func (a *Args) ImageSources() ([]ImageSource, error) {
	c := &collector{a: a}
	var out []ImageSource
	each := func(list string, cs []Content) {
		for i, ct := range cs {
			if ct.Image == nil {
				continue
			}
			field := ct.Field
			if field == "" {
				field = fmt.Sprintf("%s[%d]", list, i)
			}
			img := a.resolveImage(c, field+".image", ct.Image)
			switch {
			case !path.IsAbs(ct.Source) || path.Clean(ct.Source) != ct.Source:
				c.add(field+".source", ct.Source, "a path in the image must be absolute and clean (e.g. \"/urunit\", or \"/\" for all of it)")
			case img != nil && img.Path == "" && img.Digest == "":
				c.add(field+".image", ct.Image.Ref, "a tag alone is not reproducible: pin it by digest, { ref; digest; hash; } (bunix prefetch REF prints it)")
			case img != nil:
				out = append(out, ImageSource{Field: field, Image: img, Path: ct.Source, Target: ct.Target})
			}
		}
	}
	each("contents", a.Contents)
	if a.Rootfs != nil {
		each("rootfs.include", a.Rootfs.Include)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// WithExtracted returns a copy of a whose copies out of an image take
// their source from the file system instead: extracted maps each such
// copy's field to the copies that replace it (one, or one per entry of
// an image copied to /).
func (a *Args) WithExtracted(extracted map[string][]Content) *Args {
	out := *a
	swap := func(list string, cs []Content) []Content {
		var swapped []Content
		for i, ct := range cs {
			field := ct.Field
			if field == "" {
				field = fmt.Sprintf("%s[%d]", list, i)
			}
			if r, ok := extracted[field]; ok && ct.Image != nil {
				swapped = append(swapped, r...)
				continue
			}
			swapped = append(swapped, ct)
		}
		return swapped
	}
	out.Contents = swap("contents", a.Contents)
	if a.Rootfs != nil {
		rf := *a.Rootfs
		rf.Include = swap("rootfs.include", a.Rootfs.Include)
		out.Rootfs = &rf
	}
	return &out
}

// urunitImage decodes urunit = { ref; digest; hash; insecure; }, the
// image that holds /urunit, pinned by digest as from is; a builder spec
// (spec) gives { image; } instead, the image Nix pulled.
func (c *collector) urunitImage(v map[string]any, spec bool) *FromArgs {
	f := &FromArgs{attrs: true}
	for _, k := range sortedKeys(v) {
		if k == "image" && spec {
			f.Path = c.str("urunit.image", v[k])
		} else {
			c.imageKey("urunit", f, k, v[k])
		}
	}
	if f.Path != "" {
		return f
	}
	switch {
	case f.Ref == "":
		c.add("urunit.ref", nil, "missing: an image holding /urunit is { ref = \"registry/repo:tag\"; digest = \"sha256:…\"; hash = \"sha256-…=\"; } (bunix prefetch REF prints it)")
	case !refname.Digest(f.Digest):
		c.add("urunit.digest", f.Digest, "must be sha256: and 64 lower-case hex digits: urunit is pinned by digest (bunix prefetch %s prints it)", f.Ref)
	case !isSRISHA256(f.Hash):
		// As from's: the build checks what it pulled against it, as
		// nix-build does.
		c.add("urunit.hash", f.Hash, "must be the Nix hash of the image, sha256- and the base64 of 32 bytes (bunix prefetch %s prints it)", f.Ref)
	default:
		if t, err := name.NewTag(f.Ref); err != nil {
			c.add("urunit.ref", f.Ref, "not a valid image reference: %s", errText(err))
		} else if p := refname.Problem(t.Context()); p != "" {
			c.add("urunit.ref", f.Ref, "not a valid image reference: %s", p)
		}
	}
	return f
}
