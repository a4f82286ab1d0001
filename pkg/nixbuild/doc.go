// Package nixbuild is what nix/lib.nix's derivations run: the builders
// (bunix nix-builder, nix-layer, nix-pull, ...) that read what Nix passes
// them, their environment and the files it names, and call pkg/build or
// pkg/registry. Builders is their one table; cmd/bunix makes each a hidden
// command. A builder run the wrong way fails with a *UsageError.
//
// # The Nix↔Go contracts
//
// Everything nix/lib.nix (and nix/spec.nix) hands the Go side, and where each side writes and
// reads it (as nix2container's types.go and its Nix builder do). A change
// to one side is a change to the other.
//
//   - The spec: the JSON of one image (or of an index, "images": [...]),
//     versioned. Nix makes it from buildImage's arguments in nix/spec.nix
//     (imageSpec: the image's spec and its rootfs layer's, the rootfs and
//     annotations only), whose header documents each key, with
//     specVersion; buildImageIndex in nix/lib.nix wraps the images' specs.
//     Go: args.SpecVersion must match specVersion, and args.DecodeSpec
//     decodes it, rejecting unknown keys; its "positions" come from
//     pkg/args/positions.nix, which spec.nix imports. A key added to the
//     spec, or an output the builder must write, bumps both versions, so
//     that a bunix older than the Nix library stops at the version ("update
//     bunix") and not at a key it does not know; nix TestSpecVersion checks
//     that the two agree.
//   - The builder's variables: imageDerivation passes the spec as a file
//     (`passAsFile = [ "spec" ]`: $specPath), the layer outputs in
//     $bunixLayers (space-separated, outside the spec), $out and $sbom
//     (its second output, the SPDX document); Go reads them in run.go
//     (specJob, call.env, readPassed, writeImage).
//     pushScript and streamImage pass $textPath, pullImage $ref, $digest,
//     $architecture and, as impureEnvVars, $BUNIX_REGISTRY_USERNAME and
//     _PASSWORD (pull). SOURCE_DATE_EPOCH is read by build.FromEnv alone.
//     The args of each derivation name its builder (Builders) and, for
//     nix-layer, SOURCE TARGET COMPRESSION.
//   - The layer directory: the output of layerDerivation (`bunix
//     nix-layer`) and rootfsLayerDerivation (`bunix nix-rootfs-layer`),
//     $out/blob and $out/layer.json (version 1, build's layerVersion), or
//     $out/skipped (why, for a layer not built: a rootfs layer, or a copy
//     whose source is missing or leads out of the store, which the image's
//     build then reports, naming the field): build.WriteLayer and
//     build.WriteRootfsLayer write it, build.ReadLayers reads it back for
//     nix-builder and nix-stream.
//   - The stream script: streamImage's `text` is "#!BUNIX nix-stream\n"
//     and then {"spec": ..., "layers": [...]}; nix-stream-script checks
//     and writes it, nix-stream runs it. Go: StreamScript,
//     ParseStreamScript and ReadStreamScript (stream.go).
//   - The pulled image: pullImage's fixed output is an OCI layout that
//     registry.Pull writes (nix-pull: $ref, $digest, $architecture, and
//     $hypervisor and $insecure when set) and a spec's "from", a
//     contents or include entry's "image", or "urunit"'s "image" (pulled
//     with no hypervisor) names; Nix checks its NAR hash, which
//     registry.Prefetch computes for `bunix prefetch` (with the same
//     architecture and hypervisor) and bunix build checks too.
package nixbuild
