package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/nubificus/bunix/internal/progress"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/build"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/spf13/cobra"
)

func newBuild(getenv func(string) string) *cobra.Command {
	var file, out, format string
	cmd := &cobra.Command{
		Use:   "build -f ARGS -o IMAGE.tar",
		Short: "Build a docker-archive image tar from an args file",
		Long: `Build reads an image description (args.nix, evaluated with nix-instantiate;
args.json; or args.hcl), checks it, and writes the image as a docker-archive
tar. The output appears only when the build succeeds: it is written to a
temporary file beside it and renamed, so a failed build leaves an existing
file exactly as it was. With -o -, the tar goes to standard output.

The creation time and every file's mtime is SOURCE_DATE_EPOCH when set,
else 1970-01-01T00:00:01Z: the same description and files give the same
bytes on every machine, the same bytes nix-build gives.`,
		Example: `  bunix build -f args.nix -o image.tar && docker load < image.tar
  bunix build -f args.hcl -o - | docker load`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{fmt.Errorf("build: -o is required (the image tar to write, or - for standard output)")}
			}
			created, err := sourceDateEpoch(getenv)
			if err != nil {
				return err
			}
			a, err := args.Load(cmd.Context(), file)
			if err != nil {
				return err
			}
			img, r, done, err := resolveImage(a, created, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer done()
			opts := build.WriteOptions(r)
			if format != "" {
				f, err := image.ParseFormat(format)
				if err != nil {
					return usageError{fmt.Errorf("build: --format: %w", err)}
				}
				r.Format = f
				opts = append(opts, image.WithFormat(f))
			}
			images := []*image.Image{img}
			switch {
			case r.Format == image.OCILayout && out == "-":
				return usageError{fmt.Errorf("build: the oci format is a directory: give -o a directory name, or use oci-archive for standard output")}
			case r.Format == image.OCILayout:
				err = image.WritePath(out, images, opts...)
			case out == "-":
				return image.Write(cmd.OutOrStdout(), images, opts...)
			default:
				bar := progressBar(cmd, img, "writing "+out)
				err = image.WriteFile(out, func(w io.Writer) error {
					bar.W = w
					return image.Write(bar, images, opts...)
				})
				bar.Done()
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "bunix: wrote %s\n", out)
			fmt.Fprintln(cmd.OutOrStdout(), img.RepoTags[0])
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "args.nix", "the image description: args.nix, args.json or args.hcl")
	cmd.Flags().StringVarP(&out, "output", "o", "", "the image tar (or, for --format oci, directory) to write, or - for standard output")
	cmd.Flags().StringVar(&format, "format", "", "docker-archive, oci-archive or oci (default: the args' format, else docker-archive)")
	return cmd
}

// progressBar returns a progress.Writer that draws on stderr only when both
// stdout and stderr are terminals; its W is set by the caller.
func progressBar(cmd *cobra.Command, img *image.Image, label string) *progress.Writer {
	var total int64
	for _, l := range img.Layers {
		for _, e := range l.Entries {
			total += e.Size
		}
	}
	var term io.Writer
	stdout, ok1 := cmd.OutOrStdout().(*os.File)
	stderr, ok2 := cmd.ErrOrStderr().(*os.File)
	if ok1 && ok2 && isTerminal(stdout) && isTerminal(stderr) {
		term = stderr
	}
	return progress.New(nil, term, total, label)
}

// resolveImage checks a and returns the image it describes, with the
// rootfs it asks bunix to build written into a temporary directory that
// done removes; call done once the image is written. Warnings go to stderr.
func resolveImage(a *args.Args, created time.Time, stderr io.Writer) (img *image.Image, r *args.Resolved, done func(), err error) {
	r, err = a.Resolve()
	if err != nil {
		return nil, nil, nil, err
	}
	for _, w := range r.Warnings {
		fmt.Fprintln(stderr, "bunix: warning: "+w)
	}
	dir, err := os.MkdirTemp("", "bunix-rootfs-")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("creating a work directory for the rootfs: %w", err)
	}
	done = func() { os.RemoveAll(dir) }
	img, err = build.Image(r, build.WithCreated(created), build.WithWorkDir(dir))
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	return img, r, done, nil
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH; zero time when unset.
func sourceDateEpoch(getenv func(string) string) (time.Time, error) {
	s := getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, usageError{fmt.Errorf("SOURCE_DATE_EPOCH = %q: want a non-negative number of seconds since 1970", s)}
	}
	return time.Unix(n, 0).UTC(), nil
}
