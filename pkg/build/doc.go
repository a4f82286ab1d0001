// Package build turns image descriptions into image bytes. It is the one
// pipeline both entry points go through, the CLI's `bunix build` and the
// Nix derivation's builder: Write (a file or, for the oci format, a
// directory), WriteTo (a stream) and Check (no output) resolve the
// descriptions, check them and the output path, build the rootfs files
// they ask for and write the images, so that the two entry points' bytes
// match by construction. They differ only in their Options.
//
// An output never replaces what the build reads: a path that is, or lies
// inside, a source or the description file is refused before anything is
// written, as is a directory that is not an OCI layout bunix would
// replace. The rootfs files bunix builds are output.TempFiles, unnamed
// (O_TMPFILE) or unlinked at once, gone however the process ends. A done
// context stops the build between two chunks and leaves the output as it
// was.
package build
