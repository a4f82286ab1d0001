// Package image assembles container images from files on disk and writes
// them as a docker-archive (the `docker save` format), an oci-archive or an
// OCI image layout directory, one image or an index of several, one per
// platform.
//
// An Image is a list of Layers plus a little configuration; a Layer is a list
// of Entries (files, directories, symlinks at their paths in the image).
// FromPath turns a file or directory on disk into Entries. Write and
// WritePath write images; Options choose the format, the layer compression
// and the most layers an image may have.
//
// The writer alone decides ownership, modes, timestamps, compression
// settings and the order of everything, so the same Entries always give the
// same bytes. Tree (the order of files) and Entry.Perm and Entry.Mode (their
// modes) are those rules, which pkg/rootfs's initrd and ext writers follow
// too. It streams: every byte of every source file is read once,
// written once and hashed on the way (on another core, while the next bytes
// are read), and memory use does not grow with file size.
//
// An Image may be written on a Base (OpenBase reads one from an opened
// image file): the base's layers come first, copied byte for byte, and are
// checked against their digests as they are.
//
// A layer can also be written apart, ahead of its image (WriteLayer, one
// Nix derivation per layer): a Layer carrying that Blob is then copied in
// by the kernel (copy_file_range, sendfile) or, in a layout, linked to,
// and neither its sources nor its bytes are read or hashed again.
//
// The files show the wings: the writers are write_*.go (archive, docker,
// oci, layout, layer, merge, base), the readers read_*.go; format.go holds
// the format and compression names and their parsing, compress.go
// compression both ways, whiteout.go the whiteout rule.
//
// Open reads the three formats back (read_*.go, beside the writers), as
// go-containerregistry images, for inspect and push: foreign files are
// read within bounds, and every blob is checked against its descriptor.
// FollowStoreLinks lets a layout's blobs link into the Nix store, as the
// layouts built by nix/lib.nix do.
package image
