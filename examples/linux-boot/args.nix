# A Linux guest that really boots: Debian's cloud kernel and an initrd that
# bunix builds, holding a static Go /init (./guest/main.go) and /etc/motd.
# ./boot.sh (or `make boot-example` in the checkout) fetches the kernel as
# ./vmlinuz, builds ./init, builds this file with nix-build and boots the
# image under qemu as urunc's qemu monitor would.
{
  name = "bunix/linux-boot";
  tag = "latest";

  # The kernel, where the binary annotation says; urunc passes it to qemu
  # as -kernel.
  files = {
    "./vmlinuz" = "/unikernel/vmlinuz";
  };

  # The guest's root file system: bunix builds it as a newc cpio, puts it in
  # the image and sets the initrd annotation to it; urunc passes it to qemu
  # as -initrd and boots with rdinit= the first word of the command line.
  rootfs = {
    type = "initrd";
    include = {
      "./init" = "/init";
      "./motd" = "/etc/motd";
    };
  };

  annotations = {
    unikernelType = "linux";
    hypervisor = "qemu";
    binary = "/unikernel/vmlinuz";
    # The image's Cmd: urunc starts /init with the other words as its args.
    cmdline = "/init hello from bunix";
  };
}
