package image

import (
	"fmt"
	"strings"

	"github.com/nubificus/bunix/internal/msg"
)

// NameError is the error of ParseFormat and ParseCompression: a name that
// is none of the known ones.
type NameError struct {
	// What is what was named: "format" or "compression".
	What string
	// Name is the name given.
	Name string
	// Known are the names that are known, in a fixed order.
	Known []string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("unknown %s %s (known: %s)", e.What, msg.Quote(e.Name, maxNameShown), strings.Join(e.Known, ", "))
}

// maxNameShown is how much of an unknown name a NameError shows.
const maxNameShown = 80

// Reason is the message without the name given, for a caller that shows
// the name itself: "unknown format (known: docker-archive, oci-archive, oci)".
func (e *NameError) Reason() string {
	return fmt.Sprintf("unknown %s (known: %s)", e.What, strings.Join(e.Known, ", "))
}
