package build

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/output"
)

// project writes a kernel, a config directory and args.json describing an
// image of them, and returns the directory and the loaded description.
func project(t *testing.T) (string, *args.Args) {
	t.Helper()
	dir := files(t, "kernel", "conf/a")
	js := `{"name":"x","files":{"kernel":"/unikernel/kernel","conf":"/etc/app"},` + ann + `}`
	os.WriteFile(filepath.Join(dir, "args.json"), []byte(js), 0o644)
	a, err := args.Load(context.Background(), filepath.Join(dir, "args.json"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, a
}

// TestWriteRefusesInputs: an output that is or lies inside something the
// build reads is refused before anything is written.
func TestWriteRefusesInputs(t *testing.T) {
	dir, a := project(t)
	os.Link(filepath.Join(dir, "kernel"), filepath.Join(dir, "hardlink"))
	os.Link(filepath.Join(dir, "conf", "a"), filepath.Join(dir, "conf-a"))
	os.Symlink("conf", filepath.Join(dir, "conflink"))
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	before := testenv.Snapshot(t, dir)
	for _, tc := range []struct {
		out    string
		format image.Format
		want   string
	}{
		{"kernel", "", `kernel: is ` + dir + `/args.json:1:22: files."kernel", which the build reads: writing the image there would destroy it`},
		{"args.json", "", `args.json: is the description ` + dir + `/args.json, which the build reads`},
		{"hardlink", "", `hardlink: is ` + dir + `/args.json:1:22: files."kernel", which the build reads`},
		{"conf-a", "", `conf-a: is ` + dir + `/conf/a (copied to /etc/app/a), which the build reads (a hard link to it)`},
		{"conf/image.tar", "", `conf/image.tar: lies inside ` + dir + `/args.json:1:51: files."conf" (` + dir + `/conf), which the build reads`},
		{"conflink/image.tar", "", `conflink/image.tar: lies inside ` + dir + `/args.json:1:51: files."conf"`},
		{"conf/a", image.OCILayout, `conf/a: exists and is a regular file, not a directory holding an OCI image layout`},
		// A directory's suggested file is not one refused in turn.
		{"conf", "", `conf: is a directory, and a file in it, such as ` + dir + `/conf/image.tar, lies inside ` + dir + `/args.json:1:51: files."conf" (` + dir + `/conf), which the build reads: give -o a path outside it`},
		{"out", "", `out: is a directory: give the output a file name, e.g. ` + dir + `/out/image.tar`},
		{"new/image.tar", "", `new/image.tar: its directory ` + dir + `/new does not exist: create it first`},
		{"conf/", "", `conf/: names a directory`},
		{".", image.OCIArchive, `output .: names a directory`},
		{".", image.OCILayout, `holds more than an OCI image layout (args.json, conf, conf-a, conflink, hardlink and 2 more)`},
	} {
		out := tc.out
		if out != "." {
			out = filepath.Join(dir, tc.out)
			if strings.HasSuffix(tc.out, "/") {
				out += "/"
			}
		} else {
			t.Chdir(dir)
		}
		var opts []Option
		if tc.format != "" {
			opts = append(opts, WithFormat(tc.format))
		}
		_, err := Write(context.Background(), out, []*args.Args{a}, opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !IsUserError(err) {
			t.Errorf("-o %s: got %v\nwant %q", tc.out, err, tc.want)
		}
	}
	if got := testenv.Snapshot(t, dir); got != before {
		t.Errorf("refused writes changed the project:\n%s\nwas\n%s", got, before)
	}
}

// TestWriteRefusesLayoutHoldingSource: an oci directory that holds a
// source is not replaced, even when all it holds is a layout.
func TestWriteRefusesLayoutHoldingSource(t *testing.T) {
	blob := "layout/blobs/sha256/" + strings.Repeat("0", 64)
	dir := files(t, blob, "layout/oci-layout")
	a, err := args.DecodeJSON([]byte(`{"name":"x","files":{"`+blob+`":"/unikernel/kernel"},`+ann+`}`), "args.json", dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Write(context.Background(), filepath.Join(dir, "layout"), []*args.Args{a}, WithFormat(image.OCILayout))
	if err == nil || !strings.Contains(err.Error(), `holds args.json: files."`+blob+`" (`+filepath.Join(dir, blob)+`), which the build reads and writing the layout would delete`) {
		t.Errorf("got %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, blob)); string(b) != blob {
		t.Errorf("the source became %q", b)
	}
}

// TestWriteLeavesNothing: a build with a rootfs writes its output and
// nothing else, in the output's directory or the temporary one, even
// while it runs.
func TestWriteLeavesNothing(t *testing.T) {
	dir := files(t, "kernel", "r/init")
	js := withRootfs(`{"type":"initrd","include":{"r":"/"}}`)
	a, err := args.DecodeJSON([]byte(js), "args.json", dir)
	if err != nil {
		t.Fatal(err)
	}
	outDir, tmp := t.TempDir(), t.TempDir()
	out := filepath.Join(outDir, "image.tar")
	if f, err := output.OpenTmpfile(tmp); err != nil {
		t.Skipf("no O_TMPFILE here: %v", err)
	} else {
		f.Close()
	}
	during := ""
	var buf bytes.Buffer
	for _, write := range []func(opts ...Option) error{
		func(opts ...Option) error {
			_, err := Write(context.Background(), out, []*args.Args{a}, opts...)
			return err
		},
		func(opts ...Option) error {
			_, err := WriteTo(context.Background(), &buf, []*args.Args{a}, opts...)
			return err
		},
	} {
		err := write(WithTempDir(tmp), WithProgress(func(_ int64, w io.Writer) io.Writer {
			for _, d := range []string{outDir, tmp} {
				if ents, _ := os.ReadDir(d); len(ents) > 0 && !(d == outDir && ents[0].Name() == "image.tar") {
					during += d + ": " + ents[0].Name() + " "
				}
			}
			return w
		}))
		if err != nil {
			t.Fatal(err)
		}
	}
	if during != "" {
		t.Errorf("while writing, named files: %s", during)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("left in the temporary directory: %v", ents)
	}
	if ents, _ := os.ReadDir(outDir); len(ents) != 1 {
		t.Errorf("beside the output: %v", ents)
	}
	if data, _ := os.ReadFile(out); !bytes.Equal(data, buf.Bytes()) {
		t.Error("Write and WriteTo give different bytes")
	}
}

// TestWriteCancelled: a cancelled build leaves the old output as it was.
func TestWriteCancelled(t *testing.T) {
	_, a := project(t)
	out := filepath.Join(t.TempDir(), "image.tar")
	os.WriteFile(out, []byte("old"), 0o644)
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(context.Canceled)
	if _, err := Write(ctx, out, []*args.Args{a}); err == nil {
		t.Fatal("a cancelled build succeeded")
	}
	if b, _ := os.ReadFile(out); string(b) != "old" {
		t.Errorf("output = %q", b)
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 1 {
		t.Errorf("left beside the output: %v", ents)
	}
}

// TestSourceMessages: the messages for sources that cannot be copied say
// why.
func TestSourceMessages(t *testing.T) {
	dir := files(t, "kernel", "tree/.wh.gone", "tree/ok")
	os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling"))
	for _, tc := range []struct{ files, ann, want string }{
		{`"/nix/store/00000000000000000000000000000000-kernel":"/unikernel/kernel"`, ann, `build it first, with nix-build of the expression that makes it`},
		{`"kernel":"/unikernel/kernel","tree":"/etc/t"`, ann, `files."tree" = "` + dir + `/tree": puts /etc/t/.wh.gone in the image: a name starting with ".wh." is a whiteout`},
		{`"kernel":"/unikernel/kernel"`, strings.Replace(ann, `"binary":"/unikernel/kernel"`, `"binary":"/unikernel"`, 1), `annotations.binary = "/unikernel": is a directory in the image (it holds /unikernel/kernel): name a regular file`},
	} {
		_, err := Image(resolved(t, dir, `{"name":"x","files":{`+tc.files+`},`+tc.ann+`}`))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !args.IsUserError(err) {
			t.Errorf("%s: got %v\nwant %q", tc.files, err, tc.want)
		}
	}
}

// TestDanglingSource: a source that is a dangling link is refused when the
// args are resolved, and the message says it dangles.
func TestDanglingSource(t *testing.T) {
	dir := files(t, "kernel")
	os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling"))
	a, err := args.DecodeJSON([]byte(`{"name":"x","files":{"dangling":"/unikernel/kernel"},`+ann+`}`), "args.json", dir)
	if err != nil {
		t.Fatal(err)
	}
	want := `files."dangling" = "dangling": source is a dangling symbolic link (to "` + dir + `/nowhere", which does not exist)`
	if _, err := a.Resolve(); err == nil || !strings.Contains(err.Error(), want) || !args.IsUserError(err) {
		t.Errorf("got %v\nwant %q", err, want)
	}
}

// TestGeneratedPathsCollide: the rootfs file cannot go where bunix writes
// /urunc.json, nor under it.
func TestGeneratedPathsCollide(t *testing.T) {
	dir := files(t, "kernel", "r/init")
	for _, tc := range []struct{ path, want string }{
		{"/urunc.json", `rootfs.path = "/urunc.json": the rootfs file would go where bunix (the urunc settings) already puts a file`},
		{"/urunc.json/rootfs", `needs /urunc.json to be a directory, but bunix (the urunc settings) puts a file there`},
	} {
		_, err := Image(resolved(t, dir, withRootfs(`{"type":"initrd","include":{"r":"/"},"path":"`+tc.path+`"}`)))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !args.IsUserError(err) {
			t.Errorf("%s: got %v\nwant %q", tc.path, err, tc.want)
		}
	}
}

// TestRootfsCancelled: a done context stops the rootfs writers, and their
// file goes.
func TestRootfsCancelled(t *testing.T) {
	dir := files(t, "kernel", "r/init")
	tmp := t.TempDir()
	stop := errors.New("stop")
	for _, js := range []string{
		withRootfs(`{"type":"initrd","include":{"r":"/"}}`),
		`{"name":"x","files":{"kernel":"/k"},"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/k"},"rootfs":{"type":"block","include":{"r":"/"}}}`,
	} {
		a, err := args.DecodeJSON([]byte(js), "args.json", dir)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(stop)
		if _, err := Check(ctx, []*args.Args{a}, WithTempDir(tmp)); !errors.Is(err, stop) {
			t.Errorf("%s: got %v", js, err)
		}
		if _, err := Check(context.Background(), []*args.Args{a}, WithTempDir(tmp)); err != nil {
			t.Errorf("%s: %v", js, err)
		}
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}
