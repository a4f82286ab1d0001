package scaffold

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestInitChecksFiles: with Dir, a kernel or initrd that is not a file in
// Dir is refused with an *Error naming the flag, the path and Dir; one that
// is there (or a link to one) is accepted, relative to Dir and not to the working directory.
func TestInitChecksFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("k"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink("/dev/zero", filepath.Join(dir, "zero"))
	os.Symlink("kernel", filepath.Join(dir, "link"))
	a := Answers{Guest: "unikraft", Monitor: "qemu", Name: "local/x", Dir: dir}
	for _, tc := range []struct {
		binary, initrd string
		want           string
	}{
		{"kernel", "", ""},
		{"./kernel", "", ""},
		{filepath.Join(dir, "kernel"), "", ""},
		{"kernal", "", `--binary "kernal": there is no ` + dir + `/kernal: give the kernel file's path relative to ` + dir + `, where args.nix goes`},
		{"sub/", "", `--binary "sub/": names a directory`},
		{"sub", "", `--binary "sub": ` + dir + `/sub is a directory`},
		{"kernel", "initrd.cpio", `--initrd "initrd.cpio": there is no ` + dir + `/initrd.cpio`},
		{"fifo", "", `--binary "fifo": ` + dir + `/fifo is a named pipe (FIFO), not a regular file`},
		{"/dev/zero", "", `--binary "/dev/zero": /dev/zero is a character device, not a regular file`},
		{"zero", "", `--binary "zero": ` + dir + `/zero is a character device, not a regular file`},
		{"link", "", ""},
		{"kernel", "fifo", `--initrd "fifo": ` + dir + `/fifo is a named pipe (FIFO), not a regular file`},
	} {
		a.Binary, a.Initrd = tc.binary, tc.initrd
		d, err := Init(a)
		if tc.want == "" {
			if err != nil || d == nil {
				t.Errorf("Init(%q, %q): %v", tc.binary, tc.initrd, err)
			}
			continue
		}
		var se *Error
		if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Init(%q, %q) = %v, want an *Error with %q", tc.binary, tc.initrd, err, tc.want)
		}
	}
	// Without Dir nothing is looked up (the kernel may not be built yet).
	if _, err := Init(Answers{Guest: "unikraft", Monitor: "qemu", Binary: "not-built-yet"}); err != nil {
		t.Errorf("without Dir: %v", err)
	}
}

// TestNextSteps: what init prints last are the commands that build what it
// wrote, the ones written into args.nix, and the flake's when it wrote one.
func TestNextSteps(t *testing.T) {
	got := strings.Join(NextSteps("demo", "args.nix", false), "\n")
	for _, want := range []string{"Next, in demo, build the image", "  bunix build -f args.nix -o image.tar && docker load < image.tar",
		"  make -C " + CheckoutPlaceholder + " image ARGS=$PWD/args.nix"} {
		if !strings.Contains(got, want) {
			t.Errorf("NextSteps lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "  nix build") {
		t.Errorf("a flake command without a flake:\n%s", got)
	}
	if got := strings.Join(NextSteps("demo", "args.nix", true), "\n"); !strings.Contains(got, "  nix build && docker load < result") {
		t.Errorf("NextSteps with a flake:\n%s", got)
	}
}

// TestNextStepsHere: init in the working directory says "build the image",
// not "in ., build the image"; for an args.json, the CLI line only.
func TestNextStepsHere(t *testing.T) {
	got := strings.Join(NextSteps(".", "args.json", false), "\n")
	if strings.Contains(got, "in .") || !strings.HasPrefix(got, "Next, build the image and load it:") {
		t.Errorf("NextSteps(.):\n%s", got)
	}
	if !strings.Contains(got, "bunix build -f args.json") || strings.Contains(got, "make ") {
		t.Errorf("NextSteps for args.json:\n%s", got)
	}
}

// TestWriteNewNamesPlainly: what is in the way is named as a path, not a
// Go list in brackets.
func TestWriteNewNamesPlainly(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "exists.nix")
	os.WriteFile(p, nil, 0o644)
	err := WriteNew(map[string][]byte{p: []byte("{}")})
	if err == nil || strings.Contains(err.Error(), "[") || !strings.HasPrefix(err.Error(), p+" already exists") {
		t.Errorf("WriteNew over %s: %v", p, err)
	}
}
