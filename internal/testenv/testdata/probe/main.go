// Command probe is the payload of testenv's own tests: a static binary that
// runs as a container's process or as a Nix builder.
//
//	probe sleep TOKEN   print "ready", then sleep until killed (TOKEN only
//	                    marks the process, so a test can look for it)
//	probe visible       as a Nix builder: write to $out whether the path in
//	                    $probe can be seen ("visible" or "hidden")
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe sleep TOKEN | probe visible")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "sleep":
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "visible":
		seen := "visible"
		if _, err := os.Stat(os.Getenv("probe")); err != nil {
			seen = "hidden"
		}
		if err := os.WriteFile(os.Getenv("out"), []byte(seen+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "probe: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}
