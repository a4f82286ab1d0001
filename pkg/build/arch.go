package build

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/nubificus/bunix/pkg/arch"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/urunc"
)

// guestFiles names the files of an image whose machine must be the
// image's architecture: the kernel (the binary annotation) in the image,
// and the guest's init (the first word of its process) in the image and in
// the rootfs bunix builds. Every other executable file is checked too.
type guestFiles struct {
	arch   string
	kernel string
	init   string
}

func guestFilesOf(r *args.Resolved) guestFiles {
	g := guestFiles{arch: r.Architecture, kernel: r.Settings["binary"]}
	if process := append(append([]string{}, r.Entrypoint...), r.Cmd...); len(process) > 0 {
		g.init = process[0]
	}
	return g
}

// check reads the first bytes (at most arch.PrefixSize) of each of cp's
// entries that g names or that is executable, and returns an error naming
// cp for each built for another machine than g.arch. A file whose format
// arch does not know (a placeholder, a unikernel format) passes. inRootfs
// says the entries are the rootfs's, where the kernel is not.
func (g guestFiles) check(cp args.Copy, entries []image.Entry, inRootfs bool) []error {
	var errs []error
	for _, e := range entries {
		if e.Type != image.Regular || e.Source == "" {
			continue
		}
		what := "the executable"
		switch {
		case e.Path == g.kernel && !inRootfs:
			what = "the kernel"
		case e.Path == g.init:
			what = "the guest's init"
		case !e.Executable:
			continue
		}
		k, ok, err := readArch(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok || k.Runs(g.arch) {
			continue
		}
		where := e.Path
		if inRootfs {
			where = e.Path + " in the rootfs"
		}
		fix := fmt.Sprintf("copy in %s built for %s", fileWord(what), g.arch)
		if slices.Contains(urunc.ArchitectureNames, k.Arch) {
			fix = fmt.Sprintf("set architecture = %s, or %s", strconv.Quote(k.Arch), fix)
		}
		errs = append(errs, cp.Errorf("%s %s (%s) is %s, but the image's architecture is %s: %s", what, where, e.Source, k, g.arch, fix))
	}
	return errs
}

// fileWord says what to build in place of a file, for a message.
func fileWord(what string) string {
	switch what {
	case "the kernel":
		return "a kernel"
	case "the executable":
		return "an executable"
	}
	return "an init"
}

// readArch reads what machine the source of e is built for, opened as
// planned (below its root, following no link, still the file planned).
func readArch(e image.Entry) (arch.Kind, bool, error) {
	f, err := e.Open()
	if err != nil {
		return arch.Kind{}, false, err
	}
	defer f.Close()
	k, ok, err := arch.Read(f)
	if err != nil {
		return arch.Kind{}, false, fmt.Errorf("reading %s to tell its architecture: %w", e.Source, err)
	}
	return k, ok, nil
}
