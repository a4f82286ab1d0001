package inspect

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/urunc"
)

// The caps on the text report: past them, it says how many more there are.
const (
	// maxTreeLines caps the lines of the file tree.
	maxTreeLines = 10_000
	// maxTreeDepth caps the depth the file tree shows.
	maxTreeDepth = 64
	// maxLines caps the lines of each other list: names, layers, labels,
	// annotations, urunc settings, process words and env.
	maxLines = 1000
	// maxShown caps the bytes of one name or value shown.
	maxShown = 1024
)

// WriteText writes r for people: a summary, the process (entrypoint, cmd,
// working directory, env), the decoded urunc settings, the file tree, the layers and the labels. Names that hold control characters,
// or are not UTF-8, are shown quoted and escaped.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	kv := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	tags := r.RepoTags
	more := ""
	if len(tags) > maxLines {
		tags, more = tags[:maxLines], fmt.Sprintf(" and %d more", len(tags)-maxLines)
	}
	shown := make([]string, len(tags))
	for i, t := range tags {
		shown[i] = show(t)
	}
	fmt.Fprintf(kv, "Image\t%s%s\n", strings.Join(shown, ", "), more)
	if r.Digest != "" {
		fmt.Fprintf(kv, "Digest\t%s\n", show(r.Digest))
	}
	fmt.Fprintf(kv, "Platform\t%s/%s\n", show(r.OS), show(r.Architecture))
	fmt.Fprintf(kv, "Created\t%s\n", r.Created.Format(time.RFC3339))
	kv.Flush()
	r.writeProcess(bw)
	if r.Urunc == nil {
		fmt.Fprintf(bw, "\nurunc settings: none (no %s: urunc will not find its settings in this image's rootfs)\n", urunc.JSONPath)
	} else {
		fmt.Fprintf(bw, "\nurunc settings (%s, decoded)\n", urunc.JSONPath)
		writeMap(bw, r.Urunc)
	}
	fmt.Fprintf(bw, "\nFiles\n")
	writeTree(bw, r.Files())
	if n := r.Omitted(); n > 0 {
		fmt.Fprintf(bw, "  ... and %d more entries not listed (the listing stops at %d entries)\n", n, MaxListed)
	}
	fmt.Fprintf(bw, "\nLayers\n")
	for i, l := range r.Layers {
		if i == maxLines {
			fmt.Fprintf(bw, "  ... and %d more layers\n", len(r.Layers)-i)
			break
		}
		fmt.Fprintf(bw, "  %d  %s  %d bytes  %s\n", i, show(l.DiffID), l.Size, show(l.CreatedBy))
		if l.Omitted > 0 {
			fmt.Fprintf(bw, "     ... and %d more entries, not listed\n", l.Omitted)
		}
	}
	if len(r.Labels) > 0 {
		fmt.Fprintf(bw, "\nLabels\n")
		writeMap(bw, r.Labels)
	}
	if len(r.Annotations) > 0 {
		fmt.Fprintf(bw, "\nManifest annotations\n")
		writeMap(bw, r.Annotations)
	}
	return bw.Flush()
}

// node is an entry of the file tree; file is nil for a directory that
// has no entry of its own, only entries below it.
type node struct {
	name string
	file *File
	kids []*node
	// index finds a kid by name while the tree is built.
	index map[string]*node
}

// buildTree makes the tree of files, adding the directories that have
// no entries of their own, and returns its root and its number of nodes.
func buildTree(files []File) (*node, int) {
	root := &node{}
	n := 0
	for i := range files {
		f := &files[i]
		cur := root
		rest := strings.TrimPrefix(f.Path, "/")
		if rest == "" {
			continue // the root itself
		}
		for rest != "" {
			part, tail, _ := strings.Cut(rest, "/")
			rest = tail
			if part == "" {
				continue
			}
			k := cur.index[part]
			if k == nil {
				k = &node{name: part}
				if cur.index == nil {
					cur.index = map[string]*node{}
				}
				cur.index[part] = k
				cur.kids = append(cur.kids, k)
				n++
			}
			cur = k
		}
		cur.file = f
	}
	return root, n
}

// treeWriter draws a tree, at most maxTreeLines lines of it.
type treeWriter struct {
	w     io.Writer
	lines int
	// last[d] says whether the entry at depth d is the last of its
	// directory, which decides the rails drawn below it.
	last []bool
}

// writeTree draws files, sorted by path, as a tree under "/". A file whose
// parent directories have no entries gets them drawn all the same.
func writeTree(w io.Writer, files []File) {
	fmt.Fprintln(w, "  /")
	root, total := buildTree(files)
	t := &treeWriter{w: w}
	t.write(root, 0)
	if t.lines < total {
		fmt.Fprintf(w, "  ... and %d more entries (the tree shows %d lines, %d levels deep)\n", total-t.lines, maxTreeLines, maxTreeDepth)
	}
}

func (t *treeWriter) write(n *node, depth int) {
	slices.SortFunc(n.kids, func(a, b *node) int { return strings.Compare(a.name, b.name) })
	for i, k := range n.kids {
		if t.lines >= maxTreeLines {
			return
		}
		t.lines++
		isLast := i == len(n.kids)-1
		t.last = append(t.last[:depth], isLast)
		var b strings.Builder
		b.WriteString("  ")
		for _, l := range t.last[:depth] {
			if l {
				b.WriteString("    ")
			} else {
				b.WriteString("│   ")
			}
		}
		if isLast {
			b.WriteString("└── ")
		} else {
			b.WriteString("├── ")
		}
		b.WriteString(show(k.name))
		switch f := k.file; {
		case f == nil:
			b.WriteString("/  (no entry of its own)")
		case f.Mode.IsDir():
			fmt.Fprintf(&b, "/  %s %d:%d", f.Mode, f.UID, f.GID)
		case f.Linkname != "":
			fmt.Fprintf(&b, " -> %s  %s %d:%d", show(f.Linkname), f.Mode, f.UID, f.GID)
		default:
			fmt.Fprintf(&b, "  %d bytes  %s %d:%d", f.Size, f.Mode, f.UID, f.GID)
		}
		b.WriteByte('\n')
		io.WriteString(t.w, b.String())
		if depth+1 < maxTreeDepth {
			t.write(k, depth+1)
		}
	}
}

func writeMap(w io.Writer, m map[string]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	keys := slices.Sorted(maps.Keys(m))
	for i, k := range keys {
		if i == maxLines {
			fmt.Fprintf(tw, "  ... and %d more\n", len(keys)-i)
			break
		}
		fmt.Fprintf(tw, "  %s\t%s\n", show(k), show(m[k]))
	}
	tw.Flush()
}

// show returns s for a terminal: as it is when it is printable UTF-8,
// else quoted with Go's escapes, so that no control character (a newline,
// an ANSI escape) reaches the terminal; cut at maxShown bytes either way,
// by internal/msg's rule. It is msg.Quote with one display rule on top: a
// listing of names shows a plain name bare, as ls does, where quotes on
// every line would be noise; only a name that could mislead is quoted.
func show(s string) string {
	if !printable(s) {
		return msg.Quote(s, maxShown)
	}
	return msg.Cut(s, maxShown)
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// writeProcess writes the config's process fields: entrypoint and cmd as
// quoted words, the working directory, and env as NAME=value lines, each
// name and value shown as show shows it.
func (r *Report) writeProcess(w io.Writer) {
	if len(r.Entrypoint)+len(r.Cmd)+len(r.Env) == 0 && r.WorkingDir == "" {
		fmt.Fprintf(w, "\nProcess: none (the config sets no entrypoint, cmd, env or working directory)\n")
		return
	}
	fmt.Fprintf(w, "\nProcess\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Entrypoint) > 0 {
		fmt.Fprintf(tw, "  entrypoint\t%s\n", quoteWords(r.Entrypoint))
	}
	if len(r.Cmd) > 0 {
		fmt.Fprintf(tw, "  cmd\t%s\n", quoteWords(r.Cmd))
	}
	if r.WorkingDir != "" {
		fmt.Fprintf(tw, "  workdir\t%s\n", show(r.WorkingDir))
	}
	tw.Flush()
	if len(r.Env) > 0 {
		fmt.Fprintf(w, "  env\n")
	}
	for i, e := range r.Env {
		if i == maxLines {
			fmt.Fprintf(w, "    ... and %d more\n", len(r.Env)-i)
			break
		}
		if name, value, ok := strings.Cut(e, "="); ok {
			fmt.Fprintf(w, "    %s=%s\n", show(name), show(value))
		} else {
			fmt.Fprintf(w, "    %s\n", show(e))
		}
	}
}

// quoteWords shows words as Go-quoted strings, a space between two, so
// that spaces and control characters inside one are plain to see: at most
// maxLines words, each cut at maxShown bytes.
func quoteWords(words []string) string {
	more := ""
	if len(words) > maxLines {
		words, more = words[:maxLines], fmt.Sprintf(" ... and %d more", len(words)-maxLines)
	}
	var b strings.Builder
	for i, s := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(msg.Quote(s, maxShown))
	}
	return b.String() + more
}
