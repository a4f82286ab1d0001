package nixbuild

import (
	"errors"
	"fmt"
	"github.com/nubificus/bunix/internal/buildinfo"
	"os"
	"strings"

	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/build"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/registry"
	"golang.org/x/sys/unix"
)

// writeImage is nix-builder: the image of $specPath at $out.
func writeImage(c *call) error {
	out, descs, opts, err := c.specJob()
	if err != nil {
		return err
	}
	layers, err := build.ReadLayers(strings.Fields(c.getenv("bunixLayers")))
	if err != nil {
		return err
	}
	// The second output, $sbom, gets the image's SBOM.
	if sbom := c.getenv("sbom"); sbom != "" {
		opts = append(opts, build.WithSBOM(sbom, "bunix-"+buildinfo.Version("dev")))
	}
	// Temporary files go to $TMPDIR, the build directory, not the store.
	// Nix registers $out without syncing it, so bunix does not wait for
	// the disk either.
	_, err = build.Write(c.ctx, out, descs, append(opts, build.WithTempDir(os.TempDir()), build.WithPrebuilt(layers), build.WithoutSync())...)
	return err
}

// writeLayer is nix-layer: the layer of one copy at $out.
func writeLayer(c *call) error {
	env, err := c.env("out")
	if err != nil {
		return err
	}
	opts, err := c.options()
	if err != nil {
		return err
	}
	comp, err := image.ParseCompression(c.argv[2])
	if err != nil {
		return &UsageError{fmt.Errorf("%s: COMPRESSION: %w", c.name, err)}
	}
	return build.WriteLayer(c.ctx, env[0], c.argv[0], c.argv[1], comp, opts...)
}

// writeRootfsLayer is nix-rootfs-layer: the rootfs layer of $specPath at
// $out.
func writeRootfsLayer(c *call) error {
	out, descs, opts, err := c.specJob()
	if err != nil {
		return err
	}
	return build.WriteRootfsLayer(c.ctx, out, descs, opts...)
}

// stream is nix-stream: the image of a streamImage script on stdout.
func stream(c *call) error {
	s, err := ReadStreamScript(c.argv[0])
	if err != nil {
		return err
	}
	descs, opts, err := c.streamJob(s)
	if err != nil {
		return err
	}
	if f, ok := c.stdout.(*os.File); ok {
		// A pipe of 1 MiB rather than 64 KiB: docker load reads it in
		// larger pieces. Not a pipe, or not allowed: no matter.
		unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, 1<<20)
	}
	_, err = build.WriteTo(c.ctx, c.stdout, descs, opts...)
	return err
}

// writeStreamScript is nix-stream-script: the streamImage script of
// $textPath at $out, once the image it describes checks.
func writeStreamScript(c *call) error {
	// The script is read once: the bytes checked are the bytes written.
	out, text, err := c.script("stream script")
	if err != nil {
		return err
	}
	s, err := ParseStreamScript(text)
	if err != nil {
		return fmt.Errorf("%s: %w", c.getenv("textPath"), err)
	}
	descs, opts, err := c.streamJob(s)
	if err != nil {
		return err
	}
	if _, err := build.Check(c.ctx, descs, opts...); err != nil {
		return err
	}
	return writeExecutable(out, text)
}

// writeScript is nix-script: the text of $textPath at $out, executable.
func writeScript(c *call) error {
	out, text, err := c.script("script")
	if err != nil {
		return err
	}
	return writeExecutable(out, text)
}

// script reads what a script's builder gets from nix/lib.nix: $out, and
// the text in the file named by $textPath (readPassed), what in messages.
func (c *call) script(what string) (out string, text []byte, err error) {
	env, err := c.env("textPath", "out")
	if err != nil {
		return "", nil, err
	}
	text, err = c.readPassed(env[0], what)
	return env[1], text, err
}

// pull is nix-pull: the image $ref pinned by $digest, for $architecture
// and, when set, $hypervisor (which image of a Unikraft catalog index), as
// an OCI layout at $out, which a failed pull leaves absent. $insecure set
// to 1 pulls over plain HTTP.
func pull(c *call) error {
	env, err := c.env("ref", "digest", "architecture", "out")
	if err != nil {
		return err
	}
	opts, err := registry.FromEnv(c.getenv)
	if err != nil {
		return &UsageError{fmt.Errorf("%s: %w", c.name, err)}
	}
	if u := c.getenv("BUNIX_REGISTRY_USERNAME"); u != "" {
		opts = append(opts, registry.WithCredentials(u, c.getenv("BUNIX_REGISTRY_PASSWORD")))
	}
	if c.getenv("insecure") == "1" {
		opts = append(opts, registry.Insecure())
	}
	want := image.Want{Architecture: env[2], Monitor: c.getenv("hypervisor")}
	if err := registry.Pull(c.ctx, env[0], env[1], want, env[3], opts...); err != nil {
		if registry.IsUserError(err) {
			return &UsageError{err}
		}
		return err
	}
	return nil
}

// env returns the values of the variables names, which nix/lib.nix sets
// for the builder; one unset or empty is a *UsageError naming them all.
func (c *call) env(names ...string) ([]string, error) {
	vals := make([]string, len(names))
	missing := false
	for i, n := range names {
		vals[i] = c.getenv(n)
		missing = missing || vals[i] == ""
	}
	if missing {
		list := "$" + strings.Join(names, ", $")
		if i := strings.LastIndex(list, ", "); i >= 0 {
			list = list[:i] + " and " + list[i+2:]
		}
		return nil, &UsageError{fmt.Errorf("%s: %s must be set: this command runs inside a derivation made by nix/lib.nix", c.name, list)}
	}
	return vals, nil
}

// options are the build options of the environment (SOURCE_DATE_EPOCH),
// with warnings on stderr.
func (c *call) options() ([]build.Option, error) {
	opts, err := build.FromEnv(c.getenv)
	return append(opts, build.WarningsTo(c.stderr)), err
}

// readPassed reads the file at path that nix/lib.nix passes the builder
// (passAsFile), what in messages: a regular file (a FIFO is refused at
// once, without waiting for a writer) of at most args.MaxEvalOutput bytes.
func (c *call) readPassed(path, what string) ([]byte, error) {
	data, err := filekind.ReadRegular(path, args.MaxEvalOutput)
	if errors.Is(err, filekind.ErrTooLarge) {
		return nil, fmt.Errorf("%s: %s: the %s is larger than %d bytes", c.name, path, what, args.MaxEvalOutput)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the %s: %w", what, err)
	}
	return data, nil
}

// specJob reads what an image's builder gets from nix/lib.nix: $out, and
// the descriptions in the spec file named by $specPath, with the build
// options of the environment.
func (c *call) specJob() (out string, descs []*args.Args, opts []build.Option, err error) {
	env, err := c.env("specPath", "out")
	if err != nil {
		return "", nil, nil, err
	}
	if opts, err = c.options(); err != nil {
		return "", nil, nil, err
	}
	spec, err := c.readPassed(env[0], "builder spec")
	if err != nil {
		return "", nil, nil, err
	}
	if descs, err = args.DecodeSpec(spec); err != nil {
		return "", nil, nil, err
	}
	return env[1], descs, opts, nil
}

// streamJob reads a streamImage script s: its descriptions, and the build
// options of the environment with the script's prebuilt layers.
func (c *call) streamJob(s *StreamScript) ([]*args.Args, []build.Option, error) {
	descs, err := args.DecodeSpec(s.Spec)
	if err != nil {
		return nil, nil, err
	}
	layers, err := build.ReadLayers(s.Layers)
	if err != nil {
		return nil, nil, err
	}
	opts, err := c.options()
	if err != nil {
		return nil, nil, err
	}
	return descs, append(opts, build.WithPrebuilt(layers)), nil
}

// writeExecutable writes text to out, executable.
func writeExecutable(out string, text []byte) error {
	if err := os.WriteFile(out, text, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}
