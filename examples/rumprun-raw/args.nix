# Rumprun Redis whose root file system is the container's own (a raw
# rootfs): bunix copies the included files into the image and sets
# mountRootfs/useDMBlock to "true", so that urunc hands the container
# snapshot to the guest as a block device. That needs containerd's
# devmapper snapshotter; on overlayfs the container does not start.
# Rumprun mounts it at /data.
#
#   nix-build --arg args ./examples/rumprun-raw/args.nix
#
# The kernel is the placeholder from ../hello, not a bootable unikernel: put
# redis.hvt from rumprun-packages (built for solo5-hvt) in its place.
{
  name = "bunix/redis-rumprun-raw";
  files = { "../hello/kernel" = "/unikernel/redis.hvt"; };
  rootfs = {
    type = "raw";
    include = { "./redis.conf" = "/conf/redis.conf"; };
  };
  annotations = {
    unikernelType = "rumprun";
    hypervisor = "hvt";
    binary = "/unikernel/redis.hvt";
    cmdline = "redis-server /data/conf/redis.conf";
    # mountRootfs and useDMBlock are set to "true" by rootfs.
  };
}
