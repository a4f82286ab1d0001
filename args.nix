# Default arguments for default.nix: what goes into the image and how urunc
# should run it. `nix-build` builds this; `--arg args ./other.nix` picks another
# file. Relative paths are relative to this file's directory.
#
# The example kernel is a text placeholder, not a bootable unikernel: see
# examples/hello/README.md for how to put a real one here.
{
  # Image name and tag, as `docker load` will show them.
  name = "bunix/hello";
  tag = "latest";

  # Files to copy into the image: "source" = "/target". Build outputs
  # (derivations) go in `contents` instead, as in examples/contents/args.nix.
  files = {
    "./examples/hello/kernel" = "/unikernel/kernel";
    "./examples/hello/hello.conf" = "/conf/hello.conf";
  };

  # How urunc runs the image, written without the "com.urunc.unikernel."
  # prefix. They end up as config Labels, in /urunc.json and, for OCI
  # outputs, as manifest annotations. An empty string means unset: the key
  # is left out of the image.
  annotations = {
    # Guest framework: rumprun, mirage, mewz, unikraft, linux, hermit, freebsd.
    unikernelType = "unikraft";

    # Monitor: qemu, firecracker, cloud-hypervisor, hvt, spt,
    # hyperlight-unikraft. It must support the guest above.
    hypervisor = "qemu";

    # Path of the guest kernel inside the image (a target above).
    binary = "/unikernel/kernel";

    # Guest command line. Older urunc reads it from here, newer urunc from the
    # image's Entrypoint/Cmd; the image carries both.
    cmdline = "hello /conf/hello.conf";

    # Framework version; unikraft below 0.16.1 gets compatibility arguments.
    unikernelVersion = "0.17.0";

    # Optional, all unset here:
    # initrd = "";        # path of an initrd inside the image
    # block = "";         # path of a block image inside the image
    # blkMntPoint = "";   # where the guest mounts `block` ("/" allowed)
    # mountRootfs = "";   # "true": hand the container snapshot to the guest as
    #                     # its block rootfs (needs devmapper); default "false"
    # useDMBlock = "";    # the same for older urunc; default "false"
    # solo5NetDev = "";   # solo5 device names (hvt, spt)
    # solo5BlkDev = "";
  };
}
