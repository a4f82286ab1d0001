// Command bunix packages unikernels as container images for urunc. See
// `bunix --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	// Mozilla's root certificates, for when the machine has none: the Nix
	// sandbox, where lib.pullImage's nix-pull runs, has no /etc/ssl, so a
	// base from a public HTTPS registry pulls without a cacert argument.
	// A machine's own roots (or SSL_CERT_FILE) still win when it has them.
	_ "golang.org/x/crypto/x509roots/fallback"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := (<-sigs).(syscall.Signal)
		// A second signal ends the process at once.
		signal.Stop(sigs)
		cancel(signalError{s})
		// The build stops between two chunks; should it be stuck in a
		// system call (opening a FIFO), it is given up on.
		time.Sleep(stopGrace)
		os.Exit(128 + int(s))
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// stopGrace is how long a signalled process has to stop by itself.
const stopGrace = time.Second
