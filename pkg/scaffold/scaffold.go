// Package scaffold writes args.nix files for people starting out: from a
// few answers (bunix init), or from the files bunny and pun read (bunix
// convert: bunnyfiles and Dockerfile-like Containerfiles). What a source file
// says that bunix cannot carry over is an error that names it, never
// silently dropped.
package scaffold

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/internal/nixexpr"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/urunc"
)

// HowToBuild are the comment lines that init and convert write under the
// first line of a description named file (its base name): for an args.nix,
// commands that build it on a machine with Nix but no nixpkgs (the
// Makefile's image target builds bunix with Go and hands it to nix-build as
// --arg bunix), or with the CLI alone; for an args.json or args.hcl, which
// only the CLI reads, the CLI's. The nix tests run the make line as
// written, with the checkout's path in place of CheckoutPlaceholder.
func HowToBuild(file string) []string {
	cli := "  bunix build -f " + file + " -o image.tar && docker load < image.tar"
	if filepath.Ext(file) != ".nix" {
		return []string{"Build it with the bunix CLI (no Nix needed):", cli}
	}
	return []string{
		"Build it from this file's directory, with Nix and a bunix checkout (no nixpkgs",
		"needed: `make image` builds bunix with Go and passes it to nix-build):",
		"  make -C " + CheckoutPlaceholder + " image ARGS=$PWD/" + file + " && docker load < " + CheckoutPlaceholder + "/result",
		"or with the bunix CLI alone:",
		cli,
	}
}

// CheckoutPlaceholder stands for the directory of a bunix checkout in
// HowToBuild.
const CheckoutPlaceholder = "/path/to/bunix"

// Description is an image description on its way to becoming an args.nix.
type Description struct {
	// Comment heads the file, one line a string; the renderers add
	// HowToBuild of File under it.
	Comment []string
	// File is the base name of the file the description goes to, which
	// HowToBuild names ("args.nix" when empty).
	File         string
	Name, Tag    string
	Architecture string
	// Files are copies into the image, in order.
	Files []Copy
	// Annotations are urunc settings by short key.
	Annotations map[string]string
	// Env is the guest's environment; Entrypoint and Cmd its process args
	// (nil when not given).
	Env             map[string]string
	Entrypoint, Cmd []string
	// WorkingDir and User are the image's (WORKDIR, USER); "" when not
	// given.
	WorkingDir, User string
	// Urunc is the oldest urunc release the image must run on ("" for the
	// default).
	Urunc string
	// Rootfs, when set, asks bunix to build or package a root filesystem.
	Rootfs *Rootfs
	// From is the base image: a registry reference as written (FROM
	// registry/repo:tag), which Convert pins; "" for none (FROM scratch).
	From string
	// FromWhere names the line or field From came from in messages.
	FromWhere string
	// Base is From pinned: what the args.nix's from says.
	Base *Base
	// Hints are comment lines at the end of the attribute set.
	Hints []string
}

// Copy is one source to copy to one target.
type Copy struct {
	Source, Target string
	// Where names the line or field the copy came from in messages, e.g.
	// `Containerfile:4: COPY "kernel"`; it is not rendered.
	Where string
	// add marks a copy from ADD, whose archives Docker would extract.
	add bool
	// into is a Containerfile copy's target as written, cleaned: where
	// Docker puts the contents of a directory source.
	into string
	// Image, when set, is the image Source is a path in (COPY --from, a
	// bunnyfile include from an image), as written; Base is it pinned.
	Image string
	Base  *Base
}

// Base is a base image pinned by digest: the from attribute of an args.nix.
type Base struct {
	Ref, Digest, Hash string
	// Insecure says that the registry was reached over plain HTTP: the
	// build must pull it so too.
	Insecure bool
	// Entrypoint and Cmd are the base image's: a Containerfile's CMD runs
	// under its ENTRYPOINT, as Docker's builder has it.
	Entrypoint, Cmd []string
}

// Rootfs is the rootfs attribute of an args.nix.
type Rootfs struct {
	Type    string
	Include []Copy
	// From is a prebuilt rootfs file to package as it is.
	From string
	// FromWhere names the field From came from in messages; it is not
	// rendered.
	FromWhere string
}

// Nix renders d as an args.nix.
func (d *Description) Nix() []byte {
	var b strings.Builder
	for _, c := range d.head("nix") {
		b.WriteString(strings.TrimRight("# "+c, " ") + "\n")
	}
	b.WriteString("{\n")
	fmt.Fprintf(&b, "  name = %s;\n", nixexpr.String(d.Name))
	fmt.Fprintf(&b, "  tag = %s;\n", nixexpr.String(d.Tag))
	if d.Architecture != "" {
		fmt.Fprintf(&b, "  architecture = %s;\n", nixexpr.String(d.Architecture))
	}
	if d.Urunc != "" {
		fmt.Fprintf(&b, "  urunc = %s; # the oldest urunc release the image must run on\n", nixexpr.String(d.Urunc))
	}
	if f := d.Base; f != nil {
		fmt.Fprintf(&b, "\n  # The base image, %s, pinned when bunix convert ran: its layers come\n", d.From)
		b.WriteString("  # first, its Env, Entrypoint, Cmd, WorkingDir and Labels are inherited.\n")
		b.WriteString("  # To move to what the tag names now: bunix prefetch " + f.Ref + "\n")
		fmt.Fprintf(&b, "  from = {\n    ref = %s;\n    digest = %s;\n    hash = %s;\n", nixexpr.String(f.Ref), nixexpr.String(f.Digest), nixexpr.String(f.Hash))
		if f.Insecure {
			b.WriteString("    insecure = true; # the registry speaks plain HTTP\n")
		}
		b.WriteString("  };\n")
	}
	local, fromImages := splitCopies(d.Files)
	if len(local) > 0 {
		b.WriteString("\n  # \"source\" = \"/target in the image\"; sources are relative to this file.\n")
		writeCopies(&b, "  ", "files", local)
	}
	if len(fromImages) > 0 {
		b.WriteString("\n  # Copies out of other images (COPY --from), each pinned by digest when\n")
		b.WriteString("  # bunix convert ran; source is the path in the image.\n")
		writeCopyList(&b, "  ", "contents", fromImages)
	}
	if r := d.Rootfs; r != nil {
		b.WriteString("\n  rootfs = {\n")
		fmt.Fprintf(&b, "    type = %s;\n", nixexpr.String(r.Type))
		if r.From != "" {
			fmt.Fprintf(&b, "    from = %s;\n", nixexpr.String(r.From))
		}
		if _, fromImages := splitCopies(r.Include); len(fromImages) > 0 {
			writeCopyList(&b, "    ", "include", r.Include)
		} else if len(r.Include) > 0 {
			writeCopies(&b, "    ", "include", r.Include)
		}
		b.WriteString("  };\n")
	}
	d.writeProcess(&b)
	b.WriteString("\n  # How urunc runs the image (keys without the com.urunc.unikernel. prefix).\n")
	b.WriteString("  annotations = {\n")
	for _, k := range urunc.Keys {
		if v, ok := d.Annotations[k]; ok {
			fmt.Fprintf(&b, "    %s = %s; # %s\n", k, nixexpr.String(v), urunc.KeyDocs[k])
		}
	}
	b.WriteString("  };\n")
	if len(d.Hints) > 0 {
		b.WriteString("\n")
		for _, h := range d.Hints {
			b.WriteString(strings.TrimRight("  # "+h, " ") + "\n")
		}
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// writeProcess renders env, entrypoint, cmd, workingDir and user, those
// that are given.
func (d *Description) writeProcess(b *strings.Builder) {
	if len(d.Env) > 0 {
		b.WriteString("\n  env = {\n")
		for _, k := range slices.Sorted(maps.Keys(d.Env)) {
			name := k
			if !nixName.MatchString(k) || slices.Contains(nixKeywords, k) {
				name = nixexpr.String(k)
			}
			fmt.Fprintf(b, "    %s = %s;\n", name, nixexpr.String(d.Env[k]))
		}
		b.WriteString("  };\n")
	}
	for _, l := range []struct {
		attr  string
		words []string
	}{{"entrypoint", d.Entrypoint}, {"cmd", d.Cmd}} {
		if l.words == nil {
			continue
		}
		quoted := make([]string, len(l.words))
		for i, w := range l.words {
			quoted[i] = nixexpr.String(w)
		}
		fmt.Fprintf(b, "  %s = [ %s ];\n", l.attr, strings.Join(quoted, " "))
	}
	if d.WorkingDir != "" {
		fmt.Fprintf(b, "  workingDir = %s;\n", nixexpr.String(d.WorkingDir))
	}
	if d.User != "" {
		fmt.Fprintf(b, "  user = %s;\n", nixexpr.String(d.User))
	}
}

// nixName is an attribute name Nix reads without quotes, unless it is one
// of nixKeywords.
var nixName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var nixKeywords = []string{"assert", "else", "if", "in", "inherit", "let", "or", "rec", "then", "with"}

func writeCopies(b *strings.Builder, indent, attr string, copies []Copy) {
	fmt.Fprintf(b, "%s%s = {\n", indent, attr)
	for _, c := range copies {
		fmt.Fprintf(b, "%s  %s = %s;\n", indent, nixexpr.String(c.Source), nixexpr.String(c.Target))
	}
	fmt.Fprintf(b, "%s};\n", indent)
}

// splitCopies parts copies into those from the build context and those
// out of an image.
func splitCopies(copies []Copy) (local, fromImages []Copy) {
	for _, c := range copies {
		if c.Image != "" {
			fromImages = append(fromImages, c)
		} else {
			local = append(local, c)
		}
	}
	return local, fromImages
}

// writeCopyList renders copies as a list of { source; target; }, a copy
// out of an image with its image = { ref; digest; hash; }.
func writeCopyList(b *strings.Builder, indent, attr string, copies []Copy) {
	fmt.Fprintf(b, "%s%s = [\n", indent, attr)
	for _, c := range copies {
		img := ""
		if f := c.Base; f != nil {
			insecure := ""
			if f.Insecure {
				insecure = " insecure = true;"
			}
			img = fmt.Sprintf("image = { ref = %s; digest = %s; hash = %s;%s }; ", nixexpr.String(f.Ref), nixexpr.String(f.Digest), nixexpr.String(f.Hash), insecure)
		}
		fmt.Fprintf(b, "%s  { %ssource = %s; target = %s; }\n", indent, img, nixexpr.String(c.Source), nixexpr.String(c.Target))
	}
	fmt.Fprintf(b, "%s];\n", indent)
}

// problems collects what cannot be carried over, one line each.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Problems: p}
}

// Error lists what a source file says that bunix cannot carry over.
type Error struct{ Problems []string }

func (e *Error) Error() string { return strings.Join(e.Problems, "\n") }

// maxShown is how many bytes of a value a message shows.
const maxShown = 80

// quoted quotes a value for a message, at most maxShown bytes of it (see
// msg.Quote).
func quoted(s string) string { return msg.Quote(s, maxShown) }

// clip cuts text for a message that shows it bare (a path after "there is
// no", a reference) to at most maxShown bytes (see msg.Cut).
func clip(s string) string { return msg.Cut(s, maxShown) }

// nameProblem is what the build would say is wrong with --name name and
// --tag tag (tag "" being latest), naming the flag, or "" when name is ""
// (DefaultName is used) or both are fine.
func nameProblem(name, tag string) string {
	if name == "" {
		return ""
	}
	if tag == "" {
		tag = "latest"
	}
	switch field, msg := args.ReferenceProblem(name, tag); field {
	case "name":
		return fmt.Sprintf("--name %s: %s", quoted(name), msg)
	case "tag":
		return fmt.Sprintf("--tag %s: %s", quoted(tag), msg)
	}
	return ""
}
