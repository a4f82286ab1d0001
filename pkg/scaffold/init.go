package scaffold

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/pkg/arch"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/urunc"
)

// Answers are what `bunix init` needs to know.
type Answers struct {
	// Guest is the unikernel type, Monitor the hypervisor.
	Guest, Monitor string
	// Binary is the kernel file, Initrd an optional initrd file, both as
	// paths relative to the directory the args.nix goes to.
	Binary, Initrd string
	Cmdline        string
	// Env is the guest's environment, as NAME=value.
	Env []string
	// Name is the image name; Tag its tag, "latest" when empty.
	Name, Tag string
	// Architecture is the image's (amd64, arm64, or another spelling
	// urunc.Architectures knows); when empty, the kernel's own when
	// KernelArchitecture can tell it, else args.DefaultArchitecture.
	Architecture string
	// Dir is the directory the args.nix goes to, which Binary and Initrd
	// are relative to. When it is set, Init refuses a Binary or Initrd
	// that is not a file there, since the build could not copy it.
	Dir string
}

// Missing lists the answers Init cannot do without, as flag names.
func (a *Answers) Missing() []string {
	var m []string
	for _, f := range []struct{ v, flag string }{{a.Guest, "--type"}, {a.Monitor, "--hypervisor"}, {a.Binary, "--binary"}} {
		if f.v == "" {
			m = append(m, f.flag)
		}
	}
	return m
}

// Init returns the description for a: the kernel (and initrd) copied under
// /unikernel, the annotations set, and hints for the root filesystem the
// guest can take.
func Init(a Answers) (*Description, error) {
	var bad problems
	if !slices.Contains(urunc.Guests, a.Guest) {
		bad.add("--type %q: unknown unikernel type (known: %s)", a.Guest, strings.Join(urunc.Guests, ", "))
	} else if !urunc.Runs(a.Guest, a.Monitor) {
		bad.add("--hypervisor %q: urunc runs %s on: %s", a.Monitor, a.Guest, strings.Join(urunc.MonitorsFor(a.Guest), ", "))
	}
	// The build splits the command line into the process args, and
	// refuses one that does not split: so does init, before writing it.
	if msg := args.AnnotationProblem(urunc.Cmdline, a.Cmdline); msg != "" {
		bad.add("--cmdline %s: %s", quoted(a.Cmdline), msg)
	} else if _, err := args.SplitCmdline(a.Cmdline); err != nil {
		bad.add("--cmdline %s: cannot be split into words: %v", quoted(a.Cmdline), err)
	}
	// JSON and HCL hold only UTF-8 (their writers would put U+FFFD in
	// place of the bytes, and args.nix keep them): refuse, do not change.
	for _, v := range append([]string{a.Cmdline, a.Name, a.Tag}, a.Env...) {
		if !utf8.ValidString(v) {
			bad.add("%s: not valid UTF-8, which a description holds only", quoted(v))
		}
	}
	if a.Binary == "" {
		bad.add("--binary: missing: the guest kernel file")
	} else if _, ok := unikernelTarget(filepath.ToSlash(a.Binary)); !ok {
		bad.add("--binary %s: names a directory, not the kernel file", quoted(a.Binary))
	}
	if target, ok := unikernelTarget(filepath.ToSlash(a.Initrd)); a.Initrd != "" && !ok {
		bad.add("--initrd %s: names a directory, not the initrd file", quoted(a.Initrd))
	} else if kernel, _ := unikernelTarget(filepath.ToSlash(a.Binary)); a.Initrd != "" && target == kernel {
		// Both would be copied to one path: args.nix would name it twice
		// (an attribute Nix refuses), args.json would keep one of them.
		bad.add("--initrd %s: goes to %s, where --binary %s goes: rename one of the files", quoted(a.Initrd), target, quoted(a.Binary))
	}
	if p := nameProblem(a.Name, a.Tag); p != "" {
		bad.add("%s", p)
	}
	if a.Dir != "" {
		for _, f := range []struct{ flag, p, what string }{{"--binary", a.Binary, "kernel"}, {"--initrd", a.Initrd, "initrd"}} {
			if f.p == "" {
				continue
			}
			if msg := fileProblem(a.Dir, f.p); msg != "" {
				bad.add("%s %s: %s: give the %s file's path relative to %s, where args.nix goes", f.flag, quoted(f.p), msg, f.what, clip(a.Dir))
			}
		}
	}
	arch := a.Architecture
	kernel, known := KernelArchitecture(a.Dir, a.Binary)
	switch {
	case arch == "" && known && slices.Contains(urunc.ArchitectureNames, kernel.Arch):
		arch = kernel.Arch
	case arch == "":
		arch = args.DefaultArchitecture
	case urunc.Architectures[arch] == "":
		bad.add("--architecture %s: unknown architecture (known: %s; x86_64 and aarch64 are accepted too)", quoted(arch), strings.Join(urunc.ArchitectureNames, ", "))
	default:
		arch = urunc.Architectures[arch]
		if known && !kernel.Runs(arch) {
			bad.add("--architecture %s: the kernel %s is %s: give --architecture %s, or a kernel built for %s", quoted(a.Architecture), quoted(a.Binary), kernel, kernel.Arch, arch)
		}
	}
	env := map[string]string{}
	for _, e := range a.Env {
		if msg := envProblem(e); msg != "" {
			bad.add("--env %s: %s", quoted(e), msg)
			continue
		}
		name, value, _ := strings.Cut(e, "=")
		env[name] = value
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	tag := a.Tag
	if tag == "" {
		tag = "latest"
	}
	d := &Description{
		Comment: []string{fmt.Sprintf("A %s guest on %s, written by `bunix init`.", a.Guest, a.Monitor)},
		Name:    a.Name, Tag: tag, Architecture: arch,
		Annotations: map[string]string{"unikernelType": a.Guest, "hypervisor": a.Monitor},
	}
	add := func(key, src string) {
		target, _ := unikernelTarget(filepath.ToSlash(src))
		d.Files = append(d.Files, Copy{Source: dotSlash(src), Target: target})
		d.Annotations[key] = target
	}
	add("binary", a.Binary)
	if a.Initrd != "" {
		add("initrd", a.Initrd)
	}
	if a.Cmdline != "" {
		d.Annotations["cmdline"] = a.Cmdline
	}
	if len(env) > 0 {
		d.Env = env
	}
	// A guest or monitor that no release runs yet builds only for urunc's
	// main branch: say so in the description, or the build refuses it.
	for _, name := range []string{a.Guest, a.Monitor} {
		if w := urunc.Unreleased(name); w != "" {
			d.Urunc = "main"
			d.Comment = append(d.Comment, w+".")
		}
	}
	switch {
	case urunc.DefaultRootfs(a.Guest) == "":
		d.Hints = []string{a.Guest + " takes no root filesystem."}
	case a.Initrd != "":
	case urunc.RawBlock(a.Guest):
		d.Hints = []string{
			a.Guest + " reads its block as a raw device, with no file system; to give it one, package the device's content as it is:",
			`rootfs = { type = "block"; from = ./disk.img; };`,
		}
	case urunc.DefaultRootfs(a.Guest) == urunc.RootfsInitrd:
		d.Hints = []string{
			"To give the guest files, let bunix build an initrd:",
			`rootfs = { type = "initrd"; include = { "./app.conf" = "/conf/app.conf"; }; };`,
		}
	default:
		d.Hints = []string{
			"To give the guest files, let bunix build a block image (the guest mounts it at " + urunc.BlockMountPoint(a.Guest) + "):",
			`rootfs = { type = "block"; include = { "./app.conf" = "/conf/app.conf"; }; };`,
			"or copy them into the image and hand the container snapshot over (needs devmapper):",
			`rootfs = { type = "raw"; include = { "./app.conf" = "/conf/app.conf"; }; };`,
		}
	}
	return d, nil
}

// envProblem says what is wrong with e as NAME=value, or "".
func envProblem(e string) string {
	name, value, ok := strings.Cut(e, "=")
	if !ok {
		return "want NAME=value"
	}
	return args.EnvProblem(name, value)
}

// fileProblem says why p, relative to dir unless absolute, is not a file
// the build can copy (a regular file, or a link to one), or "".
func fileProblem(dir, p string) string {
	full := p
	if !filepath.IsAbs(p) {
		full = filepath.Join(dir, p)
	}
	fi, err := os.Stat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "there is no " + clip(full)
	case err != nil:
		return err.Error()
	case fi.IsDir():
		return clip(full) + " is a directory"
	case !fi.Mode().IsRegular():
		// The build copies regular files only: a FIFO, a device or a
		// socket written into args.nix would fail there instead of here.
		return clip(full) + " is " + filekind.Of(fi.Mode()) + ", not a regular file"
	}
	// The build reads it: one it may not read would fail there.
	f, err := os.Open(full)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return clip(full) + " cannot be read: " + err.Error()
	}
	f.Close()
	return ""
}

// NextSteps are the lines to print once init has written file (args.nix,
// args.json or args.hcl) and, with flake, flake.nix, in dir: the commands
// of HowToBuild that build the image, to run in dir.
func NextSteps(dir, file string, flake bool) []string {
	lines := []string{"Next, in " + dir + ", build the image and load it:"}
	if filepath.Clean(dir) == "." {
		lines[0] = "Next, build the image and load it:"
	}
	for _, l := range HowToBuild(file) {
		if strings.HasPrefix(l, "  ") {
			lines = append(lines, l)
		}
	}
	if flake {
		lines = append(lines, "  nix build && docker load < result   # flake.nix says how to use a prebuilt bunix")
	}
	return lines
}

// unikernelTarget is where a kernel or initrd file src goes in the image:
// /unikernel and its base name; ok is false when src names no file.
func unikernelTarget(src string) (target string, ok bool) {
	base := path.Base(src)
	if base == "." || base == ".." || base == "/" || strings.HasSuffix(src, "/") {
		return "", false
	}
	return "/unikernel/" + base, true
}

func dotSlash(p string) string {
	p = filepath.ToSlash(p)
	if path.IsAbs(p) || strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") {
		return p
	}
	return "./" + p
}

// Ask fills in the missing answers by asking on w and reading lines from r,
// offering only the monitors that can run the chosen guest. It asks again
// after an answer it cannot use; it fails when r ends.
func Ask(r io.Reader, w io.Writer, a *Answers) error {
	in := bufio.NewScanner(r)
	ask := func(question string, valid func(string) string) (string, error) {
		for {
			fmt.Fprint(w, question)
			if !in.Scan() {
				if err := in.Err(); err != nil {
					return "", err
				}
				return "", errors.New("no answer: input ended")
			}
			ans := strings.TrimSpace(in.Text())
			if msg := valid(ans); msg != "" {
				fmt.Fprintln(w, "  "+msg)
				continue
			}
			return ans, nil
		}
	}
	var err error
	if a.Guest == "" {
		a.Guest, err = ask(fmt.Sprintf("Guest (%s): ", strings.Join(urunc.Guests, ", ")), func(s string) string {
			if !slices.Contains(urunc.Guests, s) {
				return "pick one of: " + strings.Join(urunc.Guests, ", ")
			}
			return ""
		})
		if err != nil {
			return err
		}
	}
	if a.Monitor == "" {
		ms := urunc.MonitorsFor(a.Guest)
		a.Monitor, err = ask(fmt.Sprintf("Monitor (%s) [%s]: ", strings.Join(ms, ", "), ms[0]), func(s string) string {
			if s != "" && !slices.Contains(ms, s) {
				return "urunc runs " + a.Guest + " on: " + strings.Join(ms, ", ")
			}
			return ""
		})
		if err != nil {
			return err
		}
		if a.Monitor == "" {
			a.Monitor = ms[0]
		}
	}
	if a.Binary == "" {
		if a.Binary, err = ask("Kernel file: ", func(s string) string {
			if s == "" {
				return "the path of the guest kernel, e.g. ./build/app_qemu-x86_64"
			}
			return ""
		}); err != nil {
			return err
		}
	}
	if a.Architecture == "" {
		def := args.DefaultArchitecture
		if k, ok := KernelArchitecture(a.Dir, a.Binary); ok && slices.Contains(urunc.ArchitectureNames, k.Arch) {
			def = k.Arch
		}
		if a.Architecture, err = ask(fmt.Sprintf("Architecture (%s) [%s]: ", strings.Join(urunc.ArchitectureNames, ", "), def), func(s string) string {
			if s != "" && urunc.Architectures[s] == "" {
				return "pick one of: " + strings.Join(urunc.ArchitectureNames, ", ")
			}
			return ""
		}); err != nil {
			return err
		}
		if a.Architecture == "" {
			a.Architecture = def
		}
	}
	if a.Cmdline == "" {
		if a.Cmdline, err = ask("Guest command line (empty for none): ", func(s string) string {
			if _, err := args.SplitCmdline(s); err != nil {
				return err.Error()
			}
			return ""
		}); err != nil {
			return err
		}
	}
	if a.Env == nil {
		var words []string
		if _, err = ask("Guest environment, NAME=value separated by spaces (empty for none): ", func(s string) string {
			var err error
			if words, err = args.SplitCmdline(s); err != nil {
				return err.Error()
			}
			for _, w := range words {
				if msg := envProblem(w); msg != "" {
					return fmt.Sprintf("%s: %s", quoted(w), msg)
				}
			}
			return ""
		}); err != nil {
			return err
		}
		a.Env = words
	}
	return nil
}

// KernelArchitecture tells what machine the kernel file binary, relative
// to dir, is built for, from its first bytes (arch.Read); ok is false when
// it cannot tell: an unknown format, or a file it cannot read.
func KernelArchitecture(dir, binary string) (k arch.Kind, ok bool) {
	if binary == "" {
		return arch.Kind{}, false
	}
	p := binary
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	f, _, err := filekind.OpenRegular(p)
	if err != nil {
		return arch.Kind{}, false
	}
	defer f.Close()
	k, ok, err = arch.Read(f)
	return k, ok && err == nil
}

var nameChars = regexp.MustCompile(`[^a-z0-9._-]+`)

// DefaultName derives an image name from a directory: "local/" and its base
// name, lowercased, with characters a reference cannot hold made "-".
func DefaultName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	base := strings.Trim(nameChars.ReplaceAllString(strings.ToLower(filepath.Base(abs)), "-"), "-._")
	if base == "" {
		base = "unikernel"
	}
	return "local/" + base
}

// Flake returns a flake.nix that builds args.nix with this project's
// library, for `bunix init --flake`. It is the flake of the template that
// `nix flake init -t github:nubificus/bunix` copies.
func Flake() []byte { return flakeNix }

//go:embed template/flake.nix
var flakeNix []byte
