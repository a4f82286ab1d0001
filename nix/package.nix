# The bunix binary: a static Go program. It is both the CLI and the builder
# of the derivations made by nix/lib.nix.
{
  lib,
  buildGoModule,
  version ? "0.1.0",
}:
buildGoModule {
  pname = "bunix";
  inherit version;

  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../go.mod
      ../go.sum
      ../cmd
      ../pkg
      (lib.fileset.maybeMissing ../internal)
    ];
  };

  # Recomputed by a Go test; keep it on one line.
  vendorHash = "sha256-Oci3ope498QU6uFsTODVu0zmGRGtQcaZJcPpbWv5D5Q=";

  env.CGO_ENABLED = "0";
  ldflags = [
    "-s"
    "-w"
    "-X main.version=${version}"
  ];
  subPackages = [ "cmd/bunix" ];

  meta = {
    description = "Package unikernels as container images for urunc";
    homepage = "https://github.com/nubificus/bunix";
    platforms = lib.platforms.linux;
    mainProgram = "bunix";
  };
}
