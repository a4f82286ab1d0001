# What goes into the image and how urunc runs it; flake.nix builds it with
# `nix build`, then `docker load < result`. Relative paths are relative to
# this directory. See https://github.com/nubificus/bunix#argsnix for every
# field, or run `bunix init` to write this file for your guest and monitor.
{
  name = "urunc/app";
  tag = "latest";

  # "source" = "/target in the image". Put your unikernel here, or list a
  # derivation that builds it under contents = [ { source = ...; target = ...; } ];
  files = {
    "./kernel" = "/unikernel/kernel";
  };

  annotations = {
    unikernelType = "unikraft"; # rumprun, mirage, mewz, unikraft, linux, hermit, freebsd
    hypervisor = "qemu"; # qemu, firecracker, cloud-hypervisor, hvt, spt, hyperlight-unikraft
    binary = "/unikernel/kernel"; # the guest kernel, a target above
    cmdline = ""; # the guest command line; also the image's Cmd
  };
}
