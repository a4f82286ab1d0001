// Package sbom writes an SPDX 2.3 JSON document of an image file: the
// image as the described package (its name, tag and, in the OCI formats,
// its manifest digest), every regular file of every layer with its
// SHA-256 and SHA-1 and its path in the image, the guest pieces urunc
// boots (the kernel named by the binary annotation, the initrd, the block
// image) as packages of their own with their checksums and, for an initrd
// or a block image, the files inside them, and a package for every Nix
// store path the image was made from, with the name and version the store
// path carries. Everything in it comes from the image and the sources it
// is given, and its creation time is the image's, so the same image gives
// the same bytes.
package sbom
