package args

// SpecVersion is the version of the JSON spec that nix/lib.nix hands the
// derivation's builder. Both sides change it together.
const SpecVersion = 1

// Args is an image description as the user wrote it.
type Args struct {
	// File names the description in messages, e.g. "args.nix".
	File string
	// Root is the directory relative sources are resolved against.
	Root string

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

	// positions maps field names to "file:line:col", where known.
	positions map[string]string
	// present records which optional fields were given, even if empty.
	present map[string]bool
}

// Content is one copy into the image.
type Content struct {
	Source string `json:"source"`
	Target string `json:"target"`
	// Field names where the copy came from in the user's file, for messages
	// (the Nix library turns files."./x" into contents with this set).
	Field string `json:"field,omitempty"`
}
