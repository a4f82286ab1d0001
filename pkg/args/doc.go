// Package args is the schema of a bunix image description (args.nix,
// args.json, args.hcl, or the spec a Nix derivation hands its builder): how
// to decode it, its defaults, and its validation.
//
// Decoding gives an *Args, the description as written. Resolve checks
// everything that needs no file system and returns a *Resolved: the image
// reference, the copies to make, the urunc settings and the process args.
// Every problem is a *FieldError naming the field and its value; all of them
// are reported at once, joined with errors.Join.
package args
