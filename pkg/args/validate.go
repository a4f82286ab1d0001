package args

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/internal/refname"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/urunc"
)

// Resolved is a valid description, ready to build.
type Resolved struct {
	// Ref is "name:tag".
	Ref string
	// Architecture is amd64 or arm64.
	Architecture string
	// Copies are the files and contents entries, sources made absolute.
	Copies []Copy
	// Settings are the urunc settings by short key, plain values, empty ones
	// dropped, mountRootfs and useDMBlock always both "true" or "false".
	Settings map[string]string
	// Entrypoint and Cmd are the process args newer urunc takes the
	// guest's command line from: the entrypoint and cmd given, or else the
	// cmdline split into words (as Cmd). Nil when not given.
	Entrypoint, Cmd []string
	// CommandField names the field the command came from: "entrypoint",
	// "cmd", or the cmdline annotation's ("annotations.cmdline") when Cmd
	// is its words; "" when the description gives no command.
	CommandField string
	// Env is the guest's environment, "NAME=value" in name order.
	Env []string
	// Rootfs is the initrd or block image to build or package; nil when
	// there is none, and for a raw rootfs, whose files are Copies.
	Rootfs *Rootfs
	// Format, Compression and MaxLayers say how to write the image.
	Format      image.Format
	Compression image.Compression
	MaxLayers   int
	// Warnings are problems that do not stop the build, e.g. a raw rootfs
	// for a guest that cannot mount it, each naming the file and field.
	Warnings []string
	// File names the description in messages.
	File string
	// From is the base image; nil when there is none.
	From *From
	// Urunc is the oldest urunc release the image must run on.
	Urunc urunc.Release
	// WorkingDir and User go into the image config.
	WorkingDir, User string

	positions map[string]string
}

// Where returns where field stands for messages: "file:line:col" when known,
// else the file's name.
func (r *Resolved) Where(field string) string {
	return where(r.File, r.positions, field)
}

// Copy is one source to copy to one target in the image.
type Copy struct {
	Source string
	Target string
	// Field names the copy in messages, e.g. `files."./redis.hvt"`.
	Field string
	// Where is "file" or "file:line:col" for messages: where the source
	// is written.
	Where string
	// TargetWhere is where the target is written, when the description
	// gives it a position of its own (a contents item written as an object
	// in args.json or args.hcl); "" for Where.
	TargetWhere string
	// Written is the source as the description gave it, e.g.
	// "./redis.hvt", before it was resolved against the file's directory.
	Written string
	// Key names the source where Source, a temporary file, does not stay
	// the same from one build to the next: a copy out of an image is
	// "IMAGE:PATH" (urunit's "IMAGE:/urunit"). "" when Source does.
	Key string
}

// Origin says, for a message about c's resolved source, what the user
// wrote and where it was to go: `, written "./redis.hvt", for
// /unikernel/redis.hvt` (the first part only when it differs from Source).
func (c Copy) Origin() string {
	s := ""
	if c.Written != "" && c.Written != c.Source {
		s = fmt.Sprintf(", written %s", msg.Quote(c.Written, maxShown))
	}
	if c.Target != "" {
		s += ", for " + msg.Cut(c.Target, maxShown)
	}
	return s
}

// Errorf returns a FieldError about c's source.
func (c Copy) Errorf(format string, args ...any) *FieldError {
	return &FieldError{Where: c.Where, Field: c.Field, Value: strconv.Quote(c.Source), Reason: fmt.Sprintf(format, args...)}
}

// TargetErrorf returns a FieldError about c's target (where it goes in the
// image, which another copy also claims), showing the target as the value
// and its position: the source, a store path in Nix, is not at fault.
func (c Copy) TargetErrorf(format string, args ...any) *FieldError {
	at := c.TargetWhere
	if at == "" {
		at = c.Where
	}
	return &FieldError{Where: at, Field: c.Field, Value: strconv.Quote(c.Target), Reason: fmt.Sprintf(format, args...)}
}

// DefaultArchitecture is used when a description names none. It is fixed,
// not the build machine's, so that every machine builds the same bytes.
const DefaultArchitecture = "amd64"

var (
	// pathValue is what urunc accepts in binary, initrd and block.
	pathValue = regexp.MustCompile(`^[A-Za-z0-9._/-]+$`)
	solo5Dev  = regexp.MustCompile(`^[A-Za-z0-9]{1,67}$`)
)

// maxPath is the longest path value (and unikernelVersion) urunc takes.
const maxPath = 4096

// maxName is the longest name of one file (NAME_MAX): longer targets are
// written to the layer but fail every runtime that unpacks it.
const maxName = 255

// longName returns the first name in the slash-separated p longer than
// maxName, or "".
func longName(p string) string {
	for _, n := range strings.Split(p, "/") {
		if len(n) > maxName {
			return n
		}
	}
	return ""
}

// MaxLabel is the most bytes, key and value together, that containerd
// accepts in one label; every urunc setting becomes a label.
const MaxLabel = 4096

// Resolve checks everything about a that needs no file system, and that no
// local source is a symbolic link (see checkSymlink), and returns what it
// describes, or every problem found: those decoding found (unknown fields,
// values of the wrong type) first, then the rest, at most MaxReported.
func (a *Args) Resolve() (*Resolved, error) {
	c := &collector{a: a, errs: slices.Clone(a.decodeErrs), skip: a.badFields}
	r := &Resolved{File: a.File, positions: a.positions}

	r.Ref = a.reference(c)
	r.Urunc = a.release(c)
	a.workdirUser(c, r)

	r.Format, r.Compression, r.MaxLayers = a.output(c)
	var ok bool
	if r.Architecture, ok = a.arch(); !ok {
		c.add("architecture", a.Architecture, "unknown architecture (known: amd64, arm64; x86_64 and aarch64 are accepted too)")
	}

	for _, src := range sortedKeys(a.Files) {
		field := fmt.Sprintf("files.%q", src)
		r.Copies = append(r.Copies, a.copyOf(c, field, src, a.Files[src]))
	}
	for i, ct := range a.Contents {
		field := ct.Field
		if field == "" {
			field = fmt.Sprintf("contents[%d]", i)
		}
		if ct.Image != nil {
			c.add(field+".image", ct.Source, extractFirst)
			continue
		}
		r.Copies = append(r.Copies, keyed(a.copyInto(c, field, ct.Source, ct.Target, !rootTree(ct)), ct))
	}
	if a.From != nil {
		r.From = a.resolveFrom(c)
	}
	if len(a.Files) == 0 && len(a.Contents) == 0 && a.From == nil {
		c.add("files", nil, "nothing to copy into the image: give at least the unikernel binary in files or contents")
	}

	r.Settings = a.settings(c)
	if a.Rootfs != nil {
		a.resolveRootfs(c, r)
	}
	a.urunit(c, r)
	targets := map[string]string{}
	for _, cp := range r.Copies {
		if cp.Target == "" {
			continue
		}
		if other, ok := targets[cp.Target]; ok {
			c.addAt(a.partWhere(cp.Field, "target"), cp.Field, cp.Target, "target is also the target of %s: two sources cannot share one target", other)
		}
		targets[cp.Target] = cp.Field
	}
	a.releaseRules(c, r)
	a.blockRules(c, r)
	a.process(c, r)
	a.monitorRules(c, r)
	if err := c.err(); err != nil {
		return nil, err
	}
	return r, nil
}

// parseReason is what an error of image.ParseFormat or image.ParseCompression
// says, without the name, which the FieldError shows as its value.
func parseReason(err error) string {
	var ne *image.NameError
	if errors.As(err, &ne) {
		return ne.Reason()
	}
	return err.Error()
}

// WithFormat returns a copy of a written in format f, whatever a says: a
// command line's --format.
func (a *Args) WithFormat(f image.Format) *Args {
	out := *a
	out.Format = string(f)
	out.present = maps.Clone(a.present)
	if out.present == nil {
		out.present = map[string]bool{}
	}
	out.present["format"] = true
	return &out
}

// WrittenFormat is the format a is written in: its format, else
// image.DockerArchive; "" when its format is not one.
func (a *Args) WrittenFormat() image.Format {
	if !a.present["format"] {
		return image.DockerArchive
	}
	f, _ := image.ParseFormat(a.Format)
	return f
}

// output checks how the image is to be written.
func (a *Args) output(c *collector) (image.Format, image.Compression, int) {
	format, compression, maxLayers := image.DockerArchive, image.Uncompressed, image.DefaultMaxLayers
	if a.present["format"] {
		f, err := image.ParseFormat(a.Format)
		if err != nil {
			c.add("format", a.Format, "%s", parseReason(err))
		}
		format = f
	}
	if a.present["compression"] {
		z, err := image.ParseCompression(a.Compression)
		if err != nil {
			c.add("compression", a.Compression, "%s", parseReason(err))
		}
		compression = z
		if err == nil && format != "" && !format.Holds(z) {
			var names []string
			for _, f := range image.FormatsHolding(z) {
				names = append(names, strconv.Quote(string(f)))
			}
			c.add("compression", a.Compression, "the %s format cannot hold %s layers (docker load refuses them): set format = %s, or compression = \"gzip\"", format, z, strings.Join(names, " or "))
		}
	}
	switch a.Layers {
	case "", "per-file":
	case "single":
		maxLayers = 1
	default:
		c.add("layers", a.Layers, unknownLayering)
	}
	return format, compression, maxLayers
}

// unknownLayering is why a layers value other than "per-file" and "single"
// is refused.
const unknownLayering = "unknown layering (known: per-file, single)"

// arch is the architecture a names (DefaultArchitecture when it names
// none), and whether it is one bunix knows.
func (a *Args) arch() (string, bool) {
	if a.Architecture == "" {
		return DefaultArchitecture, true
	}
	arch, ok := urunc.Architectures[a.Architecture]
	return arch, ok
}

func (a *Args) reference(c *collector) string {
	tag := tagOf(a)
	if field, msg := ReferenceProblem(a.Name, tag); msg != "" {
		v := a.Name
		if field == "tag" {
			v = tag
		}
		c.add(field, v, "%s", msg)
		return ""
	}
	return a.Name + ":" + tag
}

// ReferenceProblem says what is wrong with image and tag as an image's
// name and tag, as the build checks them: the field ("name" or "tag") and
// why, or "", "". bunix init and convert use it to refuse what the build
// would refuse.
func ReferenceProblem(image, tag string) (field, problem string) {
	if strings.TrimSpace(image) == "" {
		return "name", "must not be empty: it names the image, e.g. \"urunc/hello\""
	}
	repo, err := name.NewRepository(image)
	if err != nil {
		return "name", "not a valid image repository name: " + errText(err)
	}
	if p := refname.PortProblem(repo.RegistryStr()); p != "" {
		return "name", p
	}
	if p := refname.Grammar(repo); p != "" {
		return "name", "not a valid image repository name: " + p
	}
	// tagValue is stricter than ggcr's tag check, and image is a good
	// repository: name.NewTag(image + ":" + tag) would take what is left.
	if !tagValue.MatchString(tag) {
		return "tag", "not a valid tag: letters, digits, _ . - (at most 128), not starting with . or -"
	}
	return "", ""
}

// tagValue is the tag grammar of the Docker reference
// (distribution/reference): a word character, then up to 127 of word
// characters, dots and dashes.
var tagValue = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// errText strips ggcr's wrapping from a name error.
func errText(err error) string {
	return strings.TrimPrefix(err.Error(), "could not parse reference: ")
}

// extractFirst says why a copy out of an image cannot be resolved: its
// source is a path in the image, not on this machine.
const extractFirst = "a copy out of an image is extracted by the build first (WithExtracted): this description was not"

// keyed is cp, the copy ct resolved, named by ct's Key when it has one.
func keyed(cp Copy, ct Content) Copy {
	if ct.Key != "" {
		cp.Written, cp.Key = ct.Key, ct.Key
	}
	return cp
}

// copyOf resolves one copy into the image: its source against Root, its
// target by the image's rules.
func (a *Args) copyOf(c *collector, field, src, dst string) Copy {
	return a.copyInto(c, field, src, dst, true)
}

// rootTree reports whether ct is a tree extracted out of an image and
// copied to the root, which a copy into the image may be: the root is no
// target a user writes, and extractSources made its source.
func rootTree(ct Content) bool { return ct.Extracted && ct.Target == "/" }

// partWhere returns the position of part (source, target) of the copy
// field, where the description gave one (a contents item written as an
// object in args.json or args.hcl), else that of field.
func (a *Args) partWhere(field, part string) string {
	if p, ok := a.positions[field+"."+part]; ok {
		return p
	}
	return where(a.File, a.positions, field)
}

// copyInto resolves one copy. A target in the image must not be the root
// or /urunc.json; one in a rootfs that bunix builds (inImage false) may be.
func (a *Args) copyInto(c *collector, field, src, dst string, inImage bool) Copy {
	cp := Copy{Field: field, Where: a.partWhere(field, "source"), Target: dst, Written: src}
	if tw := a.partWhere(field, "target"); tw != cp.Where {
		cp.TargetWhere = tw
	}
	switch {
	case src == "":
		c.addAt(cp.Where, field, src, "source must not be empty")
	case filepath.IsAbs(src):
		cp.Source = filepath.Clean(src)
	default:
		cp.Source = filepath.Join(a.Root, src)
	}
	a.checkSymlink(c, field, src, cp.Source)
	tw := a.partWhere(field, "target")
	switch {
	case strings.IndexByte(src, 0) >= 0:
		c.addAt(cp.Where, field, src, "source must not contain a NUL byte")
	case strings.IndexByte(dst, 0) >= 0:
		c.addAt(tw, field, dst, "target must not contain a NUL byte")
	case dst == "":
		c.addAt(tw, field, dst, "target must not be empty: give the absolute path in the image, e.g. \"/unikernel/app\"")
	case !path.IsAbs(dst):
		c.addAt(tw, field, dst, "target must be an absolute path in the image (did you mean %q?)", "/"+dst)
	case slices.Contains(strings.Split(dst, "/"), ".."):
		c.addAt(tw, field, dst, "target must not contain \"..\"")
	case dst == "/" && inImage:
		c.addAt(tw, field, dst, "target must name a file or directory, not the image root")
	case path.Clean(dst) != dst:
		c.addAt(tw, field, dst, "target must be a clean path (did you mean %q?)", path.Clean(dst))
	// A rootfs's own writers check their file systems' limits.
	case inImage && len(dst) > image.MaxPath:
		c.addAt(tw, field, dst, "target is %d bytes long: a path in an image is at most %d bytes (PATH_MAX, 4096, with its NUL), or no runtime can unpack it", len(dst), image.MaxPath)
	case inImage && longName(dst) != "":
		n := longName(dst)
		c.addAt(tw, field, dst, "target has a name of %d bytes (%.40q...): a file name is at most %d bytes (NAME_MAX), or no runtime can unpack it", len(n), n, maxName)
	case inImage && (dst == urunc.JSONPath || strings.HasPrefix(dst, urunc.JSONPath+"/")):
		c.addAt(tw, field, dst, "target %s is reserved: bunix writes the urunc settings there", urunc.JSONPath)
	case inImage && strings.HasPrefix(path.Base(dst), image.WhiteoutPrefix):
		c.addAt(tw, field, dst, "target name starts with %s, which marks a whiteout: container runtimes delete it, and what it names, when they unpack the layer", image.WhiteoutPrefix)
	}
	return cp
}

// storeDir is where Nix keeps its store. Sources there (build outputs,
// and every source of a builder spec) are the store's to check: a symbolic
// link inside a store path resolves within the store.
const storeDir = "/nix/store/"

// StoreSourceProblem says why src, a source a Nix builder was given,
// would have the builder read outside the Nix store, or "". nix/lib.nix
// gives builders store paths only, but a string with context is the
// user's: "${drv}/../../etc/passwd" names a file outside the store path it
// comes from, and "${pkg}/link", a symbolic link to /etc/passwd, leads out
// of the store. Either packed the sandbox's file (without a sandbox, the
// host's) into the image, exit 0. A source that does not exist is left to
// whoever reads it, which names it.
func StoreSourceProblem(src string) string {
	if !strings.HasPrefix(src, storeDir) {
		return ""
	}
	if slices.Contains(strings.Split(src, "/"), "..") {
		return "source has a \"..\" in it, which leaves the store path it names: name the file inside it"
	}
	real, err := filepath.EvalSymlinks(src)
	if err == nil && !strings.HasPrefix(real, storeDir) {
		return fmt.Sprintf("source is a symbolic link out of the Nix store, to %s, which a builder must not read: copy a file in the store", real)
	}
	return ""
}

// checkSymlink refuses a local source that is itself a symbolic link:
// nix-build would store the link, not the file, and it would dangle in the
// sandbox; Nix cannot read where a link points, so bunix refuses it in both
// front ends and says what to write instead. It is the one file-system
// look-up Resolve makes.
func (a *Args) checkSymlink(c *collector, field, src, abs string) {
	if abs == "" || strings.HasPrefix(abs, storeDir) {
		return
	}
	fi, err := os.Lstat(abs)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return
	}
	link, _ := os.Readlink(abs)
	real, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		c.addAt(a.partWhere(field, "source"), field, src, "source is a dangling symbolic link (to %s, which does not exist)", strconv.Quote(link))
		return
	}
	hint := "the path of the file itself"
	if err == nil {
		if rel, err := filepath.Rel(a.Root, real); err == nil && filepath.IsLocal(rel) {
			hint = strconv.Quote("./" + filepath.ToSlash(rel))
		} else {
			hint = strconv.Quote(real)
		}
	}
	c.addAt(a.partWhere(field, "source"), field, src, "source is a symbolic link (to %s): nix-build would store the link, not the file it names, so bunix refuses it with either front end; write %s instead", strconv.Quote(link), hint)
}

// settings checks the annotations and returns the urunc settings.
func (a *Args) settings(c *collector) map[string]string {
	s := map[string]string{}
	given := map[string]string{} // short key -> field name it came from
	for _, raw := range sortedKeys(a.Annotations) {
		field := "annotations." + raw
		v := a.Annotations[raw]
		key := strings.TrimPrefix(raw, urunc.Prefix)
		if slices.Contains(urunc.RuntimeOnly, key) {
			c.add(field, v, "%s is set by the runtime, never by an image: remove it", key)
			continue
		}
		if !urunc.IsKey(key) {
			c.add(field, v, "unknown annotation%s (known: %s)", suggest(key, urunc.Keys), strings.Join(urunc.Keys, ", "))
			continue
		}
		if prev, ok := given[key]; ok {
			c.add(field, v, "given twice: also as %s", prev)
			continue
		}
		given[key] = field
		if v == "" {
			continue // empty means unset, as in the original bunix args.nix
		}
		if msg := AnnotationProblem(key, v); msg != "" {
			c.add(field, v, "%s", msg)
			continue
		}
		s[key] = v
	}
	for _, k := range urunc.Required {
		if _, ok := given[k]; !ok || s[k] == "" && !isReported(c, "annotations."+k) {
			c.add("annotations."+k, nil, "missing: urunc needs %s", k)
		}
	}
	if g, m := s[urunc.UnikernelType], s[urunc.Hypervisor]; g != "" && m != "" && !urunc.Runs(g, m) {
		c.add("annotations.hypervisor", m, "urunc cannot run a %s guest on %s (it runs %s on: %s)", g, m, g, strings.Join(urunc.MonitorsFor(g), ", "))
	}
	// mountRootfs replaced useDMBlock: accept either, write both.
	dm, dmOK := s[urunc.UseDMBlock]
	mr, mrOK := s[urunc.MountRootfs]
	switch {
	case dmOK && mrOK && parseBool(dm) != parseBool(mr):
		c.add("annotations.mountRootfs", mr, "disagrees with useDMBlock = %q: they mean the same, give one", dm)
	case mrOK:
		dm = mr
	case !dmOK:
		dm = "false"
	}
	s[urunc.UseDMBlock] = strconv.FormatBool(parseBool(dm))
	s[urunc.MountRootfs] = s[urunc.UseDMBlock]
	return s
}

func isReported(c *collector, field string) bool {
	for _, e := range c.errs {
		if fe, ok := e.(*FieldError); ok && fe.Field == field {
			return true
		}
	}
	return false
}

func parseBool(s string) bool {
	b, _ := strconv.ParseBool(s)
	return b
}

// AnnotationProblem says what is wrong with v as the value of urunc's
// annotation key (without the com.urunc.unikernel. prefix), or "": the
// checks of one value that the build makes, so that convert can refuse a
// label the build would refuse. An empty v means unset and passes.
func AnnotationProblem(key, v string) string {
	switch {
	case v == "":
		return ""
	case strings.TrimSpace(v) == "":
		return "is only white space: leave it out or write \"\" to unset it"
	case strings.IndexByte(v, 0) >= 0:
		return "must not contain a NUL byte"
	case strings.ContainsAny(v, "\r\n"):
		return "must be one line: urunc rejects line breaks"
	}
	if msg := checkValue(key, v); msg != "" {
		return msg
	}
	if n := len(urunc.Prefix) + len(key) + len(v); n > MaxLabel {
		return fmt.Sprintf("is %d bytes long, and with its label key %s%s %d: containerd refuses labels over %d bytes (key and value)", len(v), urunc.Prefix, key, n, MaxLabel)
	}
	return ""
}

// checkValue returns what is wrong with value v of key, or "".
func checkValue(key, v string) string {
	if strings.IndexByte(v, 0) >= 0 {
		return "must not contain a NUL byte"
	}
	switch key {
	case urunc.UnikernelType:
		if !slices.Contains(urunc.Guests, v) {
			return "unknown unikernel type" + suggest(v, urunc.Guests) + " (known: " + strings.Join(urunc.Guests, ", ") + ")"
		}
	case urunc.Hypervisor:
		if _, ok := urunc.Monitors[v]; !ok {
			return "unknown hypervisor" + suggest(v, urunc.MonitorNames()) + " (known: " + strings.Join(urunc.MonitorNames(), ", ") + ")"
		}
	case urunc.Binary, urunc.Initrd, urunc.Block:
		switch {
		case len(v) > maxPath:
			return fmt.Sprintf("path longer than %d bytes, the most urunc takes", maxPath)
		case !pathValue.MatchString(v):
			return "urunc accepts only letters, digits and . _ / - in paths"
		case !strings.HasPrefix(v, "/"):
			return fmt.Sprintf("must be the absolute path of a file in the image (did you mean %q?)", "/"+v)
		case v == "/" || path.Clean(v) != v:
			return fmt.Sprintf("must be a clean path naming a file (did you mean %q?)", path.Clean(v))
		}
	case urunc.BlkMntPoint:
		switch {
		case len(v) > maxPath:
			return fmt.Sprintf("path longer than %d bytes, the most urunc takes", maxPath)
		case !pathValue.MatchString(v):
			return "urunc accepts only letters, digits and . _ / - in paths: it refuses this mount point when it starts the guest"
		case !strings.HasPrefix(v, "/") || path.Clean(v) != v:
			return "must be a clean absolute path, e.g. \"/\" or \"/data\""
		}
	case urunc.UnikernelVersion:
		if len(v) > maxPath {
			return fmt.Sprintf("is %d bytes long: urunc takes at most %d", len(v), maxPath)
		}
	case urunc.UseDMBlock, urunc.MountRootfs:
		if _, err := strconv.ParseBool(v); err != nil {
			return "must be \"true\" or \"false\""
		}
	case urunc.Solo5NetDev, urunc.Solo5BlkDev:
		if !solo5Dev.MatchString(v) {
			return "solo5 device names are 1 to 67 letters or digits"
		}
	}
	return ""
}
