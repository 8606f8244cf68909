package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// TestFormatIdempotent formats every HCL file of the repository's examples
// twice: the second pass must change nothing, or `fmt -check` in CI would
// flap on files that `fmt` just wrote.
func TestFormatIdempotent(t *testing.T) {
	var files []string
	for _, glob := range []string{"../../pipelines/*.hcl", "../../schemas/*.hcl"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no example files found")
	}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		once := hclwrite.Format(src)
		twice := hclwrite.Format(once)
		if !bytes.Equal(once, twice) {
			t.Errorf("%s: formatting is not idempotent", name)
		}
	}
}
