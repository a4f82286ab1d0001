package run

import (
	"context"
	"fmt"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/source"
)

// Stdin is the IMAGE argument that names standard input.
const Stdin = source.Stdin

// Source is the image a run boots, opened: close it after the run.
type Source struct {
	// Image is the image for the architecture; Annotations its manifest's
	// (nil for a docker-archive).
	Image       v1.Image
	Annotations map[string]string
	// Name names the image in messages.
	Name string
	file *image.File
}

// Close releases the image file, if any.
func (s *Source) Close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}

// Open opens arg: an image file in any format bunix reads (a
// docker-archive, an oci-archive, an OCI layout), Stdin for an archive on
// stdin (spooled up to stdin.Limit: source.Input.Open), or an explicit registry reference (registry.Reference), pulled
// read-only, each blob checked against its digest. Of an index it takes
// the image for arch, as a base is chosen (image.ChoosePlatform).
func Open(ctx context.Context, arg string, stdin source.Input, arch string, opts ...registry.Option) (*Source, error) {
	var f *image.File
	var err error
	switch ref, explicit := registry.Reference(arg); {
	case arg == Stdin:
		f, err = stdin.Open(ctx)
		arg = "standard input"
	case !strings.HasPrefix(arg, registry.Scheme) && lstat(arg) == nil:
		f, err = image.Open(arg, image.FollowStoreLinks(image.NixStoreDir))
	case explicit || strings.HasPrefix(arg, registry.Scheme):
		imgs, err := registry.Get(ctx, ref, opts...)
		if err != nil {
			return nil, err
		}
		return choose(imgs, nil, arch, ref, nil)
	default:
		return nil, fmt.Errorf("opening %s: %w (an image in a registry is docker://REF, or HOST/NAME:TAG)", arg, lstat(arg))
	}
	if err != nil {
		return nil, err
	}
	s, err := choose(f.Images, f.Platforms, arch, arg, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	if f.Format == image.DockerArchive {
		s.Annotations = nil
	}
	return s, nil
}

func lstat(p string) error {
	_, err := os.Lstat(p)
	return err
}

// choose picks the image of imgs for arch.
func choose(imgs []v1.Image, platforms []*v1.Platform, arch, name string, f *image.File) (*Source, error) {
	plats := make([]v1.Platform, len(imgs))
	for i, img := range imgs {
		if i < len(platforms) && platforms[i] != nil {
			plats[i] = *platforms[i]
			continue
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, &image.InvalidError{Err: fmt.Errorf("reading the config of image %d of %s: %w", i, name, err)}
		}
		plats[i] = v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	}
	i, err := image.ChoosePlatform(plats, image.Want{Architecture: arch})
	if err != nil {
		return nil, fmt.Errorf("choosing the image of %s to run: %w", name, err)
	}
	s := &Source{Image: imgs[i], Name: name, file: f}
	if m, err := imgs[i].Manifest(); err == nil {
		s.Annotations = m.Annotations
	}
	return s, nil
}
