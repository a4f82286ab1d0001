// Package image assembles container images from files on disk and writes
// them as docker-archive tars (the `docker save` format) in one streaming
// pass: every byte of every source file is read once, written once and hashed
// on the way, and memory use does not grow with file size.
//
// An Image is a list of Layers plus a little configuration; a Layer is a list
// of Entries (files, directories, symlinks at their paths in the image).
// FromPath turns a file or directory on disk into Entries. The writer alone
// decides ownership, modes and timestamps, so the same Entries always give the
// same bytes.
package image
