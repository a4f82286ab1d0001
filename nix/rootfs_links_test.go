package nix_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/testenv"
)

// debianIndex is an index of one image shaped like a merged-/usr Debian:
// top-level links /bin -> usr/bin and /lib -> usr/lib, /usr/bin/sh (salt
// in it), an absolute link /etc/alternatives/x -> /usr/bin/x, a dangling
// link, and /host, a link to host, a directory of the machine running the
// build.
func debianIndex(t *testing.T, salt, host string) v1.ImageIndex {
	t.Helper()
	return testenv.AMD64Index(t, testenv.HeaderLayer(t,
		tar.Header{Name: "bin", Typeflag: tar.TypeSymlink, Linkname: "usr/bin"},
		tar.Header{Name: "lib", Typeflag: tar.TypeSymlink, Linkname: "usr/lib"},
		tar.Header{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "usr/bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "usr/bin/sh", Typeflag: tar.TypeReg, Mode: 0o755, Linkname: "a shell " + salt},
		tar.Header{Name: "usr/bin/x", Typeflag: tar.TypeReg, Mode: 0o755, Linkname: "x " + salt},
		tar.Header{Name: "usr/lib/", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "usr/lib/libc.so.6", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "libc " + salt},
		tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "etc/alternatives/", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "etc/alternatives/x", Typeflag: tar.TypeSymlink, Linkname: "/usr/bin/x"},
		tar.Header{Name: "dangling", Typeflag: tar.TypeSymlink, Linkname: "/nowhere/at/all"},
		tar.Header{Name: "host", Typeflag: tar.TypeSymlink, Linkname: host},
	))
}

// TestRootfsFromDebianImage: a merged-/usr image in a registry, pinned by
// bunix prefetch, is the whole rootfs (source "/", target "/") as a raw
// rootfs, an initrd and a block image; nix-build and bunix build give the
// same bytes for each, and each keeps the image's symlinks as written
// (read back with tar, cpio -itv and debugfs), its files byte for byte,
// and none of the host's files (the link to a directory of the host stays
// a link; its secret is nowhere in the output).
func TestRootfsFromDebianImage(t *testing.T) {
	reg := testenv.Registry(t)
	salt := strconv.FormatInt(time.Now().UnixNano(), 10)
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "secret"), []byte("host secret "+salt), 0o644)
	debian := reg.PushIndex(t, "library/debian:trixie", debianIndex(t, salt, host))
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("a linux kernel"), 0o644)
	pin := strings.TrimSpace(bunixCLI(t, dir, nil, "prefetch", debian))
	links := map[string]string{"/bin": "usr/bin", "/lib": "usr/lib", "/etc/alternatives/x": "/usr/bin/x", "/dangling": "/nowhere/at/all", "/host": host}
	files := map[string]string{"/usr/bin/sh": "a shell " + salt, "/usr/bin/x": "x " + salt, "/usr/lib/libc.so.6": "libc " + salt}
	for _, typ := range []string{"raw", "initrd", "block"} {
		p := filepath.Join(dir, typ+".nix")
		os.WriteFile(p, []byte(fmt.Sprintf(`{ name = "urunc/debian"; tag = %q; files = { "./kernel" = "/kernel"; };
  rootfs = { type = %q; include = [ { image = %s; source = "/"; target = "/"; } ]; };
  annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/kernel"; }; }`, typ, typ, pin)), 0o644)
		viaNix := nixBuild(t, "--arg", "args", p)
		viaCLI := filepath.Join(t.TempDir(), "cli.tar")
		bunixCLI(t, dir, nil, "build", "-f", p, "-o", viaCLI)
		out := testenv.ReadFile(t, viaNix)
		if !bytes.Equal(out, testenv.ReadFile(t, viaCLI)) {
			t.Fatalf("%s: nix-build (%s) and bunix build (%s) differ", typ, viaNix, viaCLI)
		}
		if bytes.Contains(out, []byte("host secret")) {
			t.Errorf("%s: the host's secret is in the image", typ)
		}
		got, _ := imageFiles(t, viaNix, "/unikernel/rootfs.cpio", "/unikernel/rootfs.img")
		scratch := t.TempDir()
		switch typ {
		case "raw":
			// The layers, as tar reads them.
			gotLinks, gotFiles := rawTree(t, viaNix)
			for p, l := range links {
				if gotLinks[p] != l {
					t.Errorf("raw: %s links to %q, want %q", p, gotLinks[p], l)
				}
			}
			for p, b := range files {
				if gotFiles[p] != b {
					t.Errorf("raw: %s holds %q, want %q", p, gotFiles[p], b)
				}
			}
			if _, ok := gotFiles["/host/secret"]; ok {
				t.Error("raw: /host/secret is in the image")
			}
		case "initrd":
			cpio := filepath.Join(scratch, "rootfs.cpio")
			os.WriteFile(cpio, []byte(got["/unikernel/rootfs.cpio"]), 0o644)
			list := tool(t, scratch, "cpio", "-itv", "-F", cpio)
			for p, l := range links {
				if !regexp.MustCompile(`(?m)^l.* ` + regexp.QuoteMeta(strings.TrimPrefix(p, "/")) + ` -> ` + regexp.QuoteMeta(l) + `$`).MatchString(list) {
					t.Errorf("initrd: no link %s -> %s in\n%s", p, l, list)
				}
			}
			ext := filepath.Join(scratch, "x")
			os.Mkdir(ext, 0o755)
			tool(t, ext, "cpio", "-id", "--no-absolute-filenames", "-F", cpio)
			for p, b := range files {
				if g, _ := os.ReadFile(filepath.Join(ext, p)); string(g) != b {
					t.Errorf("initrd: %s holds %q, want %q", p, g, b)
				}
			}
			if strings.Contains(list, "secret") {
				t.Errorf("initrd: a file of the host is in it\n%s", list)
			}
		case "block":
			img := filepath.Join(scratch, "rootfs.img")
			os.WriteFile(img, []byte(got["/unikernel/rootfs.img"]), 0o644)
			for p, l := range links {
				stat := tool(t, scratch, "debugfs", "-R", "stat "+p, img)
				if !strings.Contains(stat, `Fast link dest: "`+l+`"`) {
					t.Errorf("block: %s is not a link to %q:\n%s", p, l, stat)
				}
			}
			for p, b := range files {
				if g := tool(t, scratch, "debugfs", "-R", "cat "+p, img); g != b {
					t.Errorf("block: %s holds %q, want %q", p, g, b)
				}
			}
		}
	}
}

// rawTree reads the layers of the first image of the image file out, stacked:
// its symlinks' targets and its regular files' bytes, by path.
func rawTree(t *testing.T, out string) (links, files map[string]string) {
	t.Helper()
	_, f := imageFiles(t, out)
	links, files = map[string]string{}, map[string]string{}
	testenv.WalkImage(t, f.Images[0], func(p string, h *tar.Header, r io.Reader) {
		switch h.Typeflag {
		case tar.TypeSymlink:
			links[p] = h.Linkname
		case tar.TypeReg:
			b, _ := io.ReadAll(r)
			files[p] = string(b)
		}
	})
	return links, files
}
