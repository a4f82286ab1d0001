package main

import (
	"errors"
	"fmt"

	"github.com/nubificus/bunix/pkg/image"
	bunixrun "github.com/nubificus/bunix/pkg/run"
	"github.com/nubificus/bunix/pkg/source"
	"github.com/nubificus/bunix/pkg/urunc"
	"github.com/spf13/cobra"
)

func newRun(getenv func(string) string) *cobra.Command {
	var o bunixrun.Options
	var env, envFiles, ports []string
	var entrypoint, memory, release, platform string
	var insecure, rm bool
	cmd := command("run IMAGE|- [ARG...]", "Boot an image on this machine as urunc would", minArgs(1),
		"bunix run result",
		"bunix run --env GREETING=hi result /init hello",
		"bunix run --dry-run image.tar",
		"bunix run -p 8080:80 -m 512m --cpus 2 nginx.tar",
		"bunix run --accel tcg --timeout 2m result",
		"bunix run --platform linux/arm64 index.tar",
		"bunix run --insecure 127.0.0.1:5000/urunc/hello:latest")
	cmd.Flags().SetInterspersed(false)
	cmd.Annotations = map[string]string{afterSignal: guestStopped}
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		var err error
		o.Image = a[0]
		if o.Stdin, err = source.InputFromEnv(cmd.InOrStdin(), getenv); err != nil {
			return usageError{err}
		}
		r, err := urunc.ParseRelease(release)
		if err != nil {
			return usageError{fmt.Errorf("run: --urunc: %w", err)}
		}
		o.Urunc = bunixrun.BehaviourOf(r)
		o.Stdout, o.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
		o.TempDir = getenv("TMPDIR")
		if len(a) > 1 {
			o.Process.Args, o.Process.HasArgs = a[1:], true
		}
		if cmd.Flags().Changed("entrypoint") {
			o.Process.HasEntrypoint = true
			if entrypoint != "" {
				o.Process.Entrypoint = []string{entrypoint}
			}
		}
		lookup := func(k string) (string, bool) { v := getenv(k); return v, v != "" }
		if o.Process.Env, err = bunixrun.ParseEnv(env, envFiles, lookup, func(name string) ([]byte, error) {
			return bunixrun.ReadEnvFile(cmd.Context(), name)
		}); err != nil {
			return usageError{err}
		}
		for _, p := range ports {
			port, err := bunixrun.ParsePort(p)
			if err != nil {
				return usageError{err}
			}
			o.Ports = append(o.Ports, port)
		}
		if !rm {
			// docker run keeps a stopped container without --rm; bunix run
			// has nothing it could keep that a later command would use.
			return usageError{fmt.Errorf("--rm=false: bunix run always removes what it unpacked when the guest stops; drop the flag")}
		}
		if o.Arch, err = bunixrun.ParsePlatform(platform); err != nil {
			return usageError{err}
		}
		// -m "" is refused as docker refuses it, not taken for no -m.
		if cmd.Flags().Changed("memory") {
			if o.MemoryMiB, err = bunixrun.ParseMemory(memory); err != nil {
				return usageError{err}
			}
		}
		if o.Registry, err = registryOptions(getenv, insecure); err != nil {
			return err
		}
		err = bunixrun.Run(cmd.Context(), o)
		var ue *bunixrun.UsageError
		var ie *image.InvalidError
		if errors.As(err, &ue) || errors.As(err, &ie) {
			return usageError{err}
		}
		return userFault(err)
	}
	f := cmd.Flags()
	f.BoolVar(&o.DryRun, "dry-run", false, "print the monitor's command line (and firecracker's config) and start nothing")
	f.StringVar(&entrypoint, "entrypoint", "", "replace the image's Entrypoint (and its Cmd, unless ARGs follow IMAGE)")
	f.StringArrayVarP(&env, "env", "e", nil, "set an environment variable, KEY=VALUE (KEY alone: this shell's value)")
	f.StringArrayVar(&envFiles, "env-file", nil, "read environment variables from a file, KEY=VALUE a line")
	f.StringArrayVarP(&ports, "publish", "p", nil, "forward a host TCP port to the guest, HOST:GUEST (qemu's user-mode network)")
	f.StringVarP(&memory, "memory", "m", "", "guest memory, e.g. 512m or 1g (default 256m, urunc's)")
	f.UintVar(&o.CPUs, "cpus", 0, "number of vCPUs (default: the monitor's)")
	f.StringVar(&platform, "platform", "", "the image of an index to run, linux/amd64 or linux/arm64 (default: this machine's)")
	f.StringVar(&o.Accel, "accel", "", "kvm or tcg (default: kvm when /dev/kvm works, else tcg)")
	f.DurationVar(&o.Timeout, "timeout", 0, "stop the guest after this long, e.g. 2m (default: never)")
	f.BoolVar(&insecure, "insecure", false, "talk plain HTTP to the registry")
	f.BoolVar(&rm, "rm", true, "remove what the run unpacked when it ends (always: --rm=false is refused)")
	f.StringVar(&release, "urunc", urunc.DefaultReleaseName, "the urunc release whose ways the run follows: "+orList(urunc.ReleasedNames())+", or main")
	completeFlag(cmd, "urunc", completeWords(func(*cobra.Command) []string { return urunc.ReleaseNames() }))
	completeFlag(cmd, "accel", completeWords(func(*cobra.Command) []string { return []string{bunixrun.AccelKVM, bunixrun.AccelTCG} }))
	return cmd
}

// minArgs checks there are at least n positional arguments.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := cobra.MinimumNArgs(n)(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}
