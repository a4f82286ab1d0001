package image

import (
	"fmt"
	"strings"

	"github.com/nubificus/bunix/internal/msg"
)

// Format is an output format.
type Format string

// The output formats.
const (
	// DockerArchive is the tar of `docker save`, which `docker load` reads.
	// It holds one image.
	DockerArchive Format = "docker-archive"
	// OCIArchive is a tar of an OCI image layout.
	OCIArchive Format = "oci-archive"
	// OCILayout is an OCI image layout: a directory.
	OCILayout Format = "oci"
)

var formats = []Format{DockerArchive, OCIArchive, OCILayout}

// Formats returns the output formats, in a fixed order.
func Formats() []Format { return append([]Format(nil), formats...) }

// Holds reports whether f can hold layers compressed as c: Docker's
// format knows no zstd layer (docker load refuses one).
func (f Format) Holds(c Compression) bool { return c != Zstd || f != DockerArchive }

// FormatsHolding returns the formats that can hold layers compressed as c,
// in Formats' order.
func FormatsHolding(c Compression) []Format {
	var out []Format
	for _, f := range formats {
		if f.Holds(c) {
			out = append(out, f)
		}
	}
	return out
}

// ParseFormat returns the Format named s, or an error that lists the known
// formats.
func ParseFormat(s string) (Format, error) {
	return parse(s, "format", formats)
}

// Compression is how layers are compressed.
type Compression string

// The layer compressions. Each gives the same bytes on every run and every
// machine, whatever its number of cores.
const (
	Uncompressed Compression = "none"
	// Gzip is gzip at level 6, without a name or a time in its header,
	// compressed in blocks of 1 MiB on all cores.
	Gzip Compression = "gzip"
	// Zstd is zstd at its default level, with an 8 MiB window.
	Zstd Compression = "zstd"
)

var compressions = []Compression{Uncompressed, Gzip, Zstd}

// ParseCompression returns the Compression named s, or an error that lists
// the known compressions.
func ParseCompression(s string) (Compression, error) {
	return parse(s, "compression", compressions)
}

func parse[T ~string](s, what string, known []T) (T, error) {
	names := make([]string, len(known))
	for i, k := range known {
		if string(k) == s {
			return k, nil
		}
		names[i] = string(k)
	}
	return "", &NameError{What: what, Name: s, Known: names}
}

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
