// Package rootfs writes the root file systems that urunc hands a guest, and
// checks prebuilt ones: an initrd (a newc cpio archive, optionally gzipped),
// or an ext2 or ext4 block image. Both are reproducible: the same tree gives
// the same bytes on every machine, whatever the files' owners, modes and
// times on disk.
//
// A tree is a list of image.Entry values, the same as a layer's: Tree adds
// the parent directories and sorts it by image.Tree's rule, and every mode
// is image.Entry.Mode's, so a rootfs and a layer agree on both. WriteInitrd streams it as an initrd;
// PlanExt lays it out as an ext file system, whose Write streams it into a
// file. File contents are read from disk as they are written, once; memory
// does not grow with file size, and a sparse file's holes stay holes in a
// block image. Detect tells what a prebuilt rootfs file is.
//
// What a file system cannot hold is refused before a byte is written, as a
// *LimitError naming the path (PlanExt, CheckInitrd): ext names over 255
// bytes, initrd paths over 4095, symlink targets over 4095, files past the
// format's size, a directory of more than 64998 subdirectories, /lost+found
// in an ext tree. A block image over 16 TiB is a *MaxSizeError, one too
// small for its content a *SizeError.
package rootfs
