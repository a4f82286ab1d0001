// Package nixbuild is what nix/lib.nix's derivations run: the builders
// (bunix nix-builder, nix-layer, nix-pull, ...) that read what Nix passes
// them, their environment and the files it names, and call pkg/build or
// pkg/registry. Builders is their one table; cmd/bunix makes each a hidden
// command. A builder run the wrong way fails with a *UsageError.
package nixbuild
