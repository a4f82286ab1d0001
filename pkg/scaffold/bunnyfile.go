package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/urunc"
	"gopkg.in/yaml.v3"
)

// bunnyfile is bunny's YAML format, version v0.1.
type bunnyfile struct {
	Version   string `yaml:"version"`
	Platforms struct {
		Framework    string `yaml:"framework"`
		Version      string `yaml:"version"`
		Monitor      string `yaml:"monitor"`
		Architecture string `yaml:"architecture"`
	} `yaml:"platforms"`
	Rootfs struct {
		From    string        `yaml:"from"`
		Path    string        `yaml:"path"`
		Type    string        `yaml:"type"`
		Include []includeItem `yaml:"include"`
	} `yaml:"rootfs"`
	Kernel struct {
		From string `yaml:"from"`
		Path string `yaml:"path"`
	} `yaml:"kernel"`
	Cmdline    string   `yaml:"cmdline"`
	Cmd        []string `yaml:"cmd"`
	Entrypoint []string `yaml:"entrypoint"`
	Envs       []string `yaml:"envs"`
}

// Bunnyfile converts a bunnyfile (YAML, version v0.1) read from file:
// cmdline, cmd, entrypoint and envs become annotations.cmdline, cmd,
// entrypoint and env, rootfs.include entries in either form
// ("source:/target", or { source, destination }) its includes. Sources stay
// relative to the build context; the caller rebases them. What bunix cannot
// carry over (a kernel or rootfs from a remote image, an include from an
// image) is an error naming the field.
func Bunnyfile(src []byte, file string) (*Description, error) {
	var b bunnyfile
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&b); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{Problems: []string{fmt.Sprintf("%s: %v", file, err)}}
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		line := ""
		if err == nil {
			line = fmt.Sprintf(" at line %d", more.Line)
		}
		return nil, &Error{Problems: []string{fmt.Sprintf("%s: a second YAML document%s: a bunnyfile is one document", file, line)}}
	}
	var bad problems
	at := func(field string) string { return file + ": " + field }
	if msg := checkVersion(b.Version); msg != "" {
		bad.add("%s = %s: %s", at("version"), quoted(b.Version), msg)
	}
	d := &Description{Annotations: map[string]string{}}
	set := func(field, key, v string) {
		if v == "" {
			return
		}
		// The build would refuse the value: say so with the field.
		if msg := args.AnnotationProblem(key, v); msg != "" {
			bad.add("%s = %s: %s", at(field), quoted(v), msg)
			return
		}
		d.Annotations[key] = v
	}
	set("platforms.framework", "unikernelType", b.Platforms.Framework)
	set("platforms.monitor", "hypervisor", b.Platforms.Monitor)
	set("platforms.version", "unikernelVersion", b.Platforms.Version)
	set("cmdline", "cmdline", b.Cmdline)
	if a := b.Platforms.Architecture; a != "" {
		if d.Architecture = urunc.Architectures[a]; d.Architecture == "" {
			bad.add("%s = %s: unknown architecture (bunix builds %s)", at("platforms.architecture"), quoted(a), strings.Join(urunc.ArchitectureNames, ", "))
		}
	}
	switch b.Kernel.From {
	case "local":
		if b.Kernel.Path == "" {
			bad.add("%s: missing: the kernel file in the build context", at("kernel.path"))
			break
		}
		target, ok := unikernelTarget(b.Kernel.Path)
		if !ok {
			bad.add("%s = %s: names a directory, not the kernel file", at("kernel.path"), quoted(b.Kernel.Path))
			break
		}
		d.Files = append(d.Files, Copy{Source: b.Kernel.Path, Target: target, Where: fmt.Sprintf("%s %s", at("kernel.path"), quoted(b.Kernel.Path))})
		d.Annotations["binary"] = target
	case "":
		bad.add("%s: missing: bunix packages a prebuilt kernel (from: local)", at("kernel.from"))
	default:
		// An image reference: the kernel is kernel.path in that image,
		// which becomes the base.
		if _, err := name.ParseReference(b.Kernel.From); err != nil || !strings.ContainsAny(b.Kernel.From, ":/") {
			bad.add("%s = %s: neither local nor an image reference (registry/repo:tag): bunix does not build unikernels; build it, then use from: local", at("kernel.from"), quoted(b.Kernel.From))
			break
		}
		if !path.IsAbs(b.Kernel.Path) || path.Clean(b.Kernel.Path) != b.Kernel.Path {
			bad.add("%s = %s: the kernel's absolute, clean path in the image %s", at("kernel.path"), quoted(b.Kernel.Path), clip(b.Kernel.From))
			break
		}
		d.From, d.FromWhere = b.Kernel.From, at("kernel.from")
		d.Annotations["binary"] = b.Kernel.Path
	}
	r := b.Rootfs
	if r.From == "" && len(r.Include) > 0 && r.Path == "" {
		r.From = "scratch" // bunny's default for a rootfs built from includes
	}
	switch r.From {
	case "":
		if r.Type != "" || len(r.Include) > 0 || r.Path != "" {
			bad.add("%s: missing: give scratch or local", at("rootfs.from"))
		}
	case "scratch":
		d.Rootfs = &Rootfs{Type: rootfsType(&bad, at("rootfs.type"), r.Type, b.Platforms.Framework)}
		targets, sources := map[string]int{}, map[string]int{}
		for i, item := range r.Include {
			field := fmt.Sprintf("%s[%d]", at("rootfs.include"), i)
			if item.problem != "" {
				bad.add("%s: %s", field, item.problem)
				continue
			}
			inc, src, dst := item.text, item.source, item.destination
			if item.mapping && (src == "" || dst == "") {
				bad.add("%s: { source: %s, destination: %s }: want a source and a destination", field, quoted(src), quoted(dst))
				continue
			}
			if !item.mapping {
				var ok bool
				src, dst, ok = strings.Cut(inc, ":")
				if !ok || src == "" || dst == "" {
					bad.add("%s: %s: want source:/target", field, quoted(inc))
					continue
				}
			}
			// A target without a leading slash is under the root, as
			// bunny and Docker read it.
			if !path.IsAbs(dst) {
				dst = "/" + dst
			}
			if inc == "" {
				inc = src + ":" + dst
			}
			dst = path.Clean(dst)
			if j, ok := targets[dst]; ok {
				bad.add("%s: %s: target %s is also the target of rootfs.include[%d]: two sources cannot share one target", field, quoted(inc), clip(dst), j)
				continue
			}
			if j, ok := sources[path.Clean(src)]; ok {
				bad.add("%s: %s: source is also included at rootfs.include[%d]: args.nix copies each source to one target", field, quoted(inc), j)
				continue
			}
			targets[dst], sources[path.Clean(src)] = i, i
			c := Copy{Source: src, Target: dst, Where: fmt.Sprintf("%s %s", field, quoted(src))}
			if item.image != "" {
				c.Image, c.Source = item.image, path.Clean("/"+src)
			}
			d.Rootfs.Include = append(d.Rootfs.Include, c)
		}
	case "local":
		if len(r.Include) > 0 {
			bad.add("%s: include with from: local adds files to an existing rootfs, which bunny refuses too: build the rootfs with them, or use from: scratch", at("rootfs.include"))
		}
		if r.Path == "" {
			bad.add("%s: missing: the rootfs file in the build context", at("rootfs.path"))
			break
		}
		d.Rootfs = &Rootfs{Type: rootfsType(&bad, at("rootfs.type"), r.Type, b.Platforms.Framework), From: r.Path, FromWhere: fmt.Sprintf("%s %s", at("rootfs.path"), quoted(r.Path))}
	default:
		if r.From == b.Kernel.From {
			break // the base's own files
		}
		if _, err := name.ParseReference(r.From); err != nil || !strings.ContainsAny(r.From, ":/") {
			bad.add("%s = %s: neither scratch, local nor an image reference (registry/repo:tag)", at("rootfs.from"), quoted(r.From))
			break
		}
		if len(r.Include) > 0 {
			bad.add("%s: include with from: an image adds files to an existing rootfs, which bunny refuses too", at("rootfs.include"))
		}
		// bunny's raw rootfs from an image: that image's files are the
		// guest's rootfs (raw), or packed into it (initrd, block).
		d.Rootfs = &Rootfs{Type: rootfsType(&bad, at("rootfs.type"), r.Type, b.Platforms.Framework),
			Include: []Copy{{Source: "/", Target: "/", Image: r.From, Where: fmt.Sprintf("%s %s", at("rootfs.from"), quoted(r.From))}}}
	}
	d.Cmd, d.Entrypoint = b.Cmd, b.Entrypoint
	for i, e := range b.Envs {
		name, value, ok := strings.Cut(e, "=")
		if !ok || name == "" {
			bad.add("%s[%d]: %s: want NAME=value", at("envs"), i, quoted(e))
			continue
		}
		if p := args.EnvProblem(name, value); p != "" {
			bad.add("%s[%d]: %s", at("envs"), i, p)
			continue
		}
		if d.Env == nil {
			d.Env = map[string]string{}
		}
		d.Env[name] = value
	}
	return d, bad.err()
}

// newestBunnyfile is the newest bunnyfile version bunny reads, as
// major, minor, patch.
var newestBunnyfile = [3]int{0, 1, 0}

// checkVersion returns what is wrong with a bunnyfile's version, or "":
// bunny reads any version (v0.1, 0.1, 0.0.9) up to its newest, v0.1.
func checkVersion(v string) string {
	const reads = "bunix reads bunnyfile versions up to v0.1, the newest bunny reads"
	if v == "" {
		return "missing: " + reads
	}
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) > 3 {
		return "not a version: " + reads
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || p == "" || p[0] == '+' {
			return "not a version: " + reads
		}
		n[i] = x
	}
	for i := range n {
		if n[i] != newestBunnyfile[i] {
			if n[i] > newestBunnyfile[i] {
				return "newer than bunix knows: " + reads
			}
			break
		}
	}
	return ""
}

// includeItem is one entry of a bunnyfile's rootfs.include: "source:/target"
// (text), or bunny's mapping form { source, destination, from }, whose from
// (an OCI image to take the files from) bunix cannot carry over (problem).
type includeItem struct {
	text                string
	mapping             bool
	source, destination string
	// image is the image the source is a path in, if any.
	image   string
	problem string
}

// UnmarshalYAML reads either form of an include.
func (it *includeItem) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Decode(&it.text)
	case yaml.MappingNode:
	default:
		return fmt.Errorf("line %d: an include is \"source:/target\" or { source: ..., destination: /... }", n.Line)
	}
	it.mapping = true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var val string
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: include %s must be a string", v.Line, clip(k.Value))
		}
		if err := v.Decode(&val); err != nil {
			return err
		}
		switch k.Value {
		case "source":
			it.source = val
		case "destination":
			it.destination = val
		case "from":
			if val == "" || val == "local" || val == "scratch" {
				break
			}
			if _, err := name.ParseReference(val); err != nil || !strings.ContainsAny(val, ":/") {
				it.problem = fmt.Sprintf("from = %s: neither local nor an image reference (registry/repo:tag)", quoted(val))
				break
			}
			it.image = val
		default:
			return fmt.Errorf("line %d: include field %s not found (known: source, destination, from)", k.Line, clip(k.Value))
		}
	}
	return nil
}

// rootfsType is the rootfs type given, or the default for guest; a guest
// that takes no root file system is reported.
func rootfsType(bad *problems, field, typ, guest string) string {
	if typ != "" {
		return typ
	}
	if typ = urunc.DefaultRootfs(guest); typ != "" {
		return typ
	}
	if types, ok := urunc.GuestRootfs[guest]; ok && len(types) == 0 {
		bad.add("%s: %s takes no root file system: remove rootfs", field, guest)
	} else {
		bad.add("%s: missing: give one of %s", field, strings.Join(urunc.RootfsTypes, ", "))
	}
	return typ
}
