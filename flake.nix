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
      # The functions of nix/lib.nix. Pass either `bunix` (the package) or
      # `system`, which picks self.packages.<system>.bunix. Given both, a
      # bunix that names no system (a path, a non-flake input) is for
      # `system`: pure evaluation knows no other.
      lib = builtins.mapAttrs (
        fname: f:
        {
          bunix ? null,
          system ? null,
          ...
        }@args:
        let
          package =
            if bunix != null && system != null && !(builtins.isAttrs bunix && bunix ? system) then
              (if builtins.isAttrs bunix then bunix else { outPath = bunix; }) // { inherit system; }
            else if bunix != null then
              bunix
            else if system != null then
              self.packages.${system}.bunix
            else
              throw "bunix.lib.${fname}: pass bunix (the package, e.g. bunix.packages.\${system}.bunix) or system (e.g. \"x86_64-linux\")";
        in
        f (removeAttrs args [ "system" ] // { bunix = package; })
      ) bunixLib;

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

      # `nix flake init -t github:nubificus/bunix`: an args.nix and a flake.nix
      # that builds it (the same flake.nix `bunix init --flake` writes).
      templates.default = {
        path = ./pkg/scaffold/template;
        description = "A urunc image built with bunix: args.nix and flake.nix";
      };

      # `nix run github:nubificus/bunix -- build -f args.nix -o image.tar`
      apps = forAllSystems (system: {
        default = {
          type = "app";
          program = "${self.packages.${system}.bunix}/bin/bunix";
          meta.description = "bunix: package unikernels as container images for urunc";
        };
      });

      # `nix flake check`: the package builds (and with it its Go tests'
      # vendored dependencies), and so does the default image.
      checks = forAllSystems (system: {
        bunix = self.packages.${system}.bunix;
        image = import ./default.nix {
          bunix = self.packages.${system}.bunix;
          pkgs = nixpkgs.legacyPackages.${system};
        };
      });

      # `nix develop`: what building and testing bunix needs.
      devShells = forAllSystems (
        system:
        let
          pkgs = nixpkgs.legacyPackages.${system};
        in
        {
          default = pkgs.mkShell {
            packages = [
              pkgs.go
              pkgs.gopls
              pkgs.skopeo
              pkgs.cpio
              pkgs.e2fsprogs
            ];
          };
        }
      );
    };
}
