package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
)

// WriteNew writes each file (path to contents) only if none of them exists
// yet: it never overwrites. When a write fails, the files it made are
// removed again.
func WriteNew(files map[string][]byte) error {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var exist []string
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			exist = append(exist, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("checking %s: %w", p, err)
		}
	}
	if len(exist) > 0 {
		return &Error{Problems: []string{fmt.Sprintf("%v already exists: bunix never overwrites a file; move it away or pick another directory", exist)}}
	}
	var made []string
	for _, p := range paths {
		err := writeExcl(p, files[p])
		if err != nil {
			for _, m := range made {
				os.Remove(m)
			}
			return err
		}
		made = append(made, p)
	}
	return nil
}

func writeExcl(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("creating %s: %w", p, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(p)
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(p)
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}
