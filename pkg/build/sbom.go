package build

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/output"
	"github.com/nubificus/bunix/pkg/sbom"
)

// WithSBOM has Write and WriteTo also write, to path, the SPDX document
// (pkg/sbom) of the image file they wrote, naming tool (e.g.
// "bunix-v0.4.0") as its creator; the Nix store paths among the build's
// sources become its packages. path is checked as Write's output is,
// before anything is written, and written the same way, whole or not at
// all, once the image is.
func WithSBOM(path, tool string) Option {
	return func(o *options) { o.sbom, o.sbomTool = path, tool }
}

// checkSBOM refuses an SBOM path that is the image output out, or that
// Write would refuse as its output.
func checkSBOM(out string, b *batch, o *options) error {
	if o.sbom == "" {
		return nil
	}
	if out != "" {
		ro, err1 := realPath(out)
		rs, err2 := realPath(o.sbom)
		if err1 == nil && err2 == nil && (ro == rs || within(rs, ro)) {
			return &output.Error{Path: o.sbom, Reason: "is where the image goes (-o): give --sbom another path"}
		}
	}
	device, err := checkOutputFlag(o.sbom, b, false, "--sbom")
	if err == nil && device {
		return &output.Error{Path: o.sbom, Reason: "is a device or FIFO: the SBOM is written to a file"}
	}
	return err
}

// writeSBOM writes the SBOM of the image file at file to o.sbom.
func writeSBOM(ctx context.Context, file string, b *batch, o *options) error {
	f, err := image.Open(file, image.FollowStoreLinks(image.NixStoreDir))
	if err != nil {
		return fmt.Errorf("making the SBOM: reading back %s: %w", file, err)
	}
	defer f.Close()
	opts := []sbom.Option{sbom.WithSources(b.sbomSources()), sbom.WithTool(o.sbomTool)}
	if o.tempDir != "" {
		opts = append(opts, sbom.WithTempDir(o.tempDir))
	}
	doc, err := sbom.Generate(ctx, f, opts...)
	if err != nil {
		return err
	}
	data, err := doc.JSON()
	if err != nil {
		return err
	}
	var fopts []output.Option
	if o.noSync {
		fopts = append(fopts, output.WithoutSync())
	}
	if err := output.WriteFileContext(ctx, o.sbom, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, fopts...); err != nil {
		return fmt.Errorf("writing the SBOM to %s: %w", o.sbom, err)
	}
	return nil
}

// teeSBOM writes the archive write produces to w and, with o.sbom set, to
// a temporary file too, whose SBOM it then writes.
func teeSBOM(ctx context.Context, w io.Writer, b *batch, o *options, write func(io.Writer) error) error {
	if o.sbom == "" {
		return write(w)
	}
	tmp, err := os.CreateTemp(o.tempDir, ".bunix-sbom-image-*")
	if err != nil {
		return fmt.Errorf("making the SBOM: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := write(io.MultiWriter(w, tmp)); err != nil {
		return err
	}
	return writeSBOM(ctx, tmp.Name(), b, o)
}

// sbomSources are the build's sources, for the SBOM: each copy's with its
// target, the rootfs's and the base's without.
func (b *batch) sbomSources() []sbom.Source {
	var out []sbom.Source
	for _, j := range b.jobs {
		r := j.r
		for _, cp := range r.Copies {
			out = append(out, sbom.Source{Path: cp.Source, Target: cp.Target})
		}
		if rf := r.Rootfs; rf != nil {
			for _, cp := range rf.Include {
				out = append(out, sbom.Source{Path: cp.Source})
			}
			if rf.From != nil {
				out = append(out, sbom.Source{Path: rf.From.Source})
			}
		}
		if r.From != nil && r.From.Path != "" {
			out = append(out, sbom.Source{Path: r.From.Path})
		}
	}
	return out
}

// isDevice reports whether p is a device or FIFO.
func isDevice(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&(os.ModeDevice|os.ModeNamedPipe|os.ModeCharDevice) != 0
}
