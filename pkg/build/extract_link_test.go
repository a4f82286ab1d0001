package build

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/rootfs"
)

// linkImage writes, as an OCI layout, an image whose one layer holds the
// symlink /app pointing at target.
func linkImage(t *testing.T, target string) string {
	t.Helper()
	return imageLayout(t, testenv.HeaderLayer(t, tar.Header{Name: "app", Typeflag: tar.TypeSymlink, Linkname: target}))
}

// TestCopyFromImageLinkOut: a path in another image that is a symlink to
// a directory of the host running bunix copies none of the host's files,
// whatever the target (a tree copied to / was read through it): the
// image's symlink is refused, named as the image's path.
func TestCopyFromImageLinkOut(t *testing.T) {
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "secret"), []byte("host secret"), 0o644)
	tool := linkImage(t, host)
	kernel := filepath.Join(t.TempDir(), "kernel")
	os.WriteFile(kernel, []byte("k"), 0o644)
	for _, js := range []string{
		`{"name":"x","files":{` + quoted(kernel) + `:"/kernel"},"contents":[{"image":` + quoted(tool) + `,"source":"/app","target":"/srv"}],"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/kernel"}}`,
		`{"name":"x","files":{` + quoted(kernel) + `:"/kernel"},"contents":[{"image":` + quoted(tool) + `,"source":"/app","target":"/"}],"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/kernel"}}`,
		`{"name":"x","files":{` + quoted(kernel) + `:"/kernel"},"rootfs":{"type":"raw","include":[{"image":` + quoted(tool) + `,"source":"/app","target":"/"}]},"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/kernel"}}`,
	} {
		out := filepath.Join(t.TempDir(), "out")
		_, err := Write(t.Context(), out, describe(t, js))
		if b, _ := os.ReadFile(out); bytes.Contains(b, []byte("host secret")) {
			t.Errorf("%s: the host's file is in the image", js)
		}
		if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), "/app is a symbolic link (to "+quoted(host)+"), not a file or a directory") {
			t.Errorf("%s: %v", js, err)
		}
	}
}

// debianImage writes, as an OCI layout, an image shaped like a merged-/usr
// Debian: top-level links /bin -> usr/bin and /lib -> usr/lib, a
// /usr/bin/sh, an absolute link /etc/alternatives/x -> /usr/bin/x, a
// dangling link, a link to host, a directory of the host holding a
// secret, and /app -> real with /real/conf.
func debianImage(t *testing.T, host string) string {
	t.Helper()
	return imageLayout(t, testenv.HeaderLayer(t, []tar.Header{
		{Name: "bin", Typeflag: tar.TypeSymlink, Linkname: "usr/bin"},
		{Name: "lib", Typeflag: tar.TypeSymlink, Linkname: "usr/lib"},
		{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "usr/bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "usr/bin/sh", Typeflag: tar.TypeReg, Mode: 0o755, Linkname: "a shell"},
		{Name: "usr/bin/x", Typeflag: tar.TypeReg, Mode: 0o755, Linkname: "x itself"},
		{Name: "usr/lib/libc.so.6", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "libc"},
		{Name: "etc/alternatives/x", Typeflag: tar.TypeSymlink, Linkname: "/usr/bin/x"},
		{Name: "dangling", Typeflag: tar.TypeSymlink, Linkname: "/nowhere/at/all"},
		{Name: "host", Typeflag: tar.TypeSymlink, Linkname: host},
		{Name: "real/conf", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "conf"},
		{Name: "app", Typeflag: tar.TypeSymlink, Linkname: "/../real"},
	}...))
}

// debianWant is what a whole copy of debianImage holds: each path's
// symlink target ("-> t") or bytes.
func debianWant(host string) map[string]string {
	return map[string]string{
		"/bin": "-> usr/bin", "/lib": "-> usr/lib", "/usr/bin/sh": "a shell", "/usr/bin/x": "x itself",
		"/usr/lib/libc.so.6": "libc", "/etc/alternatives/x": "-> /usr/bin/x", "/dangling": "-> /nowhere/at/all",
		"/host": "-> " + host, "/real/conf": "conf", "/app": "-> /../real",
	}
}

// TestCopyFromImageRootLink: a merged-/usr image copied whole (source
// "/", target "/") is a raw rootfs, an initrd and a block image that keep
// its symlinks as they are (relative, absolute, dangling, pointing at the
// host), followed nowhere: no file of the host running bunix is in them.
func TestCopyFromImageRootLink(t *testing.T) {
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "secret"), []byte("host secret"), 0o644)
	tool := debianImage(t, host)
	want := debianWant(host)
	kernel := filepath.Join(t.TempDir(), "kernel")
	os.WriteFile(kernel, []byte("k"), 0o644)
	for _, typ := range []string{"raw", "initrd", "block"} {
		f := writeOpen(t, `{"name":"x","files":{`+quoted(kernel)+`:"/kernel"},"rootfs":{"type":"`+typ+`","include":[{"image":`+quoted(tool)+`,"source":"/","target":"/"}]},"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/kernel"}}`)
		layers := map[string]string{}
		testenv.WalkImage(t, f.Images[0], func(p string, h *tar.Header, r io.Reader) {
			b, _ := io.ReadAll(r)
			if h.Typeflag == tar.TypeSymlink {
				b = []byte("-> " + h.Linkname)
			}
			layers[p] = string(b)
		})
		for p, b := range layers {
			if strings.Contains(b, "host secret") {
				t.Errorf("%s: the host's secret is in the image at %s", typ, p)
			}
		}
		got := map[string]string{}
		switch typ {
		case "raw":
			got = layers
		case "initrd":
			cpio := filepath.Join(t.TempDir(), "rootfs.cpio")
			os.WriteFile(cpio, []byte(layers["/unikernel/rootfs.cpio"]), 0o644)
			entries, err := readNewc(cpio, rootfs.CPIO)
			if err != nil {
				t.Fatalf("initrd: %v", err)
			}
			for _, e := range entries {
				switch e.Type {
				case image.Symlink:
					got[e.Path] = "-> " + e.Linkname
				case image.Regular:
					// readNewc lists types; the bytes are checked below.
					got[e.Path] = "a file"
					if w, ok := want[e.Path]; ok && !strings.HasPrefix(w, "-> ") {
						got[e.Path] = w
						if !strings.Contains(layers["/unikernel/rootfs.cpio"], w) {
							t.Errorf("initrd: %s's bytes are not in it", e.Path)
						}
					}
				}
			}
		case "block":
			img := filepath.Join(t.TempDir(), "rootfs.img")
			os.WriteFile(img, []byte(layers["/unikernel/rootfs.img"]), 0o644)
			debugfs := testenv.Require(t, "debugfs")
			for p, w := range want {
				if strings.HasPrefix(w, "-> ") {
					out, _ := exec.Command(debugfs, "-R", "stat "+p, img).CombinedOutput()
					if m := regexp.MustCompile(`Fast link dest: "(.*)"`).FindSubmatch(out); m != nil {
						got[p] = "-> " + string(m[1])
					} else {
						t.Errorf("block: %s is no fast symlink:\n%s", p, out)
					}
					continue
				}
				out, _ := exec.Command(debugfs, "-R", "cat "+p, img).Output()
				got[p] = string(out)
			}
			if out, _ := exec.Command(debugfs, "-R", "ls -l /host", img).CombinedOutput(); strings.Contains(string(out), "secret") {
				t.Errorf("block: /host is a directory of the host's files:\n%s", out)
			}
		}
		for p, w := range want {
			if got[p] != w {
				t.Errorf("%s: %s holds %q, want %q", typ, p, got[p], w)
			}
		}
		for _, p := range []string{"/host/secret", "/usr/bin/usr", "/bin/sh"} {
			if _, ok := got[p]; ok {
				t.Errorf("%s: %s is in the rootfs", typ, p)
			}
		}
	}
}

// TestCopyFromImageThroughLink: a source below a directory that is a
// symlink in the image (/app/conf, /app -> /../real) is read where the
// link leads inside the image (/real/conf: ".." stops at the image's
// root), as COPY --from does; the source that is itself the link (/app)
// stays refused, and a loop of links is an error, not a hang.
func TestCopyFromImageThroughLink(t *testing.T) {
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "secret"), []byte("host secret"), 0o644)
	tool := debianImage(t, host)
	f := writeOpen(t, `{"name":"x","contents":[{"image":`+quoted(tool)+`,"source":"/app/conf","target":"/conf"},{"image":`+quoted(tool)+`,"source":"/bin/sh","target":"/sh"}],"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/sh"}}`)
	got := map[string]string{}
	testenv.WalkImage(t, f.Images[0], func(p string, _ *tar.Header, r io.Reader) {
		b, _ := io.ReadAll(r)
		got[p] = string(b)
	})
	if got["/conf"] != "conf" || got["/sh"] != "a shell" {
		t.Errorf("files %q", got)
	}
	for _, tc := range []struct{ src, want string }{
		{"/host/secret", "it has nothing at /host/secret"},
		{"/app", `/app is a symbolic link (to "/../real")`},
	} {
		_, err := Write(t.Context(), filepath.Join(t.TempDir(), "out"), describe(t, `{"name":"x","contents":[{"image":`+quoted(tool)+`,"source":"`+tc.src+`","target":"/c"}],"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/c"}}`))
		if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.src, err, tc.want)
		}
	}
	loop := linkImage(t, "app")
	_, err := Write(t.Context(), filepath.Join(t.TempDir(), "out"), describe(t, `{"name":"x","contents":[{"image":`+quoted(loop)+`,"source":"/app/x","target":"/c"}],"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/c"}}`))
	if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), "more than 40 symbolic links") {
		t.Errorf("a loop: %v", err)
	}
}
