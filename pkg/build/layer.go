package build

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"golang.org/x/sys/unix"
)

// Prebuilt is a layer built apart by WriteLayer (in Nix, its own
// derivation): the copy it holds, the creation time its files carry, and
// its blob.
type Prebuilt struct {
	Source, Target string
	Created        time.Time
	Blob           image.Blob
}

// WithPrebuilt has the images take each copy's layer from the Prebuilt
// that holds the same source at the same target with the same time,
// rather than read and hash the source again (image.Layer.Blob). Every
// one of layers must match a copy of an image, or the build fails.
func WithPrebuilt(layers []Prebuilt) Option {
	return func(o *options) { o.prebuilt = append(o.prebuilt, layers...) }
}

// The files of a directory WriteLayer writes.
const (
	layerBlobName = "blob"
	layerJSONName = "layer.json"
	// layerSkippedName marks a layer directory with no layer in it.
	layerSkippedName = "skipped"
	// layerVersion is the version of layer.json.
	layerVersion = 1
	// maxLayerJSON bounds the size of layer.json.
	maxLayerJSON = 64 << 10
)

// layerJSON is layer.json: what ReadLayers needs to use the blob without
// reading it.
type layerJSON struct {
	Version     int               `json:"version"`
	Source      string            `json:"source"`
	Target      string            `json:"target"`
	Created     time.Time         `json:"created"`
	Compression image.Compression `json:"compression"`
	MediaType   string            `json:"mediaType"`
	Digest      v1.Hash           `json:"digest"`
	DiffID      v1.Hash           `json:"diffID"`
	Size        int64             `json:"size"`
}

// WriteLayer writes the layer that copying source to target gives an
// image (the layer `bunix build` writes for that copy), compressed as c,
// into the new directory dir: its bytes as dir/blob and their description
// as dir/layer.json, for ReadLayers. Only WithCreated of opts counts. The
// layer depends on nothing else, so that the same file at the same target
// gives the same layer in every image.
func WriteLayer(ctx context.Context, dir, source, target string, c image.Compression, opts ...Option) (err error) {
	o := newOptions(opts)
	if _, err := image.ParseCompression(string(c)); err != nil {
		return fmt.Errorf("writing the layer of %s: %w", target, err)
	}
	// A source leading out of the store is not read: the image's own
	// build reports it, naming the field and its position.
	if p := args.StoreSourceProblem(source); p != "" {
		return skipLayer(dir, source+": "+p)
	}
	// Nor is a source that is not there ("${drv}/nope"): this builder
	// knows only the path, the image's build the field that wrote it.
	if _, err := os.Lstat(source); errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return skipLayer(dir, source+": does not exist")
	}
	entries, err := image.FromPath(source, target)
	if err != nil {
		return fmt.Errorf("reading the layer's source: %w", err)
	}
	return writeLayerDir(ctx, dir, image.Layer{Entries: entries, CreatedBy: "bunix: copy " + target}, source, target, c, o.created)
}

// WriteRootfsLayer writes the layer of the rootfs file that the one image
// descs describe builds (its rootfs.include, or its rootfs.from), as
// WriteLayer does: the rootfs layer `bunix build` writes for that image.
// Only the rootfs of the description, and what resolving it needs (the
// urunc annotations), count: its copies need not be there. Its copies out
// of an image (rootfs.include entries with an image, and urunit's image)
// are fetched as bunix build fetches them (fetchCopies). ReadLayers
// marks the layer as a rootfs's by a digest of the resolved rootfs, which
// WithPrebuilt matches.
//
// A description with a mistake, or with no rootfs file to build (a raw
// rootfs is a copy), gives a directory holding only the file "skipped",
// which says why, and no error: ReadLayers passes over it, and the image's
// own build then reports the mistake, with the position of the field.
func WriteRootfsLayer(ctx context.Context, dir string, descs []*args.Args, opts ...Option) error {
	o := newOptions(opts)
	if len(descs) != 1 {
		return fmt.Errorf("a rootfs layer is of one image, not %d", len(descs))
	}
	mtime := o.created
	if mtime.IsZero() {
		mtime = image.DefaultCreated
	}
	a, fetched, err := fetchCopies(ctx, descs[0], o.tempDir, o.registry)
	defer fetched()
	if err != nil && IsUserError(err) {
		return skipLayer(dir, err.Error())
	} else if err != nil {
		return err
	}
	r, err := a.Resolve()
	var plan *rootfsPlan
	switch {
	case err != nil && IsUserError(err):
		return skipLayer(dir, err.Error())
	case err != nil:
		return err
	case r.Rootfs == nil:
		return skipLayer(dir, "the description has no rootfs file to build")
	}
	if plan, err = planRootfs(r, mtime); err != nil && IsUserError(err) {
		return skipLayer(dir, err.Error())
	} else if err != nil {
		return err
	}
	tmp := o.tempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	e, done, err := plan.write(ctx, tmp, mtime)
	if err != nil {
		return err
	}
	defer done()
	return writeLayerDir(ctx, dir, image.Layer{Entries: []image.Entry{e}, CreatedBy: "bunix: rootfs " + e.Path}, rootfsKey(r.Rootfs), r.Rootfs.Path, r.Compression, o.created)
}

// skipLayer writes the directory of a layer not built: dir/skipped, saying
// why.
func skipLayer(dir, why string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("creating the layer directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, layerSkippedName), []byte(why+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", layerSkippedName, err)
	}
	return nil
}

// rootfsKey names the rootfs file rf describes, as the source of its
// layer: a digest of everything the file's bytes depend on.
func rootfsKey(rf *args.Rootfs) string {
	k := struct {
		Type, Path, FSType, Guest, From string
		Include                         [][2]string
		Size                            int64
		Gzip                            bool
	}{Type: rf.Type, Path: rf.Path, FSType: rf.FSType, Guest: rf.Guest, Size: rf.Size, Gzip: rf.Gzip}
	if rf.From != nil {
		k.From = rf.From.Source
	}
	for _, cp := range rf.Include {
		src := cp.Source
		if cp.Key != "" {
			src = cp.Key
		}
		k.Include = append(k.Include, [2]string{src, cp.Target})
	}
	data, _ := json.Marshal(k)
	return fmt.Sprintf("%s%x", rootfsSourcePrefix, sha256.Sum256(data))
}

// rootfsSourcePrefix starts the source of a rootfs layer in layer.json,
// where a copy's layer has an absolute path.
const rootfsSourcePrefix = "rootfs:sha256:"

// writeLayerDir writes l, compressed as c, into the new directory dir as
// WriteLayer describes, recording source and target in layer.json.
func writeLayerDir(ctx context.Context, dir string, l image.Layer, source, target string, c image.Compression, created time.Time) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("creating the layer directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, layerBlobName), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("creating the layer blob: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	b, err := image.WriteLayer(ctx, bw, l, created, c)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing the layer blob: %w", cerr)
	}
	if err != nil {
		return err
	}
	if created.IsZero() {
		created = image.DefaultCreated
	}
	data, err := json.Marshal(layerJSON{
		Version: layerVersion, Source: source, Target: target, Created: created.UTC().Truncate(time.Second),
		Compression: c, MediaType: string(b.MediaType()), Digest: b.Digest, DiffID: b.DiffID, Size: b.Size,
	})
	if err != nil {
		return fmt.Errorf("encoding %s: %w", layerJSONName, err)
	}
	if err := os.WriteFile(filepath.Join(dir, layerJSONName), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", layerJSONName, err)
	}
	return nil
}

// ReadLayers reads the layers WriteLayer and WriteRootfsLayer wrote into
// dirs, passing over those skipped. It reads each layer.json, and of each
// blob nothing.
func ReadLayers(dirs []string) ([]Prebuilt, error) {
	var out []Prebuilt
	for _, dir := range dirs {
		if _, err := os.Lstat(filepath.Join(dir, layerSkippedName)); err == nil {
			continue
		}
		p, err := readLayer(dir)
		if err != nil {
			return nil, fmt.Errorf("reading the layer %s: %w", dir, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func readLayer(dir string) (Prebuilt, error) {
	data, err := filekind.ReadRegular(filepath.Join(dir, layerJSONName), maxLayerJSON)
	if errors.Is(err, filekind.ErrTooLarge) {
		return Prebuilt{}, fmt.Errorf("%s is larger than %d bytes", layerJSONName, maxLayerJSON)
	}
	if err != nil {
		return Prebuilt{}, err
	}
	p, err := decodeLayerJSON(data)
	if err != nil {
		return Prebuilt{}, fmt.Errorf("%s: %w", layerJSONName, err)
	}
	p.Blob.Path = filepath.Join(dir, layerBlobName)
	return p, nil
}

// decodeLayerJSON decodes and checks layer.json; the Blob has no Path.
func decodeLayerJSON(data []byte) (Prebuilt, error) {
	var l layerJSON
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&l); err != nil {
		return Prebuilt{}, err
	}
	if d.More() {
		return Prebuilt{}, errors.New("more than one JSON value")
	}
	b := image.Blob{Compression: l.Compression, Digest: l.Digest, DiffID: l.DiffID, Size: l.Size}
	switch {
	case l.Version != layerVersion:
		return Prebuilt{}, fmt.Errorf("version %d, but this bunix reads version %d", l.Version, layerVersion)
	case !(filepath.IsAbs(l.Source) || strings.HasPrefix(l.Source, rootfsSourcePrefix)) || !filepath.IsAbs(l.Target):
		return Prebuilt{}, fmt.Errorf("source %s and target %s must be absolute paths", clip(l.Source), clip(l.Target))
	case l.Size < 0:
		return Prebuilt{}, fmt.Errorf("negative size %d", l.Size)
	case !image.IsSHA256(l.Digest) || !image.IsSHA256(l.DiffID):
		return Prebuilt{}, fmt.Errorf("digest %s and diffID %s must be sha256 digests", clip(l.Digest.String()), clip(l.DiffID.String()))
	}
	if _, err := image.ParseCompression(string(l.Compression)); err != nil {
		return Prebuilt{}, err
	}
	if mt := string(b.MediaType()); l.MediaType != mt {
		return Prebuilt{}, fmt.Errorf("media type %s, but a %s layer's is %q", clip(l.MediaType), l.Compression, mt)
	}
	if l.Compression == image.Uncompressed && l.Digest != l.DiffID {
		return Prebuilt{}, fmt.Errorf("an uncompressed layer's digest %s and diffID %s differ", l.Digest, l.DiffID)
	}
	return Prebuilt{Source: l.Source, Target: l.Target, Created: l.Created, Blob: b}, nil
}

// clip quotes s for a message, at most 256 bytes of it (see msg.Quote).
func clip(s string) string { return msg.Quote(s, 256) }

// usePrebuilt gives each layer of the jobs that a prebuilt layer holds its
// blob, and fails naming any prebuilt layer no job copies.
func usePrebuilt(jobs []*job, prebuilt []Prebuilt) error {
	type key struct {
		source, target string
		created        int64
	}
	keyOf := func(p Prebuilt) key {
		if strings.HasPrefix(p.Source, rootfsSourcePrefix) {
			return key{p.Source, p.Target, p.Created.Unix()}
		}
		return key{filepath.Clean(p.Source), p.Target, p.Created.Unix()}
	}
	byKey := map[key]int{}
	for i, p := range prebuilt {
		byKey[keyOf(p)] = i
	}
	// A layer may be given twice, by two images of an index that copy the
	// same file.
	used := map[key]bool{}
	for _, j := range jobs {
		for _, cp := range j.r.Copies {
			k := key{filepath.Clean(cp.Source), cp.Target, j.mtime.Unix()}
			i, ok := byKey[k]
			if !ok {
				continue
			}
			l := j.layers[cp.Target]
			l.Blob = &prebuilt[i].Blob
			j.layers[cp.Target] = l
			used[k] = true
		}
	}
	for _, j := range jobs {
		if j.plan == nil {
			continue
		}
		k := key{rootfsKey(j.r.Rootfs), j.r.Rootfs.Path, j.mtime.Unix()}
		if i, ok := byKey[k]; ok {
			j.rootfsBlob = &prebuilt[i].Blob
			used[k] = true
		}
	}
	var errs []error
	for _, p := range prebuilt {
		if !used[keyOf(p)] {
			errs = append(errs, fmt.Errorf("the prebuilt layer %s holds %s at %s (time %s), which no image copies there", p.Blob.Path, p.Source, p.Target, p.Created.Format(time.RFC3339)))
		}
	}
	return errors.Join(errs...)
}
