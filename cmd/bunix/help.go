package main

import (
	"embed"
	"strings"
)

// helpFiles holds the long help of each user-facing command,
// help/NAME.txt: prose, kept apart from the code that wires the command.
//
//go:embed help/*.txt
var helpFiles embed.FS

// longHelp returns the long help of the command name, help/NAME.txt; a
// command without one is a bug, which TestLongHelp catches.
func longHelp(name string) string {
	b, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}
