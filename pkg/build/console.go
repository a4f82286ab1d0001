package build

import (
	"fmt"
	"io"
	"os"

	"github.com/nubificus/bunix/internal/msg"
)

// WarningsTo has each warning about a description printed on w (standard
// error) as a "bunix: warning: " line: how bunix build, validate and the
// Nix builders report them.
func WarningsTo(w io.Writer) Option {
	return WithWarnings(func(m string) { fmt.Fprintln(w, "bunix: warning: "+msg.Lines(m)) })
}

// IsOutput reports whether out, an output path, names the file w writes
// to (-o /dev/stdout when w is standard output): w then holds the image
// and nothing else may be written to it.
func IsOutput(w io.Writer, out string) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	a, err1 := f.Stat()
	b, err2 := os.Stat(out)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}
