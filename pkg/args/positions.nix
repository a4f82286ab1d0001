# positions root args: where the fields of an args attribute set are
# written, for error messages: { "annotations.hypervisor" = "args.nix:12:5"; }.
# File names under root (a path, or null) are made relative to it, so that
# the positions do not depend on where a checkout lives. Fields Nix knows no
# source position for (computed ones) are left out.
#
# Used by nix/lib.nix (the spec carries them to the builder) and embedded in
# the bunix binary, which evaluates args.nix for `bunix build`.
root: args:
let
  inherit (builtins)
    attrNames
    concatLists
    elemAt
    genList
    isAttrs
    isList
    length
    listToAttrs
    stringLength
    substring
    toJSON
    unsafeGetAttrPos
    ;
  # at field set attr: [ { name = field; value = "file:line:col"; } ], or [ ]
  at =
    field: set: attr:
    let
      p = unsafeGetAttrPos attr set;
      prefix = if root == null then null else "${toString root}/";
      file =
        if prefix != null && substring 0 (stringLength prefix) p.file == prefix then
          substring (stringLength prefix) (stringLength p.file) p.file
        else
          p.file;
    in
    if p == null || substring 0 1 p.file != "/" then
      [ ]
    else
      [
        {
          name = field;
          value = "${file}:${toString p.line}:${toString p.column}";
        }
      ];
  inside =
    attr: render:
    if isAttrs (args.${attr} or null) then
      concatLists (map (n: at (render n) args.${attr} n) (attrNames args.${attr}))
    else
      [ ];
  contents =
    if isList (args.contents or null) then
      concatLists (
        genList (
          i:
          let
            e = elemAt args.contents i;
          in
          if isAttrs e then at "contents[${toString i}]" e "source" else [ ]
        ) (length args.contents)
      )
    else
      [ ];
in
listToAttrs (
  concatLists (map (n: at n args n) (attrNames args))
  ++ inside "annotations" (n: "annotations.${n}")
  ++ inside "files" (n: "files.${toJSON n}")
  ++ contents
)
