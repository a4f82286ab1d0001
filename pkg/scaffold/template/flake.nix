{
  description = "A urunc image built with bunix";

  inputs.bunix.url = "github:nubificus/bunix";

  # The bunix that builds the image: by default the one the bunix flake
  # builds from source, which takes nixpkgs. To use a prebuilt one, give the
  # directory that holds bin/bunix (in a bunix checkout, `make bunix` writes
  # out/bin/bunix), for the system you build on:
  #   nix build --override-input prebuilt path:/path/to/bunix/out
  # Left alone, it follows the bunix input (nothing more is fetched), whose
  # source holds no bin/bunix.
  inputs.prebuilt = {
    follows = "bunix";
    flake = false;
  };

  outputs =
    {
      self,
      bunix,
      prebuilt,
    }:
    let
      hasPrebuilt = builtins.pathExists "${prebuilt}/bin/bunix";
      image =
        system:
        bunix.lib.buildImage (
          import ./args.nix
          // {
            root = ./.;
          }
          // (if hasPrebuilt then { bunix = prebuilt // { inherit system; }; } else { inherit system; })
        );
    in
    {
      packages.x86_64-linux.default = image "x86_64-linux";
      packages.aarch64-linux.default = image "aarch64-linux";
    };
}
