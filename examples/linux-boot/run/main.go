// Command run boots an image of a Linux guest under qemu the way urunc's
// qemu monitor does, for machines without urunc: a docker-archive, or the
// entry of an oci-archive (an image or an index) for -platform. It reads the
// settings from the image's /urunc.json (what urunc reads when Docker ran
// the container) and checks them against its config Labels (what it reads
// under containerd), takes the kernel and initrd out of the image, builds
// urunc's qemu command line and kernel command line, prints them, and runs
// qemu with the guest's console on standard output.
//
//	go run ./examples/linux-boot/run [-accel tcg|kvm] [-platform linux/arm64] [-timeout 2m] IMAGE.tar
//
// urunc runs qemu with -cpu host -enable-kvm; -accel tcg (the default, as
// KVM is not always there) puts -cpu max -accel tcg in their place. The
// rest is urunc's, for a linux guest with an initrd and no network
// (urunc's pkg/unikontainers/hypervisors/qemu.go and unikernels/linux.go),
// as urunc builds it on a host of the image's architecture: on arm64,
// qemu-system-aarch64 with -M virt and the console on ttyAMA0 (ttyS0 on
// amd64).
package main

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// labelPrefix prefixes urunc's keys in Labels and annotations.
const labelPrefix = "com.urunc.unikernel."

// defaultPath is the PATH containerd and Docker put in a container's
// environment when the image sets none; urunc hands the environment to a
// linux guest on the kernel command line.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// maxSettings bounds what is read of /urunc.json.
const maxSettings = 1 << 20

func main() {
	accel := flag.String("accel", "tcg", `"tcg" (emulation, works anywhere) or "kvm" (what urunc uses)`)
	timeout := flag.Duration("timeout", 2*time.Minute, "how long the guest may run before qemu is killed")
	qemu := flag.String("qemu", "", "the qemu binary (default: qemu-system-x86_64 for amd64, qemu-system-aarch64 for arm64)")
	platform := flag.String("platform", "", "the entry of an index to boot, e.g. linux/arm64 (default: linux/ and this machine's architecture)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] IMAGE.tar\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	arch, ok := strings.CutPrefix(*platform, "linux/")
	if flag.NArg() != 1 || (*accel != "tcg" && *accel != "kvm") || (*platform != "" && (!ok || qemuSystem[arch] == "")) {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*qemu, flag.Arg(0), arch, *accel, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
}

// qemuSystem is the qemu binary for each architecture this runner boots.
var qemuSystem = map[string]string{"amd64": "qemu-system-x86_64", "arm64": "qemu-system-aarch64"}

// guest is what urunc takes from an image to boot it.
type guest struct {
	arch     string            // the image's architecture
	settings map[string]string // urunc.json, decoded
	args     []string          // Entrypoint + Cmd
	env      []string
	files    map[string]string // image path -> extracted file
}

func run(qemu, image, arch, accel string, timeout time.Duration) error {
	dir, err := os.MkdirTemp("", "linux-boot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	img, err := open(image, arch, dir)
	if err != nil {
		return fmt.Errorf("reading %s: %w", image, err)
	}
	g, err := load(img, dir)
	if err != nil {
		return fmt.Errorf("reading %s: %w", image, err)
	}
	if accel == "kvm" && g.arch != runtime.GOARCH {
		return fmt.Errorf("%s: a %s guest cannot use KVM on this %s machine: use -accel tcg", image, g.arch, runtime.GOARCH)
	}
	if qemu == "" {
		qemu = qemuSystem[g.arch]
	}
	argv, err := qemuArgs(g, accel)
	if err != nil {
		return fmt.Errorf("%s: %w", image, err)
	}
	fmt.Println("run: " + shellQuote(append([]string{qemu}, argv...)))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, argv...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("the guest did not power off within %s", timeout)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", qemu, err)
	}
	return nil
}

// maxArchive bounds what is unpacked of an oci-archive.
const maxArchive = 4 << 30

// open opens the image to boot: a docker-archive's, or, in an oci-archive
// (unpacked below dir), the one the index names for linux/arch ("" for
// this machine's), as containerd picks it.
func open(image, arch, dir string) (v1.Image, error) {
	if img, err := tarball.ImageFromPath(image, nil); err == nil {
		return img, nil
	}
	oci := filepath.Join(dir, "oci")
	if err := untar(image, oci); err != nil {
		return nil, fmt.Errorf("neither a docker-archive nor an oci-archive: %w", err)
	}
	idx, err := layout.ImageIndexFromPath(oci)
	if err != nil {
		return nil, err
	}
	if arch == "" {
		arch = runtime.GOARCH
	}
	for range 2 { // the layout's index.json, then the index it names
		m, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		var have []string
		for _, d := range m.Manifests {
			switch {
			case d.MediaType.IsIndex() && len(m.Manifests) == 1:
				if idx, err = idx.ImageIndex(d.Digest); err != nil {
					return nil, err
				}
			case d.MediaType.IsImage() && (d.Platform == nil || d.Platform.OS == "linux" && d.Platform.Architecture == arch):
				return idx.Image(d.Digest)
			case d.Platform != nil:
				have = append(have, d.Platform.OS+"/"+d.Platform.Architecture)
			}
		}
		if len(have) > 0 {
			return nil, fmt.Errorf("no image for linux/%s (it has: %s)", arch, strings.Join(have, ", "))
		}
	}
	return nil, errors.New("no image in its index")
}

// untar unpacks the regular files and directories of the tar file name
// into dir, refusing a name that leaves it.
func untar(name, dir string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer r.Close()
	tr := tar.NewReader(io.LimitReader(f, maxArchive))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := path.Clean(h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			if p != "." {
				err = r.MkdirAll(p, 0o700)
			}
		case tar.TypeReg:
			if d := path.Dir(p); d != "." {
				if err = r.MkdirAll(d, 0o700); err != nil {
					return err
				}
			}
			var w *os.File
			if w, err = r.Create(p); err == nil {
				_, err = io.Copy(w, tr)
				if cerr := w.Close(); err == nil {
					err = cerr
				}
			}
		}
		if err != nil {
			return fmt.Errorf("unpacking %s: %w", h.Name, err)
		}
	}
}

// load reads the image's config and file system: urunc.json, checked
// against the Labels, and the files it names, extracted into dir.
func load(img v1.Image, dir string) (*guest, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	if qemuSystem[cfg.Architecture] == "" {
		return nil, fmt.Errorf("architecture %q: this runner boots amd64 and arm64 guests", cfg.Architecture)
	}
	g := &guest{arch: cfg.Architecture, args: append(append([]string{}, cfg.Config.Entrypoint...), cfg.Config.Cmd...), env: cfg.Config.Env, files: map[string]string{}}
	if len(g.env) == 0 {
		g.env = []string{defaultPath}
	}
	// The image's file system, flattened as a snapshotter would unpack it,
	// twice: for urunc.json, then for the files it names, each streamed to
	// a file in dir.
	var raw []byte
	err = walkFiles(img, func(name string, r io.Reader) error {
		if name != "/urunc.json" {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(r, maxSettings+1))
		if err != nil {
			return fmt.Errorf("reading /urunc.json: %w", err)
		}
		if len(b) > maxSettings {
			return fmt.Errorf("/urunc.json: larger than %d bytes", maxSettings)
		}
		raw = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, errors.New("no /urunc.json: urunc would run it as an ordinary container")
	}
	if g.settings, err = decodeSettings(raw, cfg.Config.Labels); err != nil {
		return nil, err
	}
	want := map[string]string{} // clean image path -> file in dir
	for _, key := range []string{"binary", "initrd"} {
		if p, ok := g.settings[key]; ok {
			want[path.Clean(p)] = filepath.Join(dir, key)
		}
	}
	err = walkFiles(img, func(name string, r io.Reader) error {
		dst, ok := want[name]
		if !ok {
			return nil
		}
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return fmt.Errorf("extracting %s: %w", name, err)
		}
		g.files[name] = dst
		return f.Close()
	})
	if err != nil {
		return nil, err
	}
	for _, key := range []string{"binary", "initrd"} {
		if p, ok := g.settings[key]; ok {
			if _, found := g.files[path.Clean(p)]; !found {
				return nil, fmt.Errorf("%s = %q: no such file in the image", key, p)
			}
			g.files[p] = g.files[path.Clean(p)]
		}
	}
	return g, nil
}

// decodeSettings decodes urunc.json, raw, as urunc does: one JSON object,
// every value standard base64 with padding; keys may carry the
// com.urunc.unikernel. prefix. A value the config labels hold must be the
// same there, as urunc under containerd would read the labels instead.
func decodeSettings(raw []byte, labels map[string]string) (map[string]string, error) {
	var encoded map[string]string
	if err := json.Unmarshal(raw, &encoded); err != nil {
		return nil, fmt.Errorf("/urunc.json: %w", err)
	}
	settings := map[string]string{}
	for k, v := range encoded {
		plain, err := base64.StdEncoding.Strict().DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("/urunc.json: %s: %w", k, err)
		}
		short := strings.TrimPrefix(k, labelPrefix)
		if _, dup := settings[short]; dup {
			return nil, fmt.Errorf("/urunc.json: %s given twice, with and without the prefix", short)
		}
		settings[short] = string(plain)
		if label, ok := labels[labelPrefix+short]; ok && label != string(plain) {
			return nil, fmt.Errorf("/urunc.json says %s = %q, the Labels %q", short, plain, label)
		}
	}
	return settings, nil
}

// walkFiles calls fn with the absolute, clean name and the contents of each
// regular file of img's flattened file system, in tar order.
func walkFiles(img v1.Image, fn func(name string, r io.Reader) error) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the image's file system: %w", err)
		}
		if h.Typeflag == tar.TypeReg {
			if err := fn(path.Clean("/"+h.Name), tr); err != nil {
				return err
			}
		}
	}
}

// qemuArgs is urunc's qemu command line for g, less the binary.
func qemuArgs(g *guest, accel string) ([]string, error) {
	s := g.settings
	if s["unikernelType"] != "linux" || s["hypervisor"] != "qemu" {
		return nil, fmt.Errorf("unikernelType %q on %q: this runner boots linux on qemu", s["unikernelType"], s["hypervisor"])
	}
	if s["initrd"] == "" {
		return nil, errors.New("no initrd: this runner boots a linux guest from its initrd")
	}
	args := append([]string{}, g.args...)
	if len(args) == 0 && s["cmdline"] != "" {
		// Older urunc took the command line from the annotation.
		args = strings.Fields(s["cmdline"])
	}
	if len(args) == 0 {
		return nil, errors.New("no init: the image has neither Entrypoint/Cmd nor a cmdline")
	}
	for i, a := range args {
		if strings.Contains(a, " ") {
			// urunc's convention for its own init (urunit), which a plain
			// kernel does not understand.
			args[i] = "'" + a + "'"
		}
	}
	// unikernels/linux.go CommandString, for an initrd rootfs, no network;
	// urunc on arm64 puts the console on the PL011 UART of qemu's virt
	// machine.
	console := "console=ttyS0"
	if g.arch == "arm64" {
		console = "console=ttyAMA0"
	}
	kernelCmdline := "panic=-1 " + console + " root=/dev/ram0 rw"
	for _, e := range g.env {
		kernelCmdline += " " + e
	}
	kernelCmdline += " rdinit=" + args[0] + " -- " + strings.Join(args[1:], " ")

	cpu := []string{"-cpu", "host", "-enable-kvm"}
	if accel == "tcg" {
		cpu = []string{"-cpu", "max", "-accel", "tcg"}
	}
	argv := []string{"-m", "256M", "-L", "/usr/share/qemu"}
	argv = append(argv, cpu...)
	argv = append(argv, "-display", "none", "-vga", "none", "-monitor", "null", "-serial", "stdio")
	if g.arch == "arm64" {
		// hypervisors/qemu.go: on arm64, qemu's virt machine.
		argv = append(argv, "-M", "virt")
	}
	argv = append(argv,
		"-kernel", g.files[s["binary"]], "-nic", "none", "-initrd", g.files[s["initrd"]],
		"-no-reboot", "-nodefaults", "-append", kernelCmdline)
	return argv, nil
}

// shellQuote renders argv as a shell would need it typed.
func shellQuote(argv []string) string {
	var out []string
	for _, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,") == "" {
			out = append(out, a)
		} else {
			out = append(out, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
		}
	}
	return strings.Join(out, " ")
}
