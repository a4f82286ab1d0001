package main

import (
	"fmt"
	"strings"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/urunc"
	"github.com/spf13/cobra"
)

func newPrefetch(getenv func(string) string) *cobra.Command {
	var arch, monitor string
	var insecure bool
	cmd := command("prefetch REF", "Print the from = { ref; digest; hash; } that pins a registry image", exactArgs(1),
		"bunix prefetch unikraft.org/nginx:1.15",
		"bunix prefetch --hypervisor firecracker unikraft.org/nginx:1.15",
		"bunix prefetch --arch arm64 registry.example.com/team/app:v2",
		"bunix prefetch --insecure mirror.lan:5000/unikraft/nginx:1.15")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		goArch, ok := urunc.Architectures[arch]
		if !ok {
			return usageError{fmt.Errorf("prefetch: --arch = %q: unknown architecture (known: %s)", arch, strings.Join(urunc.ArchitectureNames, ", "))}
		}
		if _, ok := urunc.Monitors[monitor]; monitor != "" && !ok {
			return usageError{fmt.Errorf("prefetch: --hypervisor = %q: unknown hypervisor (known: %s)", monitor, strings.Join(urunc.MonitorNames(), ", "))}
		}
		ref, err := registry.RefOnly(a[0])
		if err != nil {
			return usageError{fmt.Errorf("prefetch: %w", err)}
		}
		opts, err := registryOptions(getenv, insecure)
		if err != nil {
			return err
		}
		p, err := registry.Prefetch(cmd.Context(), ref, image.Want{Architecture: goArch, Monitor: monitor}, "", opts...)
		if err != nil {
			return userFault(err)
		}
		if goArch != args.DefaultArchitecture {
			fmt.Fprintf(cmd.OutOrStdout(), "# the hash is that of the %s image: set architecture = %q beside from\n", goArch, goArch)
		}
		if monitor != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "# the hash is that of the %s image, for hypervisor = %q: give the same in annotations\n", p.Platform.String(), monitor)
		}
		fmt.Fprint(cmd.OutOrStdout(), p.Nix())
		return nil
	}
	cmd.Flags().StringVar(&arch, "arch", args.DefaultArchitecture, "the architecture of the image to hash: "+orList(urunc.ArchitectureNames))
	cmd.Flags().StringVar(&monitor, "hypervisor", "", "the monitor the guest runs on, which picks the image of a Unikraft catalog index (os qemu, fc): "+orList(urunc.MonitorNames()))
	insecureFlag(cmd, &insecure)
	completeFlag(cmd, "hypervisor", completeWords(completeMonitors))
	return cmd
}
