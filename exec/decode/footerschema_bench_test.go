package decode

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkFooterColumns(b *testing.B) {
	files, _ := filepath.Glob("../../.tools/cache/bench/wide200-parquet-200/*/*.parquet")
	if len(files) == 0 {
		b.Skip("no bench data (make bench generates it)")
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		b.Fatal(err)
	}
	size := int64(len(data))
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := ReadParquetSchema(bytes.NewReader(data), size, "f"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("columns", func(b *testing.B) {
		for b.Loop() {
			if _, err := ReadParquetColumns(bytes.NewReader(data), size, "f"); err != nil {
				b.Fatal(err)
			}
		}
	})
	n := int(data[len(data)-8]) | int(data[len(data)-7])<<8 | int(data[len(data)-6])<<16 | int(data[len(data)-5])<<24
	footer := data[len(data)-8-n : len(data)-8]
	b.Run("cut", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := withoutRowGroups(footer); err != nil {
				b.Fatal(err)
			}
		}
	})
}
