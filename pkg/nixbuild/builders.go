package nixbuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Builder is one command a derivation of nix/lib.nix runs.
type Builder struct {
	// Name is the command's name: the first of the derivation's args.
	Name string
	// Args names the positional arguments, which the builder takes all of.
	Args []string
	// Short, Long and Example document the builder, as --help shows them.
	Short, Long, Example string

	run func(*call) error
}

// call is one run of a builder.
type call struct {
	ctx            context.Context
	name           string
	getenv         func(string) string
	argv           []string
	stdout, stderr io.Writer
}

// Run runs the builder on argv (its positional arguments), reading the
// variables nix/lib.nix sets ($out, $specPath, $textPath, $ref, ...,
// SOURCE_DATE_EPOCH, and nix-pull's $BUNIX_REGISTRY_USERNAME and
// _PASSWORD) through getenv; what the libraries it calls read themselves
// comes from the process's environment: $TMPDIR (the build directory), and
// for nix-pull the docker config ($DOCKER_CONFIG, $HOME) and certificates
// ($SSL_CERT_FILE). It writes its warnings to stderr and, when it streams
// an image, the image to stdout. A wrong number of arguments is a
// *UsageError that names them.
func (b *Builder) Run(ctx context.Context, getenv func(string) string, argv []string, stdout, stderr io.Writer) error {
	switch {
	case len(argv) != len(b.Args) && len(b.Args) == 0:
		return &UsageError{fmt.Errorf("%s: takes no arguments, received %d", b.Name, len(argv))}
	case len(argv) != len(b.Args):
		return &UsageError{fmt.Errorf("%s: accepts %d arg(s) (%s), received %d", b.Name, len(b.Args), strings.Join(b.Args, " "), len(argv))}
	}
	return b.run(&call{ctx: ctx, name: b.Name, getenv: getenv, argv: argv, stdout: stdout, stderr: stderr})
}

// UsageError is a builder run the wrong way, bad input: a variable
// nix/lib.nix sets is missing, an argument is not one the builder takes,
// or the registry refuses what nix-pull asks for.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }

func (e *UsageError) Unwrap() error { return e.Err }

// IsUsageError reports whether err is, or wraps, a *UsageError.
func IsUsageError(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// Builders are the builders, in the order --help would list them.
var Builders = []Builder{
	{
		Name:  "nix-builder",
		Short: "Be the builder of a derivation made by nix/lib.nix",
		Long: `nix-builder is what nix/lib.nix's buildImage runs inside the Nix sandbox: it
reads the JSON spec from the file named by $specPath (passAsFile) and writes
the image tar to $out and, when $sbom is set (the derivation's second
output), the image's SPDX document there, as bunix build --sbom does.
$bunixLayers, when set, lists the outputs of layer derivations (nix-layer)
whose blobs the image takes instead of its sources.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-builder" ]; ... }`,
		run:     writeImage,
	},
	{
		Name:  "nix-layer",
		Args:  []string{"SOURCE", "TARGET", "COMPRESSION"},
		Short: "Be the builder of a layer derivation made by nix/lib.nix",
		Long: `nix-layer is the builder of the layer derivations nix/lib.nix's buildImage
makes, one per copy: it writes the layer that copying SOURCE to TARGET gives
an image, compressed as COMPRESSION, to $out/blob, and its digests and size
to $out/layer.json. The image derivation (nix-builder) takes the layer from
there without reading or hashing it again.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-layer" source "/unikernel/kernel" "none" ]; ... }`,
		run:     writeLayer,
	},
	{
		Name:  "nix-rootfs-layer",
		Short: "Be the builder of a rootfs layer derivation made by nix/lib.nix",
		Long: `nix-rootfs-layer is the builder of the rootfs layer derivation nix/lib.nix's
buildImage makes for an image with a rootfs: from the spec in the file named
by $specPath (the image's rootfs and annotations, no copies), it builds the
rootfs file and writes its layer to $out, as nix-layer does.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-rootfs-layer" ]; spec = ...; passAsFile = [ "spec" ]; ... }`,
		run:     writeRootfsLayer,
	},
	{
		Name:  "nix-stream",
		Args:  []string{"SCRIPT"},
		Short: "Run a stream script made by nix/lib.nix's streamImage",
		Long: `nix-stream is what the "#!" line of a streamImage result runs: it reads the
image's spec and layers from SCRIPT, after that line, and writes the image
archive (docker-archive unless the spec says oci-archive) to standard output,
for 'docker load'.`,
		Example: `  ./result | docker load`,
		run:     stream,
	},
	{
		Name:  "nix-stream-script",
		Short: "Be the builder of a stream script derivation made by nix/lib.nix",
		Long: `nix-stream-script is the builder nix/lib.nix's streamImage runs: it checks
the image the script in the file named by $textPath (passAsFile) describes,
as nix-builder would before writing it, and only then writes the script to
$out as an executable, so that a description buildImage refuses fails the
build, not the stream.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-stream-script" ]; text = "#!... nix-stream\n{...}"; passAsFile = [ "text" ]; ... }`,
		run:     writeStreamScript,
	},
	{
		Name:  "nix-script",
		Short: "Be the builder of a script derivation made by nix/lib.nix",
		Long: `nix-script is the builder nix/lib.nix's pushScript runs: it writes the text
in the file named by $textPath (passAsFile) to $out as an executable.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-script" ]; text = "..."; passAsFile = [ "text" ]; ... }`,
		run:     writeScript,
	},
	{
		Name:  "nix-pull",
		Short: "Be the builder of a fixed-output derivation made by lib.pullImage",
		Long: `nix-pull is what nix/lib.nix's pullImage runs: it pulls $ref pinned by $digest
for $architecture (and $hypervisor, when set: which image of a Unikraft
catalog index) into an OCI image layout at $out, over plain HTTP when
$insecure is 1. Nix checks the result's NAR hash against the derivation's
outputHash.

Credentials: $BUNIX_REGISTRY_USERNAME and $BUNIX_REGISTRY_PASSWORD when set,
else the docker config at $DOCKER_CONFIG (both passed through by Nix as
impureEnvVars). Certificates: $SSL_CERT_FILE. A registry that keeps it
waiting 60 s for a byte, or $BUNIX_REGISTRY_TIMEOUT (also passed through),
fails the pull.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-pull" ]; outputHashMode = "recursive"; ... }`,
		run:     pull,
	},
}
