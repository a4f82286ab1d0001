# A Unikraft app whose root file system is an initrd that bunix builds.
#
#   nix-build --arg args ./examples/unikraft-initrd/args.nix
#
# The kernel is the placeholder from ../hello, not a bootable unikernel: put
# a Unikraft kernel built for qemu with initrd support in its place (e.g.
# nginx from Unikraft's catalog). The initrd itself is real: a reproducible
# newc cpio holding everything under ./rootfs, which urunc hands the guest
# with qemu's -initrd. It is not compressed: Unikraft reads only a plain
# newc archive, and urunc 0.8 merges the container's file mounts into it
# (bunix refuses compression = "gzip" for a unikraft guest).
{
  name = "bunix/unikraft-initrd";
  files = { "../hello/kernel" = "/unikernel/kernel"; };
  rootfs = {
    type = "initrd";
    # The directory becomes the initrd's root: /conf/nginx.conf.
    include = { "./rootfs" = "/"; };
    # path = "/unikernel/rootfs.cpio"; (the default)
  };
  annotations = {
    unikernelType = "unikraft";
    hypervisor = "qemu";
    binary = "/unikernel/kernel";
    cmdline = "nginx -c /conf/nginx.conf";
    unikernelVersion = "0.17.0";
    # initrd is set by rootfs: "/unikernel/rootfs.cpio".
  };
}
