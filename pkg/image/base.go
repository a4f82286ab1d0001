package image

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nubificus/bunix/internal/ctxio"
	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/urunc"
)

// MaxBaseEntries caps how many tar headers the layers of a base image may
// hold, all layers together.
const MaxBaseEntries = 1 << 20

// Base is an existing image that an Image is written on: its layers come
// first in the written image, byte for byte (same digests, same
// compression), its history before the Image's own. OpenBase reads one.
type Base struct {
	// Name names the base in messages, e.g. its path or reference.
	Name string
	// Platform is the platform of the chosen image as the base gives it,
	// e.g. qemu/amd64; the written image always says os linux.
	Platform v1.Platform
	// Config is the base's runtime config: Env, Entrypoint, Cmd,
	// WorkingDir and Labels are what an image on it inherits.
	Config v1.Config
	// Annotations are the base manifest's annotations; nil for a
	// docker-archive, which has no place for them.
	Annotations map[string]string
	// Files are the file system objects the base's layers leave, by
	// absolute path, once stacked (whiteouts applied). Objects that are
	// neither regular files, directories nor symlinks are left out.
	Files map[string]Type
	// Layers are the base's layers, in order.
	Layers  []BaseLayer
	history []v1.History
	created v1.Time
}

// BaseLayer is one layer of a Base, as its image file stores it.
type BaseLayer struct {
	MediaType   types.MediaType
	Compression Compression
	Digest      v1.Hash
	Size        int64
	DiffID      v1.Hash
	// open returns the stored bytes, checked against Digest and Size as
	// they are read.
	open func() (io.ReadCloser, error)
}

// BaseOption configures OpenBase.
type BaseOption func(*baseOptions)

type baseOptions struct{ format Format }

// WrittenAs says the Base will be written in format: a layer the format
// cannot hold (Format.Holds) is refused from its first bytes, before any
// layer is read whole.
func WrittenAs(format Format) BaseOption { return func(o *baseOptions) { o.format = format } }

// OpenBase reads the image of f that want picks as a base (ChoosePlatform
// says which). It checks every layer, reading it whole: its digest, its
// diffID and its tar. name names f in messages. The Base reads f's blobs
// again when written: close f only after.
func OpenBase(f *File, name string, want Want, opts ...BaseOption) (*Base, error) {
	var o baseOptions
	for _, opt := range opts {
		opt(&o)
	}
	i, p, err := choosePlatform(f, want)
	if err != nil {
		return nil, err
	}
	img := f.Images[i]
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, &InvalidError{fmt.Errorf("reading the config of %s: %w", p, err)}
	}
	b := &Base{Name: name, Platform: p, Config: cf.Config, Files: map[string]Type{}, history: cf.History, created: cf.Created}
	var stored []storedLayer
	if f.Format == DockerArchive {
		stored, err = dockerLayers(f)
	} else {
		stored, err = ociLayers(img)
		m, merr := img.Manifest()
		if merr != nil {
			return nil, &InvalidError{fmt.Errorf("reading the manifest of %s: %w", p, merr)}
		}
		b.Annotations = m.Annotations
	}
	if err != nil {
		return nil, err
	}
	if len(stored) != len(cf.RootFS.DiffIDs) {
		return nil, invalidf("the image has %d layers, but its config lists %d diffIDs", len(stored), len(cf.RootFS.DiffIDs))
	}
	if o.format != "" {
		for li, s := range stored {
			if err := s.holds(li, o.format); err != nil {
				return nil, err
			}
		}
	}
	entries := 0
	for li, s := range stored {
		l, err := s.check(context.Background(), cf.RootFS.DiffIDs[li], b.Files, &entries)
		if err != nil {
			return nil, fmt.Errorf("reading layer %d (%s): %w", li, s.desc.Digest, err)
		}
		b.Layers = append(b.Layers, l)
	}
	return b, nil
}

// Choose returns the image of f that want picks (ChoosePlatform).
func (f *File) Choose(want Want) (v1.Image, error) {
	i, _, err := choosePlatform(f, want)
	if err != nil {
		return nil, err
	}
	return f.Images[i], nil
}

// choosePlatform picks the image of f that want asks for, and says what
// platform it is for.
func choosePlatform(f *File, want Want) (int, v1.Platform, error) {
	plats := make([]v1.Platform, len(f.Images))
	for i, img := range f.Images {
		var p v1.Platform
		if i < len(f.Platforms) && f.Platforms[i] != nil {
			p = *f.Platforms[i]
		} else {
			cf, err := img.ConfigFile()
			if err != nil {
				return 0, p, &InvalidError{fmt.Errorf("reading the config of image %d: %w", i, err)}
			}
			p = v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		}
		plats[i] = p
	}
	i, err := ChoosePlatform(plats, want)
	if err != nil {
		return 0, v1.Platform{}, err
	}
	return i, plats[i], nil
}

// Want says which image of an index a base is: the one for Architecture
// (amd64 or arm64, in any spelling urunc.Architectures knows) and, when
// Monitor is set, the one for that urunc monitor.
type Want struct {
	Architecture string
	// Monitor is the urunc hypervisor the guest runs on ("qemu",
	// "firecracker", ...), "" when not known.
	Monitor string
}

// String names w in messages: "amd64", or "amd64 on qemu".
func (w Want) String() string {
	if w.Monitor == "" {
		return w.Architecture
	}
	return w.Architecture + " on " + w.Monitor
}

// CatalogOS maps a urunc monitor to the os kraftkit writes in the platform
// of the image it packages for that monitor (kraft pkg: the platform's os
// is the monitor, firecracker spelt fc).
var CatalogOS = map[string]string{
	"qemu":        "qemu",
	"firecracker": "fc",
	"xen":         "xen",
}

// archName returns the OCI name of an architecture written in any
// spelling urunc.Architectures knows (x86_64, aarch64, ...), else a itself.
func archName(a string) string {
	if n, ok := urunc.Architectures[a]; ok {
		return n
	}
	return a
}

// ChoosePlatform returns which of platforms a base image for want is.
// Architectures compare by their OCI names (x86_64 is amd64, aarch64
// arm64), so that the Unikraft catalog's platforms match. With a monitor,
// the image for the os the catalog names after it (CatalogOS: qemu, fc)
// comes first, then the one for os linux; a monitor the catalog has no os
// for takes linux. With none, the image for os linux, else the only one
// there is for the architecture. The error, an *InvalidError, lists the
// platforms.
func ChoosePlatform(platforms []v1.Platform, want Want) (int, error) {
	arch := archName(want.Architecture)
	var all []string
	var match []int
	for i, p := range platforms {
		all = append(all, platformName(p))
		if archName(p.Architecture) == arch {
			match = append(match, i)
		}
	}
	if len(match) == 0 {
		return 0, invalidf("it has no image for the architecture %s (it has: %s)", arch, platformList(all))
	}
	oses := []string{"linux"}
	if os := CatalogOS[want.Monitor]; os != "" {
		oses = []string{os, "linux"}
	}
	for _, os := range oses {
		for _, i := range match {
			if platforms[i].OS == os {
				return i, nil
			}
		}
	}
	if want.Monitor != "" {
		return 0, invalidf("it has no image for %s for the hypervisor %s: want os %s (it has: %s)", arch, want.Monitor, strings.Join(oses, " or "), platformList(all))
	}
	if len(match) == 1 {
		return match[0], nil
	}
	var some []string
	for _, i := range match {
		some = append(some, all[i])
	}
	return 0, invalidf("it has no linux image for %s, and more than one other (%s): bunix cannot tell which to use; say which monitor the guest runs on (the hypervisor annotation, or prefetch --hypervisor)", arch, platformList(some))
}

// maxPlatformsListed is how many platforms an error of ChoosePlatform
// lists: an index may hold MaxManifests.
const maxPlatformsListed = 16

// platformName is p as an error lists it: as written when short and
// printable, else quoted and clipped (a registry's index may hold any
// bytes there, escape sequences for the terminal too).
func platformName(p v1.Platform) string {
	s := p.String()
	if len(s) <= 64 && strconv.Quote(s) == `"`+s+`"` {
		return s
	}
	return msg.Quote(s, 64)
}

// platformList joins names, at most maxPlatformsListed of them.
func platformList(names []string) string {
	if len(names) <= maxPlatformsListed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxPlatformsListed], ", "), len(names)-maxPlatformsListed)
}

// storedLayer is a layer as its image file stores it, not yet checked.
type storedLayer struct {
	desc v1.Descriptor
	open func() (io.ReadCloser, error)
	// digested says that open checks the digest; otherwise check computes
	// it.
	digested bool
	// member names a docker-archive's layer, which has no digest yet.
	member string
}

func ociLayers(img v1.Image) ([]storedLayer, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, &InvalidError{fmt.Errorf("reading the manifest: %w", err)}
	}
	var out []storedLayer
	for _, d := range m.Layers {
		l, err := img.LayerByDigest(d.Digest)
		if err != nil {
			return nil, &InvalidError{fmt.Errorf("layer %s: %w", d.Digest, err)}
		}
		out = append(out, storedLayer{desc: d, open: l.Compressed, digested: true})
	}
	return out, nil
}

func dockerLayers(f *File) ([]storedLayer, error) {
	var out []storedLayer
	for _, name := range f.Docker.Layers {
		member := cleanName(name)
		out = append(out, storedLayer{desc: v1.Descriptor{MediaType: types.DockerLayer}, member: member, open: func() (io.ReadCloser, error) { return f.Member(member) }})
	}
	return out, nil
}

// holds checks, from its first bytes, that format can hold s, layer i.
func (s storedLayer) holds(i int, format Format) error {
	rc, err := s.open()
	if err == nil {
		defer rc.Close()
	}
	var c Compression
	if err == nil {
		c, err = sniff(bufio.NewReaderSize(rc, 16))
	}
	if err != nil {
		return fmt.Errorf("reading layer %d (%s): %w", i, s.desc.Digest, err)
	}
	if !format.Holds(c) {
		d := s.desc.Digest.String()
		if !s.digested {
			d = s.member
		}
		return cannotHold(i, d, c, format)
	}
	return nil
}

// check reads s whole: its compression from its first bytes, its digest
// (checked, or computed when its file gives none), its diffID, checked
// against diffID, and its tar, whose entries it applies to files (when
// not nil). It stops
// with context.Cause(ctx) once ctx is done.
func (s storedLayer) check(ctx context.Context, diffID v1.Hash, files map[string]Type, entries *int) (BaseLayer, error) {
	rc, err := s.open()
	if err != nil {
		return BaseLayer{}, err
	}
	defer rc.Close()
	// The digest is computed only when open does not check it.
	var src io.Reader = ctxio.Reader(ctx, rc)
	var digest *hashingWriter
	if !s.digested {
		digest = &hashingWriter{w: io.Discard, h: sha256.New()}
		src = io.TeeReader(src, digest)
	}
	br := bufio.NewReaderSize(src, 64<<10)
	tr, c, done, err := Decompress(br)
	if err != nil {
		return BaseLayer{}, err
	}
	defer done()
	mt, err := baseMediaType(s.desc.MediaType, c)
	if err != nil {
		return BaseLayer{}, err
	}
	diff := sha256.New()
	tr = io.TeeReader(tr, diff)
	if err := applyLayer(tar.NewReader(tr), files, entries); err != nil {
		return BaseLayer{}, err
	}
	// The rest: tar padding, the compressed stream's end, and with it the
	// digest check.
	if _, err := io.Copy(io.Discard, tr); err != nil {
		return BaseLayer{}, invalidf("reading: %w", err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return BaseLayer{}, invalidf("reading: %w", err)
	}
	got := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diff.Sum(nil))}
	if got != diffID {
		return BaseLayer{}, invalidf("its uncompressed digest is %s, but the config lists %s: the layer is corrupt", got, diffID)
	}
	l := BaseLayer{MediaType: mt, Compression: c, Digest: s.desc.Digest, Size: s.desc.Size, DiffID: diffID, open: s.open}
	if !s.digested {
		l.Digest, l.Size = digest.sum(), digest.n
		open := s.open
		desc := v1.Descriptor{Digest: l.Digest, Size: l.Size}
		l.open = func() (io.ReadCloser, error) {
			rc, err := open()
			if err != nil {
				return nil, err
			}
			return newVerifier(rc, desc)
		}
	}
	return l, nil
}

// baseMediaType returns the media type a base layer is written with in
// the OCI formats: its own when it is an OCI one that matches its bytes,
// else the OCI type for its compression.
func baseMediaType(mt types.MediaType, c Compression) (types.MediaType, error) {
	switch mt {
	case types.DockerForeignLayer, types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer:
		return "", invalidf("it is a non-distributable layer (%s), which bunix does not copy", mt)
	case types.DockerLayer, types.DockerUncompressedLayer, types.OCILayer, types.OCILayerZStd, types.OCIUncompressedLayer:
	default:
		return "", invalidf("its media type %s is not a layer's", clip(string(mt)))
	}
	return layerMediaType[c], nil
}

// historyEntries returns the base's history, one non-empty entry per
// layer: when the base's own history does not say as much, one entry per
// layer made up from its creation time.
func (b *Base) historyEntries() []v1.History {
	n := 0
	for _, h := range b.history {
		if !h.EmptyLayer {
			n++
		}
	}
	if n == len(b.Layers) {
		return slices.Clone(b.history)
	}
	out := make([]v1.History, len(b.Layers))
	for i := range out {
		out[i] = v1.History{Created: b.created, CreatedBy: fmt.Sprintf("base layer %d", i)}
	}
	return out
}
