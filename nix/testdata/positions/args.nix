# An args file written every way Nix allows, for the positions the spec
# carries: `inherit` (whose position differs between Nix versions, so it is
# left out), nested attribute paths, quoted names, two fields on a line.
# scripts/nix-examples.sh builds it on two Nix versions and compares.
let
  name = "bunix/positions";
  hypervisor = "qemu";
  kernel = "/unikernel/kernel";
in
{
  inherit name;
  tag = "v1";  files."../../../examples/hello/kernel" = kernel;
  annotations = {
    inherit
      hypervisor
      ;
    unikernelType = "unikraft";
    "binary" = kernel;
  };
  env.GREETING = "hello";
}
