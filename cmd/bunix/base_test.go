package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/nubificus/bunix/internal/testenv"
)

// TestBaseBadInput: each bad base is reported naming the field and the
// value, nothing is written, and the exit code says whose fault it is: 2
// for the user's input (a reference or digest that does not parse, a
// digest or platform the registry lacks, credentials it wants, a file that
// is not an image, a corrupt layer, an unpinned tag), 1 for a registry
// that cannot be reached.
func TestBaseBadInput(t *testing.T) {
	reg := testenv.Registry(t)
	idx, _ := testenv.BaseImage(t, compression.GZip, "")
	ref := reg.PushIndex(t, "unikraft/nginx:1.15", idx)
	digest, _ := idx.Digest()
	locked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
	}))
	defer locked.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downAddr := strings.TrimPrefix(down.URL, "http://")
	down.Close()

	dir := t.TempDir()
	layoutDir := filepath.Join(dir, "layout")
	if _, err := layout.Write(layoutDir, idx); err != nil {
		t.Fatal(err)
	}
	notImage := filepath.Join(dir, "notes.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "notes.txt", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("hi"))
	tw.Close()
	os.WriteFile(notImage, buf.Bytes(), 0o644)
	corrupt := filepath.Join(dir, "corrupt")
	if _, err := layout.Write(corrupt, idx); err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	img, _ := idx.Image(im.Manifests[0].Digest)
	m, _ := img.Manifest()
	blob := filepath.Join(corrupt, "blobs", "sha256", m.Layers[1].Digest.Hex)
	data, _ := os.ReadFile(blob)
	data[len(data)-12] ^= 1
	os.WriteFile(blob, data, 0o644)

	zero := "sha256:" + strings.Repeat("0", 64)
	for _, tc := range []struct {
		name, from string
		arch       string
		code       int
		want       []string
	}{
		{"ref does not parse", `"` + reg.Addr + `/UPPER/x:1@` + digest.String() + `"`, "", 2, []string{`from = "` + reg.Addr + `/UPPER/x:1@`, "not a valid image reference"}},
		{"digest is not sha256 and 64 hex", `{"ref":"` + ref + `","digest":"sha256:12ab","hash":""}`, "", 2, []string{`from.digest = "sha256:12ab"`, "64 lower-case hex"}},
		{"registry down", `"` + downAddr + `/x:1@` + zero + `"`, "", 1, []string{"from = \"" + downAddr + "/x:1@" + zero, "connection refused"}},
		{"registry wants credentials", `"` + strings.TrimPrefix(locked.URL, "http://") + `/x:1@` + zero + `"`, "", 2, []string{"from = ", "UNAUTHORIZED"}},
		{"registry lacks the digest", `"` + ref + `@` + zero + `"`, "", 2, []string{`from = "` + ref + `@` + zero + `"`, "MANIFEST_UNKNOWN"}},
		{"no image for the architecture", `"` + ref + `@` + digest.String() + `"`, "arm64", 2, []string{`from = "` + ref + `@` + digest.String(), "no image for the architecture arm64 (it has: qemu/amd64)"}},
		{"no image for the architecture, local", `"` + layoutDir + `"`, "arm64", 2, []string{`from = "` + layoutDir + `"`, "(it has: qemu/amd64)"}},
		{"not an image", `"` + notImage + `"`, "", 2, []string{`from = "` + notImage + `"`, "neither an oci-archive"}},
		{"corrupt layer", `"` + corrupt + `"`, "", 2, []string{`from = "` + corrupt + `"`, "layer 1 (" + m.Layers[1].Digest.String() + ")"}},
		{"unpinned tag", `"` + ref + `"`, "", 2, []string{`from = "` + ref + `"`, "resolves to " + digest.String()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			// A TMPDIR of its own, where the pulled base goes: the
			// system's is shared with the packages go test runs beside
			// this one, whose builds pull bases there too.
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			arch := ""
			if tc.arch != "" {
				arch = `"architecture":"` + tc.arch + `",`
			}
			os.WriteFile(filepath.Join(d, "args.json"), []byte(`{"name":"x",`+arch+`"from":`+tc.from+`}`), 0o644)
			out := filepath.Join(d, "out.tar")
			code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(d, "args.json"), "-o", out)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
			if _, err := os.Lstat(out); err == nil {
				t.Error("out.tar was written")
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, ".bunix-base-*")); len(left) > 0 {
				t.Errorf("pulled bases left behind: %v", left)
			}
		})
	}
	if code, _, stderr := cli(t, nil, "prefetch", "UPPER/x"); code != 2 || !strings.Contains(stderr, `"UPPER/x"`) {
		t.Errorf("prefetch of a bad reference: exit %d %s", code, stderr)
	}
	if code, stdout, stderr := cli(t, nil, "prefetch", ref); code != 0 || !strings.Contains(stdout, `digest = "`+digest.String()+`";`) {
		t.Errorf("prefetch: exit %d %s %s", code, stdout, stderr)
	}
}

// TestValidateCountsBaseLayers: validate's layer count includes the base's.
func TestValidateCountsBaseLayers(t *testing.T) {
	idx, img := testenv.BaseImage(t, compression.GZip, "")
	dir := t.TempDir()
	if _, err := layout.Write(filepath.Join(dir, "base"), idx); err != nil {
		t.Fatal(err)
	}
	baseLayers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "args.json"), []byte(`{"name":"urunc/nginx","tag":"v","from":"./base","annotations":{"unikernelVersion":"0.17.0"}}`), 0o644)
	code, stdout, stderr := cli(t, nil, "validate", filepath.Join(dir, "args.json"))
	// The image adds one layer of its own: /urunc.json.
	if want := fmt.Sprintf(", %d layers\n", len(baseLayers)+1); code != 0 || !strings.HasSuffix(stdout, want) {
		t.Errorf("validate: exit %d, %q (want it to end %q)\n%s", code, stdout, want, stderr)
	}
}

// TestBaseHashChecked: bunix build checks from.hash against what it
// pulled, as nix-build's fixed-output derivation does: the right hash
// builds, a wrong one fails with Nix's words and the right hash, exit 2,
// nothing written; so does a contents image's hash, and urunit's.
func TestBaseHashChecked(t *testing.T) {
	reg := testenv.Registry(t)
	idx, _ := testenv.BaseImage(t, compression.GZip, "")
	ref := reg.PushIndex(t, "unikraft/nginx:1.15", idx)
	code, stdout, stderr := cli(t, nil, "prefetch", ref)
	m := regexp.MustCompile(`digest = "([^"]+)";\s+hash = "([^"]+)";`).FindStringSubmatch(stdout)
	if code != 0 || m == nil {
		t.Fatalf("prefetch %s: exit %d %s %s", ref, code, stdout, stderr)
	}
	digest, hash := m[1], m[2]
	wrong := "sha256-" + strings.Repeat("A", 43) + "="
	pin := func(h string) string {
		return `{"ref":"` + ref + `","digest":"` + digest + `","hash":"` + h + `"}`
	}
	for _, tc := range []struct {
		name, desc string
		code       int
	}{
		{"from, right hash", `"from":` + pin(hash), 0},
		{"from, wrong hash", `"from":` + pin(wrong), 2},
		{"contents image, wrong hash", `"from":` + pin(hash) + `,"contents":[{"image":` + pin(wrong) + `,"source":"/unikraft/bin/kernel","target":"/k2"}]`, 2},
		{"urunit image, wrong hash", `"from":` + pin(hash) + `,"urunit":` + pin(wrong), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, "args.json"), []byte(`{"name":"x",`+tc.desc+`}`), 0o644)
			out := filepath.Join(d, "out.tar")
			code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(d, "args.json"), "-o", out)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			if tc.code == 0 {
				return
			}
			for _, w := range []string{"hash mismatch in fixed-output derivation", "specified: " + wrong, "got: " + hash} {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
			if _, err := os.Lstat(out); err == nil {
				t.Error("out.tar was written")
			}
		})
	}
}

// TestBaseCommandChecked: a base whose command (the guest's, when the
// description gives none) holds a line break or a NUL byte is refused as
// the description's own cmd would be, naming the base and the word; with
// a cmd of its own the description builds. Before, the base's command
// went into the image unchecked.
func TestBaseCommandChecked(t *testing.T) {
	_, base := testenv.BaseImage(t, compression.None, "")
	for _, tc := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"-c", "a\nb"}, "command, word 2: must be one line"},
		{[]string{"a\x00b"}, "command, word 1: must not contain a NUL byte"},
	} {
		cf, err := base.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.Config.Cmd = tc.cmd
		// A catalog image as kraft pkg writes it: no cmdline label, so
		// the Entrypoint and Cmd are the guest's command.
		delete(cf.Config.Labels, "com.urunc.unikernel.cmdline")
		img, err := mutate.ConfigFile(base, cf)
		if err != nil {
			t.Fatal(err)
		}
		d := t.TempDir()
		lp, err := layout.Write(filepath.Join(d, "base"), empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		if err := lp.AppendImage(img, layout.WithPlatform(v1.Platform{OS: "qemu", Architecture: "amd64"})); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(d, "out.tar")
		os.WriteFile(filepath.Join(d, "args.json"), []byte(`{"name":"x","from":"`+string(lp)+`"}`), 0o644)
		code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(d, "args.json"), "-o", out)
		if code != exitBadInput || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, string(lp)) {
			t.Errorf("Cmd %q: exit %d, stderr %s; want exit 2 saying %q", tc.cmd, code, stderr, tc.want)
		}
		if _, err := os.Lstat(out); err == nil {
			t.Errorf("Cmd %q: out.tar was written", tc.cmd)
		}
		os.WriteFile(filepath.Join(d, "args.json"), []byte(`{"name":"x","from":"`+string(lp)+`","cmd":["-c","/etc/app.conf"]}`), 0o644)
		if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(d, "args.json"), "-o", out); code != 0 {
			t.Errorf("Cmd %q, replaced: exit %d: %s", tc.cmd, code, stderr)
		}
	}
}
