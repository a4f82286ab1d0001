package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
)

func resolved(t *testing.T, dir, js string) *args.Resolved {
	t.Helper()
	a, err := args.DecodeJSON([]byte(js), "args.json", dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func files(t *testing.T, names ...string) string {
	dir := t.TempDir()
	for _, n := range names {
		p := filepath.Join(dir, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Image plans and finishes r's image as Write does, its rootfs file
// unnamed in the WithTempDir directory (by default os.TempDir), open until
// the test binary exits.
func Image(r *args.Resolved, opts ...Option) (*image.Image, error) {
	o := newOptions(opts)
	j, err := planImage(r, o.created, nil, false)
	if err != nil {
		return nil, err
	}
	dir := o.tempDir
	if dir == "" {
		dir = os.TempDir()
	}
	if _, err := j.finish(context.Background(), dir, ""); err != nil {
		return nil, err
	}
	return j.img, nil
}

// layerSteps lists what created each layer of img, in order.
func layerSteps(img *image.Image) string {
	var steps []string
	for _, l := range img.Layers {
		steps = append(steps, l.CreatedBy)
	}
	return strings.Join(steps, ", ")
}

// WithWorkDir is WithTempDir, by the name the rootfs tests know it.
func WithWorkDir(dir string) Option { return WithTempDir(dir) }

const ann = `"annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"/unikernel/kernel","cmdline":"k a"}`

func TestImage(t *testing.T) {
	dir := files(t, "kernel", "conf/a", "conf/b")
	img, err := Image(resolved(t, dir, `{"name":"x","files":{"kernel":"/unikernel/kernel","conf":"/etc/app"},`+ann+`}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := layerSteps(img); got != "bunix: copy /etc/app, bunix: copy /unikernel/kernel, bunix: urunc settings /urunc.json" {
		t.Errorf("layers: %s", got)
	}
	if img.Config.Labels["com.urunc.unikernel.binary"] != "/unikernel/kernel" || img.Config.Labels["com.urunc.unikernel.useDMBlock"] != "false" {
		t.Errorf("labels %v", img.Config.Labels)
	}
	if strings.Join(img.Config.Cmd, " ") != "k a" || img.RepoTags[0] != "x:latest" {
		t.Errorf("cmd %q tags %q", img.Config.Cmd, img.RepoTags)
	}
	last := img.Layers[len(img.Layers)-1].Entries[0]
	if last.Path != "/urunc.json" || !strings.Contains(string(last.Data), `"com.urunc.unikernel.cmdline": "ayBh"`) {
		t.Errorf("urunc.json entry %+v %s", last, last.Data)
	}
}

func TestImageFileErrors(t *testing.T) {
	dir := files(t, "kernel", "conf/a", "other")
	for _, tc := range []struct{ files, ann, want string }{
		{`"missing":"/unikernel/kernel"`, ann, `args.json: files."missing" = "` + dir + `/missing": source does not exist`},
		// The target is at fault, and shown: the source (a store path in
		// Nix) was, as if it were.
		{`"kernel":"/unikernel/kernel","conf":"/unikernel/kernel/x"`, ann, `files."conf" = "/unikernel/kernel/x": needs /unikernel/kernel to be a directory, but files."kernel" puts a file there`},
		{`"kernel":"/unikernel/kernel","other":"/etc/a"`, strings.Replace(ann, `"cmdline"`, `"initrd":"/boot/initrd","cmdline"`, 1), `annotations.initrd = "/boot/initrd": no file in the image is at this path (the image holds: /etc/a, /unikernel/kernel)`},
		{`"conf":"/unikernel/kernel"`, ann, `annotations.binary = "/unikernel/kernel": must name a regular file, but files."conf" puts a directory there`},
		{`"kernel":"/etc/a","conf":"/etc"`, strings.Replace(ann, `/unikernel/kernel`, `/etc/a`, 1), `files."kernel" = "/etc/a": puts a file at /etc/a, where files."conf" already puts a file`},
		// Under a file that a directory copied holds.
		{`"kernel":"/etc/a","conf":"/etc/b","other":"/etc/b/a/x"`, ann, `files."other" = "/etc/b/a/x": needs /etc/b/a to be a directory, but files."conf" puts a file there`},
		// A path inside a directory copied is its source's doing
		// (TestImageRootfsErrors: rootfs.include."dir" = SOURCE: puts a
		// file at /x).
	} {
		_, err := Image(resolved(t, dir, `{"name":"x","files":{`+tc.files+`},`+tc.ann+`}`))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("files %s: got %v\nwant %q", tc.files, err, tc.want)
		}
		if err != nil && !args.IsUserError(err) {
			t.Errorf("not a user error: %v", err)
		}
	}
}

// TestDirConflictOnce: a directory copied under a path another copy makes
// a file is one message, not one for every file the directory holds.
func TestDirConflictOnce(t *testing.T) {
	dir := files(t, "kernel", "conf/a", "conf/b", "conf/c/d")
	_, err := Image(resolved(t, dir, `{"name":"x","files":{"kernel":"/unikernel/kernel","conf":"/unikernel/kernel/x"},`+ann+`}`))
	want := `needs /unikernel/kernel to be a directory, but files."kernel" puts a file there`
	if err == nil || strings.Count(err.Error(), want) != 1 {
		t.Errorf("got %v\nwant %q once", err, want)
	}
}

// TestMissingStoreSourceHint: a /nix/store source that is not built is one
// error, whose hint names nix-build of the expression that makes it, not
// nix-store --realise (which cannot build an output path never built); the
// binary it would have provided is not reported missing again.
func TestMissingStoreSourceHint(t *testing.T) {
	src := "/nix/store/00000000000000000000000000000000-never-built/kernel"
	_, err := Image(resolved(t, t.TempDir(), `{"name":"x","files":{"`+src+`":"/unikernel/kernel"},`+ann+`}`))
	if err == nil {
		t.Fatal("a store path never built: no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "nix-build of the expression that makes it") || strings.Contains(msg, "nix-store --realise the path") {
		t.Errorf("hint: %s", msg)
	}
	if strings.Contains(msg, "the image holds") || strings.Count(msg, "\n") > 0 {
		t.Errorf("more than the one error about the source:\n%s", msg)
	}
}

// TestLayerPathTooLong: a directory nested deep on disk (each path within
// the host's PATH_MAX), copied under a long target, would put paths of
// more than 4095 bytes in a layer, which no runtime unpacks: the build
// refuses it once, naming the copy; a path of 4095 bytes is taken.
func TestLayerPathTooLong(t *testing.T) {
	dir := files(t, "kernel")
	deep := filepath.Join(dir, "deep")
	p := deep
	for range 14 {
		p = filepath.Join(p, strings.Repeat("a", 250))
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"x", "y"} {
		if err := os.WriteFile(filepath.Join(p, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inImage := len(p) - len(deep) + len("/x") // each file's path under the target
	// target is a path of n bytes in names of at most 200 (NAME_MAX is
	// checked apart).
	target := func(n int) string {
		var t string
		for len(t) < n {
			t += "/" + strings.Repeat("b", min(200, n-len(t)-1))
		}
		return t
	}
	for _, tc := range []struct {
		target string
		want   string
	}{
		{target(4095 - inImage), ""},
		{target(4096 - inImage), "bytes) in the image: no container runtime unpacks a path of more than 4095 bytes"},
	} {
		_, err := Image(resolved(t, dir, `{"name":"x","files":{"kernel":"/unikernel/kernel","deep":"`+tc.target+`"},`+ann+`}`))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("target of %d bytes: %v", len(tc.target), err)
		case tc.want != "" && (err == nil || strings.Count(err.Error(), tc.want) != 1 || !args.IsUserError(err)):
			t.Errorf("target of %d bytes: %v\nwant one user error saying %q", len(tc.target), err, tc.want)
		}
	}
}
