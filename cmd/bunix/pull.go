package main

import (
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/urunc"
	"github.com/spf13/cobra"
)

func newPrefetch() *cobra.Command {
	var arch string
	cmd := &cobra.Command{
		Use:   "prefetch REF",
		Short: "Print the from = { ref; digest; hash; } that pins a registry image",
		Long: `Prefetch resolves REF (registry/repo:tag, or one pinned @sha256:...) to the
digest the registry serves today (the index's, when it serves one), pulls
the image for --arch the way lib.pullImage does, and prints, as a Nix
attribute set ready to paste into args.nix as from, the ref, the digest and
the NAR hash Nix will find for the pulled image (like nix-prefetch-docker).

Credentials come from the docker config (~/.docker/config.json or
$DOCKER_CONFIG) and its credential helpers, as with docker login.`,
		Example: `  bunix prefetch unikraft.org/nginx:1.15
  bunix prefetch --arch arm64 registry.example.com/team/app:v2`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			goArch, ok := urunc.Architectures[arch]
			if !ok {
				return usageError{fmt.Errorf("prefetch: --arch = %q: unknown architecture (known: amd64, arm64)", arch)}
			}
			p, err := registry.Prefetch(cmd.Context(), a[0], goArch, "")
			if err != nil {
				return userFault(err)
			}
			if goArch != args.DefaultArchitecture {
				fmt.Fprintf(cmd.OutOrStdout(), "# the hash is that of the %s image: set architecture = %q beside from\n", goArch, goArch)
			}
			fmt.Fprint(cmd.OutOrStdout(), p.Nix())
			return nil
		},
	}
	cmd.Flags().StringVar(&arch, "arch", args.DefaultArchitecture, "the architecture of the image to hash: amd64 or arm64")
	return cmd
}

func newNixPull(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:    "nix-pull",
		Short:  "Be the builder of a fixed-output derivation made by lib.pullImage",
		Hidden: true,
		Long: `nix-pull is what nix/lib.nix's pullImage runs: it pulls $ref pinned by $digest
for $architecture into an OCI image layout at $out. Nix checks the result's
NAR hash against the derivation's outputHash.

Credentials: $BUNIX_REGISTRY_USERNAME and $BUNIX_REGISTRY_PASSWORD when set,
else the docker config at $DOCKER_CONFIG (both passed through by Nix as
impureEnvVars). Certificates: $SSL_CERT_FILE.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-pull" ]; outputHashMode = "recursive"; ... }`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ref, digest, arch, out := getenv("ref"), getenv("digest"), getenv("architecture"), getenv("out")
			if ref == "" || digest == "" || arch == "" || out == "" {
				return usageError{fmt.Errorf("nix-pull: $ref, $digest, $architecture and $out must be set: this command runs inside a derivation made by nix/lib.nix")}
			}
			var keychain authn.Keychain = authn.DefaultKeychain
			if u := getenv("BUNIX_REGISTRY_USERNAME"); u != "" {
				keychain = staticKeychain{authn.FromConfig(authn.AuthConfig{Username: u, Password: getenv("BUNIX_REGISTRY_PASSWORD")})}
			}
			if err := registry.Pull(cmd.Context(), ref, digest, arch, out, registry.WithKeychain(keychain)); err != nil {
				os.RemoveAll(out)
				return userFault(err)
			}
			return nil
		},
	}
}

// staticKeychain gives the same credentials for every registry.
type staticKeychain struct{ auth authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.auth, nil }
