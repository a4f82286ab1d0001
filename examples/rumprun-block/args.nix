# Rumprun Redis with a block image that bunix builds: an ext2 file system
# (the only one Rumprun's NetBSD drivers mount here) holding redis.conf,
# which urunc attaches as a block device and Rumprun mounts at /data. No
# devmapper needed.
#
#   nix-build --arg args ./examples/rumprun-block/args.nix
#
# The kernel is the placeholder from ../hello, not a bootable unikernel: put
# redis.hvt from rumprun-packages (built for solo5-hvt) in its place.
{
  name = "bunix/redis-rumprun-block";
  files = { "../hello/kernel" = "/unikernel/redis.hvt"; };
  rootfs = {
    type = "block";
    include = { "../rumprun-raw/redis.conf" = "/conf/redis.conf"; };
    # fsType = "ext2";            (the default for rumprun)
    # mountPoint = "/data";       (the default for rumprun)
    size = "8M"; # room for Redis to write its data; leave out to fit the content
    # path = "/unikernel/rootfs.img"; (the default)
  };
  annotations = {
    unikernelType = "rumprun";
    hypervisor = "hvt";
    binary = "/unikernel/redis.hvt";
    cmdline = "redis-server /data/conf/redis.conf";
    # block and blkMntPoint are set by rootfs.
  };
}
