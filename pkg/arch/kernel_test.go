package arch_test

import (
	"os"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/arch"
)

// TestDebianKernels reads Debian's real kernels: the amd64 one a bzImage
// for amd64, the arm64 cloud one an arm64 Image.
func TestDebianKernels(t *testing.T) {
	for a, format := range map[string]string{"amd64": "an x86 Linux kernel (bzImage)", "arm64": "an arm64 Linux kernel (Image)"} {
		t.Run(a, func(t *testing.T) {
			f, err := os.Open(testenv.LinuxKernelFor(t, a))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			k, ok, err := arch.Read(f)
			if err != nil || !ok || k.Arch != a || k.Format != format {
				t.Errorf("Read = %+v, %v, %v; want %s for %s", k, ok, err, format, a)
			}
		})
	}
}
