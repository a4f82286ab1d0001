# Build the image described by an args file:
#
#   nix-build                                  # ./args.nix
#   nix-build --arg args ./examples/contents/args.nix
#   nix-build --arg bunix /some/prefix         # a prebuilt bin/bunix, no nixpkgs needed
#
# `args` is a path to an args file (an attribute set, or a function called
# with { }), whose relative sources are relative to the file's directory; or
# an attribute set, whose relative sources are relative to its `root`
# (default: this directory). See nix/lib.nix for the arguments of buildImage.
{
  pkgs ? import <nixpkgs> { },
  bunix ? pkgs.callPackage ./nix/package.nix { },
  args ? ./args.nix,
}:
let
  fromFile =
    file:
    let
      path = if builtins.isPath file then file else /. + file;
      imported = import path;
      value = if builtins.isFunction imported then imported { } else imported;
    in
    if builtins.isAttrs value then
      { root = dirOf path; } // value
    else
      throw "default.nix: args ${toString path}: expected an attribute set or a function returning one (got a ${builtins.typeOf value})";

  given =
    if builtins.isAttrs args then
      { root = args.root or ./.; } // args
    else
      fromFile args;
in
(import ./nix/lib.nix).buildImage (given // { inherit bunix; })
