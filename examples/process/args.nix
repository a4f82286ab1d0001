# A Unikraft app given its environment and its command as the image config's
# Env, Entrypoint and Cmd, which newer urunc hands the guest.
#
#   nix-build --arg args ./examples/process/args.nix
#
# The kernel is the placeholder from ../hello, not a bootable unikernel.
# bunix derives the cmdline annotation, which older urunc reads, from
# entrypoint and cmd ("nginx -c /conf/nginx.conf" here): write the command
# once. An argument holding a space reaches a guest in single quotes, as
# urunc joins it.
{
  name = "bunix/process";
  files = {
    "../hello/kernel" = "/unikernel/kernel";
    "../unikraft-initrd/rootfs/conf/nginx.conf" = "/conf/nginx.conf";
  };
  env = {
    NGINX_PORT = "8080";
    LANG = "C.UTF-8";
  };
  entrypoint = [ "nginx" ];
  cmd = [ "-c" "/conf/nginx.conf" ];
  annotations = {
    unikernelType = "unikraft";
    hypervisor = "qemu";
    binary = "/unikernel/kernel";
    unikernelVersion = "0.17.0";
  };
}
