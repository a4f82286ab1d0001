package args

import (
	"errors"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
)

// good is a valid description; tests change one thing at a time.
const good = `{
  "name": "urunc/prebuilt/redis-rumprun-hvt",
  "tag": "test",
  "files": { "./redis.hvt": "/unikernel/redis.hvt", "./redis.conf": "/conf/redis.conf" },
  "annotations": { "unikernelType": "rumprun", "hypervisor": "hvt", "binary": "/unikernel/redis.hvt",
                   "cmdline": "redis-server /data/conf/redis.conf", "unikernelVersion": "", "initrd": "",
                   "block": "", "blkMntPoint": "", "useDMBlock": "true" }
}`

func resolve(t *testing.T, js string) (*Resolved, error) {
	t.Helper()
	a, err := DecodeJSON([]byte(js), "args.nix", "/src")
	if err != nil {
		return nil, err
	}
	return a.Resolve()
}

func TestResolveGood(t *testing.T) {
	r, err := resolve(t, good)
	if err != nil {
		t.Fatal(err)
	}
	if r.Ref != "urunc/prebuilt/redis-rumprun-hvt:test" {
		t.Errorf("Ref = %q", r.Ref)
	}
	if r.Architecture != "amd64" {
		t.Errorf("Architecture = %q, want the fixed default amd64", r.Architecture)
	}
	want := map[string]string{
		"unikernelType": "rumprun", "hypervisor": "hvt", "binary": "/unikernel/redis.hvt",
		"cmdline": "redis-server /data/conf/redis.conf", "useDMBlock": "true", "mountRootfs": "true",
	}
	if len(r.Settings) != len(want) {
		t.Errorf("Settings = %v, want %v (empty values dropped)", r.Settings, want)
	}
	for k, v := range want {
		if r.Settings[k] != v {
			t.Errorf("Settings[%s] = %q, want %q", k, r.Settings[k], v)
		}
	}
	if got := strings.Join(r.Cmd, "|"); got != "redis-server|/data/conf/redis.conf" {
		t.Errorf("Cmd = %q", r.Cmd)
	}
	if len(r.Copies) != 2 || r.Copies[0].Source != "/src/redis.conf" || r.Copies[0].Target != "/conf/redis.conf" || r.Copies[0].Field != `files."./redis.conf"` {
		t.Errorf("Copies = %+v", r.Copies)
	}
}

func TestResolveDefaults(t *testing.T) {
	r, err := resolve(t, `{"name":"x","files":{"/abs/k":"/k"},"architecture":"aarch64",
		"annotations":{"unikernelType":"unikraft","com.urunc.unikernel.hypervisor":"qemu","binary":"/k","mountRootfs":"1"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if r.Ref != "x:latest" || r.Architecture != "arm64" || r.Copies[0].Source != "/abs/k" {
		t.Errorf("got %q %q %q", r.Ref, r.Architecture, r.Copies[0].Source)
	}
	if r.Settings["useDMBlock"] != "true" || r.Settings["mountRootfs"] != "true" || r.Settings["hypervisor"] != "qemu" {
		t.Errorf("Settings = %v", r.Settings)
	}
	if r.Cmd != nil {
		t.Errorf("Cmd = %q, want none without a cmdline", r.Cmd)
	}
}

// edit returns good with old replaced by new, failing if old is not there.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(good, old) {
		t.Fatalf("%q not in the good description", old)
	}
	return strings.Replace(good, old, new, 1)
}

func TestResolveBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		want           []string // substrings of the error, in order
	}{
		{"empty name", `"name": "urunc/prebuilt/redis-rumprun-hvt"`, `"name": ""`, []string{`args.nix: name = "": must not be empty`}},
		{"uppercase name", `"name": "urunc/prebuilt/redis-rumprun-hvt"`, `"name": "Urunc/Redis"`, []string{`name = "Urunc/Redis": not a valid image repository name`}},
		// go-containerregistry checks only the characters of a name; these
		// pass it, and docker load refuses them ("invalid reference format").
		{"dotdot name", `"name": "urunc/prebuilt/redis-rumprun-hvt"`, `"name": "../x"`, []string{`name = "../x": not a valid image repository name: registry ".." is not a host name`}},
		{"store path as name", `"name": "urunc/prebuilt/redis-rumprun-hvt"`, `"name": "/nix/store/abc-kernel"`, []string{`name = "/nix/store/abc-kernel": not a valid image repository name: path component "" must be`}},
		{"double slash name", `"name": "urunc/prebuilt/redis-rumprun-hvt"`, `"name": "a//b"`, []string{`path component "" must be`}},
		{"leading underscore name", `"name": "urunc/prebuilt/redis-rumprun-hvt"`, `"name": "_a/b"`, []string{`path component "_a" must be`}},
		{"dotted component", `"name": "urunc/prebuilt/redis-rumprun-hvt"`, `"name": "a/.b"`, []string{`path component ".b" must be`}},
		{"long target name", `"/conf/redis.conf"`, `"/conf/` + strings.Repeat("r", 256) + `"`, []string{`target has a name of 256 bytes ("rrrr`, `a file name is at most 255 bytes (NAME_MAX)`}},
		{"long target", `"/conf/redis.conf"`, `"` + strings.Repeat("/conf", 820) + `"`, []string{`target is 4100 bytes long: a path in an image is at most 4095 bytes (PATH_MAX, 4096, with its NUL)`}},
		// 4096 bytes: what the build refuses (its NUL makes PATH_MAX), so
		// validate refuses it too.
		{"target of PATH_MAX", `"/conf/redis.conf"`, `"` + strings.Repeat("/conf", 819) + `x"`, []string{`target is 4096 bytes long: a path in an image is at most 4095 bytes`}},
		{"bad tag", `"tag": "test"`, `"tag": "a:b"`, []string{`tag = "a:b": not a valid tag`}},
		{"empty tag", `"tag": "test"`, `"tag": ""`, []string{`tag = "": not a valid tag`}},
		{"relative target", `"/conf/redis.conf"`, `"conf/redis.conf"`, []string{`files."./redis.conf" = "conf/redis.conf": target must be an absolute path in the image (did you mean "/conf/redis.conf"?)`}},
		{"dotdot target", `"/conf/redis.conf"`, `"/conf/../etc/x"`, []string{`target must not contain ".."`}},
		{"unclean target", `"/conf/redis.conf"`, `"/conf//redis.conf"`, []string{`target must be a clean path (did you mean "/conf/redis.conf"?)`}},
		{"urunc.json target", `"/conf/redis.conf"`, `"/urunc.json"`, []string{`files."./redis.conf" = "/urunc.json": target /urunc.json is reserved`}},
		{"root target", `"/conf/redis.conf"`, `"/"`, []string{`not the image root`}},
		{"two sources one target", `"/conf/redis.conf"`, `"/unikernel/redis.hvt"`, []string{`target is also the target of`, `two sources cannot share one target`}},
		{"unknown key", `"initrd": ""`, `"initrdd": ""`, []string{`annotations.initrdd = "": unknown annotation; did you mean "initrd"?`}},
		{"runtime key", `"initrd": ""`, `"vAccel": "x"`, []string{`annotations.vAccel = "x": vAccel is set by the runtime`}},
		{"missing binary", `"binary": "/unikernel/redis.hvt",`, ``, []string{`annotations.binary: missing: urunc needs binary`}},
		{"empty binary", `"binary": "/unikernel/redis.hvt"`, `"binary": ""`, []string{`annotations.binary: missing`}},
		{"missing type", `"unikernelType": "rumprun", `, ``, []string{`annotations.unikernelType: missing`}},
		{"unknown guest", `"unikernelType": "rumprun"`, `"unikernelType": "rumprn"`, []string{`annotations.unikernelType = "rumprn": unknown unikernel type; did you mean "rumprun"?`}},
		{"unknown monitor", `"hypervisor": "hvt"`, `"hypervisor": "qemu2"`, []string{`annotations.hypervisor = "qemu2": unknown hypervisor; did you mean "qemu"? (known: qemu, firecracker, cloud-hypervisor, hvt, spt, hyperlight-unikraft)`}},
		{"bad pair", `"hypervisor": "hvt"`, `"hypervisor": "firecracker"`, []string{`annotations.hypervisor = "firecracker": urunc cannot run a rumprun guest on firecracker (it runs rumprun on: hvt, spt)`}},
		{"not a string", `"useDMBlock": "true"`, `"useDMBlock": true`, []string{`annotations.useDMBlock = true: must be a string`}},
		{"number value", `"cmdline": "redis-server /data/conf/redis.conf"`, `"cmdline": 5`, []string{`annotations.cmdline = 5: must be a string`}},
		{"whitespace value", `"unikernelVersion": ""`, `"unikernelVersion": " \t"`, []string{`annotations.unikernelVersion = " \t": is only white space`}},
		{"CRLF value", `"unikernelVersion": ""`, `"unikernelVersion": "\r\n"`, []string{`annotations.unikernelVersion = "\r\n": is only white space`}},
		{"line break", `"cmdline": "redis-server /data/conf/redis.conf"`, `"cmdline": "a\nb"`, []string{`must be one line`}},
		{"bad bool", `"useDMBlock": "true"`, `"useDMBlock": "yes"`, []string{`annotations.useDMBlock = "yes": must be "true" or "false"`}},
		{"synonyms disagree", `"useDMBlock": "true"`, `"useDMBlock": "true", "mountRootfs": "false"`, []string{`annotations.mountRootfs = "false": disagrees with useDMBlock`}},
		{"bad binary path", `"binary": "/unikernel/redis.hvt"`, `"binary": "/unikernel/redis hvt"`, []string{`only letters, digits`}},
		{"relative binary", `"binary": "/unikernel/redis.hvt"`, `"binary": "unikernel/redis.hvt"`, []string{`did you mean "/unikernel/redis.hvt"?`}},
		{"unclean initrd", `"initrd": ""`, `"initrd": "/a/./b"`, []string{`annotations.initrd = "/a/./b": must be a clean path`}},
		{"bad solo5 dev", `"initrd": ""`, `"solo5NetDev": "tap-0"`, []string{`solo5 device names`}},
		{"unterminated quote", `"cmdline": "redis-server /data/conf/redis.conf"`, `"cmdline": "redis-server 'x"`, []string{`annotations.cmdline = "redis-server 'x": cannot be split into words: unterminated single quote`}},
		{"unknown field", `"tag": "test"`, `"tag": "test", "annotation": {}`, []string{`annotation: unknown field; did you mean "annotations"?`}},
		{"files not a set", `"files": {`, `"files": [], "x": {`, []string{`files = []: must be an attribute set of strings`}},
		{"target not a string", `"./redis.conf": "/conf/redis.conf"`, `"./redis.conf": 1`, []string{`files."./redis.conf" = 1: must be a string`}},
		{"unknown arch", `"tag": "test"`, `"tag": "test", "architecture": "riscv64"`, []string{`architecture = "riscv64": unknown architecture`}},
		{"empty source", `"./redis.conf"`, `""`, []string{`files."" = "": source must not be empty`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resolve(t, edit(t, tc.old, tc.new))
			if err == nil {
				t.Fatal("no error")
			}
			if !IsUserError(err) {
				t.Errorf("IsUserError(%v) = false", err)
			}
			if w := testenv.MissingInOrder(err.Error(), tc.want...); w != "" {
				t.Fatalf("error\n%s\ndoes not contain, in order,\n%s", err, w)
			}
		})
	}
}

func TestResolveReportsEveryProblem(t *testing.T) {
	js := edit(t, `"hypervisor": "hvt"`, `"hypervisor": "hvt2"`)
	js = strings.Replace(js, `"tag": "test"`, `"tag": "a b"`, 1)
	js = strings.Replace(js, `"/conf/redis.conf"`, `"conf"`, 1)
	_, err := resolve(t, js)
	var fes []*FieldError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if errors.As(e, &fe) {
			fes = append(fes, fe)
		}
	}
	fields := map[string]bool{}
	for _, fe := range fes {
		fields[fe.Field] = true
	}
	for _, f := range []string{"tag", `files."./redis.conf"`, "annotations.hypervisor"} {
		if !fields[f] {
			t.Errorf("no error about %s in %v", f, err)
		}
	}
}

func TestDecodeSpec(t *testing.T) {
	spec := `{"version":4,"name":"bunix/hello","annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"/k"},
		"contents":[{"source":"/nix/store/abc-k","target":"/k","field":"files.\"./k\""}]}`
	as, err := DecodeSpec([]byte(spec))
	if err != nil || len(as) != 1 {
		t.Fatal(as, err)
	}
	r, err := as[0].Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if r.Copies[0].Source != "/nix/store/abc-k" || r.Copies[0].Field != `files."./k"` {
		t.Errorf("Copies = %+v", r.Copies)
	}
	for _, tc := range []struct{ spec, want string }{
		{`{"version":1,"name":"x"}`, `builder spec version 1 is not supported by this bunix (it reads version 4): the nix/lib.nix that made the spec is older than this bunix`},
		{`{"version":3,"name":"x","urunc":"0.7"}`, `builder spec version 3 is not supported by this bunix (it reads version 4): the nix/lib.nix that made the spec is older than this bunix`},
		{`{"version":5,"name":"x","newKey":1}`, `builder spec version 5 is not supported by this bunix (it reads version 4): this bunix is older than the nix/lib.nix that made the spec: update bunix`},
		{`{"name":"x"}`, `builder spec version null is not supported`},
		{`[1]`, `want a JSON object`},
		{`{"version":4,"name":"x","contents":[{"source":"/a","target":"/b","mode":1}]}`, `bunix.buildImage x: contents[0].mode: unknown field`},
		{`{"version":4,"images":[]}`, `images must be a non-empty list`},
		{`{"version":4,"images":[1]}`, `images[0] is not an image made by buildImage`},
		// A store path with ".." names a file outside it, which the
		// builder would read (the sandbox's /etc/passwd).
		{`{"version":4,"name":"x","positions":{"contents[0]":"args.nix:4:5"},"contents":[{"source":"/nix/store/abc-d/../../etc/passwd","target":"/x","field":"contents[0]"}]}`, `args.nix:4:5: contents[0] = "/nix/store/abc-d/../../etc/passwd": source has a ".." in it`},
		// encoding/json turned the byte into U+FFFD, silently.
		{"{\"version\":4,\"name\":\"x\",\"positions\":{\"cmd\":\"args.nix:7:3\"},\"cmd\":[\"ok\",\"a\xffb\"]}", `args.nix:7:3: cmd[1]: the value is not valid UTF-8 (byte 0xff)`},
		{"{\"version\":4,\"name\":\"x\",\"env\":{\"A\xfe\":\"v\"}}", "bunix.buildImage x: env.\"A\uFFFD\": the name is not valid UTF-8 (byte 0xfe)"},
		{"{\"version\":4,\"name\":\"x\",\"positions\":{\"annotations.cmdline\":\"args.nix:2:5\"},\"annotations\":{\"binary\":\"/k\",\"cmdline\":\"\xc3\"}}", `args.nix:2:5: annotations.cmdline: the value is not valid UTF-8 (byte 0xc3)`},
		// The index's own format, compression and layers are named as
		// buildImageIndex's, once, not as each image's field of buildImage.
		{`{"version":4,"format":"zip","images":[{"name":"x","positions":{"format":"args.nix:3:3"}}]}`, `bunix.buildImageIndex: format = "zip": unknown format`},
		{`{"version":4,"compression":"xz","images":[{"name":"x"}]}`, `bunix.buildImageIndex: compression = "xz": unknown compression`},
		{`{"version":4,"layers":1,"images":[{"name":"x"}]}`, `bunix.buildImageIndex: layers = 1: must be a string`},
	} {
		as, err := DecodeSpec([]byte(tc.spec))
		if err == nil {
			_, err = as[0].Resolve()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeSpec(%s) = %v, want %q", tc.spec, err, tc.want)
		}
	}
}

// TestDecodeIndexSpec: the images of an index take its format.
func TestDecodeIndexSpec(t *testing.T) {
	img := func(arch string) string {
		return `{"version":4,"name":"x","architecture":"` + arch + `","format":"docker-archive","contents":[{"source":"/k","target":"/k"}],
			"annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"/k"}}`
	}
	as, err := DecodeSpec([]byte(`{"version":4,"format":"oci-archive","compression":"zstd","images":[` + img("amd64") + `,` + img("arm64") + `]}`))
	if err != nil || len(as) != 2 {
		t.Fatal(as, err)
	}
	for i, arch := range []string{"amd64", "arm64"} {
		r, err := as[i].Resolve()
		if err != nil {
			t.Fatal(err)
		}
		if r.Architecture != arch || r.Format != "oci-archive" || r.Compression != "zstd" || r.MaxLayers != 100 {
			t.Errorf("image %d: %s %s %s %d", i, r.Architecture, r.Format, r.Compression, r.MaxLayers)
		}
	}
}

// TestDecodeIndexImages: what an index asks of its images together (one
// per platform, one name and tag, an index format for more than one) is
// checked at decoding, as bad input naming buildImageIndex's field; it was
// pkg/image's plain error when writing, which the builder exited 1 on.
func TestDecodeIndexImages(t *testing.T) {
	img := func(extra string) string {
		return `{"name":"x"` + extra + `,"contents":[{"source":"/k","target":"/k"}],"annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"/k"}}`
	}
	for _, tc := range []struct{ format, images, want string }{
		{`"oci-archive"`, img(``) + `,` + img(`,"architecture":"x86_64"`),
			`bunix.buildImageIndex: images[1].architecture = "x86_64": images[0] is for linux/amd64 too: an index holds one image per platform`},
		{`"oci"`, img(`,"architecture":"arm64"`) + `,` + img(``) + `,` + img(``),
			`bunix.buildImageIndex: images[2].architecture: images[1] is for linux/amd64 too (no architecture given: the default is amd64): an index holds one image per platform`},
		{`"docker-archive"`, img(``) + `,` + img(`,"architecture":"aarch64"`),
			`bunix.buildImageIndex: format = "docker-archive": holds one image, not 2 (linux/amd64, linux/arm64): an index is "oci-archive" (the default) or "oci"`},
		// An empty architecture is the default, as Resolve reads it.
		{`"oci-archive"`, img(``) + `,` + img(`,"architecture":""`),
			`bunix.buildImageIndex: images[1].architecture = "": images[0] is for linux/amd64 too`},
		{`"oci-archive"`, img(`,"tag":"1"`) + `,` + img(`,"architecture":"arm64"`),
			`bunix.buildImageIndex: images[1] = "x:latest": images[0] is "x:1": the images of an index share their name and tag`},
	} {
		spec := `{"version":4,"format":` + tc.format + `,"images":[` + tc.images + `]}`
		_, err := DecodeSpec([]byte(spec))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !IsUserError(err) {
			t.Errorf("DecodeSpec(%s) = %v, want a user error %q", spec, err, tc.want)
		}
	}
	// One image is an index of one in any format; an unknown architecture
	// is Resolve's to report, not a second platform of amd64.
	for _, spec := range []string{
		`{"version":4,"format":"docker-archive","images":[` + img(``) + `]}`,
		`{"version":4,"format":"oci","images":[` + img(`,"architecture":"amd64"`) + `,` + img(`,"architecture":"riscv"`) + `]}`,
	} {
		if _, err := DecodeSpec([]byte(spec)); err != nil {
			t.Errorf("DecodeSpec(%s) = %v", spec, err)
		}
	}
}

func TestOutputFields(t *testing.T) {
	r, err := resolve(t, edit(t, `"tag": "test"`, `"tag": "test", "format": "oci", "compression": "gzip", "layers": "single"`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != "oci" || r.Compression != "gzip" || r.MaxLayers != 1 {
		t.Errorf("got %s %s %d", r.Format, r.Compression, r.MaxLayers)
	}
	_, err = resolve(t, edit(t, `"tag": "test"`, `"tag": "test", "format": "tar", "compression": "xz", "layers": "many"`))
	for _, want := range []string{
		`format = "tar": unknown format (known: docker-archive, oci-archive, oci)`,
		`compression = "xz": unknown compression (known: none, gzip, zstd)`,
		`layers = "many": unknown layering (known: per-file, single)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
}

// TestZstdNeedsOCIFormat: zstd layers in a docker-archive, the default
// format or one the description names, are refused naming the formats
// that hold them (docker load refuses such an image); an OCI format, given
// by the description or over it by WithFormat (--format), takes them.
func TestZstdNeedsOCIFormat(t *testing.T) {
	want := `args.nix: compression = "zstd": the docker-archive format cannot hold zstd layers (docker load refuses them): set format = "oci-archive" or "oci", or compression = "gzip"`
	for _, extra := range []string{`"compression": "zstd"`, `"format": "docker-archive", "compression": "zstd"`} {
		_, err := resolve(t, edit(t, `"tag": "test"`, `"tag": "test", `+extra))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", extra, err, want)
		}
	}
	for _, extra := range []string{`"format": "oci-archive", "compression": "zstd"`, `"format": "oci", "compression": "zstd"`, `"compression": "gzip"`} {
		if _, err := resolve(t, edit(t, `"tag": "test"`, `"tag": "test", `+extra)); err != nil {
			t.Errorf("%s: %v", extra, err)
		}
	}
	a, err := DecodeJSON([]byte(edit(t, `"tag": "test"`, `"tag": "test", "compression": "zstd"`)), "args.nix", "/src")
	if err != nil {
		t.Fatal(err)
	}
	if a.WrittenFormat() != image.DockerArchive {
		t.Errorf("WrittenFormat() = %q", a.WrittenFormat())
	}
	o := a.WithFormat(image.OCIArchive)
	if r, err := o.Resolve(); err != nil || r.Format != image.OCIArchive || o.WrittenFormat() != image.OCIArchive {
		t.Errorf("WithFormat(oci-archive): %v", err)
	}
	if _, err := a.Resolve(); err == nil {
		t.Error("WithFormat changed the description it copied")
	}
}

func TestUserContentsHaveNoField(t *testing.T) {
	_, err := resolve(t, `{"name":"x","contents":[{"source":"a","target":"/b","field":"f"}]}`)
	if err == nil || !strings.Contains(err.Error(), "contents[0].field: unknown field") {
		t.Errorf("got %v", err)
	}
}

// TestAllErrorsAtOnce: an unknown field, or one of the wrong type, does not
// hide the problems with the other fields: they are reported together, each
// once, at most MaxReported of them.
func TestAllErrorsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		want           []string
		not            []string
	}{
		{"unknown field and five mistakes", `"tag": "test"`,
			`"tga": "1.0", "tag": "-x", "architecture": "sparc", "format": "tar", "env": {"1A": "b"}, "cmd": [1]`,
			[]string{`tga: unknown field; did you mean "tag"?`, `tag = "-x": not a valid tag`, `architecture = "sparc": unknown architecture`,
				`format = "tar": unknown format`, `env.1A = "b": "1A" is not a variable name`, `cmd[0] = 1: must be a string`}, nil},
		{"unknown and annotation errors", `"hypervisor": "hvt"`, `"hypervisor": "qemu2", "bianry": "x"`,
			[]string{`annotations.hypervisor = "qemu2": unknown hypervisor`, `annotations.bianry`}, nil},
		{"unknown top-level and annotation errors", `"tag": "test"`, `"tga": "test", "contents": 3`,
			[]string{`tga: unknown field`, `contents = 3: must be a list of`}, nil},
		{"files of the wrong type are not also empty", `"files": { "./redis.hvt": "/unikernel/redis.hvt", "./redis.conf": "/conf/redis.conf" }`, `"files": 3`,
			[]string{`files = 3: must be an attribute set of strings`}, []string{`nothing to copy`}},
		{"wrong type is not reported again", `"tag": "test"`, `"name": 5, "tag": 6`,
			[]string{`name = 5: must be a string`, `tag = 6: must be a string`},
			[]string{`must not be empty`, `not a valid tag`}},
		{"annotation of the wrong type is not also missing", `"binary": "/unikernel/redis.hvt"`, `"binary": 7`,
			[]string{`annotations.binary = 7: must be a string`},
			[]string{`annotations.binary: missing`}},
		{"unknown rootfs field and a bad rootfs type", `"tag": "test"`, `"tag": "test", "rootfs": {"type": "disk", "incldue": {}}`,
			[]string{`rootfs.incldue: unknown field; did you mean "include"?`, `rootfs.type = "disk": unknown rootfs type`}, nil},
		{"unknown contents field and a bad target", `"tag": "test"`, `"tag": "test", "contents": [{"source": "a", "target": "b", "mode": 1}]`,
			[]string{`contents[0].mode: unknown field`, `contents[0] = "b": target must be an absolute path`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js := strings.Replace(good, tc.from, tc.to, 1)
			if js == good {
				t.Fatalf("%q is not in good", tc.from)
			}
			_, err := resolve(t, js)
			if err == nil || !IsUserError(err) {
				t.Fatalf("got %v", err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if strings.Count(msg, w) != 1 {
					t.Errorf("%q appears %d times in:\n%s", w, strings.Count(msg, w), msg)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(msg, w) {
					t.Errorf("%q reported:\n%s", w, msg)
				}
			}
		})
	}
}

// TestAllErrorsPositions: decoding's problems and Resolve's carry the
// positions of their fields.
func TestAllErrorsPositions(t *testing.T) {
	js := strings.Replace(good, `"tag": "test"`, `"tga": "test", "tag": 1`, 1)
	js = strings.Replace(js, `"hypervisor": "hvt"`, `"hypervisor": "qemu2"`, 1)
	a, err := decodeNixEval([]byte(`{"args":`+js+`,"positions":{"tga":"/src/args.nix:3:3","tag":"/src/args.nix:4:3","annotations.hypervisor":"/src/args.nix:5:7"}}`), "args.nix", "/src/args.nix", "/src")
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Resolve()
	for _, w := range []string{"args.nix:3:3: tga: unknown field", "args.nix:4:3: tag = 1: must be a string", `args.nix:5:7: annotations.hypervisor = "qemu2"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("got %v, want %q", err, w)
		}
	}
}

// TestCopyOrigin: a copy remembers the source as written, so that a
// message about the resolved path can name what the user wrote, and the
// target.
func TestCopyOrigin(t *testing.T) {
	r, err := resolve(t, good)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, cp := range r.Copies {
		if cp.Field == `files."./redis.hvt"` {
			found = true
			if got, want := cp.Origin(), `, written "./redis.hvt", for /unikernel/redis.hvt`; got != want {
				t.Errorf("Origin() = %q, want %q", got, want)
			}
		}
	}
	if !found {
		t.Errorf("no copy of ./redis.hvt in %+v", r.Copies)
	}
	// An absolute source is not repeated.
	if got := (Copy{Source: "/a", Written: "/a", Target: "/k"}).Origin(); got != ", for /k" {
		t.Errorf("Origin() = %q", got)
	}
}
