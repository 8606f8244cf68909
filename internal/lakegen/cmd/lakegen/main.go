package main

import (
	"fmt"
	"os"

	"github.com/sluicedata/sluice/internal/lakegen"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != "demo" {
		fmt.Fprintln(os.Stderr, "usage: lakegen demo DIR")
		os.Exit(1)
	}
	if err := demo(os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "lakegen:", err)
		os.Exit(1)
	}
}

func demo(dir string) error {
	sets, err := lakegen.Demo(dir)
	if err != nil {
		return err
	}
	for _, s := range sets {
		fmt.Printf("  %-46s %6d files %8.1f MiB %9d rows\n", s.Name, s.Stats.Files, float64(s.Stats.Bytes)/(1<<20), s.Stats.Rows)
	}
	return nil
}
