# positions root args: where the fields of an args attribute set are
# written, for error messages: { "annotations.hypervisor" = "args.nix:12:5"; }.
# Fields Nix knows no source position for (computed ones) are left out, and
# so are bunix, cacert and root, which are not the image's fields (default.nix
# adds them).
#
# With root a path (the Nix library: the positions go into the derivation),
# only positions in files under root are kept, relative to it: nothing about
# where a checkout or default.nix lives, or which Nix evaluates, may reach
# the derivation. With root null (bunix build), file names stay absolute.
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
  # assigns p: whether the source at position p (of a file under root)
  # starts an assignment, `name = ...` or `a."b".c = ...`. Nix versions put
  # an inherited name (`inherit name;`) at different places (Nix 2.8: after
  # `inherit`, for every name of the line; 2.26 and later: at the name
  # itself), so its position would make the derivation depend on the Nix
  # version: it is left out.
  assigns =
    p:
    let
      text = builtins.readFile p.file;
      lines = builtins.filter builtins.isString (builtins.split "\n" text);
      line = if p.line >= 1 && p.line <= length lines then elemAt lines (p.line - 1) else "";
      # At most 4096 bytes of it: the name and its `=` come first, and
      # Nix's regular expressions overflow the stack on a line of a
      # megabyte (a long string written inline), naming no field.
      rest = substring (p.column - 1) 4096 line;
      name = "([A-Za-z_][A-Za-z0-9_'-]*|\"([^\"\\]|\\\\.)*\"|[$][{][^}]*[}])";
    in
    builtins.match "${name}([[:space:]]*[.][[:space:]]*${name})*[[:space:]]*=([^=].*)?" rest != null;
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
    if
      p == null
      || substring 0 1 p.file != "/"
      || (prefix != null && (file == p.file || !assigns p))
    then
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
  concatLists (
    map (n: at n args n) (
      builtins.filter (
        n:
        !builtins.elem n [
          "bunix"
          "cacert"
          "root"
        ]
      ) (attrNames args)
    )
  )
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
