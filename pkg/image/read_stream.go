package image

import (
	"fmt"
	"io"
	"os"

	"github.com/nubificus/bunix/pkg/output"
)

// OpenReader opens the image archive (an oci-archive or a docker-archive)
// that r streams, such as standard input. The readers need random access,
// so r is first copied whole into an output.TempFile in dir (os.TempDir() when dir
// is ""), bounded by nothing but the disk; closing the File, or a failure,
// releases it, and nothing is left behind. name
// says where r comes from, in errors.
func OpenReader(r io.Reader, dir, name string) (*File, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	tmp, err := output.CreateTemp(dir, ".bunix-spool-*")
	if err != nil {
		return nil, fmt.Errorf("opening image %s: spooling it: %w", name, err)
	}
	size, err := io.Copy(tmp, r)
	if err != nil {
		tmp.Close()
		return nil, fmt.Errorf("opening image %s: spooling it to %s: %w", name, dir, err)
	}
	f, err := openArchive(tmp, size, tmp)
	if err != nil {
		return nil, fmt.Errorf("opening image %s: %w", name, err)
	}
	return f, nil
}
