{
  description = "A urunc image built with bunix";

  inputs.bunix.url = "github:nubificus/bunix";

  outputs =
    { self, bunix }:
    let
      image =
        system:
        bunix.lib.buildImage (
          import ./args.nix
          // {
            root = ./.;
            inherit system;
          }
        );
    in
    {
      packages.x86_64-linux.default = image "x86_64-linux";
      packages.aarch64-linux.default = image "aarch64-linux";
    };
}
