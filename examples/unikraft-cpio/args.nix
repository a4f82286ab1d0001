# A Unikraft app packaged with a prebuilt initrd, as it is (bunny's
# `rootfs.from: local`). bunix checks that rootfs.cpio is a cpio archive
# (magic 070701) and sets the initrd annotation to where it puts it.
#
#   nix-build --arg args ./examples/unikraft-cpio/args.nix
#
# rootfs.cpio is real: one file, /index.html, made with GNU cpio:
#
#   touch -d @1 index.html
#   echo index.html | cpio -o -H newc --owner=0:0 --reproducible > rootfs.cpio
#
# The kernel is the placeholder from ../hello, not a bootable unikernel: put
# a Unikraft kernel built for qemu with initrd support in its place (e.g.
# the C HTTP server of Unikraft's catalog, serving /index.html).
{
  name = "bunix/unikraft-cpio";
  files = { "../hello/kernel" = "/unikernel/kernel"; };
  rootfs = {
    type = "initrd";
    from = ./rootfs.cpio;
    # path = "/unikernel/rootfs.cpio"; (the default)
  };
  annotations = {
    unikernelType = "unikraft";
    hypervisor = "qemu";
    binary = "/unikernel/kernel";
    cmdline = "/chttp";
  };
}
