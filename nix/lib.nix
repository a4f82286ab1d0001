# Nix functions of bunix.
#
# The Nix side only shapes arguments: buildImage turns them into a spec
# (JSON, passed to the builder as a file) and the bunix binary, a static Go
# program, does the work as the builder of a plain derivation. There is no
# stdenv and no shell in the build.
#
# Each copy's layer is a derivation of its own (layerDerivation, `bunix
# nix-layer SOURCE TARGET COMPRESSION`: $out/blob and $out/layer.json),
# whose inputs are only those and bunix, so that it is shared by every image
# copying the same file to the same target; the rootfs file bunix builds has
# one too (`bunix nix-rootfs-layer`, a spec of the rootfs and annotations).
# The image derivation gets their outputs in $bunixLayers (outside the spec)
# and takes the blobs from there.
#
# The spec, what buildImage's arguments become, is the versioned contract
# between these functions and the Go builder: nix/spec.nix makes it and
# documents each key; pkg/nixbuild/doc.go lists every contract between the
# two sides and where each reads and writes it.

let
  inherit (builtins)
    attrNames
    concatMap
    concatStringsSep
    elem
    filter
    genList
    hasContext
    head
    isAttrs
    isBool
    isList
    isPath
    isString
    length
    match
    pathExists
    removeAttrs
    split
    stringLength
    substring
    toJSON
    ;

  inherit
    (import ./spec.nix {
      inherit
        storeName
        isStoreObject
        toPath
        nonNull
        prefixOf
        pullImage
        pullProblem
        ;
    })
    specVersion
    imageSpec
    ;

  # storeName fallback s: s made usable as the name of a store path. Every
  # character outside [A-Za-z0-9+._?=-] becomes "-", only the last 200
  # characters are kept (the end carries the tag or the file extension) and
  # leading dots are dropped; fallback if nothing is left.
  storeName =
    fallback: s:
    let
      replaced = concatStringsSep "" (
        map (part: if isList part then "-" else part) (split "[^A-Za-z0-9+._?=-]" s)
      );
      len = stringLength replaced;
      kept = if len > 200 then substring (len - 200) 200 replaced else replaced;
      undotted = head (match "[.]*(.*)" kept);
    in
    if undotted == "" then fallback else undotted;

  # matches re s: whether the string s matches re, where s is at most
  # 4096 bytes; a longer s matches nothing. Nix's regular expressions
  # recurse per character, and a string of a megabyte overflows the stack:
  # "stack overflow (possible infinite recursion)", naming no field.
  matches = re: s: stringLength s <= 4096 && match re s != null;

  # shown v: v as JSON for a message, cut to 200 bytes.
  shown =
    v:
    let
      j = toJSON v;
    in
    if stringLength j > 200 then
      "${substring 0 200 j}...\" (${toString (stringLength j)} bytes)"
    else
      j;

  # refShown ref: ref for the start of a message, or <ref> where it is no
  # short, non-empty string.
  refShown = ref: if isString ref && ref != "" && stringLength ref <= 200 then ref else "<ref>";

  hasSuffix =
    suffix: s:
    let
      n = stringLength s - stringLength suffix;
    in
    n >= 0 && substring n (stringLength suffix) s == suffix;

  # A derivation, or anything else that knows its store path (flake inputs,
  # lib.fileset.toSource results).
  isStoreObject = v: isAttrs v && v ? outPath;

  # toPath v: v (a path, or a string or attrset naming an absolute path) as a
  # path value.
  toPath =
    v:
    if isPath v then v else /. + builtins.unsafeDiscardStringContext (toString v);

  # The store path of the builder's prefix. A path (e.g. --arg bunix /some/prefix)
  # is copied into the store by the interpolation, once it is known to hold
  # bin/bunix; a derivation is used as is.
  prefixOf =
    bunix:
    let
      prefix = toPath bunix;
      shown = toString prefix;
      hint =
        if hasSuffix "/bin/bunix" shown then
          "pass the directory that holds bin/bunix, ${dirOf (dirOf shown)}"
        else
          "pass the directory that holds bin/bunix (`make bunix` writes out/bin/bunix: --arg bunix ./out)";
    in
    if isStoreObject bunix || (isString bunix && hasContext bunix) then
      bunix
    else if builtins.pathExists (prefix + "/bin/bunix") then
      prefix
    else
      throw "bunix = ${shown}: ${
        if builtins.pathExists prefix then "has no bin/bunix" else "no such directory"
      }: ${hint}";

  /**
    Package unikernel files as a container image for urunc: a tar archive that
    `docker load` and `skopeo` accept, carrying the urunc annotations
    as config Labels and as /urunc.json.

    The result is a derivation whose builder is the bunix binary itself,
    with two outputs: `out`, the image, and `sbom`, its SPDX 2.3 JSON
    document (what `bunix build --sbom` writes, every store path the image
    copies from a package of it); `nix-build -A all` links both, as
    `result` and `result-sbom`. Each copy's layer is built by a derivation
    of its own, which any other image copying the same file to the same
    target shares (docs/nix.md: "How images are built in Nix"); the image
    derivation only assembles them.

    # Inputs

    `name` (String)
    : Image name without tag, e.g. `"urunc/prebuilt/redis-rumprun-hvt"`.
      Checked by the builder.

    `tag` (String; _optional_)
    : Image tag.

      _Default value:_ `"latest"`

    `files` (AttrSet of String; _optional_)
    : Local files to put in the image, as `"source" = "/target";`. A relative
      source is relative to `root`; an absolute one is used as is. Each source
      enters the store on its own, so editing one file re-copies only that
      file. A directory source is copied whole.

      _Default value:_ `{ }`

    `contents` (List of AttrSet; _optional_)
    : More files to put in the image, as `{ source = ...; target = "/..."; }`.
      `source` is a path, a derivation, a string holding a store path (e.g.
      `"${drv}/bin/app.hvt"`, used as is) or a string naming a local file
      (relative to `root`, or absolute). Use this for build outputs.
      Entries go after the `files` entries, in list order.

      _Default value:_ `[ ]`

    `annotations` (AttrSet of String; _optional_)
    : urunc annotations without the `com.urunc.unikernel.` prefix, e.g.
      `{ unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/unikernel/kernel"; }`.
      Passed to the builder untouched; the builder checks keys and values.
      An empty string means unset.

      _Default value:_ `{ }`

    `env` (AttrSet of String or null; _optional_)
    : The guest's environment, `{ NAME = "value"; }`: the image config's
      `Env` (`"NAME=value"`, in name order), which newer urunc hands the
      guest. Passed to the builder untouched; the builder checks names and
      values.

      _Default value:_ `null`

    `entrypoint`, `cmd` (List of String or null; _optional_)
    : The image config's `Entrypoint` and `Cmd`: the process args, which
      newer urunc makes the guest's command line. The builder derives the
      `cmdline` annotation older urunc reads from them; given together with
      `annotations.cmdline`, they must agree.

      _Default value:_ `null`

    `architecture` (String or null; _optional_)
    : Image architecture in OCI terms (`"amd64"`, `"arm64"`). `null` lets the
      builder choose.

      _Default value:_ `null`

    `rootfs` (AttrSet or null; _optional_)
    : A root file system for the guest, which bunix builds or packages:
      `{ type = "initrd"; include = { "./init" = "/init"; }; }`, with
      `type` one of `"initrd"`, `"raw"`, `"block"`. `include` takes the
      forms of `files` (an attribute set) or of `contents` (a list), its
      targets being paths inside the rootfs; its sources enter the store the
      same way. `from` is a prebuilt rootfs file (a path, a derivation or a
      store path) to package as it is. `path`, `fsType`, `size`,
      `mountPoint` and `compression` are passed to the builder, which checks
      them; docs/rootfs.md describes them all.
      _Default value:_ `null`

    `from` (Path, Derivation, AttrSet or null; _optional_)
    : The base image: its layers come first, byte for byte, and its Env,
      Entrypoint, Cmd, WorkingDir and Labels are inherited (the fields above
      override them; its urunc settings are the defaults of `annotations`).
      An image file (docker-archive, oci-archive, OCI layout directory) as a
      path or derivation, or `{ ref; digest; hash; }`, which becomes a
      `pullImage` for `architecture` (`bunix prefetch REF` prints it).
      With a base, `files` and `contents` may be empty.

      _Default value:_ `null`

    `format` (String; _optional_)
    : `"docker-archive"` (a tar for `docker load`), `"oci-archive"` (a tar of
      an OCI image layout) or `"oci"` (an OCI image layout directory). The
      OCI formats carry the urunc settings as manifest annotations too.

      _Default value:_ `"docker-archive"`

    `compression` (String; _optional_)
    : Layer compression: `"none"`, `"gzip"` or `"zstd"`, all deterministic.

      _Default value:_ `"none"`

    `layers` (String; _optional_)
    : `"per-file"` (one layer per target, capped at 100 by merging the
      smallest) or `"single"`.

      _Default value:_ `"per-file"`

    `urunc` (String or null; _optional_)
    : The oldest urunc release the image must run on: `"0.5"`, `"0.6"`,
      `"0.7"`, `"0.8"`, or `"main"` for urunc's unreleased main branch. The
      builder refuses guests, monitors and rootfs forms that release cannot
      run (docs/args.md, "Which urunc").

      _Default value:_ `null` (the newest release, `"0.8"`)

    `urunit` (Path, Derivation, String or AttrSet; _optional_)
    : A static urunit binary, for a linux guest, or `{ ref; digest; hash; }`,
      an image holding /urunit, pulled like `from`: bunix puts it at /urunit in
      the guest's rootfs (the initrd or block image it builds, or a raw
      rootfs) and "/urunit" first in the process args, so that urunc 0.7
      and later hand the guest its env, user and working directory through
      it (docs/args.md, "urunit").

      _Default value:_ `null`

    `workingDir`, `user` (String or null; _optional_)
    : The image config's WorkingDir (an absolute path) and User (`"UID"` or
      `"UID:GID"`), which urunc 0.7 and later hand a Linux guest's urunit.

      _Default value:_ `null`

    `root` (Path or null; _optional_)
    : Directory that relative sources are relative to, usually the
      directory of the args file (`./.`). Required when a relative source is
      used.

      _Default value:_ `null`

    `cacert` (Derivation or null; _optional_)
    : For a `from = { ref; digest; hash; }` on a registry whose certificate
      a private CA signs: passed to `pullImage` (see there).

      _Default value:_ `null`

    `bunix` (Derivation or Path)
    : The bunix package, or a directory holding `bin/bunix` (a static
      binary; it runs as the builder, in the sandbox).

    # Type

    ```
    buildImage :: AttrSet -> Derivation
    ```

    # Examples
    :::{.example}
    ## `buildImage` usage example

    ```nix
    (import ./nix/lib.nix).buildImage {
      name = "urunc/prebuilt/redis-rumprun-hvt";
      tag = "test";
      root = ./.;
      files = { "./redis.hvt" = "/unikernel/redis.hvt"; };
      contents = [ { source = redisData; target = "/data/redis.img"; } ];
      annotations = {
        unikernelType = "rumprun";
        hypervisor = "hvt";
        binary = "/unikernel/redis.hvt";
        cmdline = "redis-server /data/conf/redis.conf";
        block = "/data/redis.img";
        blkMntPoint = "/data";
      };
      inherit bunix;
    }
    ```
    :::
  */
  buildImage =
    {
      name,
      tag ? "latest",
      files ? { },
      contents ? [ ],
      annotations ? { },
      env ? null,
      entrypoint ? null,
      cmd ? null,
      architecture ? null,
      rootfs ? null,
      from ? null,
      format ? null,
      compression ? null,
      layers ? null,
      urunc ? null,
      urunit ? null,
      workingDir ? null,
      user ? null,
      root ? null,
      cacert ? null,
      bunix,
    }@args:
    let
      inherit
        (imageSpec {
          inherit
            args
            name
            tag
            files
            contents
            annotations
            env
            entrypoint
            cmd
            architecture
            rootfs
            from
            format
            compression
            layers
            urunc
            urunit
            workingDir
            user
            root
            cacert
            bunix
            ;
        })
        entries
        spec
        rootfsLayerSpec
        fromImages
        ;

      # One layer derivation per copy, when each copy gets a layer of its
      # own (per-file layers, no more than the cap of 100) and the copy and
      # compression look right, and the image has no base (whose layers
      # count against the cap and whose settings are defaults of the
      # rootfs's) and no copy out of an image (which the image derivation
      # extracts): otherwise the image derivation encodes the layers itself,
      # and reports what is wrong with the field's position.
      layerDerivations =
        c:
        let
          c' = if c == null then "none" else c;
          layered =
            from == null
            && !fromImages
            && (layers == null || layers == "per-file")
            && elem c' [ "none" "gzip" "zstd" ]
            && length entries + (if rootfs == null then 1 else 2) <= 100;
        in
        if layered then
          map (e: layerDerivation { inherit bunix; inherit (e) source target; compression = c'; }) (
            filter (e: isCleanTarget e.target) entries
          )
          ++ (if rootfs == null then [ ] else [ (rootfsLayerDerivation c') ])
        else
          [ ];

      # The rootfs layer, built apart from the image, from its own spec
      # (rootfsLayerSpec, nix/spec.nix).
      rootfsLayerDerivation =
        c:
        bunixDerivation bunix {
          name = "layer-rootfs";
          args = [ "nix-rootfs-layer" ];
          spec = rootfsLayerSpec c;
          passAsFile = [ "spec" ];
        };
    in
    withAll (imageDerivation {
      inherit bunix spec format;
      base = "${if isString name then name else "image"}-${if isString tag then tag else "tag"}";
      layers = layerDerivations compression;
    })
    # buildImageIndex and streamImage read the spec and the layers of each
    # image they are given; bunixLayersFor gives the layers in another
    # compression.
    // {
      bunixSpec = spec;
      bunixLayers = layerDerivations compression;
      bunixLayersFor = layerDerivations;
    };

  # isCleanTarget t: t is an absolute, clean path other than "/", as a
  # layer's target must be.
  isCleanTarget =
    t:
    isString t
    && matches "(/([^/.][^/]*|[.][^/.][^/]*|[.][.][^/]+))+" t;

  # layerDerivation: the layer that copying source (a store path) to
  # target gives an image, compressed as compression: its blob and
  # layer.json (bunix nix-layer). Its inputs are only these and bunix, not
  # the image, so that the same file at the same target is the same store
  # path in every image, built once and substituted from any binary cache.
  layerDerivation =
    {
      bunix,
      source,
      target,
      compression,
    }:
    bunixDerivation bunix {
      name = storeName "layer" "layer-${baseNameOf target}";
      args = [
        "nix-layer"
        source
        target
        compression
      ];
    };

  # bunixDerivation bunix attrs: the derivation attrs describes (its name,
  # args and inputs), whose builder is the static bunix of bunix, for the
  # system bunix is for. Every derivation here is one.
  bunixDerivation =
    bunix: attrs:
    builtins.derivation (
      {
        system = systemOf bunix;
        builder = "${prefixOf bunix}/bin/bunix";
      }
      // attrs
    );

  # systemOf bunix: the system bunix is for: its `system` attribute (a
  # package has one), else the system Nix runs on, which a flake's pure
  # evaluation does not know.
  systemOf =
    bunix:
    if isAttrs bunix && bunix ? system then
      bunix.system
    else if builtins ? currentSystem then
      builtins.currentSystem
    else
      throw "bunix = ${
        if isAttrs bunix && !(bunix ? outPath) then "an attribute set" else toString bunix
      }: which system is it for? It names none, and in pure evaluation (a flake) Nix does not know the system it runs on: give bunix a system, e.g. `bunix = prebuilt // { system = \"x86_64-linux\"; }` for a non-flake input or `bunix = { outPath = ./out; system = \"x86_64-linux\"; }` for a path, or pass the package (bunix.packages.\${system}.bunix), or give bunix.lib.buildImage system = \"x86_64-linux\" too; or evaluate with --impure";

  # nonNull o: o without its null attributes (those not set).
  nonNull = o: removeAttrs o (builtins.filter (k: o.${k} == null) (attrNames o));

  # imageDerivation: the derivation whose builder, bunix, writes the image
  # or index spec describes; named base and a suffix for format.
  # The image takes the blobs of the layer derivations layers (their
  # outputs, space-separated in $bunixLayers) instead of encoding those
  # layers again.
  imageDerivation =
    {
      bunix,
      spec,
      format,
      base,
      layers ? [ ],
    }:
    bunixDerivation bunix {
      name = storeName "image" (base + (if format == "oci" then "-oci" else ".tar"));
      # out is the image; sbom its SPDX 2.3 JSON document (bunix build
      # --sbom), which nix-build links as result-sbom.
      outputs = [
        "out"
        "sbom"
      ];
      args = [ "nix-builder" ];
      spec = toJSON spec;
      passAsFile = [ "spec" ];
      bunixLayers = layers;
    };

  # withAll drv: drv with `all`, the list of its outputs, as nixpkgs'
  # derivations have: `nix-build -A all` builds both and links result and
  # result-sbom (a plain nix-build builds out only).
  withAll = drv: drv // { all = [ drv drv.sbom ]; };

  /**
    An image in a registry, pinned by digest, as a fixed-output derivation:
    an OCI image layout holding the image for `architecture` (the index's
    linux one, else the only one there is, e.g. os qemu) with its manifest,
    config and layers as the registry serves them. The builder is the static
    bunix (`bunix nix-pull`), fetching with go-containerregistry; nothing in
    the layout depends on time, so `hash` is stable. A wrong `hash` fails
    with Nix's usual message, which shows the right one.

    # Inputs

    `ref` (String)
    : `"registry/repo:tag"`; the tag only names the image in messages.

    `digest` (String)
    : `"sha256:"` and 64 hex digits: the index's (or manifest's) digest.

    `hash` (String)
    : The NAR hash of the output, SRI (`"sha256-...="`). `bunix prefetch REF`
      prints `ref`, `digest` and `hash`.

    `architecture` (String; _optional_)
    : `"amd64"` or `"arm64"` (`x86_64`, `aarch64` accepted).

      _Default value:_ `"amd64"`

    `hypervisor` (String or null; _optional_)
    : The urunc monitor the guest runs on. A Unikraft catalog index (as
      `kraft pkg` writes it) holds one image per monitor, its platform's os
      the monitor's name (`qemu`, `fc` for firecracker): this picks it, and
      the image for os linux when there is none. `buildImage` passes its
      `hypervisor` annotation. `bunix prefetch --hypervisor` hashes the same.

      _Default value:_ `null` (the linux image, else the only one)

    `insecure` (Bool; _optional_)
    : Talk plain HTTP to the registry (a mirror off loopback without TLS).

      _Default value:_ `false`

    `cacert` (Derivation or null; _optional_)
    : A CA bundle package (nixpkgs' `cacert`, or any holding
      `etc/ssl/certs/ca-bundle.crt`) for a registry whose certificate a
      private CA signs: it becomes `SSL_CERT_FILE`. Without it, in a
      sandbox with no certificates (Nix 2.8's has no /etc/ssl), bunix
      trusts Mozilla's roots, which is what public HTTPS registries need.

      _Default value:_ `null`

    `bunix` (Derivation or Path)
    : As for `buildImage`.

    A private registry: Nix passes the builder `DOCKER_CONFIG` (a directory
    holding config.json, which the sandbox must be able to read, e.g. through
    `extra-sandbox-paths`) and `BUNIX_REGISTRY_USERNAME` /
    `BUNIX_REGISTRY_PASSWORD` from the environment of nix-build (of the
    nix-daemon, in a multi-user install) as `impureEnvVars`.

    A registry that keeps the pull waiting 60 s for a byte, or redirects
    in a loop, fails it; `BUNIX_REGISTRY_TIMEOUT` (e.g. `"5m"`), passed
    the same way, changes the 60 s.

    # Type

    ```
    pullImage :: AttrSet -> Derivation
    ```

    # Examples
    :::{.example}
    ## `pullImage` usage example

    ```nix
    lib.pullImage {
      ref = "unikraft.org/nginx:1.15";
      digest = "sha256:...";
      hash = "sha256-...=";
      inherit bunix;
    }
    ```
    :::
  */
  pullImage =
    {
      ref,
      digest,
      hash,
      architecture ? "amd64",
      hypervisor ? null,
      insecure ? false,
      cacert ? null,
      bunix,
    }:
    let
      context = "bunix.pullImage ${refShown ref}";
      problem = pullProblem {
        inherit
          ref
          digest
          hash
          architecture
          hypervisor
          insecure
          ;
      };
      arch = pullArchitectures.${architecture};
    in
    if problem != null then
      throw "${context}: ${problem.arg} = ${problem.value}: ${problem.why}"
    else
      bunixDerivation bunix (
        {
          name = storeName "image" "${baseNameOf ref}-${substring 7 12 digest}-oci";
          args = [ "nix-pull" ];
          inherit ref digest;
          architecture = arch;
          outputHashMode = "recursive";
          outputHashAlgo = "sha256";
          outputHash = hash;
          impureEnvVars = [
            "DOCKER_CONFIG"
            "BUNIX_REGISTRY_USERNAME"
            "BUNIX_REGISTRY_PASSWORD"
            "BUNIX_REGISTRY_TIMEOUT"
          ];
        }
        // (if cacert == null then { } else { SSL_CERT_FILE = "${cacert}/etc/ssl/certs/ca-bundle.crt"; })
        // (if hypervisor == null then { } else { inherit hypervisor; })
        // (if insecure then { insecure = "1"; } else { })
      );

  # pullArchitectures: the architecture pullImage pulls, by each name it
  # takes.
  pullArchitectures = {
    amd64 = "amd64";
    x86_64 = "amd64";
    x86 = "amd64";
    arm64 = "arm64";
    aarch64 = "arm64";
  };

  # pullProblem a: the first problem with a, pullImage's arguments (all of
  # them but cacert and bunix), as { arg; value (shown); why; }, or null.
  # pullImage throws it naming its argument; nix/spec.nix names the field
  # of buildImage's that the argument came from (from.digest, urunit.hash,
  # architecture, annotations.hypervisor), where the user wrote it.
  pullProblem =
    {
      ref,
      digest,
      hash,
      architecture,
      hypervisor,
      insecure,
    }:
    let
      bad = arg: v: why: {
        inherit arg why;
        value = shown v;
      };
    in
    if !isString ref || !matches "[^@ ]+" ref then
      bad "ref" ref "want \"registry/repo:tag\", without a digest"
    else if !isString digest || !matches "sha256:[0-9a-f]{64}" digest then
      bad "digest" digest "want \"sha256:\" and 64 lower-case hex digits"
    else if !isString hash || !matches "sha256-[A-Za-z0-9+/]{43}=" hash then
      bad "hash" hash "want the SRI NAR hash \"sha256-...=\" (bunix prefetch prints it)"
    else if hypervisor != null && (!isString hypervisor || !matches "[a-z0-9-]+" hypervisor) then
      bad "hypervisor" hypervisor "want a urunc monitor name, e.g. \"qemu\" or \"firecracker\""
    else if !isBool insecure then
      bad "insecure" insecure "want true or false"
    else if !isString architecture || !(pullArchitectures ? ${architecture}) then
      bad "architecture" architecture "unknown architecture (known: amd64, arm64)"
    else
      null;

  /**
    Several single-platform images, made by `buildImage`, as one OCI image
    index (multi-arch): `docker-archive` holds one image, so the format is an
    OCI one. The images must share their name and tag and differ in
    architecture.

    # Inputs

    `images` (List of Derivation)
    : Images made by `buildImage`; their own format and compression are
      replaced by the index's.

    `format` (String; _optional_)
    : `"oci-archive"` or `"oci"`.

      _Default value:_ `"oci-archive"`

    `compression`, `layers` (String; _optional_)
    : As for `buildImage`.

    `bunix` (Derivation or Path)
    : As for `buildImage`.

    # Examples

    ```nix
    lib.buildImageIndex {
      images = map (architecture: lib.buildImage (args // { inherit architecture; files = kernels.${architecture}; })) [ "amd64" "arm64" ];
      inherit bunix;
    }
    ```
  */
  buildImageIndex =
    {
      images,
      format ? "oci-archive",
      compression ? null,
      layers ? null,
      bunix,
    }:
    let
      specOf =
        i: img:
        img.bunixSpec
          or (throw "bunix.buildImageIndex: images[${toString i}] is not an image made by buildImage");
      specs = genList (i: specOf i (builtins.elemAt images i)) (length images);
      first = head specs;
    in
    if !isList images || images == [ ] then
      throw "bunix.buildImageIndex: images must be a non-empty list of images made by buildImage"
    else
      withAll (imageDerivation {
        inherit bunix format;
        layers = concatMap (
          img: if compression == null then img.bunixLayers or [ ] else img.bunixLayersFor compression
        ) images;
        spec = {
          version = specVersion;
          images = specs;
        }
        // nonNull { inherit format compression layers; };
        base = "${first.name}-${first.tag}-index";
      });
  /**
    The image `buildImage` describes, as an executable that writes it to
    standard output, like dockerTools' `streamLayeredImage`:
    `$(nix-build ...) | docker load`, or `./result | docker load`. The
    result is a few KiB: a `#!` line naming the static bunix (no shell), and
    the image's spec and layer derivations, whose blobs it copies out. The
    store holds the layers once and no image archive at all. The bytes are
    those `buildImage` gives for the same arguments.

    # Inputs

    As for `buildImage`; `format` is `"docker-archive"` (the default) or
    `"oci-archive"`, a stream.

    # Type

    ```
    streamImage :: AttrSet -> Derivation
    ```
  */
  streamImage =
    args:
    let
      image = buildImage args;
      spec = image.bunixSpec;
      bin = "${prefixOf args.bunix}/bin/bunix";
    in
    if (args.format or null) == "oci" then
      throw "bunix.streamImage ${spec.name}: format: \"oci\" is a directory, not a stream: use \"docker-archive\" or \"oci-archive\""
    else
      bunixDerivation args.bunix {
        name = storeName "stream" "stream-${spec.name}-${spec.tag}";
        # Checks the image as buildImage would, then writes the script.
        args = [ "nix-stream-script" ];
        text = "#!${bin} nix-stream\n" + toJSON {
          inherit spec;
          layers = map toString image.bunixLayers;
        };
        passAsFile = [ "text" ];
      };

  /**
    A script that pushes an image to a registry with `bunix push`, like
    nix2container's copyTo: `nix-build -A ... && ./result`. It runs outside
    the sandbox, with the credentials of whoever runs it (docker config and
    credential helpers). Arguments given to the script are passed on to
    `bunix push`, e.g. `--insecure`.

    # Inputs

    `image` (Derivation)
    : An image made by `buildImage` (any format).

    `ref` (String)
    : Where to push it, e.g. `"registry.example.com/urunc/redis:test"`.

    `insecure` (Bool; _optional_)
    : Talk plain HTTP to the registry.

      _Default value:_ `false`

    `signKey` (String or null; _optional_)
    : The absolute path of a private key (PEM, or cosign's encrypted
      `cosign.key`, whose password the script takes from `COSIGN_PASSWORD`)
      to sign the pushed image with, as `cosign sign --key` does
      (`bunix push --sign-key`). Only the path enters the script: the key is
      read when the script runs, outside the sandbox. A Nix path value
      (`./cosign.key`) is refused, since Nix would copy the key into the
      store, which every user of the machine can read (and a binary cache
      would serve); so is a path in the store.

      _Default value:_ `null`

    `sbom` (Derivation, Path, String or null; _optional_)
    : An SPDX document to attach to the pushed image as an OCI referrer
      (`bunix push --sbom`): usually `image.sbom`, the image's own.

      _Default value:_ `null`

    `bunix` (Derivation or Path)
    : As for `buildImage`.

    # Examples
    :::{.example}
    ## A signed release carrying its SBOM

    ```nix
    lib.pushScript {
      inherit image bunix;
      ref = "registry.example.com/urunc/redis:1.0";
      signKey = "/home/release/.cosign/cosign.key";
      sbom = image.sbom;
    }
    ```
    :::
  */
  pushScript =
    {
      image,
      ref,
      insecure ? false,
      signKey ? null,
      sbom ? null,
      bunix,
    }:
    let
      bin = "${prefixOf bunix}/bin/bunix";
      quote = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] s + "'";
      fail =
        field: msg:
        throw "bunix.pushScript ${refShown ref}: ${field}: ${msg}";
      refArg =
        if !isString ref then
          fail "ref" "must be a string, where to push the image, e.g. \"registry.example.com/urunc/app:1.0\" (got ${builtins.typeOf ref})"
        else if !matches "[^[:space:]]+" ref then
          fail "ref = ${shown ref}" "want \"registry/repo:tag\", without spaces"
        else
          quote ref;
      imageArg =
        if isStoreObject image || isPath image || isString image then
          quote "${image}"
        else
          fail "image" "must be an image made by buildImage (got ${builtins.typeOf image})";
      insecureArg =
        if !isBool insecure then
          fail "insecure" "must be true or false (got ${builtins.typeOf insecure})"
        else if insecure then
          "--insecure "
        else
          "";
      hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;
      keyArg =
        if signKey == null then
          ""
        else if isPath signKey then
          fail "signKey" "a Nix path value (${toString signKey}) would copy the private key into the Nix store, which every user of the machine can read: give its path as a string, signKey = \"${toString signKey}\""
        else if isStoreObject signKey || (isString signKey && hasContext signKey) then
          fail "signKey" "is a store path or derivation: a private key in the Nix store can be read by every user of the machine; keep it outside the store and give its path as a string"
        else if !(isString signKey) then
          fail "signKey" "must be a string, the absolute path of the private key (got ${builtins.typeOf signKey})"
        else if hasPrefix "${builtins.storeDir}/" signKey then
          fail "signKey" "${signKey} is in the Nix store, which every user of the machine can read: keep the private key outside the store"
        else if !(hasPrefix "/" signKey) then
          fail "signKey" "${toJSON signKey} must be absolute: the script can be run from any directory"
        else
          "--sign-key ${quote signKey} ";
      sbomArg =
        if sbom == null then
          ""
        else if isPath sbom || isStoreObject sbom || isString sbom then
          "--sbom ${quote "${sbom}"} "
        else
          fail "sbom" "must be a derivation, a path or a string, e.g. image.sbom (got ${builtins.typeOf sbom})";
    in
    bunixDerivation bunix {
      name = storeName "push" "push-${image.name or "image"}";
      args = [ "nix-script" ];
      text = ''
        #!/bin/sh
        exec ${quote bin} push ${insecureArg}${keyArg}${sbomArg}${imageArg} ${refArg} "$@"
      '';
      passAsFile = [ "text" ];
    };
in
{
  inherit
    buildImage
    buildImageIndex
    pullImage
    pushScript
    streamImage
    ;
}
