package build

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/nubificus/bunix/internal/testenv"
)

// TestCatalogDefaults: on a Unikraft catalog base (kraft pkg's layout:
// /unikraft/bin/kernel and /unikraft/bin/initrd, no urunc labels) a
// description with no binary gets that kernel and initrd, and a note says
// so; one that names its binary keeps it, and gets neither the initrd nor
// a note; the catalog's Cmd is the process args.
func TestCatalogDefaults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "catalog")
	idx := testenv.CatalogIndex(t, "", testenv.CatalogPlatform{OS: "qemu", Kernel: "k\n", Initrd: "i\n"})
	if _, err := layout.Write(dir, idx); err != nil {
		t.Fatal(err)
	}
	var notes []string
	note := WithWarnings(func(s string) { notes = append(notes, s) })
	f := writeOpen(t, `{"name":"x","from":`+quoted(dir)+`,"annotations":{"unikernelType":"unikraft","hypervisor":"qemu"}}`, note)
	cf, _ := f.Images[0].ConfigFile()
	if l := cf.Config.Labels; l["com.urunc.unikernel.binary"] != "/unikraft/bin/kernel" || l["com.urunc.unikernel.initrd"] != "/unikraft/bin/initrd" || !slices.Equal(cf.Config.Cmd, testenv.CatalogCmd) {
		t.Errorf("labels %v, Cmd %q", l, cf.Config.Cmd)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "binary = /unikraft/bin/kernel and initrd = /unikraft/bin/initrd, from the base "+dir) {
		t.Errorf("notes %q", notes)
	}
	notes = nil
	f = writeOpen(t, `{"name":"x","from":`+quoted(dir)+`,"annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"/unikraft/bin/initrd"}}`, note)
	cf, _ = f.Images[0].ConfigFile()
	if l := cf.Config.Labels; l["com.urunc.unikernel.binary"] != "/unikraft/bin/initrd" || l["com.urunc.unikernel.initrd"] != "" || len(notes) != 0 {
		t.Errorf("labels %v, notes %q", l, notes)
	}
}
