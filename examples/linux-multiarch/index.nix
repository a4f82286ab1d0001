# An image index (multi-arch) of the linux-boot guest: one image for amd64
# and one for arm64, each with its own kernel and its own /init, built for
# its architecture. bunix checks each file against its image's
# architecture: an x86 kernel or init in the arm64 image is an error.
#
#   nix-build index.nix --arg bunix /path/to/bunix-prefix --arg root "$PWD"
#
# ./boot.sh fetches the kernels as ./vmlinuz-amd64 and ./vmlinuz-arm64,
# builds ./init-amd64 and ./init-arm64, builds this file and boots each
# entry of the index under qemu.
{
  bunix,
  # Where the kernels and inits are.
  root ? ./.,
  lib ? import ../../nix/lib.nix,
}:
let
  image =
    architecture:
    lib.buildImage {
      name = "bunix/linux-multiarch";
      tag = "latest";
      inherit architecture bunix root;
      files = {
        "./vmlinuz-${architecture}" = "/unikernel/vmlinuz";
      };
      rootfs = {
        type = "initrd";
        include = {
          "./init-${architecture}" = "/init";
          "./motd" = "/etc/motd";
        };
      };
      annotations = {
        unikernelType = "linux";
        hypervisor = "qemu";
        binary = "/unikernel/vmlinuz";
        cmdline = "/init hello from ${architecture}";
      };
    };
in
lib.buildImageIndex {
  images = map image [
    "amd64"
    "arm64"
  ];
  inherit bunix;
}
