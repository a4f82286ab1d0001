package run

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/ctxio"
	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/urunc"
)

// Process is how the container's process differs from the image's, as
// docker run takes it.
type Process struct {
	// Args, when set (HasArgs), replace the image's Cmd: the words after
	// IMAGE.
	Args    []string
	HasArgs bool
	// Entrypoint, when set, replaces the image's Entrypoint, and drops its
	// Cmd unless Args are given (docker run --entrypoint).
	Entrypoint    []string
	HasEntrypoint bool
	// Env are KEY=VALUE pairs set over the image's Env.
	Env []string
}

// DefaultPath is the PATH containerd and Docker give a container whose
// image sets none; urunc hands it to the guest with the rest of the Env.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// MaxEntries caps the tar headers of an image's layers, all together.
const MaxEntries = image.MaxBaseEntries

// MaxUnpacked caps the bytes of the regular files of an image's layers,
// all together: what a run may write to its private directory.
const MaxUnpacked = 64 << 30

// Loaded is an image read for a run: the guest and what reading it noticed.
type Loaded struct {
	Guest *Guest
	// Settings are urunc's settings as the run reads them.
	Settings Settings
	// Warnings are what the user should hear about the image, one line
	// each.
	Warnings []string
}

// Load reads img as urunc release b reads an image under containerd (from
// 0.8, the shim's settings from the manifest annotations over the config
// Labels, else /urunc.json, which Docker needs), unpacks its
// layers into dir/rootfs (the container's rootfs, as a snapshotter would,
// each layer checked against the config's diffID), and returns the guest
// with the files urunc hands the monitor. annotations are the manifest's
// (nil for a docker-archive). dir must exist and be empty and private.
func Load(ctx context.Context, img v1.Image, annotations map[string]string, p Process, dir string, b Behaviour) (*Loaded, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, &image.InvalidError{Err: fmt.Errorf("reading the config: %w", err)}
	}
	rootDir := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(rootDir, 0o700); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if err := unpack(ctx, img, cf, root); err != nil {
		return nil, err
	}
	l := &Loaded{}
	fromShim := Settings{}
	labels := cf.Config.Labels
	if !b.ReadsLabels {
		annotations, labels = nil, nil
	}
	for k, v := range labels {
		if short, ok := strings.CutPrefix(k, urunc.Prefix); ok {
			fromShim[short] = v
		}
	}
	for k, v := range annotations {
		if short, ok := strings.CutPrefix(k, urunc.Prefix); ok {
			fromShim[short] = v
		}
	}
	fromJSON, jsonErr := readSettings(root)
	switch {
	case complete(fromShim):
		l.Settings = fromShim
		if jsonErr == nil {
			for _, k := range urunc.Keys {
				if fromJSON[k] != fromShim[k] && k != urunc.Cmdline {
					l.Warnings = append(l.Warnings, fmt.Sprintf("%s says %s = %q, the image's labels %q: urunc under Docker reads the first, under containerd the second", urunc.JSONPath, k, fromJSON[k], fromShim[k]))
				}
			}
		}
	case jsonErr != nil:
		return nil, &image.InvalidError{Err: fmt.Errorf("no urunc settings: the labels lack unikernelType, hypervisor or binary, and %w; urunc would run the image as an ordinary container", jsonErr)}
	case !complete(fromJSON):
		return nil, &image.InvalidError{Err: fmt.Errorf("%s lacks unikernelType, hypervisor or binary: urunc would run the image as an ordinary container", urunc.JSONPath)}
	default:
		l.Settings = fromJSON
	}
	if b.ReadsUseDMBlock {
		l.Settings[urunc.MountRootfs] = l.Settings[urunc.UseDMBlock]
	}
	g, err := guestOf(l.Settings, &cf.Config, p, b)
	if err != nil {
		return nil, &image.InvalidError{Err: err}
	}
	if g.Kernel, err = hostPath(root, rootDir, urunc.Binary, l.Settings[urunc.Binary]); err != nil {
		return nil, err
	}
	if g.Rootfs == RootfsInitrd {
		if g.Initrd, err = hostPath(root, rootDir, urunc.Initrd, l.Settings[urunc.Initrd]); err != nil {
			return nil, err
		}
	}
	if b := l.Settings[urunc.Block]; b != "" && (g.Rootfs == RootfsBlock || g.BlockMount != "") {
		if g.Block, err = hostPath(root, rootDir, urunc.Block, b); err != nil {
			return nil, err
		}
	}
	if g.Rootfs == Rootfs9p {
		g.Shared = rootDir
	}
	l.Guest = g
	return l, nil
}

// complete reports whether s has the settings urunc needs to take an
// image for a unikernel.
func complete(s Settings) bool {
	return s[urunc.UnikernelType] != "" && s[urunc.Hypervisor] != "" && s[urunc.Binary] != ""
}

// guestOf is the guest of settings s and the image config c, with p over
// the image's process.
func guestOf(s Settings, c *v1.Config, p Process, b Behaviour) (*Guest, error) {
	g := &Guest{Type: s[urunc.UnikernelType], Monitor: s[urunc.Hypervisor], Version: s[urunc.UnikernelVersion], WorkingDir: c.WorkingDir,
		UnikraftArgv0: b.UnikraftArgv0}
	if !slices.Contains(urunc.Guests, g.Type) {
		return nil, fmt.Errorf("unikernelType = %q: not a guest urunc knows (%s)", g.Type, strings.Join(urunc.Guests, ", "))
	}
	if _, ok := urunc.Monitors[g.Monitor]; !ok {
		return nil, fmt.Errorf("hypervisor = %q: not a monitor urunc knows (%s)", g.Monitor, strings.Join(urunc.MonitorNames(), ", "))
	}
	if b.Runs != nil && !b.Runs(g.Type, g.Monitor) {
		return nil, fmt.Errorf("unikernelType = %q on hypervisor = %q: urunc %s does not run that pair", g.Type, g.Monitor, b.Name)
	}
	rootfs, err := ChooseRootfs(s)
	if err != nil {
		return nil, err
	}
	g.Rootfs = rootfs
	if rootfs != RootfsBlock && s[urunc.Block] != "" && s[urunc.BlkMntPoint] != "" && s[urunc.BlkMntPoint] != "/" {
		g.BlockMount = s[urunc.BlkMntPoint]
	}
	entrypoint, cmd := c.Entrypoint, c.Cmd
	if p.HasEntrypoint {
		entrypoint, cmd = p.Entrypoint, nil
	}
	if p.HasArgs {
		cmd = p.Args
	}
	g.Args = append(slices.Clone(entrypoint), cmd...)
	if len(g.Args) == 0 && b.CmdlineFallback {
		// urunc before PR #1017: the cmdline setting's words.
		g.Args = strings.Fields(s[urunc.Cmdline])
	}
	g.Env = mergeEnv(c.Env, p.Env)
	g.UID, g.GID = user(c.User)
	return g, nil
}

// mergeEnv is env with each of over set in it (replacing the same name,
// in place), and PATH added first when neither sets it, as containerd and
// Docker add it.
func mergeEnv(env, over []string) []string {
	out := slices.Clone(env)
	for _, kv := range over {
		name, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(out, func(e string) bool { return strings.HasPrefix(e, name+"=") })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	if !slices.ContainsFunc(out, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		out = append([]string{DefaultPath}, out...)
	}
	return out
}

// user reads a numeric "UID[:GID]"; a name, which urunc would look up in
// the container's /etc/passwd, counts as root here.
func user(u string) (uint32, uint32) {
	us, gs, _ := strings.Cut(u, ":")
	uid, _ := strconv.ParseUint(us, 10, 32)
	gid, _ := strconv.ParseUint(gs, 10, 32)
	return uint32(uid), uint32(gid)
}

// readSettings reads /urunc.json from the unpacked rootfs.
func readSettings(root *os.Root) (Settings, error) {
	f, err := root.Open(strings.TrimPrefix(urunc.JSONPath, "/"))
	if err != nil {
		return nil, fmt.Errorf("there is no %s", urunc.JSONPath)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", urunc.JSONPath)
	}
	data, err := io.ReadAll(io.LimitReader(f, urunc.MaxJSONSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", urunc.JSONPath, err)
	}
	s, err := urunc.DecodeJSON(data)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// hostPath is where the file the setting key names, p, is on the host:
// p resolved in the unpacked rootfs as a chroot would (symbolic links
// followed, none leading out), which must be a regular file.
func hostPath(root *os.Root, rootDir, key, p string) (string, error) {
	resolved, err := resolve(root, p)
	if err == nil {
		var fi fs.FileInfo
		if fi, err = root.Stat(strings.TrimPrefix(resolved, "/")); err == nil && !fi.Mode().IsRegular() {
			err = fmt.Errorf("not a regular file but %s", fi.Mode().Type())
		}
	}
	if err != nil {
		return "", &image.InvalidError{Err: fmt.Errorf("%s = %s: %w", key, msg.Quote(p, 120), err)}
	}
	return filepath.Join(rootDir, filepath.FromSlash(resolved)), nil
}

// The bounds of resolve: a path's length (urunc's), and the components it
// walks, links followed included.
const (
	maxPath  = 4096
	maxSteps = 256
)

// resolve follows the symbolic links of p in root, as a chroot would:
// an absolute target starts again at the root; at most 40 links.
func resolve(root *os.Root, p string) (string, error) {
	if len(p) > maxPath {
		return "", fmt.Errorf("longer than %d bytes", maxPath)
	}
	todo := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	if todo[0] == "" {
		todo = nil
	}
	done := "/"
	for links, steps := 0, 0; len(todo) > 0; steps++ {
		if steps > maxSteps {
			return "", fmt.Errorf("more than %d path components to follow", maxSteps)
		}
		name := todo[0]
		todo = todo[1:]
		next := path.Join(done, name)
		fi, err := root.Lstat(strings.TrimPrefix(next, "/"))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", errors.New("no such file in the image")
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		if links++; links > 40 {
			return "", errors.New("too many levels of symbolic links")
		}
		target, err := root.Readlink(strings.TrimPrefix(next, "/"))
		if err != nil {
			return "", err
		}
		// A relative target is read from the link's directory; ".." stops
		// at the root, as it does in a chroot.
		base := done
		if strings.HasPrefix(target, "/") {
			base = "/"
		}
		full := strings.Trim(path.Join("/", base, target), "/")
		done = "/"
		if full != "" {
			todo = append(strings.Split(full, "/"), todo...)
		}
	}
	return done, nil
}

// unpack writes the layers of img, in order, into root, as a snapshotter
// stacks them: whiteouts remove, later files replace earlier ones. Each
// layer's tar is hashed as it is read and checked against the config's
// diffID. Regular files, directories, symbolic and hard links are made;
// device nodes and FIFOs are left out; no owner is set and setuid bits go.
func unpack(ctx context.Context, img v1.Image, cf *v1.ConfigFile, root *os.Root) error {
	layers, err := img.Layers()
	if err != nil {
		return &image.InvalidError{Err: fmt.Errorf("reading the layers: %w", err)}
	}
	if len(layers) != len(cf.RootFS.DiffIDs) {
		return &image.InvalidError{Err: fmt.Errorf("the image has %d layers, but its config lists %d diffIDs", len(layers), len(cf.RootFS.DiffIDs))}
	}
	entries, written := 0, int64(0)
	for i, l := range layers {
		if err := unpackLayer(ctx, l, cf.RootFS.DiffIDs[i], root, &entries, &written); err != nil {
			if context.Cause(ctx) != nil {
				return context.Cause(ctx)
			}
			return fmt.Errorf("unpacking layer %d: %w", i, err)
		}
	}
	return nil
}

func unpackLayer(ctx context.Context, l v1.Layer, diffID v1.Hash, root *os.Root, entries *int, written *int64) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	tee := io.TeeReader(ctxio.Reader(ctx, rc), h)
	tr := tar.NewReader(tee)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &image.InvalidError{Err: err}
		}
		if *entries++; *entries > MaxEntries {
			return &image.InvalidError{Err: fmt.Errorf("the layers hold more than %d entries", MaxEntries)}
		}
		if sparse(hdr) {
			// Its holes would be written out in full: a few bytes of
			// layer could fill the disk. Docker does not read them either.
			return &image.InvalidError{Err: fmt.Errorf("%s: a sparse tar entry, which bunix run does not unpack", msg.Quote(hdr.Name, 120))}
		}
		if hdr.Typeflag == tar.TypeReg {
			if *written += hdr.Size; hdr.Size < 0 || *written > MaxUnpacked {
				return &image.InvalidError{Err: fmt.Errorf("the layers' files add up to more than %d bytes", int64(MaxUnpacked))}
			}
		}
		if err := unpackEntry(root, hdr, tr); err != nil {
			return fmt.Errorf("%s: %w", msg.Quote(hdr.Name, 120), err)
		}
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != diffID.String() {
		return &image.InvalidError{Err: fmt.Errorf("its content is %s, but the config's diffID says %s", got, diffID)}
	}
	return nil
}

func unpackEntry(root *os.Root, hdr *tar.Header, r io.Reader) error {
	name := strings.Trim(path.Clean("/"+hdr.Name), "/")
	if name == "" {
		return nil
	}
	dir, _ := path.Split(name)
	if target, opaque, ok := image.Whiteout("/" + name); ok {
		target = strings.Trim(target, "/")
		if target == "" && !opaque {
			return nil
		}
		if opaque {
			ents, err := fs.ReadDir(root.FS(), orDot(target))
			if err != nil {
				return nil
			}
			for _, e := range ents {
				if err := root.RemoveAll(path.Join(target, e.Name())); err != nil {
					return err
				}
			}
			return nil
		}
		return root.RemoveAll(target)
	}
	if dir != "" {
		if err := root.MkdirAll(strings.TrimSuffix(dir, "/"), 0o755); err != nil {
			return err
		}
	}
	if hdr.Typeflag != tar.TypeDir {
		if err := root.RemoveAll(name); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if fi, err := root.Lstat(name); err == nil && !fi.IsDir() {
			if err := root.Remove(name); err != nil {
				return err
			}
		}
		return root.MkdirAll(name, 0o755)
	case tar.TypeReg:
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, os.FileMode(hdr.Mode)&0o777|0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case tar.TypeSymlink:
		return root.Symlink(hdr.Linkname, name)
	case tar.TypeLink:
		return root.Link(strings.Trim(path.Clean("/"+hdr.Linkname), "/"), name)
	}
	return nil
}

func orDot(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// sparse reports whether hdr is a GNU or PAX sparse file.
func sparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}
