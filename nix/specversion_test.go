package nix_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/args"
)

// TestSpecVersion: the spec nix/spec.nix makes carries the version this
// bunix reads (args.SpecVersion): the two sides change it together (a
// newer one tells the user to update bunix: pkg/args TestDecodeSpec).
func TestSpecVersion(t *testing.T) {
	root := testenv.ModuleRoot(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "k"), []byte("k"), 0o644)
	expr := fmt.Sprintf(`((import %s/nix/lib.nix).buildImage { bunix = %s; name = "x"; urunc = "0.7";
	  contents = [ { source = %s/k; target = "/k"; } ];
	  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/k"; }; }).bunixSpec.version`, root, testenv.Bunix(t), dir)
	out, _, err := testenv.NixInstantiate(t, root, "--eval", "-E", expr)
	if err != nil {
		t.Fatal(err)
	}
	if out != strconv.Itoa(args.SpecVersion) {
		t.Errorf("nix/spec.nix makes spec version %s, bunix reads %d: change both together", out, args.SpecVersion)
	}
}
