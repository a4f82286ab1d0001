# Build the image described by an args file:
#
#   nix-build                                  # ./args.nix
#   nix-build /path/to/bunix/default.nix       # ./args.nix of the current directory
#   nix-build --arg args ./examples/contents/args.nix
#   nix-build --arg bunix /some/prefix         # a prebuilt bin/bunix, no nixpkgs needed
#
# Without nixpkgs on the Nix search path, `make image` (or `make image
# ARGS=path/to/args.nix`) builds bunix with Go and passes it as --arg bunix.
#
# `args` is a path to an args file (an attribute set, or a function called
# with { }), whose relative sources are relative to the file's directory; or
# an attribute set, whose relative sources are relative to its `root`
# (default: this directory). See nix/lib.nix for the arguments of buildImage.
let
  # Building bunix from source takes nixpkgs (buildGoModule). Look it up
  # before importing it, so that a machine without it is told what to do
  # rather than that "file 'nixpkgs' was not found".
  nixpkgs = builtins.tryEval <nixpkgs>;
  noNixpkgs = throw ''
    default.nix: there is no nixpkgs on the Nix search path (NIX_PATH is "${builtins.getEnv "NIX_PATH"}"), and building bunix from source needs it. Either:
      - in this checkout, run `make image` (or `make image ARGS=path/to/args.nix`): it builds bunix with Go and runs this nix-build with --arg bunix;
      - or pass a prebuilt bunix: `make bunix` writes out/bin/bunix, then
          nix-build default.nix --arg bunix ./out --option substituters ''' --option sandbox true
        (--arg bunix takes the directory holding bin/bunix);
      - or put nixpkgs on the search path: -I nixpkgs=/path/to/nixpkgs, or NIX_PATH.'';
in
{
  pkgs ? if nixpkgs.success then import nixpkgs.value { } else noNixpkgs,
  bunix ? pkgs.callPackage ./nix/package.nix { },
  # null: ./args.nix of the directory nix-build runs in, else this
  # checkout's (see defaultArgs).
  args ? null,
  # A CA bundle package (etc/ssl/certs/ca-bundle.crt in it) for a `from`
  # registry whose certificate a private CA signs; see nix/lib.nix.
  cacert ? null,
}:
let
  fromFile =
    file:
    let
      path = if builtins.isPath file then file else /. + file;
      imported = import path;
      value = if builtins.isFunction imported then imported { } else imported;
    in
    # A string is taken as an absolute file name: --argstr args args.nix
    # would otherwise read /args.nix ("getting status of '/args.nix'").
    if builtins.isString file && builtins.substring 0 1 file != "/" then
      throw "default.nix: args = ${builtins.toJSON file}: a relative file name given as a string, which Nix cannot tell the directory of: pass a path, --arg args ${
        if builtins.substring 0 1 file == "." then file else "./${file}"
      }, or an absolute name"
    else if !builtins.isPath file && !builtins.isString file then
      throw "default.nix: args: expected a path to an args file or an attribute set (got a value of type ${builtins.typeOf file})"
    else if !builtins.pathExists path then
      throw "default.nix: args = ${toString path}: no such file"
    else if builtins.isAttrs value then
      { root = dirOf path; } // value
    else
      throw "default.nix: args ${toString path}: expected an attribute set or a function returning one (got a ${builtins.typeOf value})";

  # The args file when none is given. Run in this checkout (or in pure
  # evaluation, which has no $PWD), ./args.nix here; run from another
  # directory, that directory's args.nix, or this checkout's placeholder
  # when it has none: either way a trace says which file it is.
  pwd = builtins.getEnv "PWD";
  here = toString ./.;
  defaultArgs =
    if pwd == "" || pwd == here then
      ./args.nix
    else if builtins.pathExists (pwd + "/args.nix") then
      builtins.trace "default.nix: building ${pwd}/args.nix, the current directory's (--arg args FILE builds another)" (
        /. + pwd + "/args.nix"
      )
    else
      builtins.trace "default.nix: there is no args.nix in the current directory ${pwd}: building ${here}/args.nix, this checkout's placeholder example (--arg args ./path/to/args.nix builds yours)" ./args.nix;

  given =
    if args == null then
      fromFile defaultArgs
    else if builtins.isAttrs args then
      { root = args.root or ./.; } // args
    else
      fromFile args;

  inherit (import ./nix/lib.nix) buildImage;

  # An attribute buildImage does not take (a typo: anotations) is named
  # here, at its line in the args file, as bunix build names it; passed on,
  # Nix would refuse it at the call below, in this file. bunix and cacert
  # are this file's arguments, not the args file's.
  known = builtins.attrNames (
    removeAttrs (builtins.functionArgs buildImage) [
      "bunix"
      "cacert"
    ]
  );
  unknown = builtins.attrNames (removeAttrs given (builtins.attrNames (builtins.functionArgs buildImage)));

  # distance a b: the Levenshtein distance of the strings a and b, as
  # bunix build's suggestions measure it.
  distance =
    a: b:
    let
      chars = s: builtins.genList (i: builtins.substring i 1 s) (builtins.stringLength s);
      ca = chars a;
      cb = chars b;
      min = x: y: if x < y then x else y;
      row =
        prev: i:
        builtins.foldl' (
          acc: j:
          acc
          ++ [
            (min (min (builtins.elemAt prev (j + 1) + 1) (builtins.elemAt acc j + 1)) (
              builtins.elemAt prev j + (if builtins.elemAt ca i == builtins.elemAt cb j then 0 else 1)
            ))
          ]
        ) [ (i + 1) ] (builtins.genList (j: j) (builtins.length cb));
    in
    builtins.elemAt (builtins.foldl' row (builtins.genList (j: j) (builtins.length cb + 1)) (
      builtins.genList (i: i) (builtins.length ca)
    )) (builtins.length cb);

  # suggest k: "; did you mean \"x\"?" for the known field closest to k,
  # when it is close (at most 2 edits, or a third of k), as bunix build
  # suggests; "" for none, or for a name too long to be a typo of one.
  suggest =
    k:
    let
      scored = map (f: {
        inherit f;
        d = distance k f;
      }) known;
      best = builtins.foldl' (b: x: if b == null || x.d < b.d then x else b) null scored;
      limit = if builtins.stringLength k / 3 > 2 then builtins.stringLength k / 3 else 2;
    in
    if builtins.stringLength k > 64 || best == null || best.d > limit then
      ""
    else
      "; did you mean ${builtins.toJSON best.f}?";

  unknownError =
    k:
    let
      p = builtins.unsafeGetAttrPos k given;
      # A file's, not that of an --arg expression.
      at =
        if p == null || builtins.substring 0 1 p.file != "/" then
          ""
        else
          " (${p.file}:${toString p.line}:${toString p.column})";
    in
    "${
      if builtins.stringLength k <= 256 && builtins.match "[A-Za-z_][A-Za-z0-9_'-]*" k != null then
        k
      else
        builtins.toJSON (builtins.substring 0 256 k)
        + (if builtins.stringLength k > 256 then "... (${toString (builtins.stringLength k)} bytes)" else "")
    }${at}: unknown field${suggest k} (known: ${builtins.concatStringsSep ", " known})";
  name = if builtins.isString (given.name or null) then " ${given.name}" else "";
in
if unknown != [ ] then
  throw "bunix.buildImage${name}: ${builtins.concatStringsSep "\n" (map unknownError unknown)}"
else
  buildImage (given // { inherit bunix cacert; })
