package nixbuild

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/args"
)

// StreamScript is what nix/lib.nix's streamImage writes after the script's
// "#!" line: the spec of the image and the layer directories
// (build.WriteLayer's) it takes its layers from. nix-stream-script writes
// it, nix-stream reads it (see the package doc for the other contracts).
type StreamScript struct {
	Spec   json.RawMessage `json:"spec"`
	Layers []string        `json:"layers"`
}

// ReadStreamScript reads the streamImage script at path (ParseStreamScript).
func ReadStreamScript(path string) (*StreamScript, error) {
	data, err := filekind.ReadRegular(path, args.MaxEvalOutput)
	if errors.Is(err, filekind.ErrTooLarge) {
		return nil, fmt.Errorf("%s: the stream script is larger than %d bytes", path, args.MaxEvalOutput)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	s, err := ParseStreamScript(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseStreamScript reads a streamImage script: a "#!" line, then one
// StreamScript as JSON. At most args.MaxEvalOutput bytes are accepted.
func ParseStreamScript(data []byte) (*StreamScript, error) {
	if len(data) > args.MaxEvalOutput {
		return nil, fmt.Errorf("the stream script is larger than %d bytes", args.MaxEvalOutput)
	}
	line, rest, ok := bytes.Cut(data, []byte("\n"))
	if !ok || !bytes.HasPrefix(line, []byte("#!")) {
		return nil, errors.New("the stream script does not start with a #! line")
	}
	var s StreamScript
	d := json.NewDecoder(bytes.NewReader(rest))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("the stream script, after its #! line: %w", err)
	}
	if d.More() {
		return nil, errors.New("the stream script holds more than one JSON value after its #! line")
	}
	if len(s.Spec) == 0 || string(s.Spec) == "null" {
		return nil, errors.New("the stream script has no spec")
	}
	for _, l := range s.Layers {
		if !filepath.IsAbs(l) {
			return nil, fmt.Errorf("the stream script's layer %s is not an absolute path", msg.Quote(l, 256))
		}
	}
	return &s, nil
}
