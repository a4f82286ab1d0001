# positions root args: where the fields of an args attribute set are
# written, for error messages: { "annotations.hypervisor" = "args.nix:12:5"; }.
# File names under root (a path, or null) are made relative to it, so that
# the positions do not depend on where a checkout lives. Fields Nix knows no
# source position for (computed ones) are left out.
#
# Used by nix/spec.nix (the spec carries them to the builder) and embedded in
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
  # listAt name list: where each { source; target; } of list starts.
  listAt =
    name: list:
    if isList list then
      concatLists (
        genList (
          i:
          let
            e = elemAt list i;
          in
          if isAttrs e then at "${name}[${toString i}]" e "source" else [ ]
        ) (length list)
      )
    else
      [ ];
  rootfs = if isAttrs (args.rootfs or null) then args.rootfs else { };
  include = rootfs.include or null;
in
listToAttrs (
  concatLists (map (n: at n args n) (attrNames args))
  ++ inside "annotations" (n: "annotations.${n}")
  ++ inside "files" (n: "files.${toJSON n}")
  ++ inside "env" (n: "env.${n}")
  ++ listAt "contents" (args.contents or null)
  ++ inside "rootfs" (n: "rootfs.${n}")
  ++ (
    if isAttrs include then
      concatLists (map (n: at "rootfs.include.${toJSON n}" include n) (attrNames include))
    else
      listAt "rootfs.include" include
  )
)
