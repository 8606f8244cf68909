package lakegen

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

func wideFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestWideJSON(t *testing.T) {
	dir := t.TempDir()
	st, err := Wide(dir, WideOptions{Format: WideJSON, Files: 10, Days: 3, RowsPerFile: 150, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 10 || st.Rows != 1500 {
		t.Fatalf("stats = %+v, want 10 files, 1500 rows", st)
	}
	perDay := map[string]int{}
	ids := map[float64]bool{}
	for _, p := range wideFiles(t, dir) {
		perDay[filepath.Base(filepath.Dir(p))]++
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if len(m) != len(WideColumns) {
				t.Fatalf("%s: %d keys, want %d", p, len(m), len(WideColumns))
			}
			id := m["id"].(float64)
			if ids[id] {
				t.Fatalf("duplicate id %v", id)
			}
			ids[id] = true
		}
		f.Close()
	}
	if len(perDay) != 3 || perDay["dt=2026-01-01"] < 3 || perDay["dt=2026-01-03"] < 3 {
		t.Fatalf("files per day = %v, want 3 days of 3-4 files", perDay)
	}
	// ~50 KB per file at 150 rows is what the benchmark promises.
	if avg := st.Bytes / int64(st.Files); avg < 40_000 || avg > 65_000 {
		t.Fatalf("average JSON file is %d bytes, want ~50 KB", avg)
	}
}

func TestWideDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	o := WideOptions{Format: WideCSVGzip, Files: 4, Days: 2, RowsPerFile: 20, Seed: 3}
	if _, err := Wide(a, o); err != nil {
		t.Fatal(err)
	}
	if _, err := Wide(b, o); err != nil {
		t.Fatal(err)
	}
	fa, fb := wideFiles(t, a), wideFiles(t, b)
	if len(fa) != 4 || len(fb) != 4 {
		t.Fatalf("got %d and %d files", len(fa), len(fb))
	}
	for i := range fa {
		x, _ := os.ReadFile(fa[i])
		y, _ := os.ReadFile(fb[i])
		if !bytes.Equal(x, y) {
			t.Fatalf("%s differs between two runs with the same seed", strings.TrimPrefix(fa[i], a))
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(mustRead(t, fa[0])))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	if len(lines) != 21 || !strings.HasPrefix(lines[0], "id,user_id,session,") {
		t.Fatalf("csv has %d lines, header %q", len(lines), lines[0])
	}
	for _, l := range lines[1:] {
		if n := strings.Count(l, ","); n != len(WideColumns)-1 {
			t.Fatalf("csv line has %d commas: %q", n, l)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWideParquet(t *testing.T) {
	dir := t.TempDir()
	if _, err := Wide(dir, WideOptions{Format: WideParquet, Files: 2, Days: 1, RowsPerFile: 100, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, p := range wideFiles(t, dir) {
		rdr, err := file.OpenParquetFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, mem)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tbl.NumRows() != 100 || int(tbl.NumCols()) != len(WideColumns) {
			t.Fatalf("%s: %d rows, %d cols", p, tbl.NumRows(), tbl.NumCols())
		}
		tbl.Release()
		rdr.Close()
	}
}

func TestWideSchemaHCL(t *testing.T) {
	s := WideSchemaHCL("events")
	if !strings.HasPrefix(s, `schema "events" {`) || strings.Count(s, "column ") != len(WideColumns) ||
		!strings.Contains(s, `type = "timestamp(ms)"`) {
		t.Fatalf("unexpected schema:\n%s", s)
	}
}

func TestWideRejectsBadOptions(t *testing.T) {
	if _, err := Wide(t.TempDir(), WideOptions{Format: WideJSON}); err == nil {
		t.Fatal("want an error for zero files")
	}
	if _, err := Wide(t.TempDir(), WideOptions{Format: 9, Files: 1, Days: 1, RowsPerFile: 1}); err == nil {
		t.Fatal("want an error for an unknown format")
	}
}
