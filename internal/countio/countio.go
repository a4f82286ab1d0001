// Package countio counts the bytes that pass through a reader or a
// writer: how much of an initrd was written (to pad it), how long a
// hashed layer is, how much of a cpio entry was read.
package countio

import "io"

// Writer writes to W and counts in N the bytes W took.
type Writer struct {
	W io.Writer
	N int64
}

// Write writes p to W and adds what W took to N.
func (c *Writer) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}

// Reader reads from R and counts in N the bytes read.
type Reader struct {
	R io.Reader
	N int64
}

// Read reads from R into p and adds what it read to N.
func (c *Reader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}
