# What buildImage's arguments become: the spec, which nix/lib.nix's
# derivations hand the Go builder as JSON (passAsFile), and the store paths
# of the sources it names. lib.nix keeps the public functions, their docs
# and the derivations; this file shapes arguments, checks what Nix must
# (types, sources that exist, the form of `from`) and leaves the rest to
# the builder.
#
# The spec is the versioned contract between the Nix functions (nix/lib.nix)
# and the Go builder (pkg/args: SpecVersion, DecodeSpec; pkg/nixbuild/doc.go
# lists every contract between the two sides). Version 4:
#
#   {
#     "version": 4,
#     "name": "urunc/prebuilt/redis-rumprun-hvt",
#     "tag": "test",
#     "architecture": "amd64",
#     "contents": [
#       { "source": "/nix/store/...-redis.hvt", "target": "/unikernel/redis.hvt",
#         "field": "files.\"./redis.hvt\"" },
#       { "source": "/nix/store/...-app", "target": "/unikernel/app.hvt",
#         "field": "contents[0]" },
#       { "source": "/urunit", "target": "/urunit", "field": "contents[1]",
#         "image": "/nix/store/...-urunit-0123456789ab-oci" }
#     ],
#     "annotations": { "unikernelType": "rumprun", ... },
#     "env": { "REDIS_PORT": "6379" },
#     "entrypoint": [ "redis-server" ],
#     "cmd": [ "/data/conf/redis.conf" ],
#     "positions": { "annotations.hypervisor": "args.nix:12:5", ... },
#     "from": "/nix/store/...-nginx-1.15-oci",
#     "rootfs": {
#       "type": "block",
#       "include": [
#         { "source": "/nix/store/...-redis.conf", "target": "/conf/redis.conf",
#           "field": "rootfs.include.\"./redis.conf\"" }
#       ],
#       "fsType": "ext2", "size": "64M", "mountPoint": "/data"
#     }
#   }
#
# "from", present only when the caller set it, is the store path of the
# base image: an image file (docker-archive, oci-archive or OCI layout), or
# the output of pullImage when buildImage was given { ref; digest; hash; }.
# "architecture" is present only when the caller set it. "contents" lists the
# files entries first (in attribute name order), then the contents entries in
# list order; "field" says where each came from, for error messages. An
# entry with "image" copies out of that image (the store path of an image
# file, or of pullImage's layout): its "source" is the path in the image,
# which the builder extracts (pkg/build extractSources); it may stand in
# "contents" and in rootfs "include".
# "annotations", "env", "entrypoint", "cmd", "urunc", "workingDir" and
# "user" are passed through untouched, all but the first only when the
# caller gave them (not null); "urunit", when given, is a store path like a
# "source", or { "image": store path } for urunit = { ref; digest; hash;
# insecure; },
# the image pullImage pulled, which the builder takes /urunit from (the
# rootfs layer's spec carries "urunc" and "urunit" too, whose rules and
# file the rootfs depends on). "positions" says
# where the caller wrote each field (pkg/args/positions.nix), for error
# messages. "rootfs" is present only when the caller gave one: its "include"
# entries are made like "contents" ones (an attribute set's in name order, a
# list's in list order, "field" saying which), its "from", when not null, is
# a store path like a "source", and its other keys are passed through
# untouched. A local source that is a symbolic link is refused (Nix would
# store the link, not the file). Version 1 had no "rootfs", version 2 no
# "env", "entrypoint", "cmd" or "from", version 3 no "image" entries,
# "urunc", "urunit", "workingDir" or "user" (nor the image derivation's
# second output, sbom); this bunix reads version 4 only. Any key added here
# bumps specVersion and args.SpecVersion together, so that an older bunix
# says to update it rather than failing on a key it does not know. The Go side
# decodes exactly this, rejects unknown keys and does all validation that Nix
# does not need to do (absolute targets, annotation keys and values, env
# names, the process args against cmdline, name and tag syntax).
{
  # Helpers nix/lib.nix shares with this file, and pullImage, which a
  # `from = { ref; digest; hash; }` becomes.
  storeName,
  isStoreObject,
  toPath,
  nonNull,
  prefixOf,
  pullImage,
  pullProblem,
}:
let
  inherit (builtins)
    all
    any
    attrNames
    concatStringsSep
    genList
    hasContext
    isAttrs
    isBool
    isList
    isPath
    isString
    length
    pathExists
    removeAttrs
    stringLength
    substring
    toJSON
    typeOf
    ;

  specVersion = 4;

  # describe v: the type of v, for error messages.
  describe =
    v:
    {
      int = "an integer";
      float = "a float";
      bool = "a boolean";
      string = "a string";
      path = "a path";
      null = "null";
      set = "an attribute set";
      list = "a list";
      lambda = "a function";
    }
    .${typeOf v} or (typeOf v);

  # isSymlink p: whether the path p is itself a symbolic link.
  isSymlink =
    p:
    let
      parent = dirOf p;
      base = baseNameOf (toString p);
    in
    base != "" && pathExists parent && (builtins.readDir parent).${base} or null == "symlink";

  hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;
  # imageSpec: the spec of the image buildImage's arguments describe (args,
  # as given, for the positions; the others with their defaults), the
  # copies it makes (entries, for the layer derivations) and
  # rootfsLayerSpec c, the spec of its rootfs layer compressed as c (JSON,
  # for nix-rootfs-layer): the rootfs and the annotations, which its
  # defaults depend on, not the image's name, tag or copies. A description
  # needs a copy, so it names bunix itself (already an input), which the
  # rootfs layer builder does not read.
  imageSpec =
    {
      args,
      name,
      tag,
      files,
      contents,
      annotations,
      env,
      entrypoint,
      cmd,
      architecture,
      rootfs,
      from,
      format,
      compression,
      layers,
      urunc,
      urunit,
      workingDir,
      user,
      root,
      cacert,
      bunix,
    }:
    let
      context = "bunix.buildImage ${if isString name then name else "<name>"}";
      fail = field: msg: throw "${context}: ${field}: ${msg}";

      rootPath = if root == null then null else toPath root;

      # copy field p: the local file or directory p, alone in the store.
      # A symlink is refused: Nix would store the link itself, which
      # dangles in the sandbox, and it cannot read where the link points.
      copy =
        field: p:
        if isSymlink p then
          fail field "source ${toString p} is a symbolic link: Nix would store the link, not the file it names, so bunix refuses it (bunix build does too, and says where it points); write the path of the file itself"
        else if pathExists p then
          builtins.path {
            path = p;
            name = storeName "source" (baseNameOf (toString p));
          }
        else if builtins ? currentSystem then
          fail field "source ${toString p} does not exist"
        else
          fail field "source ${toString p} does not exist, or is outside the flake: pure evaluation (a flake) sees no file outside it; copy it into the flake (git add it, in a git repository), make it an input of the flake (flake = false), or build with --impure";

      # source field s: the store path of s, as a string with context.
      source =
        field: s:
        if isPath s then
          copy field s
        else if isStoreObject s then
          toString s
        else if isString s then
          if s == "" then
            # rootPath + "/" would be the whole directory of the args
            # file, copied into the store and the image.
            fail field "source must not be empty: give the file to copy, e.g. \"./kernel\""
          else if hasContext s then
            s
          else if hasPrefix "${builtins.storeDir}/" s then
            if pathExists s then
              builtins.storePath s
            else
              fail field "source ${s} does not exist"
          else if hasPrefix "/" s then
            copy field (/. + s)
          else if rootPath == null then
            fail field "source ${s} is relative but root is null (pass root, the directory it is relative to, or use an absolute path)"
          else
            copy field (rootPath + "/${s}")
        else
          fail field "source must be a path, a derivation or a string (got ${describe s})";

      entry =
        field: src: target:
        if isString target then
          {
            source = source field src;
            inherit target field;
          }
        else
          fail field "target must be a string (got ${describe target})";

      # A files value may be { image; target; }: the key is then the path
      # in that image, copied out of it as a contents entry with image is.
      fileEntries =
        if isAttrs files then
          map (
            src:
            let
              v = files.${src};
              field = "files.${toJSON src}";
            in
            if isAttrs v && !(isStoreObject v) then
              imageEntry field (v // { source = src; })
            else
              entry field src v
          ) (attrNames files)
        else
          throw "${context}: files must be an attribute set of \"source\" = \"/target\" (got ${describe files})";

      # contentEntry list i e: item i of the list named list, e.g. contents.
      contentEntry =
        list: i: e:
        let
          field = "${list}[${toString i}]";
          extra = attrNames (removeAttrs e [ "source" "target" "image" ]);
        in
        if !isAttrs e then
          fail field "expected { source = ...; target = \"/...\"; } (got ${describe e})"
        else if !(e ? source) then
          fail field "missing source"
        else if !(e ? target) then
          fail field "missing target"
        else if extra != [ ] then
          fail field "unknown key(s) ${concatStringsSep ", " extra} (allowed: source, target, image)"
        else if e ? image then
          imageEntry field e
        else
          entry field e.source e.target;

      # imageEntry field e: a copy out of an image, { image; source;
      # target; }: source is the path in it, which the builder extracts
      # from the pulled layout.
      imageEntry =
        field: e:
        let
          extra = attrNames (removeAttrs e [ "source" "target" "image" ]);
        in
        if extra != [ ] then
          fail field "unknown key(s) ${concatStringsSep ", " extra} (allowed: image, target)"
        else if !(e ? image) || !(e ? target) then
          fail field "a copy out of an image is { image = { ref; digest; hash; }; target = \"/...\"; }"
        else if !isString e.source || !isString e.target then
          fail field "source (the path in the image) and target must be strings"
        else
          {
            inherit (e) source target;
            inherit field;
            image = imagePath "${field}.image" e.image;
          };

      # listEntries name v: the copies of v, a list of { source; target; }
      # named name in messages.
      listEntries =
        name: v:
        genList (i: contentEntry name i (builtins.elemAt v i)) (length v);
      contentEntries =
        if isList contents then
          listEntries "contents" contents
        else
          throw "${context}: contents must be a list of { source = ...; target = \"/...\"; } (got ${describe contents})";
      includeEntries =
        include:
        if isAttrs include then
          map (src: entry "rootfs.include.${toJSON src}" src include.${src}) (attrNames include)
        else if isList include then
          listEntries "rootfs.include" include
        else
          fail "rootfs.include" "must be an attribute set of \"source\" = \"/target\" or a list of { source = ...; target = \"/...\"; } (got ${describe include})";
      rootfsSpec =
        if !isAttrs rootfs then
          throw "${context}: rootfs must be an attribute set, e.g. { type = \"initrd\"; include = { \"./init\" = \"/init\"; }; } (got ${describe rootfs})"
        else
          removeAttrs rootfs [ "include" "from" ]
          // (if rootfs.include or null == null then { } else { include = includeEntries rootfs.include; })
          // (if rootfs.from or null == null then { } else { from = source "rootfs.from" rootfs.from; });

      # imagePath field img: the store path of the image img (the base,
      # or an image a copy takes files from): { ref; digest; hash;
      # insecure; } becomes pullImage's layout, for the architecture and
      # the hypervisor annotation, as bunix build opens it (args.Monitor:
      # the short key first, "" for none); a path or derivation is itself.
      imagePath = imagePathFor (
        if !isAttrs annotations then
          null
        else if annotations ? hypervisor then
          "hypervisor"
        else if annotations ? "com.urunc.unikernel.hypervisor" then
          "com.urunc.unikernel.hypervisor"
        else
          null
      );
      # imagePathFor key field img: imagePath for the monitor of the
      # annotation key (null for none: urunit's image, a Linux binary
      # whatever the monitor, as bunix build opens it).
      imagePathFor =
        key: field: img:
        if isAttrs img && !(isStoreObject img) then
          let
            extra = attrNames (removeAttrs img [ "ref" "digest" "hash" "insecure" ]);
            monitor = if key == null then null else annotations.${key};
            pull = {
              inherit (img) ref digest hash;
              architecture = if architecture == null then "amd64" else architecture;
              hypervisor = if isString monitor && monitor != "" then monitor else null;
              insecure = img.insecure or false;
            };
            problem = pullProblem pull;
            # Where the user wrote what pullImage refuses: a key of img,
            # buildImage's architecture or the hypervisor annotation.
            problemField =
              if problem.arg == "architecture" then
                "architecture${posIn args "architecture"}"
              else if problem.arg == "hypervisor" then
                "annotations.${if key == "hypervisor" then key else toJSON key}${posIn annotations key}"
              else
                "${field}.${problem.arg}${posIn img problem.arg}";
          in
          if extra != [ ] then
            fail field "unknown key(s) ${concatStringsSep ", " extra} (allowed: ref, digest, hash, insecure)"
          else if !(img ? ref) || !(img ? digest) || !(img ? hash) then
            fail field "an image in a registry is { ref = \"registry/repo:tag\"; digest = \"sha256:...\"; hash = \"sha256-...\"; } (bunix prefetch REF prints it)"
          else if problem != null then
            throw "${context}: ${problemField} = ${problem.value}: ${problem.why}"
          else
            toString (pullImage (pull // { inherit bunix cacert; }))
        else if isString img && !(hasContext img) && !(hasPrefix "/" img) && !(hasPrefix "." img) then
          fail field "the reference ${toJSON img} is for bunix build only: in Nix write { ref; digest; hash; } (bunix prefetch REF prints it)"
        else
          source field img;

      # plain field at v: true when v, the value of a field passed to the
      # builder untouched (written at `at`), holds no path and no
      # derivation; else an error naming the field, where it is written and
      # what it holds. toJSON would copy a path into the store and pass the
      # copy's store path, and build a derivation to pass its out path, so
      # the builder would check a store path the user never wrote (exit 0
      # for `workingDir = ./.`, which stored the whole directory) instead of
      # the string they meant. An attribute set's values and a list's items
      # are checked too, each named (annotations.cmdline, cmd[0]).
      plain =
        field: at: v:
        let
          refuse = what: fail "${field}${at}" "${what}; give a string";
        in
        if isPath v then
          refuse "is a path, ${toString v}: Nix would copy it into the store and pass the copy's store path (a string in double quotes, \"${toString v}\", is not copied)"
        else if isStoreObject v then
          refuse "is a derivation or other store object${
            if isString (v.name or null) then " (${v.name})" else ""
          }: Nix would build it and pass its store path"
        else if isAttrs v then
          all (k: plain "${field}.${k}" (posIn v k) v.${k}) (attrNames v)
        else if isList v then
          all (i: plain "${field}[${toString i}]" at (builtins.elemAt v i)) (genList (i: i) (length v))
        else
          true;

      # posIn set attr: " (FILE:LINE:COLUMN)", where attr of set is written,
      # or "" when Nix knows no position (a computed attribute).
      posIn =
        set: attr:
        let
          p = builtins.unsafeGetAttrPos attr set;
        in
        if p == null then "" else " (${p.file}:${toString p.line}:${toString p.column})";

      # plainArgs: every field passed to the builder untouched is plain.
      # Checked before the spec is made; the spec itself is unchanged.
      plainArgs =
        all (f: plain f (posIn args f) args.${f}) (
          builtins.filter (f: args ? ${f}) [
            "name"
            "tag"
            "annotations"
            "env"
            "entrypoint"
            "cmd"
            "architecture"
            "urunc"
            "workingDir"
            "user"
            "format"
            "compression"
            "layers"
          ]
        )
        && (
          !isAttrs rootfs
          || all (k: plain "rootfs.${k}" (posIn rootfs k) rootfs.${k}) (
            attrNames (removeAttrs rootfs [ "include" "from" ])
          )
        );

      # fromSpec: the store path of the base image.
      fromSpec = imagePath "from" from;

      entries = fileEntries ++ contentEntries;

      # urunitSpec: the store path of the urunit binary.
      urunitSpec =
        if urunit == null then
          null
        else if isAttrs urunit && !(isStoreObject urunit) then
          { image = imagePathFor null "urunit" urunit; }
        else
          source "urunit" urunit;

      spec =
        assert plainArgs;
        {
          version = specVersion;
          inherit name tag;
          # Where each field is written, relative to root, so that the
          # builder's messages name the line; without a root none are
          # given, since absolute file names would tie the derivation to
          # where the files live.
          positions = if rootPath == null then { } else import ../pkg/args/positions.nix rootPath args;
          contents = entries;
          annotations =
            if isAttrs annotations then
              annotations
            else
              throw "${context}: annotations must be an attribute set (got ${describe annotations})";
        }
        // nonNull { inherit env entrypoint cmd urunc workingDir user; urunit = urunitSpec; }
        // (if architecture == null then { } else { inherit architecture; })
        // (if rootfs == null then { } else { rootfs = rootfsSpec; })
        // (if from == null then { } else { from = fromSpec; })
        // nonNull { inherit format compression layers; };
    in
    {
      inherit entries spec;
      # fromImages: some copy takes its files from an image, which only
      # the image derivation extracts.
      fromImages = any (e: e ? image) (entries ++ (if rootfs == null then [ ] else rootfsSpec.include or [ ]));
      rootfsLayerSpec =
        c:
        toJSON (
          {
            version = specVersion;
            name = "bunix/rootfs-layer";
            tag = "latest";
            contents = [
              {
                source = "${prefixOf bunix}/bin/bunix";
                target = "/.bunix";
                field = "contents[0]";
              }
            ];
            inherit annotations;
            rootfs = rootfsSpec;
            compression = c;
          }
          // nonNull { inherit env entrypoint cmd urunc; urunit = urunitSpec; }
        );
    };
in
{
  inherit specVersion imageSpec;
}
