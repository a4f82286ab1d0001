# The hello example with `contents` instead of `files`.
#
#   make image ARGS=examples/contents/args.nix     # in the repository's root
#
# `contents` takes a list of { source; target; }. A source is a path (as
# below), a string naming a local file (relative to this file's directory, or
# absolute), or a build output: a derivation, or a string holding a store path.
# Build outputs are used as they are, for instance:
#
#   { source = myUnikernel; target = "/unikernel/kernel"; }
#   { source = "${myUnikernel}/bin/app_qemu-x86_64"; target = "/unikernel/kernel"; }
#
# where myUnikernel is a derivation (e.g. from `pkgs.callPackage ./unikernel.nix { }`
# in a file that takes { pkgs ? import <nixpkgs> { } }: as its argument).
#
# The kernel is the placeholder from ../hello: not a bootable unikernel.
{
  name = "bunix/hello-contents";
  tag = "latest";

  contents = [
    {
      source = ../hello/kernel;
      target = "/unikernel/kernel";
    }
    {
      source = "../hello/hello.conf";
      target = "/conf/hello.conf";
    }
  ];

  # See ../../args.nix for what each key means.
  annotations = {
    unikernelType = "unikraft";
    hypervisor = "qemu";
    binary = "/unikernel/kernel";
    cmdline = "hello /conf/hello.conf";
    unikernelVersion = "0.17.0";
  };
}
