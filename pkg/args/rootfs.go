package args

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/nubificus/bunix/pkg/urunc"
)

// rootfsFields are the fields of rootfs, in documentation order.
var rootfsFields = []string{"type", "include", "from", "path", "fsType", "size", "mountPoint", "compression"}

// rootfs decodes the rootfs field. Null values mean "not given", as in an
// args.nix that writes `from = null;`.
func (c *collector) rootfs(v any, spec bool) *RootfsArgs {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		c.add("rootfs", v, `must be an attribute set, e.g. { type = "initrd"; include = { "./init" = "/init"; }; }`)
		return nil
	}
	rf := &RootfsArgs{}
	strs := map[string]*string{"type": &rf.Type, "from": &rf.From, "path": &rf.Path,
		"fsType": &rf.FSType, "mountPoint": &rf.MountPoint, "compression": &rf.Compression}
	for _, k := range sortedKeys(m) {
		field, val := "rootfs."+k, m[k]
		switch p, isStr := strs[k]; {
		case val == nil:
		case isStr:
			*p = c.str(field, val)
			if k == "from" && spec {
				c.storeSource(field, rf.From)
			}
		case k == "include":
			rf.Include = c.include(val, spec)
		case k == "size":
			rf.Size = c.size(field, val)
		default:
			c.unknown(field, "unknown field%s (known: %s)", suggest(k, rootfsFields), strings.Join(rootfsFields, ", "))
		}
	}
	return rf
}

// include decodes rootfs.include: an attribute set like files, or a list
// like contents.
func (c *collector) include(v any, spec bool) []Content {
	if _, ok := v.([]any); ok {
		return c.contents("rootfs.include", v, spec)
	}
	m := c.strMap("rootfs.include", v, includeField)
	var out []Content
	for _, src := range sortedKeys(m) {
		out = append(out, Content{Source: src, Target: m[src], Field: includeField(src)})
	}
	return out
}

func includeField(src string) string { return fmt.Sprintf("rootfs.include.%q", src) }

var sizeValue = regexp.MustCompile(`^([0-9]+)\s*([KMGT]?)(i?B)?$`)

// maxBlockSize is the largest block image: 2^32-1 blocks of 4 KiB, the
// most an ext2/ext4 file system without the 64bit feature can count.
const maxBlockSize = (1<<32 - 1) * 4096

// size decodes a size in bytes: a number, or a string of digits with an
// optional K, M, G or T suffix (powers of 1024).
func (c *collector) size(field string, v any) int64 {
	const want = `want a number of bytes, or a string such as "64M" (K, M, G, T: powers of 1024)`
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = x
	default:
		c.add(field, v, "%s", want)
		return 0
	}
	m := sizeValue.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		c.add(field, v, "%s", want)
		return 0
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	shift := strings.Index("KMGT", m[2])*10 + 10
	if m[2] == "" {
		shift = 0
	}
	if err != nil || n <= 0 || n > maxBlockSize>>shift || n<<shift > maxBlockSize {
		c.add(field, v, "must be more than 0 and less than 16T: an ext file system of 4 KiB blocks holds at most 2^32-1 of them")
		return 0
	}
	return n << shift
}

// withArticle returns s after "a" or "an".
func withArticle(s string) string {
	if strings.ContainsAny(s[:1], "aeiou") {
		return "an " + s
	}
	return "a " + s
}

// defaultRootfsPath returns where a rootfs file goes in the image when
// rootfs.path is not given.
func defaultRootfsPath(typ string, gzip bool) string {
	switch {
	case typ == urunc.RootfsBlock:
		return "/unikernel/rootfs.img"
	case gzip:
		return "/unikernel/rootfs.cpio.gz"
	}
	return "/unikernel/rootfs.cpio"
}

// resolveRootfs checks a.Rootfs against the guest and the annotations, and
// fills r: Copies for a raw rootfs, r.Rootfs for the others, and the urunc
// settings each type implies. Warnings go to r.Warnings.
func (a *Args) resolveRootfs(c *collector, r *Resolved) {
	rf := a.Rootfs
	guest := r.Settings[urunc.UnikernelType]
	switch {
	case rf.Type == "":
		c.add("rootfs.type", nil, "missing: give %s", strings.Join(urunc.RootfsTypes, ", "))
		return
	case !slices.Contains(urunc.RootfsTypes, rf.Type):
		c.add("rootfs.type", rf.Type, "unknown rootfs type%s (known: %s)", suggest(rf.Type, urunc.RootfsTypes), strings.Join(urunc.RootfsTypes, ", "))
		return
	}
	if types, ok := urunc.GuestRootfs[guest]; ok && !slices.Contains(types, rf.Type) {
		can := "no rootfs at all"
		if len(types) > 0 {
			can = "only " + strings.Join(types, ", ")
		}
		c.add("rootfs.type", rf.Type, "a %s guest cannot use %s rootfs (urunc gives %s %s)", guest, withArticle(rf.Type), guest, can)
	}
	only := func(field, value string, types ...string) {
		if value != "" && !slices.Contains(types, rf.Type) {
			c.add("rootfs."+field, value, "applies only to %s rootfs, not to %s", withArticle(strings.Join(types, " or ")), rf.Type)
		}
	}
	only("from", rf.From, urunc.RootfsInitrd, urunc.RootfsBlock)
	only("path", rf.Path, urunc.RootfsInitrd, urunc.RootfsBlock)
	only("fsType", rf.FSType, urunc.RootfsBlock)
	only("mountPoint", rf.MountPoint, urunc.RootfsBlock)
	only("compression", rf.Compression, urunc.RootfsInitrd)
	if rf.Size != 0 && rf.Type != urunc.RootfsBlock {
		c.add("rootfs.size", strconv.FormatInt(rf.Size, 10), "applies only to a block rootfs, not to %s", rf.Type)
	}
	if rf.From != "" && len(rf.Include) > 0 {
		c.add("rootfs.from", rf.From, "cannot go with include: package a prebuilt rootfs as it is, or build one from include")
	}

	includes := a.includes(c, rf.Type == urunc.RootfsRaw)
	if rf.Type == urunc.RootfsRaw {
		r.Copies = append(r.Copies, includes...)
		a.requireTrue(c, r)
		return
	}
	if urunc.RawBlock(guest) && rf.Type == urunc.RootfsBlock {
		a.rawBlock(c, r, rf)
		return
	}

	out := &Rootfs{Type: rf.Type, Include: includes, Path: rf.Path, FSType: rf.FSType, Size: rf.Size, Guest: guest}
	if rf.From == "" && len(includes) == 0 {
		c.add("rootfs.include", nil, "nothing to put in the %s: give include, or from for a prebuilt one", rf.Type)
	}
	switch rf.Compression {
	case "", "none":
	case "gzip":
		out.Gzip = true
	default:
		c.add("rootfs.compression", rf.Compression, "unknown compression (known: gzip, none)")
	}
	if out.Gzip && guest == "unikraft" {
		c.add("rootfs.compression", rf.Compression, "%s: leave compression out", unikraftGzip)
	}
	if out.Gzip && rf.From != "" {
		c.add("rootfs.compression", rf.Compression, "applies only to an initrd bunix builds: a prebuilt one is packaged as it is")
	}
	if out.Path == "" {
		out.Path = defaultRootfsPath(rf.Type, out.Gzip || strings.HasSuffix(rf.From, ".gz"))
	} else if msg := checkValue(urunc.Initrd, out.Path); msg != "" {
		c.add("rootfs.path", out.Path, "%s", msg)
	}
	if rf.From != "" {
		// The path was checked above; the copy's target adds nothing.
		from := a.copyInto(c, "rootfs.from", rf.From, out.Path, false)
		out.From = &from
	}

	key := urunc.Initrd
	if rf.Type == urunc.RootfsBlock {
		key = urunc.Block
		a.resolveBlock(c, r, rf, out)
	}
	a.agree(c, r, key, out.Path, "rootfs.path")
	r.Rootfs = out
}

// unikraftGzip says why a Unikraft guest's initrd must not be gzipped.
const unikraftGzip = "a unikraft guest reads only an uncompressed newc initrd, and urunc 0.8 fails the container when it cannot merge the container's file mounts into a gzipped one (\"invalid cpio header\")"

// UnikraftGzip says why a Unikraft guest's initrd must not be gzipped, for
// the check of a prebuilt one, which needs its bytes.
func UnikraftGzip() string { return unikraftGzip }

// rawBlock resolves the block of a mirage guest, a raw device that mirage
// reads itself (urunc's SupportsFS is false for it): there is no file
// system for bunix to build, so only a file given in from is packaged, as
// it is, with no check of its content.
func (a *Args) rawBlock(c *collector, r *Resolved, rf *RootfsArgs) {
	const why = "a mirage block is a raw device that mirage reads itself, with no file system"
	if len(rf.Include) > 0 {
		c.add("rootfs.include", nil, "%s: a file system bunix would build there is meaningless to it; give the device's content as a file in rootfs.from, packaged as it is", why)
	}
	if rf.FSType != "" {
		c.add("rootfs.fsType", rf.FSType, "%s: remove fsType", why)
	}
	if rf.Size != 0 {
		c.add("rootfs.size", strconv.FormatInt(rf.Size, 10), "%s: the file in rootfs.from is packaged as it is; remove size", why)
	}
	if rf.MountPoint != "" {
		c.add("rootfs.mountPoint", rf.MountPoint, "%s, which nothing mounts: remove mountPoint", why)
	}
	if rf.From == "" {
		if len(rf.Include) == 0 {
			c.add("rootfs.from", nil, "missing: %s; give its content as a file", why)
		}
		return
	}
	p := rf.Path
	if p == "" {
		p = defaultRootfsPath(urunc.RootfsBlock, false)
	} else if msg := checkValue(urunc.Block, p); msg != "" {
		c.add("rootfs.path", p, "%s", msg)
	}
	r.Copies = append(r.Copies, a.copyInto(c, "rootfs.from", rf.From, p, true))
	a.agree(c, r, urunc.Block, p, "rootfs.path")
	// urunc refuses any block without a mount point, mirage's too, though
	// nothing mounts it there; "/data" keeps it off "/", which urunc would
	// take for a file-system rootfs.
	if _, v, ok := a.annotation(urunc.BlkMntPoint); !ok || v == "" {
		r.Settings[urunc.BlkMntPoint] = "/data"
	}
}

// resolveBlock checks a block rootfs's file system type and mount point.
func (a *Args) resolveBlock(c *collector, r *Resolved, rf *RootfsArgs, out *Rootfs) {
	guest := out.Guest
	fsTypes := urunc.GuestFSTypes[guest]
	if out.FSType == "" && rf.From == "" && len(fsTypes) > 0 {
		out.FSType = fsTypes[0]
	}
	switch {
	case rf.FSType == "":
	case rf.From != "":
		c.add("rootfs.fsType", rf.FSType, "applies only to a block image bunix builds: a prebuilt one is packaged as it is")
	case rf.FSType != "ext2" && rf.FSType != "ext4":
		c.add("rootfs.fsType", rf.FSType, "unknown file system type%s (bunix builds ext2 and ext4)", suggest(rf.FSType, []string{"ext2", "ext4"}))
	case len(fsTypes) > 0 && !slices.Contains(fsTypes, rf.FSType):
		c.add("rootfs.fsType", rf.FSType, "a %s guest cannot mount %s (it mounts %s)", guest, rf.FSType, strings.Join(fsTypes, ", "))
	}
	mnt := rf.MountPoint
	if mnt == "" {
		mnt = urunc.BlockMountPoint(guest)
	} else if msg := checkValue(urunc.BlkMntPoint, mnt); msg != "" {
		c.add("rootfs.mountPoint", mnt, "%s", msg)
	}
	a.agree(c, r, urunc.BlkMntPoint, mnt, "rootfs.mountPoint")
}

// includes resolves rootfs.include. Targets are paths in the rootfs, where
// "/" is allowed (a directory copied to the root), unless the rootfs is the
// image's own (raw). Two includes cannot share a target.
func (a *Args) includes(c *collector, raw bool) []Copy {
	var out []Copy
	targets := map[string]string{}
	for i, ct := range a.Rootfs.Include {
		field := ct.Field
		if field == "" {
			field = fmt.Sprintf("rootfs.include[%d]", i)
		}
		if ct.Image != nil {
			c.add(field+".image", ct.Source, extractFirst)
			continue
		}
		cp := keyed(a.copyInto(c, field, ct.Source, ct.Target, raw && !rootTree(ct)), ct)
		if other, ok := targets[cp.Target]; ok && cp.Target != "" {
			c.add(field, cp.Target, "target is also the target of %s: two includes cannot share one target", other)
		}
		targets[cp.Target] = field
		out = append(out, cp)
	}
	return out
}

// requireTrue sets mountRootfs and useDMBlock for a raw rootfs, which
// needs them "true"; an annotation that says otherwise is an error.
func (a *Args) requireTrue(c *collector, r *Resolved) {
	for _, key := range []string{urunc.MountRootfs, urunc.UseDMBlock} {
		if field, v, ok := a.annotation(key); ok && v != "" && !parseBool(v) {
			c.add(field, v, "disagrees with rootfs.type = \"raw\", which hands the container rootfs to the guest: remove it or say \"true\"")
		}
		r.Settings[key] = "true"
	}
}

// agree sets the setting key to value, which rootfs implies; an annotation
// that gives key another value is an error.
func (a *Args) agree(c *collector, r *Resolved, key, value, from string) {
	if field, v, ok := a.annotation(key); ok && v != "" && v != value {
		c.add(field, v, "disagrees with %s, which puts it at %q: remove the annotation or make them agree", from, value)
	}
	r.Settings[key] = value
}

// annotation returns the annotation for the short key, given either way.
func (a *Args) annotation(key string) (field, value string, ok bool) {
	for _, k := range []string{key, urunc.Prefix + key} {
		if v, found := a.Annotations[k]; found {
			return "annotations." + k, v, true
		}
	}
	return "", "", false
}

// Rootfs is a root file system to build, or to package, resolved. A raw
// rootfs has none: its includes are Copies.
type Rootfs struct {
	// Type is "initrd" or "block".
	Type string
	// Include lists what goes in, sources absolute, targets in the rootfs.
	Include []Copy
	// From is a prebuilt rootfs file, whose Target is Path.
	From *Copy
	// Path is where the rootfs file goes in the image.
	Path string
	// FSType is "ext2" or "ext4" for a block image bunix builds.
	FSType string
	// Size is a block image's size in bytes; 0 to fit the content.
	Size int64
	// Gzip compresses an initrd.
	Gzip bool
	// Guest is the unikernel type, whose file systems a prebuilt block
	// image must be one of.
	Guest string
}
