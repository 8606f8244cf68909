package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicedata/sluice/internal/lakegen"
)

func TestFloorFormats(t *testing.T) {
	dir := t.TempDir()
	js, csv, pq := filepath.Join(dir, "json"), filepath.Join(dir, "csv"), filepath.Join(dir, "pq")
	if _, err := lakegen.Wide(js, lakegen.WideOptions{Format: lakegen.WideJSON, Files: 4, Days: 4, RowsPerFile: 10, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := lakegen.Wide(csv, lakegen.WideOptions{Format: lakegen.WideCSVGzip, Files: 2, Days: 1, RowsPerFile: 10, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := lakegen.Many(pq, lakegen.ManyOptions{Format: lakegen.WideParquet, Columns: 20, Files: 1, Days: 1, RowsPerFile: 10, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	// Partition pruning: only dt >= 2026-01-03 of four days.
	files, err := floorFiles(js, "2026-01-03")
	if err != nil || len(files) != 2 || !strings.Contains(files[0], "dt=2026-01-03") {
		t.Fatalf("floorFiles = %v, %v", files, err)
	}
	if n, err := floorJSON(files[0], &scratch{}); err != nil || n != 10 {
		t.Fatalf("floorJSON = %d lines, %v", n, err)
	}
	files, _ = floorFiles(csv, "")
	if n, err := floorCSV(files[0], true, &scratch{}); err != nil || n != 11*int64(len(lakegen.WideColumns)) {
		t.Fatalf("floorCSV = %d fields, %v", n, err)
	}
	files, _ = floorFiles(pq, "")
	all, err := floorParquet(files[0], nil, &parquetScratch{}, nil)
	if err != nil || all < 20 {
		t.Fatalf("floorParquet(all) = %d pages, %v", all, err)
	}
	two, err := floorParquet(files[0], map[string]bool{"c000": true, "c001": true}, &parquetScratch{}, nil)
	if err != nil || two >= all || two < 2 {
		t.Fatalf("floorParquet(2 columns) = %d pages of %d, %v", two, all, err)
	}
	if _, err := floorParquet(files[0], map[string]bool{"nope": true}, &parquetScratch{}, nil); err == nil {
		t.Fatal("want an error when no wanted column is in the file")
	}
}

func TestSkipJSON(t *testing.T) {
	for _, ok := range []string{`{}`, `[]`, ` {"a": [1, -2.5e3, true, false, null, "x\"y\\", {"b": {}}]} `, `"\\\\"`, `{"a":"b\\"}`} {
		end, err := skipJSON([]byte(ok), 0)
		if err != nil || skipSpace([]byte(ok), end) != len(ok) {
			t.Errorf("skipJSON(%s) = %d, %v", ok, end, err)
		}
	}
	for _, bad := range []string{`{`, `{"a" 1}`, `[1 2]`, `"abc`, `tru`, `{"a":1,}`, `?`, `{1:2}`} {
		if _, err := skipJSON([]byte(bad), 0); err == nil {
			t.Errorf("skipJSON(%s): want an error", bad)
		}
	}
}

// A large file's row groups are shared out: every page is still read once.
func TestFloorParquetSplit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rg.parquet")
	sc := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	for i := range 1000 {
		b.Append(int64(i))
	}
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(sc, []arrow.Array{col}, 1000)
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(100)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	whole, err := floorParquet(path, nil, &parquetScratch{}, nil)
	if err != nil || whole < 10 {
		t.Fatalf("floorParquet = %d pages, %v", whole, err)
	}
	defer func(v int) { splitAbove = v }(splitAbove)
	splitAbove = 0
	var q unitQueue
	first, err := floorParquet(path, nil, &parquetScratch{}, &q)
	if err != nil || len(q.units) != 9 {
		t.Fatalf("split: %d pages, %d row groups queued, %v", first, len(q.units), err)
	}
	total := first
	for u, ok := q.pop(); ok; u, ok = q.pop() {
		n, err := floorRowGroup(u, &parquetScratch{})
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != whole {
		t.Fatalf("split read %d pages, whole %d", total, whole)
	}
}
