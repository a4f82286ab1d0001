package args

// SpecVersion is the version of the JSON spec that nix/lib.nix hands the
// derivation's builder. Both sides change it together; nix/spec.nix makes
// the spec and documents it. Version 2 added rootfs; version 3 env,
// entrypoint, cmd and from; version 4 copies out of an image ("image" in
// contents and rootfs include), urunc, urunit, workingDir and user, and the
// builder's second output, sbom. Any key added to the spec bumps it, so
// that a bunix older than the Nix library stops at the version and says to
// update it rather than at the first key it does not know.
const SpecVersion = 4

// Args is an image description as the user wrote it.
type Args struct {
	// File names the description in messages, e.g. "args.nix".
	File string
	// Root is the directory relative sources are resolved against.
	Root string
	// Reads lists the files (and directories) other than File that
	// evaluating the description read: what an args.nix imports or reads
	// with builtins.readFile and the like. An output must not replace
	// them. JSON and HCL descriptions read no other file.
	Reads []Read

	// Name is the repository part of the image reference, e.g.
	// "urunc/prebuilt/redis-rumprun-hvt"; it may carry a registry host.
	Name string
	// Tag defaults to "latest".
	Tag string
	// Files maps sources (relative to Root, or absolute) to absolute targets
	// in the image.
	Files map[string]string
	// Contents lists more copies; their sources may be Nix store paths.
	Contents []Content
	// Annotations are the urunc settings, by short ("binary") or full
	// ("com.urunc.unikernel.binary") key.
	Annotations map[string]string
	// Architecture is amd64 (default) or arm64; x86_64, x86 and aarch64 are
	// accepted too.
	Architecture string
	// Rootfs is the root file system to build for the guest, if any.
	Rootfs *RootfsArgs
	// Env is the guest's environment, name to value: the image config's
	// Env, which newer urunc hands the guest.
	Env map[string]string
	// Entrypoint and Cmd are the image config's Entrypoint and Cmd: the
	// process args newer urunc takes the guest's command line from.
	Entrypoint, Cmd []string
	// Format is the output format: docker-archive (default), oci-archive
	// or oci (an OCI image layout directory).
	Format string
	// Compression is how layers are compressed: none (default), gzip or
	// zstd.
	Compression string
	// Layers is "per-file" (default: one layer per target) or "single".
	Layers string
	// From is the base image, if any.
	From *FromArgs
	// Urunc is the oldest urunc release the image must run on: "0.5",
	// "0.6", "0.7", "0.8" (the default) or "main".
	Urunc string
	// Urunit is the static urunit binary to put at /urunit in a Linux
	// guest's rootfs, its init, which then runs the process args; "" for
	// none.
	Urunit string
	// UrunitImage is urunit given as an image that holds /urunit: Ref and
	// Digest (and Hash, for Nix) as the user wrote them, or, in a builder
	// spec, Path, the image Nix pulled. The build fetches /urunit from it
	// and sets Urunit (SetUrunit).
	UrunitImage *FromArgs
	// WorkingDir and User are the image config's WorkingDir and User,
	// which urunc 0.7 and later hand a Linux guest's urunit (WD, UID, GID).
	WorkingDir, User string

	// positions maps field names to "file:line:col", where known.
	positions map[string]string
	// present records which optional fields were given, even if empty.
	present map[string]bool
	// decodeErrs are the problems found while decoding (fields of the
	// wrong type, unknown fields), which Resolve reports first;
	// badFields names the fields they are about, whose zero values
	// Resolve does not report again.
	decodeErrs []error
	badFields  []string
	// urunitFrom names where Urunit was taken from, when SetUrunit set it.
	urunitFrom string
	// baseCommand is the base image's command (its Entrypoint, then its
	// Cmd), the image's when the description gives none; base names the
	// base for messages.
	baseCommand []string
	base        string
}

// SetUrunc sets the urunc release the image is for, as the --urunc flag
// does: it overrides the description's urunc field.
func (a *Args) SetUrunc(release string) {
	a.Urunc = release
	if a.present == nil {
		a.present = map[string]bool{}
	}
	a.present["urunc"] = true
}

// SetUrunit sets the urunit binary to file, a temporary file holding
// /urunit of image (UrunitImage's, as a store path or REF@DIGEST), which
// names it in messages and in the key of the rootfs it goes in.
func (a *Args) SetUrunit(file, image string) {
	a.Urunit, a.urunitFrom = file, image+":"+UrunitPath
}

// Content is one copy into the image.
type Content struct {
	Source string `json:"source"`
	Target string `json:"target"`
	// Field names where the copy came from in the user's file, for messages
	// (the Nix library turns files."./x" into contents with this set).
	Field string `json:"field,omitempty"`
	// Image, when set, is the image Source is a path in (a file or a
	// directory): the copy takes it from there, as COPY --from does.
	Image *FromArgs `json:"-"`
	// Key, when set, names the source where Source, a file the build
	// extracted out of an image (WithExtracted), does not stay the same
	// from one build to the next: "IMAGE:PATH". It becomes the copy's
	// Written and Key.
	Key string `json:"-"`
	// Extracted marks a copy that the build extracted out of an image
	// (WithExtracted): Source is a directory bunix wrote. With Target "/"
	// it is the image's whole tree (or a directory of it) copied to the
	// root as one copy, its symlinks kept as symlinks, even at its top.
	Extracted bool `json:"-"`
}

// RootfsArgs is a description's rootfs field as written: a root file system
// for the guest, built from Include or packaged From a prebuilt file.
type RootfsArgs struct {
	// Type is "initrd", "raw" or "block".
	Type string
	// Include lists the files to put in the rootfs; targets are paths in
	// it. The attribute-set form's entries carry Field.
	Include []Content
	// From is a prebuilt rootfs file (cpio, gzipped cpio, ext2/3/4 image)
	// to package as it is.
	From string
	// Path is where the rootfs file goes in the image.
	Path string
	// FSType is a block image's file system: "ext2" or "ext4".
	FSType string
	// Size is a block image's size in bytes; 0 when not given.
	Size int64
	// MountPoint is where the guest mounts a block image (blkMntPoint).
	MountPoint string
	// Compression is an initrd's: "gzip", or "" or "none" for none.
	Compression string
}

// Where returns where field stands in the description for messages:
// "file:line:col" when known, else the file's name.
func (a *Args) Where(field string) string { return where(a.File, a.positions, field) }
