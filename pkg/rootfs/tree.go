package rootfs

import (
	"fmt"

	"github.com/nubificus/bunix/pkg/image"
)

// Tree returns entries in the order of image.Tree, the directories above
// them added, for WriteInitrd and PlanExt. A directory copied to "/" is the
// root itself, so a directory entry for "/" is dropped.
func Tree(entries []image.Entry) ([]image.Entry, error) {
	var in []image.Entry
	for _, e := range entries {
		if e.Path != "/" || e.Type != image.Directory {
			in = append(in, e)
		}
	}
	tree, err := image.Tree(in)
	if err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	return tree, nil
}
