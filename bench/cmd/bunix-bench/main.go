// Command bunix-bench is what bench/run.sh runs: it generates the inputs,
// and writes images of them with bunix's writer and with the naive use of
// go-containerregistry, one of the baselines.
//
//	bunix-bench gen kernel|rootfs|many DIR
//	bunix-bench sha256 FILE|DIR...
//	bunix-bench bunix [-format F] [-compression C] [-max-layers N] [-no-sync] -o OUT SOURCE=TARGET...
//	bunix-bench ggcr -o OUT SOURCE=TARGET...
//
// Each SOURCE=TARGET copy becomes one layer. "gen many" writes 100,000
// small files under DIR/many/rootfs. sha256 hashes the files given (those
// under a directory, in walk order) as one stream, with crypto/sha256 as
// bunix does, and prints the sum: the cost of the hash alone.
package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/nubificus/bunix/bench"
	"github.com/nubificus/bunix/pkg/image"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bunix-bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: bunix-bench gen, bunix or ggcr, then their arguments")
	}
	switch args[0] {
	case "gen":
		if len(args) != 3 {
			return fmt.Errorf("usage: bunix-bench gen kernel|rootfs|many DIR")
		}
		switch args[1] {
		case "kernel":
			return bench.Kernel(args[2], 1<<30)
		case "rootfs":
			return bench.Rootfs(args[2], 10000)
		case "many":
			return bench.Rootfs(filepath.Join(args[2], "many"), 100000)
		}
		return fmt.Errorf("gen: unknown input %q (known: kernel, rootfs, many)", args[1])
	case "sha256":
		sum, err := hashFiles(args[1:])
		if err != nil {
			return err
		}
		fmt.Println(sum)
		return nil
	case "bunix":
		fs := flag.NewFlagSet("bunix", flag.ContinueOnError)
		format := fs.String("format", "docker-archive", "docker-archive, oci-archive or oci")
		compression := fs.String("compression", "none", "none, gzip or zstd")
		maxLayers := fs.Int("max-layers", image.DefaultMaxLayers, "the layer cap")
		noSync := fs.Bool("no-sync", false, "rename the output into place without syncing it (image.WithoutSync, as the Nix builder does)")
		out := fs.String("o", "", "the output")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		f, err := image.ParseFormat(*format)
		if err != nil {
			return err
		}
		c, err := image.ParseCompression(*compression)
		if err != nil {
			return err
		}
		img, err := bunixImage(fs.Args())
		if err != nil {
			return err
		}
		opts := []image.Option{image.WithFormat(f), image.WithCompression(c), image.WithMaxLayers(*maxLayers)}
		if *noSync {
			opts = append(opts, image.WithoutSync())
		}
		return image.WritePath(*out, []*image.Image{img}, opts...)
	case "ggcr":
		fs := flag.NewFlagSet("ggcr", flag.ContinueOnError)
		out := fs.String("o", "", "the output")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return ggcr(*out, fs.Args())
	}
	return fmt.Errorf("unknown command %q (known: gen, sha256, bunix, ggcr)", args[0])
}

// hashFiles returns the hex sha256 of the files at paths, and of the
// regular files under those that are directories, read in walk order as
// one stream.
func hashFiles(paths []string) (string, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.CopyBuffer(h, f, buf)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("sha256: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func copies(args []string) ([][2]string, error) {
	var out [][2]string
	for _, a := range args {
		src, dst, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want SOURCE=TARGET", a)
		}
		out = append(out, [2]string{src, dst})
	}
	return out, nil
}

func bunixImage(args []string) (*image.Image, error) {
	cps, err := copies(args)
	if err != nil {
		return nil, err
	}
	img := &image.Image{RepoTags: []string{"bench/bunix:latest"}, Architecture: "amd64"}
	for _, cp := range cps {
		entries, err := image.FromPath(cp[0], cp[1])
		if err != nil {
			return nil, err
		}
		img.Layers = append(img.Layers, image.Layer{Entries: entries, CreatedBy: "copy " + cp[1]})
	}
	return img, nil
}

// ggcr writes the image the way a go-containerregistry user would at first:
// one tarball layer per copy, from an opener that tars the source, with
// compressed caching, appended to the empty image and written with
// tarball.Write.
func ggcr(out string, args []string) error {
	cps, err := copies(args)
	if err != nil {
		return err
	}
	var layers []v1.Layer
	for _, cp := range cps {
		src, dst := cp[0], cp[1]
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return tarOf(src, dst), nil }, tarball.WithCompressedCaching)
		if err != nil {
			return err
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return err
	}
	ref, err := name.NewTag("bench/ggcr:latest")
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, ref, img)
}

// tarOf streams a tar of src, placed at dst.
func tarOf(src, dst string) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(src, p)
			if err != nil {
				return err
			}
			h, err := tar.FileInfoHeader(fi, "")
			if err != nil {
				return err
			}
			h.Name = strings.TrimPrefix(filepath.Join(dst, rel), "/")
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if !fi.Mode().IsRegular() {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		})
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}
