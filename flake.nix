{
  description = "bunix: package unikernels as container images for urunc";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      # Not nixpkgs.lib.genAttrs: lib must evaluate without fetching nixpkgs.
      forAllSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system;
          }) systems
        );
      bunixLib = import ./nix/lib.nix;
    in
    {
      # buildImage as in nix/lib.nix; pass either `bunix` (the package) or
      # `system`, which picks self.packages.<system>.bunix.
      lib.buildImage =
        {
          bunix ? null,
          system ? null,
          ...
        }@args:
        let
          package =
            if bunix != null then
              bunix
            else if system != null then
              self.packages.${system}.bunix
            else
              throw "bunix.lib.buildImage: pass bunix (the package, e.g. bunix.packages.\${system}.bunix) or system (e.g. \"x86_64-linux\")";
        in
        bunixLib.buildImage (removeAttrs args [ "system" ] // { bunix = package; });

      packages = forAllSystems (
        system:
        let
          bunix = nixpkgs.legacyPackages.${system}.callPackage ./nix/package.nix { };
        in
        {
          inherit bunix;
          default = bunix;
        }
      );

      overlays.default = final: prev: { bunix = final.callPackage ./nix/package.nix { }; };
    };
}
