package main

import (
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestFallbackRoots: on a machine with no root certificates, as in the Nix
// sandbox, bunix still trusts the public CAs, from the fallback roots it
// links. The test runs itself again with SSL_CERT_FILE and SSL_CERT_DIR
// naming nothing (so the system pool is empty), and counts the roots the
// child sees.
func TestFallbackRoots(t *testing.T) {
	if os.Getenv("BUNIX_TEST_COUNT_ROOTS") == "1" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		//lint:ignore SA1019 the count is all this needs; the roots are not system ones.
		fmt.Println(len(pool.Subjects())) //nolint:staticcheck
		os.Exit(0)
	}
	none := filepath.Join(t.TempDir(), "none")
	cmd := exec.Command(os.Args[0], "-test.run=^TestFallbackRoots$")
	cmd.Env = append(os.Environ(), "BUNIX_TEST_COUNT_ROOTS=1", "SSL_CERT_FILE="+none, "SSL_CERT_DIR="+none)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("counting the roots with none on the machine: %v\n%s", err, out)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || n < 100 {
		t.Errorf("with no roots on the machine, bunix trusts %q CAs; want Mozilla's (over 100)", out)
	}
}
