package sbom

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/urunc"
)

// MaxFiles caps the files one document lists, those inside initrds and
// block images included: past it, Generate fails rather than hold an
// unbounded list.
const MaxFiles = 1 << 20

// Source is a file or directory an image was made from.
type Source struct {
	// Path is the source, absolute. Only Nix store paths become packages.
	Path string
	// Target is where Path was copied in the image; empty when it went
	// elsewhere (into the rootfs file bunix built, or it is the base).
	Target string
}

// Option configures Generate.
type Option func(*options)

type options struct {
	sources []Source
	tool    string
	tempDir string
}

// WithSources names what the image was made from: each Nix store path
// among them becomes a package that the image, and the files copied from
// it, are related to.
func WithSources(s []Source) Option { return func(o *options) { o.sources = s } }

// WithTool names the creator, e.g. "bunix-v0.4.0"; the default is "bunix".
func WithTool(name string) Option { return func(o *options) { o.tool = name } }

// WithTempDir names where a block image is spooled while its files are
// listed (it is read at random, not streamed); the default is
// os.TempDir. The file is removed once read.
func WithTempDir(dir string) Option { return func(o *options) { o.tempDir = dir } }

// Generate returns the SPDX document of f, an open image file. Every layer
// is read once, whole.
func Generate(ctx context.Context, f *image.File, opts ...Option) (*Document, error) {
	o := options{tool: "bunix"}
	for _, opt := range opts {
		opt(&o)
	}
	g := &generator{ctx: ctx, o: o, layers: map[v1.Hash][]*layerFile{}, doc: &Document{
		SPDXVersion: Version,
		DataLicense: "CC0-1.0",
		SPDXID:      "SPDXRef-DOCUMENT",
		CreationInfo: CreationInfo{
			Creators: []string{"Tool: " + o.tool},
		},
	}}
	if len(f.Images) == 0 {
		return nil, errors.New("making the SBOM: the image file holds no image")
	}
	ns := sha256.New()
	if f.Index != nil && len(f.Images) > 1 {
		if err := g.index(f, ns); err != nil {
			return nil, err
		}
	}
	for i, img := range f.Images {
		var names []string
		if i < len(f.Names) {
			names = f.Names[i]
		}
		var platform *v1.Platform
		if i < len(f.Platforms) {
			platform = f.Platforms[i]
		}
		id := "SPDXRef-Image"
		if len(f.Images) > 1 {
			id = fmt.Sprintf("SPDXRef-Image-%d", i)
		}
		if err := g.image(id, img, names, platform, f.Format != image.DockerArchive, ns); err != nil {
			return nil, fmt.Errorf("making the SBOM of image %d: %w", i, err)
		}
	}
	g.nix()
	d := g.doc
	d.Name = d.Packages[0].Name
	if v := d.Packages[0].VersionInfo; v != "" {
		d.Name += ":" + v
	}
	d.DocumentNamespace = "https://spdx.org/spdxdocs/bunix/" + idPart(d.Name) + "-" + hex.EncodeToString(ns.Sum(nil))
	var describes []Relationship
	for _, p := range g.described {
		describes = append(describes, Relationship{Element: d.SPDXID, Type: "DESCRIBES", Related: p})
	}
	d.Relationships = append(describes, d.Relationships...)
	for i := range d.Packages {
		p := &d.Packages[i]
		if p.FilesAnalyzed {
			p.VerificationCode = &VerificationCode{Value: verificationCode(p.fileSHA1s)}
		}
	}
	return d, nil
}

// JSON returns d as indented JSON, ending in a newline.
func (d *Document) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encoding the SBOM: %w", err)
	}
	return b.Bytes(), nil
}

type generator struct {
	ctx       context.Context
	o         options
	doc       *Document
	described []string
	// layers holds the files of each layer read, by diffID: an index's
	// images share layers.
	layers map[v1.Hash][]*layerFile
	nfiles int
	// images are the image packages and, for each, its files by path
	// (the topmost layer's).
	images []imageFiles
	// indexID is the index package's SPDXID, when the file is an index of
	// several images, which that package contains.
	indexID string
}

type imageFiles struct {
	pkg   int
	files map[string]*layerFile
}

// layerFile is a regular file of a layer.
type layerFile struct {
	id           string
	path         string
	size         int64
	sha1, sha256 string
	// inner is the files inside it, for a guest initrd or block image;
	// innerErr why they could not be listed.
	inner    []*layerFile
	innerErr error
}

func (g *generator) image(id string, img v1.Image, names []string, platform *v1.Platform, hasDigest bool, ns hash.Hash) error {
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading its config: %w", err)
	}
	repo, tag := "image", ""
	if len(names) > 0 {
		repo, tag = splitRef(names[0])
	}
	created := cfg.Created.UTC()
	if g.doc.CreationInfo.Created == "" {
		g.doc.CreationInfo.Created = created.Format(time.RFC3339)
	}
	p := Package{
		SPDXID:                id,
		Name:                  repo,
		VersionInfo:           tag,
		DownloadLocation:      noAssertion,
		FilesAnalyzed:         true,
		LicenseConcluded:      noAssertion,
		LicenseDeclared:       noAssertion,
		CopyrightText:         noAssertion,
		PrimaryPackagePurpose: "CONTAINER",
		BuiltDate:             created.Format(time.RFC3339),
	}
	cd, err := img.ConfigName()
	if err != nil {
		return fmt.Errorf("reading its config: %w", err)
	}
	ns.Write([]byte(cd.String()))
	qualifiers := []string{}
	if platform != nil {
		qualifiers = append(qualifiers, "arch="+platform.Architecture, "os="+platform.OS)
	} else if cfg.Architecture != "" {
		qualifiers = append(qualifiers, "arch="+cfg.Architecture)
	}
	if tag != "" {
		qualifiers = append(qualifiers, "tag="+tag)
	}
	if u := repositoryURL(repo); u != "" {
		qualifiers = append(qualifiers, "repository_url="+u)
	}
	if hasDigest {
		d, err := img.Digest()
		if err != nil {
			return fmt.Errorf("reading its digest: %w", err)
		}
		ns.Write([]byte(d.String()))
		p.Comment = "manifest digest " + d.String()
		p.ExternalRefs = append(p.ExternalRefs, ExternalRef{Category: "PACKAGE-MANAGER", Type: "purl",
			Locator: "pkg:oci/" + strings.ToLower(path.Base(repo)) + "@" + strings.Replace(d.String(), ":", "%3A", 1) + purlQualifiers(qualifiers)})
	} else {
		p.Comment = "config digest (image ID) " + cd.String() + "; a docker-archive has no manifest digest"
	}
	pieces := map[string]string{}
	for _, k := range urunc.PathKeys {
		if v := cfg.Config.Labels[urunc.Prefix+k]; v != "" {
			pieces[path.Clean("/"+v)] = k
		}
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("reading its layers: %w", err)
	}
	top := map[string]*layerFile{}
	pkg := len(g.doc.Packages)
	g.doc.Packages = append(g.doc.Packages, p)
	if g.indexID != "" {
		g.doc.Relationships = append(g.doc.Relationships, Relationship{Element: g.indexID, Type: "CONTAINS", Related: id})
	} else {
		g.described = append(g.described, id)
	}
	for li, l := range layers {
		diffID, err := l.DiffID()
		if err != nil {
			return fmt.Errorf("reading layer %d: %w", li, err)
		}
		files, ok := g.layers[diffID]
		if !ok {
			if files, err = g.readLayer(l, li, len(layers), diffID, pieces); err != nil {
				return fmt.Errorf("reading layer %d (%s): %w", li, diffID, err)
			}
			g.layers[diffID] = files
		}
		for _, f := range files {
			g.contains(pkg, f)
			top[f.path] = f
		}
	}
	for _, k := range slices.Sorted(maps.Keys(pieces)) {
		if f, ok := top[k]; ok {
			g.piece(id, pieces[k], f)
		}
	}
	g.images = append(g.images, imageFiles{pkg: pkg, files: top})
	return nil
}

// index adds the package of f's index, which the document describes and
// which contains its images.
func (g *generator) index(f *image.File, ns hash.Hash) error {
	d, err := f.Index.Digest()
	if err != nil {
		return fmt.Errorf("making the SBOM: reading the index digest: %w", err)
	}
	ns.Write([]byte(d.String()))
	repo, tag := "index", ""
	if len(f.Names) > 0 && len(f.Names[0]) > 0 {
		repo, tag = splitRef(f.Names[0][0])
	}
	var q []string
	if tag != "" {
		q = append(q, "tag="+tag)
	}
	if u := repositoryURL(repo); u != "" {
		q = append(q, "repository_url="+u)
	}
	g.indexID = "SPDXRef-Index"
	g.described = append(g.described, g.indexID)
	g.doc.Packages = append(g.doc.Packages, Package{
		SPDXID:                g.indexID,
		Name:                  repo,
		VersionInfo:           tag,
		DownloadLocation:      noAssertion,
		LicenseConcluded:      noAssertion,
		LicenseDeclared:       noAssertion,
		CopyrightText:         noAssertion,
		PrimaryPackagePurpose: "CONTAINER",
		Comment:               fmt.Sprintf("index digest %s, of %d images", d, len(f.Images)),
		ExternalRefs: []ExternalRef{{Category: "PACKAGE-MANAGER", Type: "purl",
			Locator: "pkg:oci/" + strings.ToLower(path.Base(repo)) + "@" + strings.Replace(d.String(), ":", "%3A", 1) + purlQualifiers(q)}},
	})
	return nil
}

// contains adds f to package pkg.
func (g *generator) contains(pkg int, f *layerFile) {
	p := &g.doc.Packages[pkg]
	p.fileSHA1s = append(p.fileSHA1s, f.sha1)
	g.doc.Relationships = append(g.doc.Relationships, Relationship{Element: p.SPDXID, Type: "CONTAINS", Related: f.id})
}

// readLayer lists the regular files of l, layer li of n, hashing each and
// listing the files inside the guest pieces (paths in pieces).
func (g *generator) readLayer(l v1.Layer, li, n int, diffID v1.Hash, pieces map[string]string) ([]*layerFile, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []*layerFile
	for entries := 0; ; entries++ {
		if err := g.ctx.Err(); err != nil {
			return nil, context.Cause(g.ctx)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if entries >= image.MaxTarEntries {
			return nil, fmt.Errorf("more than %d entries", image.MaxTarEntries)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		p := path.Clean("/" + hdr.Name)
		if strings.HasPrefix(path.Base(p), image.WhiteoutPrefix) {
			continue
		}
		f, err := g.file(p, fmt.Sprintf("in layer %d of %d (%s)", li+1, n, diffID), tr, pieces[p])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, f)
	}
}

// file hashes r, the content of the file at p, and adds it to the
// document; for a piece (urunc.Initrd, urunc.Block) it lists the files
// inside too.
func (g *generator) file(p, comment string, r io.Reader, piece string) (*layerFile, error) {
	if g.nfiles >= MaxFiles {
		return nil, fmt.Errorf("more than %d files in all", MaxFiles)
	}
	g.nfiles++
	h1, h256 := sha1.New(), sha256.New()
	r = io.TeeReader(r, bothHashes{h1, h256})
	f := &layerFile{id: fmt.Sprintf("SPDXRef-File-%d", g.nfiles), path: p}
	listed := len(g.doc.Files)
	switch piece {
	case urunc.Initrd:
		f.inner, f.innerErr = g.initrdFiles(r)
	case urunc.Block:
		f.inner, f.innerErr = g.blockFiles(r)
	}
	if f.innerErr != nil {
		if g.ctx.Err() != nil {
			return nil, context.Cause(g.ctx)
		}
		// What was listed before the fault is dropped: the piece's
		// package says why it lists nothing.
		g.doc.Files, f.inner = g.doc.Files[:listed], nil
	}
	n, err := drain(r)
	if err != nil {
		return nil, err
	}
	f.size = n
	f.sha1, f.sha256 = hex.EncodeToString(h1.Sum(nil)), hex.EncodeToString(h256.Sum(nil))
	g.doc.Files = append(g.doc.Files, File{
		SPDXID:           f.id,
		FileName:         "." + p,
		Checksums:        checksums(f.sha1, f.sha256),
		LicenseConcluded: noAssertion,
		CopyrightText:    noAssertion,
		Comment:          comment,
	})
	return f, nil
}

// The guest pieces: how each is named and what it is for.
var pieceKinds = map[string]struct{ id, what, purpose string }{
	urunc.Binary: {"Kernel", "the guest kernel", "OPERATING-SYSTEM"},
	urunc.Initrd: {"Initrd", "the guest initrd", "ARCHIVE"},
	urunc.Block:  {"Block", "the guest block image", "FILE"},
}

// piece adds the package of a guest piece, f, of image id.
func (g *generator) piece(image, key string, f *layerFile) {
	k := pieceKinds[key]
	p := Package{
		SPDXID:                image + "-" + k.id,
		Name:                  path.Base(f.path),
		PackageFileName:       "." + f.path,
		DownloadLocation:      noAssertion,
		Checksums:             checksums(f.sha1, f.sha256),
		LicenseConcluded:      noAssertion,
		LicenseDeclared:       noAssertion,
		CopyrightText:         noAssertion,
		PrimaryPackagePurpose: k.purpose,
		Comment:               fmt.Sprintf("%s (annotation %s%s), the image's file %s (%s)", k.what, urunc.Prefix, key, f.path, f.id),
	}
	if f.innerErr != nil {
		p.Comment += "; its files could not be listed: " + f.innerErr.Error()
	}
	p.FilesAnalyzed = f.innerErr == nil && (key == urunc.Initrd || key == urunc.Block)
	i := len(g.doc.Packages)
	g.doc.Packages = append(g.doc.Packages, p)
	g.doc.Relationships = append(g.doc.Relationships, Relationship{Element: image, Type: "CONTAINS", Related: p.SPDXID})
	for _, in := range f.inner {
		g.contains(i, in)
	}
}

// inner adds a file found inside a guest piece, at p there, to the
// document.
func (g *generator) inner(p, piece string, r io.Reader) (*layerFile, error) {
	return g.file(p, "inside "+piece, r, "")
}

// nix adds a package for each Nix store path among the sources, which each
// image contains, and which contains the files copied from it.
func (g *generator) nix() {
	type nixPkg struct {
		id      string
		targets []Source
	}
	byPath := map[string]*nixPkg{}
	var order []string
	for _, s := range g.o.sources {
		sp, ok := storePath(s.Path)
		if !ok {
			continue
		}
		p, seen := byPath[sp]
		if !seen {
			p = &nixPkg{id: "SPDXRef-Nix-" + idPart(path.Base(sp))}
			byPath[sp] = p
			order = append(order, sp)
		}
		if s.Target != "" {
			p.targets = append(p.targets, s)
		}
	}
	sort.Strings(order)
	for _, sp := range order {
		np := byPath[sp]
		name, version := parseName(path.Base(sp)[storeHashLen+1:])
		g.doc.Packages = append(g.doc.Packages, Package{
			SPDXID:           np.id,
			Name:             name,
			VersionInfo:      version,
			PackageFileName:  sp,
			DownloadLocation: noAssertion,
			LicenseConcluded: noAssertion,
			LicenseDeclared:  noAssertion,
			CopyrightText:    noAssertion,
			Comment:          "Nix store path " + sp,
		})
		for _, im := range g.images {
			img := g.doc.Packages[im.pkg].SPDXID
			g.doc.Relationships = append(g.doc.Relationships, Relationship{Element: img, Type: "CONTAINS", Related: np.id})
			for _, t := range np.targets {
				for _, p := range slices.Sorted(maps.Keys(im.files)) {
					if p == t.Target || strings.HasPrefix(p, strings.TrimSuffix(t.Target, "/")+"/") {
						g.doc.Relationships = append(g.doc.Relationships, Relationship{Element: np.id, Type: "CONTAINS", Related: im.files[p].id})
					}
				}
			}
		}
	}
}

// parallelChunk is the smallest write bothHashes hashes on two cores.
const parallelChunk = 64 << 10

// bothHashes writes to two hashes, a large write to both at once: SPDX
// wants SHA-1 and SHA-256 of every file, and hashing them side by side
// halves the time an SBOM adds to a build.
type bothHashes struct{ a, b hash.Hash }

func (h bothHashes) Write(p []byte) (int, error) {
	if len(p) < parallelChunk {
		h.a.Write(p)
		return h.b.Write(p)
	}
	done := make(chan struct{})
	go func() {
		h.a.Write(p)
		close(done)
	}()
	h.b.Write(p)
	<-done
	return len(p), nil
}

// drain reads r to its end in large reads, which bothHashes hashes side
// by side (io.Copy to io.Discard reads 8 KiB at a time), and returns how
// many bytes it read.
func drain(r io.Reader) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func checksums(sha1, sha256 string) []Checksum {
	return []Checksum{{Algorithm: "SHA1", Value: sha1}, {Algorithm: "SHA256", Value: sha256}}
}

// verificationCode is SPDX's package verification code: the SHA-1 of the
// files' SHA-1s, sorted and concatenated.
func verificationCode(sha1s []string) string {
	s := slices.Clone(sha1s)
	sort.Strings(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// splitRef splits "name:tag" (the name may hold a registry's port).
func splitRef(ref string) (name, tag string) {
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

// repositoryURL returns repo when its first component names a registry
// (it holds a "." or ":", or is localhost), else "": an image named
// "bunix/hello" is in no registry yet.
func repositoryURL(repo string) string {
	host, _, ok := strings.Cut(repo, "/")
	if ok && (strings.ContainsAny(host, ".:") || host == "localhost") {
		if _, err := name.NewRepository(repo); err == nil {
			return repo
		}
	}
	return ""
}

// purlQualifiers encodes qualifiers, "key=value", as a purl's "?..." part.
func purlQualifiers(q []string) string {
	if len(q) == 0 {
		return ""
	}
	sort.Strings(q)
	for i, kv := range q {
		k, v, _ := strings.Cut(kv, "=")
		q[i] = k + "=" + strings.NewReplacer("%", "%25", ":", "%3A", "/", "%2F", "@", "%40", "?", "%3F", "&", "%26", "#", "%23").Replace(v)
	}
	return "?" + strings.Join(q, "&")
}

// idPart returns s with every character an SPDX ID or a URI path may not
// hold replaced by "-".
func idPart(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, s)
}
