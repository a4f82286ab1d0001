package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/build"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func newNixBuilder(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:    "nix-builder",
		Short:  "Be the builder of a derivation made by nix/lib.nix",
		Hidden: true,
		Long: `nix-builder is what nix/lib.nix's buildImage runs inside the Nix sandbox: it
reads the JSON spec from the file named by $specPath (passAsFile) and writes
the image tar to $out. $bunixLayers, when set, lists the outputs of layer
derivations (nix-layer) whose blobs the image takes instead of its sources.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-builder" ]; ... }`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, descs, opts, err := specJob("nix-builder", getenv, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			layers, err := build.ReadLayers(strings.Fields(getenv("bunixLayers")))
			if err != nil {
				return err
			}
			// Temporary files go to $TMPDIR, the build directory, not the
			// store. Nix registers $out without syncing it, so bunix does
			// not wait for the disk either.
			_, err = build.Write(cmd.Context(), out, descs, append(opts, build.WithTempDir(os.TempDir()), build.WithPrebuilt(layers), build.WithoutSync())...)
			return err
		},
	}
}

func newNixScript(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:    "nix-script",
		Short:  "Be the builder of a script derivation made by nix/lib.nix",
		Hidden: true,
		Long: `nix-script is the builder nix/lib.nix's pushScript runs: it writes the text
in the file named by $textPath (passAsFile) to $out as an executable.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-script" ]; text = "..."; passAsFile = [ "text" ]; ... }`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			textPath, out := getenv("textPath"), getenv("out")
			if textPath == "" || out == "" {
				return usageError{fmt.Errorf("nix-script: $textPath and $out must be set: this command runs inside a derivation made by nix/lib.nix")}
			}
			return writeScript(textPath, out)
		},
	}
}

func newNixLayer(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:    "nix-layer SOURCE TARGET COMPRESSION",
		Short:  "Be the builder of a layer derivation made by nix/lib.nix",
		Hidden: true,
		Long: `nix-layer is the builder of the layer derivations nix/lib.nix's buildImage
makes, one per copy: it writes the layer that copying SOURCE to TARGET gives
an image, compressed as COMPRESSION, to $out/blob, and its digests and size
to $out/layer.json. The image derivation (nix-builder) takes the layer from
there without reading or hashing it again.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-layer" source "/unikernel/kernel" "none" ]; ... }`,
		Args:    exactArgs(3),
		RunE: func(cmd *cobra.Command, a []string) error {
			out := getenv("out")
			if out == "" {
				return usageError{fmt.Errorf("nix-layer: $out must be set: this command runs inside a derivation made by nix/lib.nix")}
			}
			opts, err := buildOptions(getenv, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			c, err := image.ParseCompression(a[2])
			if err != nil {
				return usageError{fmt.Errorf("nix-layer: COMPRESSION: %w", err)}
			}
			return build.WriteLayer(cmd.Context(), out, a[0], a[1], c, opts...)
		},
	}
}

func newNixRootfsLayer(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:    "nix-rootfs-layer",
		Short:  "Be the builder of a rootfs layer derivation made by nix/lib.nix",
		Hidden: true,
		Long: `nix-rootfs-layer is the builder of the rootfs layer derivation nix/lib.nix's
buildImage makes for an image with a rootfs: from the spec in the file named
by $specPath (the image's rootfs and annotations, no copies), it builds the
rootfs file and writes its layer to $out, as nix-layer does.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-rootfs-layer" ]; spec = ...; passAsFile = [ "spec" ]; ... }`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, descs, opts, err := specJob("nix-rootfs-layer", getenv, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return build.WriteRootfsLayer(cmd.Context(), out, descs, opts...)
		},
	}
}

func newNixStream(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:    "nix-stream SCRIPT",
		Short:  "Run a stream script made by nix/lib.nix's streamImage",
		Hidden: true,
		Long: `nix-stream is what the "#!" line of a streamImage result runs: it reads the
image's spec and layers from SCRIPT, after that line, and writes the image
archive (docker-archive unless the spec says oci-archive) to standard output,
for 'docker load'.`,
		Example: `  ./result | docker load`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			s, err := build.ReadStreamScript(a[0])
			if err != nil {
				return err
			}
			descs, opts, err := streamJob(s, getenv, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f, ok := out.(*os.File); ok {
				// A pipe of 1 MiB rather than 64 KiB: docker load reads it
				// in larger pieces. Not a pipe, or not allowed: no matter.
				unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, 1<<20)
			}
			_, err = build.WriteTo(cmd.Context(), out, descs, opts...)
			return err
		},
	}
}

// specJob reads what a derivation's builder gets from nix/lib.nix: $out,
// and the descriptions in the spec file named by $specPath, with the build
// options of the environment. cmd names the command in messages.
func specJob(cmd string, getenv func(string) string, stderr io.Writer) (out string, descs []*args.Args, opts []build.Option, err error) {
	specPath, out := getenv("specPath"), getenv("out")
	if specPath == "" || out == "" {
		return "", nil, nil, usageError{fmt.Errorf("%s: $specPath and $out must be set: this command runs inside a derivation made by nix/lib.nix", cmd)}
	}
	if opts, err = buildOptions(getenv, stderr); err != nil {
		return "", nil, nil, err
	}
	spec, err := filekind.ReadRegular(specPath, args.MaxEvalOutput)
	if errors.Is(err, filekind.ErrTooLarge) {
		return "", nil, nil, fmt.Errorf("%s: the builder spec %s is larger than %d bytes", cmd, specPath, args.MaxEvalOutput)
	}
	if err != nil {
		return "", nil, nil, fmt.Errorf("reading the builder spec: %w", err)
	}
	if descs, err = args.DecodeSpec(spec); err != nil {
		return "", nil, nil, err
	}
	return out, descs, opts, nil
}

// streamJob reads a streamImage script s: its descriptions, and the build
// options of the environment with the script's prebuilt layers.
func streamJob(s *build.StreamScript, getenv func(string) string, stderr io.Writer) ([]*args.Args, []build.Option, error) {
	descs, err := args.DecodeSpec(s.Spec)
	if err != nil {
		return nil, nil, err
	}
	layers, err := build.ReadLayers(s.Layers)
	if err != nil {
		return nil, nil, err
	}
	opts, err := buildOptions(getenv, stderr)
	if err != nil {
		return nil, nil, err
	}
	return descs, append(opts, build.WithPrebuilt(layers)), nil
}

func newNixStreamScript(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:    "nix-stream-script",
		Short:  "Be the builder of a stream script derivation made by nix/lib.nix",
		Hidden: true,
		Long: `nix-stream-script is the builder nix/lib.nix's streamImage runs: it checks
the image the script in the file named by $textPath (passAsFile) describes,
as nix-builder would before writing it, and only then writes the script to
$out as an executable, so that a description buildImage refuses fails the
build, not the stream.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-stream-script" ]; text = "#!... nix-stream\n{...}"; passAsFile = [ "text" ]; ... }`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			textPath, out := getenv("textPath"), getenv("out")
			if textPath == "" || out == "" {
				return usageError{fmt.Errorf("nix-stream-script: $textPath and $out must be set: this command runs inside a derivation made by nix/lib.nix")}
			}
			// The script is read once: the bytes checked are the bytes
			// written.
			text, err := filekind.ReadRegular(textPath, args.MaxEvalOutput)
			if errors.Is(err, filekind.ErrTooLarge) {
				return fmt.Errorf("nix-stream-script: %s: the stream script is larger than %d bytes", textPath, args.MaxEvalOutput)
			}
			if err != nil {
				return fmt.Errorf("reading the script text: %w", err)
			}
			s, err := build.ParseStreamScript(text)
			if err != nil {
				return fmt.Errorf("%s: %w", textPath, err)
			}
			descs, opts, err := streamJob(s, getenv, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if _, err := build.Check(cmd.Context(), descs, opts...); err != nil {
				return err
			}
			if err := os.WriteFile(out, text, 0o755); err != nil {
				return fmt.Errorf("writing %s: %w", out, err)
			}
			return nil
		},
	}
}

// writeScript writes the text in the file textPath to out, executable.
func writeScript(textPath, out string) error {
	text, err := os.ReadFile(textPath)
	if err != nil {
		return fmt.Errorf("reading the script text: %w", err)
	}
	if err := os.WriteFile(out, text, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}
