package sbom_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/nubificus/bunix/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/build"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/sbom"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
	"github.com/spdx/tools-golang/spdxlib"
)

// writeFiles makes dir/name holding content for each pair.
func writeFiles(t *testing.T, kv ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < len(kv); i += 2 {
		p := filepath.Join(dir, kv[i])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(kv[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildFile writes the image the JSON description js (relative to dir)
// gives to a file in format, and returns its path.
func buildFile(t *testing.T, dir, js, format string) string {
	t.Helper()
	a, err := args.DecodeJSON([]byte(js), "args.json", dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := image.ParseFormat(format)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image")
	if _, err := build.Write(context.Background(), out, []*args.Args{a}, build.WithFormat(f), build.WithCreated(time.Unix(1700000000, 0))); err != nil {
		t.Fatal(err)
	}
	return out
}

// buildImage is buildFile, the file opened.
func buildImage(t *testing.T, dir, js, format string) *image.File {
	t.Helper()
	img, err := image.Open(buildFile(t, dir, js, format))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { img.Close() })
	return img
}

// readBack parses doc's JSON with tools-golang as SPDX 2.3 and validates it.
func readBack(t *testing.T, doc *sbom.Document) *v2_3.Document {
	t.Helper()
	b, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	d, _ := testenv.ReadSPDX(t, b)
	if d.SPDXVersion != "SPDX-2.3" || d.DataLicense != "CC0-1.0" {
		t.Errorf("version %q, data license %q", d.SPDXVersion, d.DataLicense)
	}
	return d
}

func sha(d common.Checksum) string { return d.Value }

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func checksum(cs []common.Checksum, alg common.ChecksumAlgorithm) string {
	for _, c := range cs {
		if c.Algorithm == alg {
			return c.Value
		}
	}
	return ""
}

// contained returns, by file name, the SHA-256 of the files the element id
// CONTAINS.
func contained(d *v2_3.Document, id string) map[string]string {
	files := map[common.ElementID]*v2_3.File{}
	for _, f := range d.Files {
		files[f.FileSPDXIdentifier] = f
	}
	for _, p := range d.Packages {
		for _, f := range p.Files {
			files[f.FileSPDXIdentifier] = f
		}
	}
	out := map[string]string{}
	for _, r := range d.Relationships {
		if string(r.RefA.ElementRefID) == strings.TrimPrefix(id, "SPDXRef-") && r.Relationship == "CONTAINS" {
			if f := files[r.RefB.ElementRefID]; f != nil {
				out[f.FileName] = checksum(f.Checksums, common.SHA256)
			}
		}
	}
	return out
}

func pkg(t *testing.T, d *v2_3.Document, id string) *v2_3.Package {
	t.Helper()
	for _, p := range d.Packages {
		if string(p.PackageSPDXIdentifier) == strings.TrimPrefix(id, "SPDXRef-") {
			return p
		}
	}
	t.Fatalf("no package %s in the SBOM", id)
	return nil
}

const kernel = "the kernel"

// TestGenerateInitrd: every regular file of every layer is listed with its
// checksum and path, the kernel and initrd are packages of their own with
// the initrd's files inside, store paths are packages, and the document
// is SPDX 2.3 that tools-golang reads and validates.
func TestGenerateInitrd(t *testing.T) {
	dir := writeFiles(t, "kernel", kernel, "data/a.conf", "a", "data/sub/b", "bee", "r/init", "#!init", "r/etc/motd", "hello")
	f := buildImage(t, dir, `{"name":"bunix/sbom","tag":"t1",
		"files":{"kernel":"/unikernel/kernel","data":"/data"},
		"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/unikernel/kernel","cmdline":"/init"},
		"rootfs":{"type":"initrd","include":{"r":"/"}}}`, "oci-archive")
	store := "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-redis-7.2.4"
	doc, err := sbom.Generate(context.Background(), f, sbom.WithTool("bunix-test"), sbom.WithSources([]sbom.Source{
		{Path: store + "/data", Target: "/data"},
		{Path: filepath.Join(dir, "kernel"), Target: "/unikernel/kernel"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	d := readBack(t, doc)

	if d.CreationInfo.Created != "2023-11-14T22:13:20Z" {
		t.Errorf("created %q, want the image's creation time", d.CreationInfo.Created)
	}
	img := pkg(t, d, "SPDXRef-Image")
	if img.PackageName != "bunix/sbom" || img.PackageVersion != "t1" {
		t.Errorf("image package %q version %q", img.PackageName, img.PackageVersion)
	}
	digest, _ := f.Images[0].Digest()
	if len(img.PackageExternalReferences) != 1 || !strings.Contains(img.PackageExternalReferences[0].Locator, digest.Hex) {
		t.Errorf("image purl %+v, want the digest %s", img.PackageExternalReferences, digest)
	} else if l := img.PackageExternalReferences[0].Locator; strings.Contains(l, "repository_url") || !strings.HasPrefix(l, "pkg:oci/sbom@sha256%3A") {
		t.Errorf("purl %s: bunix/sbom names no registry", l)
	}
	described, err := spdxlib.GetDescribedPackageIDs(d)
	if err != nil || len(described) != 1 || described[0] != "Image" {
		t.Errorf("described %v %v", described, err)
	}

	// Every file of every layer, checksums as archive/tar reads them.
	layers, err := f.Images[0].Layers()
	if err != nil {
		t.Fatal(err)
	}
	want := testenv.LayerFileSums(t, layers)
	got := contained(d, "SPDXRef-Image")
	if len(got) != len(want) {
		t.Errorf("the SBOM lists %d files of the image, the image holds %d: %v", len(got), len(want), got)
	}
	for p, sums := range want {
		if got[p] != sums[len(sums)-1] {
			t.Errorf("%s: SBOM sha256 %q, image %q", p, got[p], sums)
		}
	}
	if got["./unikernel/kernel"] != sum(kernel) || got["./data/sub/b"] != sum("bee") {
		t.Errorf("kernel or data files missing: %v", got)
	}

	// The guest pieces.
	k := pkg(t, d, "SPDXRef-Image-Kernel")
	if checksum(k.PackageChecksums, common.SHA256) != sum(kernel) || k.PrimaryPackagePurpose != "OPERATING-SYSTEM" {
		t.Errorf("kernel package %+v", k)
	}
	initrd := pkg(t, d, "SPDXRef-Image-Initrd")
	if checksum(initrd.PackageChecksums, common.SHA256) != got["./unikernel/rootfs.cpio"] || initrd.PackageFileName != "./unikernel/rootfs.cpio" {
		t.Errorf("initrd package %+v, image file %s", initrd, got["./unikernel/rootfs.cpio"])
	}
	inside := contained(d, "SPDXRef-Image-Initrd")
	if len(inside) != 2 || inside["./init"] != sum("#!init") || inside["./etc/motd"] != sum("hello") {
		t.Errorf("initrd files %v", inside)
	}

	// The Nix store path: a package, contained in the image, containing
	// the files copied from it.
	nix := pkg(t, d, "SPDXRef-Nix-0123456789abcdfghijklmnpqrsvwxyz-redis-7.2.4")
	if nix.PackageName != "redis" || nix.PackageVersion != "7.2.4" || nix.PackageFileName != store {
		t.Errorf("nix package %q %q %q", nix.PackageName, nix.PackageVersion, nix.PackageFileName)
	}
	if from := contained(d, "SPDXRef-Nix-0123456789abcdfghijklmnpqrsvwxyz-redis-7.2.4"); len(from) != 2 || from["./data/a.conf"] != sum("a") {
		t.Errorf("files from the store path %v", from)
	}

	// The same image gives the same bytes.
	again, err := sbom.Generate(context.Background(), f, sbom.WithTool("bunix-test"), sbom.WithSources([]sbom.Source{
		{Path: store + "/data", Target: "/data"},
		{Path: filepath.Join(dir, "kernel"), Target: "/unikernel/kernel"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := doc.JSON()
	if os.Getenv("DUMP") != "" {
		os.WriteFile(os.Getenv("DUMP"), b1, 0o644)
	}
	b2, _ := again.JSON()
	if !bytes.Equal(b1, b2) {
		t.Error("two SBOMs of the same image differ")
	}
}

// TestGenerateBlock: the files inside a block image bunix builds, ext2 and
// ext4, are listed with their checksums, directories and all.
func TestGenerateBlock(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 70000) // past 12 direct blocks, into indirect ones
	dir := writeFiles(t, "kernel", kernel, "r/conf/redis.conf", "port 6379", "r/deep/a/b/c", "c", "r/big", big, "r/empty", "", "r/init", "#!init")
	for fsType, guest := range map[string]string{"ext2": `"unikernelType":"rumprun","hypervisor":"hvt"`, "ext4": `"unikernelType":"linux","hypervisor":"qemu"`} {
		t.Run(fsType, func(t *testing.T) {
			f := buildImage(t, dir, `{"name":"bunix/block","tag":"t1",
				"files":{"kernel":"/unikernel/kernel"},
				"annotations":{`+guest+`,"binary":"/unikernel/kernel","cmdline":"/init"},
				"rootfs":{"type":"block","fsType":"`+fsType+`","include":{"r":"/"}}}`, "docker-archive")
			doc, err := sbom.Generate(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			d := readBack(t, doc)
			block := pkg(t, d, "SPDXRef-Image-Block")
			if block.PrimaryPackagePurpose != "FILE" || !block.FilesAnalyzed {
				t.Errorf("block package %+v", block)
			}
			inside := contained(d, "SPDXRef-Image-Block")
			want := map[string]string{"./conf/redis.conf": sum("port 6379"), "./deep/a/b/c": sum("c"), "./big": sum(big), "./empty": sum(""), "./init": sum("#!init")}
			for p, s := range want {
				if inside[p] != s {
					t.Errorf("%s: %q, want %q", p, inside[p], s)
				}
			}
			if len(inside) != len(want) {
				t.Errorf("block files %v", inside)
			}
			if img := pkg(t, d, "SPDXRef-Image"); len(img.PackageExternalReferences) != 0 {
				t.Errorf("a docker-archive has no digest, but the image package has %+v", img.PackageExternalReferences)
			}
		})
	}
}

// TestGenerateIndex: an index of two images is the described package,
// with its digest, containing each image and their files.
func TestGenerateIndex(t *testing.T) {
	dir := writeFiles(t, "kernel", kernel)
	var descs []*args.Args
	for _, arch := range []string{"amd64", "arm64"} {
		a, err := args.DecodeJSON([]byte(`{"name":"bunix/multi","tag":"t2","architecture":"`+arch+`","format":"oci-archive",
			"files":{"kernel":"/unikernel/kernel"},
			"annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"/unikernel/kernel","cmdline":"k"}}`), "args.json", dir)
		if err != nil {
			t.Fatal(err)
		}
		descs = append(descs, a)
	}
	out := filepath.Join(t.TempDir(), "index.tar")
	if _, err := build.Write(context.Background(), out, descs); err != nil {
		t.Fatal(err)
	}
	f, err := image.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := sbom.Generate(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	d := readBack(t, doc)
	described, err := spdxlib.GetDescribedPackageIDs(d)
	if err != nil || len(described) != 1 || described[0] != "Index" {
		t.Fatalf("described %v %v", described, err)
	}
	idx := pkg(t, d, "SPDXRef-Index")
	digest, _ := f.Index.Digest()
	if idx.PackageName != "bunix/multi" || idx.PackageVersion != "t2" || !strings.Contains(idx.PackageExternalReferences[0].Locator, digest.Hex) {
		t.Errorf("index package %+v, digest %s", idx, digest)
	}
	for i := range 2 {
		id := fmt.Sprintf("SPDXRef-Image-%d", i)
		if got := contained(d, id); got["./unikernel/kernel"] != sum(kernel) {
			t.Errorf("%s files %v", id, got)
		}
		pkg(t, d, id+"-Kernel")
	}
	if got := contained(d, "SPDXRef-Index"); len(got) != 0 {
		t.Errorf("the index contains files %v", got)
	}
}

// TestGenerateBase: on a base image, the base's layers' files are listed
// too, each saying which layer holds it, and a base that is a Nix store
// path is a package.
func TestGenerateBase(t *testing.T) {
	dir := writeFiles(t, "kernel", kernel, "base/etc/os-release", "ID=base", "app", "the app")
	base := buildFile(t, dir, `{"name":"bunix/base","files":{"kernel":"/unikernel/kernel","base/etc":"/etc"},
		"annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"/unikernel/kernel","cmdline":"k"}}`, "oci-archive")
	f := buildImage(t, dir, `{"name":"bunix/app","from":"`+base+`","files":{"app":"/app"}}`, "oci-archive")
	doc, err := sbom.Generate(context.Background(), f, sbom.WithSources([]sbom.Source{{Path: "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nginx-1.15-oci"}}))
	if err != nil {
		t.Fatal(err)
	}
	d := readBack(t, doc)
	got := contained(d, "SPDXRef-Image")
	if got["./etc/os-release"] != sum("ID=base") || got["./app"] != sum("the app") || got["./unikernel/kernel"] != sum(kernel) {
		t.Errorf("files of the base and of the image: %v", got)
	}
	for _, file := range d.Files {
		if file.FileName == "./etc/os-release" && !strings.HasPrefix(file.FileComment, "in layer 1 of ") {
			t.Errorf("the base's file says %q", file.FileComment)
		}
	}
	nix := pkg(t, d, "SPDXRef-Nix-0123456789abcdfghijklmnpqrsvwxyz-nginx-1.15-oci")
	if nix.PackageName != "nginx" || nix.PackageVersion != "1.15-oci" {
		t.Errorf("base package %q %q", nix.PackageName, nix.PackageVersion)
	}
}
