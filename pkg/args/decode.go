package args

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/image"
)

// topFields are the fields of a description, in documentation order.
var topFields = []string{"name", "tag", "files", "contents", "annotations", "env", "entrypoint", "cmd", "architecture", "rootfs", "format", "compression", "layers", "from", "urunc", "urunit", "workingDir", "user"}

// DecodeJSON decodes a description from JSON, e.g. the output of
// `nix-instantiate --eval --strict --json args.nix`. file names it in
// messages; root is the directory relative sources are resolved against.
func DecodeJSON(data []byte, file, root string) (*Args, error) {
	v, err := parseJSON(data)
	if fe, ok := err.(*FieldError); ok {
		fe.Where = file
		return nil, fe
	} else if err != nil {
		return nil, &EvalError{File: file, Message: err.Error()}
	}
	return fromValue(v, file, root, nil, false)
}

// decodeNixEval decodes what evalExpr printed: the description and where
// its fields are written. Positions in the file at abs are shown with the
// name the user gave it, display.
func decodeNixEval(data []byte, display, abs, root string) (*Args, error) {
	var out struct {
		Args      json.RawMessage   `json:"args"`
		Positions map[string]string `json:"positions"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("decoding the evaluation of %s: %w", display, err)
	}
	for k, p := range out.Positions {
		if rest, ok := strings.CutPrefix(p, abs+":"); ok {
			out.Positions[k] = display + ":" + rest
		}
	}
	v, err := parseJSON(out.Args)
	if fe, ok := err.(*FieldError); ok {
		fe.Where = where(display, out.Positions, fe.Field)
		return nil, fe
	} else if err != nil {
		return nil, fmt.Errorf("decoding the evaluation of %s: %w", display, err)
	}
	return fromValue(v, display, root, out.Positions, false)
}

// DecodeSpec decodes the JSON spec that nix/lib.nix hands the derivation's
// builder: a description whose sources are all absolute store paths, plus a
// "version" that must be SpecVersion and optional "positions" (field name to
// "file:line:col" in the user's args file) for messages. It returns one
// description, or, for the spec of buildImageIndex ({ version, images,
// format, compression, layers }), one for each image, each taking the
// index's format, compression and layers.
func DecodeSpec(data []byte) ([]*Args, error) {
	v, err := parseJSON(data)
	if fe, ok := err.(*FieldError); ok {
		// Where the user wrote it, for the spec of one image.
		m, _ := v.(map[string]any)
		file, positions := specWhere(m)
		fe.Where = where(file, positions, fe.Field)
		return nil, fe
	} else if err != nil {
		return nil, fmt.Errorf("decoding the builder spec: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decoding the builder spec: want a JSON object, got %s", quote(v))
	}
	if ver, _ := m["version"].(json.Number); ver.String() != strconv.Itoa(SpecVersion) {
		advice := "use nix/lib.nix and bunix from the same release"
		if n, err := ver.Int64(); err == nil && n > SpecVersion {
			advice = "this bunix is older than the nix/lib.nix that made the spec: update bunix (the bunix argument, or the flake's bunix input) to the release of nix/lib.nix"
		} else if err == nil {
			advice = "the nix/lib.nix that made the spec is older than this bunix: use nix/lib.nix from the release of this bunix"
		}
		return nil, fmt.Errorf("builder spec version %s is not supported by this bunix (it reads version %d): %s", quote(m["version"]), SpecVersion, advice)
	}
	delete(m, "version")
	images, isIndex := m["images"]
	if !isIndex {
		a, err := specArgs(m)
		if err != nil {
			return nil, err
		}
		return []*Args{a}, nil
	}
	// An index: its images, written together in its format.
	list, ok := images.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("bunix.buildImageIndex: images must be a non-empty list of images made by buildImage")
	}
	if err := checkIndexOutput(m); err != nil {
		return nil, err
	}
	var out []*Args
	for i, item := range list {
		im, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("bunix.buildImageIndex: images[%d] is not an image made by buildImage", i)
		}
		delete(im, "version")
		positions, _ := im["positions"].(map[string]any)
		for _, k := range []string{"format", "compression", "layers"} {
			if v, ok := m[k]; ok {
				im[k] = v
			} else {
				delete(im, k)
			}
			// The index's value replaces the image's, whose position
			// would point at a line that no longer says it.
			delete(positions, k)
		}
		a, err := specArgs(im)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := checkIndexImages(m, out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkIndexImages checks what an index asks of its images together: one
// image per platform, the same name and tag, and, for more than one, a
// format that holds more than one. pkg/image refuses these too, but only
// when writing, with no field named and as a failure (exit 1) rather than
// bad input. An architecture Resolve will refuse is left to it.
func checkIndexImages(m map[string]any, images []*Args) error {
	const where = "bunix.buildImageIndex"
	bad := func(field, value, reason string, a ...any) error {
		return &FieldError{Where: where, Field: field, Value: value, Reason: fmt.Sprintf(reason, a...)}
	}
	var errs []error
	if f, _ := m["format"].(string); len(images) > 1 && (f == "" || f == string(image.DockerArchive)) {
		var archs []string
		for _, a := range images {
			archs = append(archs, "linux/"+indexArch(a))
		}
		errs = append(errs, bad("format", quote(string(image.DockerArchive)), "holds one image, not %d (%s): an index is \"oci-archive\" (the default) or \"oci\"", len(images), strings.Join(archs, ", ")))
	}
	seen := map[string]int{}
	for i, a := range images {
		if arch := indexArch(a); arch != "" {
			if j, dup := seen[arch]; dup {
				v := ""
				if images[i].present["architecture"] {
					v = quote(a.Architecture)
				}
				why := ""
				if v == "" {
					why = " (no architecture given: the default is " + DefaultArchitecture + ")"
				}
				errs = append(errs, bad(fmt.Sprintf("images[%d].architecture", i), v, "images[%d] is for linux/%s too%s: an index holds one image per platform", j, arch, why))
			} else {
				seen[arch] = i
			}
		}
		if i > 0 && (a.Name != images[0].Name || tagOf(a) != tagOf(images[0])) {
			errs = append(errs, bad(fmt.Sprintf("images[%d]", i), quote(a.Name+":"+tagOf(a)), "images[0] is %s: the images of an index share their name and tag", quote(images[0].Name+":"+tagOf(images[0]))))
		}
	}
	return joinCapped(errs)
}

// indexArch is the architecture a names, as Resolve reads it, or "" for
// one Resolve refuses.
func indexArch(a *Args) string {
	arch, _ := a.arch()
	return arch
}

// tagOf is a's tag, as Resolve reads it: "latest" when a gives none.
func tagOf(a *Args) string {
	if !a.present["tag"] {
		return "latest"
	}
	return a.Tag
}

// checkIndexOutput checks an index's own format, compression and layers
// (buildImageIndex's arguments), naming buildImageIndex: copied into each
// image unchecked, a bad one was reported once per image, as that image's
// field of buildImage.
func checkIndexOutput(m map[string]any) error {
	var errs []error
	bad := func(field string, v any, reason string) {
		errs = append(errs, &FieldError{Where: "bunix.buildImageIndex", Field: field, Value: quote(v), Reason: reason})
	}
	for _, k := range []string{"format", "compression", "layers"} {
		v, ok := m[k]
		if !ok {
			continue
		}
		s, isString := v.(string)
		if !isString {
			bad(k, v, "must be a string")
			continue
		}
		var err error
		switch k {
		case "format":
			_, err = image.ParseFormat(s)
		case "compression":
			_, err = image.ParseCompression(s)
		case "layers":
			if s != "per-file" && s != "single" {
				bad(k, v, unknownLayering)
			}
		}
		if err != nil {
			bad(k, v, parseReason(err))
		}
	}
	return joinCapped(errs)
}

// specArgs decodes the description of one image of a builder spec.
func specArgs(m map[string]any) (*Args, error) {
	file, positions := specWhere(m)
	delete(m, "positions")
	return fromValue(m, file, "/", positions, true)
}

// specWhere returns what messages about the spec of one image say it is
// ("bunix.buildImage NAME") and where its fields are in the user's file.
func specWhere(m map[string]any) (file string, positions map[string]string) {
	file = "bunix.buildImage"
	if n, ok := m["name"].(string); ok && n != "" {
		file += " " + n
	}
	positions = map[string]string{}
	if p, ok := m["positions"].(map[string]any); ok {
		for k, v := range p {
			if s, ok := v.(string); ok {
				positions[k] = s
			}
		}
	}
	return file, positions
}

func parseJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("unexpected data after the top-level value")
	}
	if !utf8.Valid(data) {
		return v, badUTF8(data)
	}
	return v, nil
}

// badUTF8 returns the FieldError (with no Where: the caller knows the
// file) of the first string in the JSON data that is not UTF-8. Nix
// strings are bytes, and encoding/json replaces each invalid byte with
// U+FFFD: cmd = [ "a\xffb" ] became "a\ufffdb" in the image, exit 0.
func badUTF8(data []byte) *FieldError {
	type frame struct {
		object, wantKey bool
		key             string
		index           int
	}
	var stack []*frame
	path := func(last string) string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case !f.object:
				fmt.Fprintf(&b, "[%d]", f.index)
			case f.key != "":
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(fieldKey(f.key))
			}
		}
		if last != "" {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(fieldKey(last))
		}
		return b.String()
	}
	next := func() {
		if n := len(stack); n > 0 {
			if f := stack[n-1]; f.object {
				f.wantKey = true
			} else {
				f.index++
			}
		}
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	for {
		start := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			break
		}
		raw := data[start:d.InputOffset()]
		isKey := len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey
		if i := msg.InvalidUTF8(raw); i >= 0 {
			field := path("")
			what := "value"
			if isKey {
				field, what = path(tok.(string)), "name"
			}
			if field == "" {
				field = "description"
			}
			bad := raw[i]
			return &FieldError{Field: field, Reason: fmt.Sprintf("the %s is not valid UTF-8 (byte 0x%02x), which an image config (JSON) cannot hold: bunix would have to change it; write it as text", what, bad)}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			next()
		default:
			if isKey {
				f := stack[len(stack)-1]
				f.key, f.wantKey = tok.(string), false
			} else {
				next()
			}
		}
	}
	return &FieldError{Field: "description", Reason: "is not valid UTF-8"}
}

// fieldKey renders an attribute name as messages name fields: as it is
// when it is an identifier, else quoted (files."./redis.hvt").
func fieldKey(k string) string {
	if identifier.MatchString(k) {
		return k
	}
	return strconv.Quote(k)
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_'-]*$`)

// fromValue turns a decoded JSON-like value into Args. A field of the wrong
// type, or unknown, is recorded in the Args rather than returned, so that
// Resolve reports it together with every other problem; only a value that
// is not an attribute set at all is an error here. spec allows
// contents[].field.
func fromValue(v any, file, root string, positions map[string]string, spec bool) (*Args, error) {
	a := &Args{File: file, Root: root, positions: positions, present: map[string]bool{}}
	c := &collector{a: a}
	m, ok := v.(map[string]any)
	if !ok {
		c.add("(top level)", v, "want an attribute set with name, annotations and files or contents")
		return nil, c.err()
	}
	for _, k := range sortedKeys(m) {
		val := m[k]
		a.present[k] = true
		switch k {
		case "name":
			a.Name = c.str(k, val)
		case "tag":
			a.Tag = c.str(k, val)
		case "architecture":
			if val != nil {
				a.Architecture = c.str(k, val)
			}
		case "files":
			var fromImages []Content
			val, fromImages = c.fileImages(val)
			a.Files = c.strMap(k, val, func(src string) string { return fmt.Sprintf("files.%q", src) })
			a.Contents = append(a.Contents, fromImages...)
		case "annotations":
			a.Annotations = c.strMap(k, val, func(key string) string { return "annotations." + key })
		case "contents":
			a.Contents = c.contents("contents", val, spec)
		case "env":
			a.Env = c.strMap(k, val, func(name string) string { return "env." + name })
		case "entrypoint":
			a.Entrypoint = c.strList(k, val)
		case "cmd":
			a.Cmd = c.strList(k, val)
		case "rootfs":
			a.Rootfs = c.rootfs(val, spec)
		case "format":
			a.Format = c.str(k, val)
		case "compression":
			a.Compression = c.str(k, val)
		case "layers":
			a.Layers = c.str(k, val)
		case "from":
			if a.From = c.from(val); spec && a.From != nil && a.From.Path != "" {
				c.storeSource(k, a.From.Path)
			}
		case "urunc":
			if val != nil {
				a.Urunc = c.str(k, val)
			}
		case "urunit":
			switch v := val.(type) {
			case nil:
			case map[string]any:
				a.UrunitImage = c.urunitImage(v, spec)
			default:
				if a.Urunit = c.str(k, val); a.Urunit == "" {
					c.add(k, val, "must not be empty: give the static urunit binary, or leave urunit out")
				} else if spec {
					c.storeSource(k, a.Urunit)
				}
			}
		case "workingDir":
			if val != nil {
				a.WorkingDir = c.str(k, val)
			}
		case "user":
			if val != nil {
				a.User = c.str(k, val)
			}
		default:
			c.unknown(k, "unknown field%s (known: %s)", suggest(k, topFields), strings.Join(topFields, ", "))
		}
	}
	// The problems found so far are reported by Resolve, with the ones it
	// finds in the fields that did decode: a mistyped key does not hide
	// the rest.
	a.decodeErrs = c.errs
	a.badFields = c.fields
	return a, nil
}

func (c *collector) str(field string, v any) string {
	s, ok := v.(string)
	if !ok {
		c.add(field, v, "must be a string")
	}
	return s
}

// fileImages takes out of files (v) the entries whose value is
// { image; target; }: copies of the path the key names out of that image,
// as contents entries named files."path". It returns the rest of v.
func (c *collector) fileImages(v any) (any, []Content) {
	m, ok := v.(map[string]any)
	if !ok {
		return v, nil
	}
	rest := make(map[string]any, len(m))
	var out []Content
	for _, k := range sortedKeys(m) {
		e, ok := m[k].(map[string]any)
		if !ok {
			rest[k] = m[k]
			continue
		}
		field := fmt.Sprintf("files.%q", k)
		ct := Content{Source: k, Field: field}
		for _, ek := range sortedKeys(e) {
			switch ek {
			case "image":
				ct.Image = c.imageRef(field+".image", e[ek])
			case "target":
				ct.Target = c.str(field+".target", e[ek])
			default:
				c.unknown(field+"."+ek, "unknown field (known: image, target)")
			}
		}
		if ct.Image == nil {
			c.add(field, nil, "a copy out of an image is { image = { ref; digest; hash; }; target = \"/...\"; }")
			continue
		}
		out = append(out, ct)
	}
	return rest, out
}

// strMap decodes an attribute set of strings. Values that are not strings
// are reported; name gives each entry's field name.
func (c *collector) strMap(field string, v any, name func(string) string) map[string]string {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		c.add(field, v, "must be an attribute set of strings")
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) {
		s, ok := m[k].(string)
		if !ok {
			c.add(name(k), m[k], "must be a string (write it in double quotes)")
			continue
		}
		out[k] = s
	}
	return out
}

// strList decodes a list of strings; null is no list.
func (c *collector) strList(field string, v any) []string {
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		c.add(field, v, `must be a list of strings, e.g. [ "/app" "--port" "80" ]`)
		return nil
	}
	out := make([]string, 0, len(list))
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			c.add(fmt.Sprintf("%s[%d]", field, i), item, "must be a string (write it in double quotes)")
			continue
		}
		out = append(out, s)
	}
	return out
}

// contents decodes a list of { source; target; } named name. spec allows
// each item's "field".
func (c *collector) contents(name string, v any, spec bool) []Content {
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		c.add(name, v, `must be a list of { source = ...; target = "/..."; }`)
		return nil
	}
	var out []Content
	for i, item := range list {
		field := fmt.Sprintf("%s[%d]", name, i)
		m, ok := item.(map[string]any)
		if !ok {
			c.add(field, item, `must be an attribute set { source = ...; target = "/..."; }`)
			continue
		}
		var ct Content
		for _, k := range sortedKeys(m) {
			switch {
			case k == "source":
				ct.Source = c.str(field+".source", m[k])
			case k == "target":
				ct.Target = c.str(field+".target", m[k])
			case k == "field" && spec:
				ct.Field = c.str(field+".field", m[k])
			case k == "image":
				ct.Image = c.imageRef(field+".image", m[k])
			default:
				c.unknown(field+"."+k, "unknown field (known: source, target, image)")
			}
		}
		for _, k := range []string{"source", "target"} {
			if _, ok := m[k]; !ok {
				c.add(field+"."+k, nil, "missing")
			}
		}
		if spec {
			name := field
			if ct.Field != "" {
				name = ct.Field
			}
			if ct.Image == nil {
				c.storeSource(name, ct.Source)
			} else if ct.Image.Path != "" {
				c.storeSource(name+".image", ct.Image.Path)
			}
		}
		out = append(out, ct)
	}
	return out
}

// storeSource adds the problem StoreSourceProblem finds with src, a
// source of a builder spec named field, if any.
func (c *collector) storeSource(field, src string) {
	if p := StoreSourceProblem(src); p != "" {
		c.add(field, src, "%s", p)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
