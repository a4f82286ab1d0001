package sbom

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"strconv"

	"github.com/nubificus/bunix/internal/countio"
)

// Bounds on an initrd's headers.
const (
	// maxCPIOName caps a member's name, NUL included (Linux's PATH_MAX).
	maxCPIOName = 4096
	cpioHeader  = 110
	cpioTrailer = "TRAILER!!!"
	modeType    = 0o170000
	modeRegular = 0o100000
)

// maxInitrdUnpacked caps what a compressed initrd unpacks to, against a
// gzip bomb: Linux initrds are far smaller.
var maxInitrdUnpacked int64 = 16 << 30

// initrdFiles lists the regular files of an initrd read from r: newc cpio
// archives ("070701", or "070702" with checksums), one after another as
// Linux unpacks them, plain or gzip-compressed. It reads r only as far as
// the last archive's trailer.
func (g *generator) initrdFiles(r io.Reader) ([]*layerFile, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(2)
	if err != nil {
		return nil, fmt.Errorf("reading the initrd: %w", err)
	}
	var in io.Reader = br
	if bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading the gzip initrd: %w", err)
		}
		in = &capReader{r: zr, left: maxInitrdUnpacked}
	}
	c := &cpioReader{r: bufio.NewReader(in)}
	var out []*layerFile
	for {
		name, size, mode, err := c.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the initrd at byte %d: %w", c.off, err)
		}
		data := &countio.Reader{R: io.LimitReader(c.r, size)}
		if mode&modeType == modeRegular {
			f, err := g.inner(path.Clean("/"+name), "the initrd", data)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		if _, err := io.Copy(io.Discard, data); err != nil {
			return nil, fmt.Errorf("reading the initrd: %s: %w", name, err)
		}
		c.off += data.N
		if data.N != size {
			return nil, fmt.Errorf("reading the initrd: %s: %w", name, io.ErrUnexpectedEOF)
		}
		if err := c.pad(); err != nil {
			return nil, err
		}
	}
}

// cpioReader reads newc headers from a stream.
type cpioReader struct {
	r   *bufio.Reader
	off int64
}

// next returns the next member's header, skipping trailers and the zero
// padding between archives; io.EOF at the end.
func (c *cpioReader) next() (name string, size int64, mode uint64, err error) {
	for {
		b, err := c.r.Peek(1)
		if err == io.EOF || err == nil && b[0] == 0 {
			// Padding after a trailer: zeros up to a 4-byte boundary, or the end.
			if err == io.EOF {
				return "", 0, 0, io.EOF
			}
			c.r.ReadByte()
			c.off++
			continue
		}
		var h [cpioHeader]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return "", 0, 0, fmt.Errorf("a truncated header: %w", err)
		}
		c.off += cpioHeader
		if m := string(h[:6]); m != "070701" && m != "070702" {
			return "", 0, 0, fmt.Errorf("magic %q, not a newc cpio header (070701 or 070702)", m)
		}
		field := func(i int) (uint64, error) {
			return strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
		}
		var fields [13]uint64
		for i := range fields {
			if fields[i], err = field(i); err != nil {
				return "", 0, 0, fmt.Errorf("header field %d is not hexadecimal: %w", i, err)
			}
		}
		mode, fileSize, nameSize := fields[1], int64(fields[6]), fields[11]
		if nameSize < 1 || nameSize > maxCPIOName {
			return "", 0, 0, fmt.Errorf("a name of %d bytes (1 to %d)", nameSize, maxCPIOName)
		}
		nb := make([]byte, nameSize)
		if _, err := io.ReadFull(c.r, nb); err != nil {
			return "", 0, 0, fmt.Errorf("a truncated name: %w", err)
		}
		c.off += int64(nameSize)
		name = string(bytes.TrimRight(nb, "\x00"))
		if err := c.pad(); err != nil {
			return "", 0, 0, err
		}
		if name == cpioTrailer {
			continue
		}
		return name, fileSize, mode, nil
	}
}

// pad skips to the next 4-byte boundary.
func (c *cpioReader) pad() error {
	n := (4 - c.off%4) % 4
	if _, err := io.CopyN(io.Discard, c.r, n); err != nil {
		return fmt.Errorf("reading the initrd: truncated padding: %w", err)
	}
	c.off += n
	return nil
}

// capReader reads r until left bytes are read, then fails.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, fmt.Errorf("the initrd unpacks to more than %d bytes", maxInitrdUnpacked)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
