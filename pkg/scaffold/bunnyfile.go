package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

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
		From    string   `yaml:"from"`
		Path    string   `yaml:"path"`
		Type    string   `yaml:"type"`
		Include []string `yaml:"include"`
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

// Bunnyfile converts a bunnyfile (YAML, version v0.1) read from file.
// Sources stay relative to the build context; the caller rebases them. What
// bunix cannot carry over (a kernel or rootfs from a remote image, cmd,
// entrypoint, envs) is an error naming the field.
func Bunnyfile(src []byte, file string) (*Description, error) {
	var b bunnyfile
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&b); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{Problems: []string{fmt.Sprintf("%s: %v", file, err)}}
	}
	var bad problems
	at := func(field string) string { return file + ": " + field }
	if b.Version != "v0.1" {
		bad.add("%s = %q: bunix reads bunnyfile version v0.1", at("version"), b.Version)
	}
	d := &Description{Annotations: map[string]string{}}
	set := func(key, v string) {
		if v != "" {
			d.Annotations[key] = v
		}
	}
	set("unikernelType", b.Platforms.Framework)
	set("hypervisor", b.Platforms.Monitor)
	set("unikernelVersion", b.Platforms.Version)
	set("cmdline", b.Cmdline)
	if a := b.Platforms.Architecture; a != "" {
		if d.Architecture = architectures[a]; d.Architecture == "" {
			bad.add("%s = %q: unknown architecture (bunix builds amd64 and arm64)", at("platforms.architecture"), a)
		}
	}
	switch b.Kernel.From {
	case "local":
		if b.Kernel.Path == "" {
			bad.add("%s: missing: the kernel file in the build context", at("kernel.path"))
			break
		}
		target := "/unikernel/" + path.Base(b.Kernel.Path)
		d.Files = append(d.Files, Copy{Source: b.Kernel.Path, Target: target})
		d.Annotations["binary"] = target
	case "":
		bad.add("%s: missing: bunix packages a prebuilt kernel (from: local)", at("kernel.from"))
	default:
		bad.add("%s = %q: bunix does not build unikernels; build it, then use from: local", at("kernel.from"), b.Kernel.From)
	}
	r := b.Rootfs
	switch r.From {
	case "":
		if r.Type != "" || len(r.Include) > 0 || r.Path != "" {
			bad.add("%s: missing: give scratch or local", at("rootfs.from"))
		}
	case "scratch":
		typ := r.Type
		if typ == "" {
			typ = guestRootfs(b.Platforms.Framework)
		}
		d.Rootfs = &Rootfs{Type: typ}
		for _, inc := range r.Include {
			src, dst, ok := strings.Cut(inc, ":")
			if !ok || src == "" || !path.IsAbs(dst) {
				bad.add("%s: %q: want source:/target", at("rootfs.include"), inc)
				continue
			}
			d.Rootfs.Include = append(d.Rootfs.Include, Copy{Source: src, Target: dst})
		}
	case "local":
		if r.Path == "" {
			bad.add("%s: missing: the rootfs file in the build context", at("rootfs.path"))
			break
		}
		typ := r.Type
		if typ == "" {
			typ = guestRootfs(b.Platforms.Framework)
		}
		d.Rootfs = &Rootfs{Type: typ, From: r.Path}
	default:
		bad.add("%s = %q: a rootfs from a remote image cannot be carried over; export it to a file and use from: local", at("rootfs.from"), r.From)
	}
	for field, v := range map[string][]string{"cmd": b.Cmd, "entrypoint": b.Entrypoint, "envs": b.Envs} {
		if len(v) > 0 {
			bad.add("%s = %q: cannot be carried over: bunix takes the guest's arguments from cmdline only", at(field), v)
		}
	}
	return d, bad.err()
}
