package args

import (
	"fmt"

	"github.com/agext/levenshtein"
)

// suggest returns `; did you mean "x"?` for the known word closest to word,
// or "" when none is close.
func suggest(word string, known []string) string {
	best, bestDist := "", 0
	for _, k := range known {
		d := levenshtein.Distance(word, k, nil)
		if best == "" || d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" || bestDist > max(2, len(word)/3) {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}
