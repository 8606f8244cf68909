package decode

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ReadParquetColumns must give exactly the schema ReadParquetSchema gives,
// for every Parquet file in the repository: apache/parquet-testing (other
// writers, legacy lists, maps, int96, variants, odd footers) and sluice's
// own test data. A test that saw the fast path fall back everywhere would
// prove nothing, so it also counts the footers cut.
func TestReadParquetColumnsMatchesTheFullFooter(t *testing.T) {
	var files []string
	for _, root := range []string{"../../interop/parquettesting/testdata", "../../demo-lake", "testdata"} {
		filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".parquet") {
				files = append(files, path)
			}
			return nil
		})
	}
	if len(files) < 100 {
		t.Fatalf("only %d Parquet files found", len(files))
	}
	readable, cut := 0, 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		size := int64(len(data))
		full, _, fullErr := ReadParquetSchema(bytes.NewReader(data), size, path)
		if fullErr != nil {
			// A footer only the row groups make unreadable may still give
			// its columns; the executor refuses the file when it reads it.
			continue
		}
		readable++
		// Start afresh, so that the schema is built from this footer and
		// ReadParquetColumns below returns it from the cache.
		footerSchemas.m = nil
		if _, ok := columnsFast(bytes.NewReader(data), size, path); ok {
			cut++
		}
		got, err := ReadParquetColumns(bytes.NewReader(data), size, path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if g, w := got.String(), full.String(); g != w {
			t.Errorf("%s: schema\n got %s\nwant %s", path, g, w)
		}
	}
	t.Logf("%d files, %d readable, %d footers cut", len(files), readable, cut)
	if cut < readable*9/10 {
		t.Fatalf("only %d of %d readable footers were cut", cut, readable)
	}
}

// Hostile footer bytes never make the cutter panic, loop or allocate more
// than they hold: every mutation of a real footer either cuts or is
// refused.
func TestWithoutRowGroupsOnMutatedFooters(t *testing.T) {
	data, err := os.ReadFile("../../interop/parquettesting/testdata/data/alltypes_plain.parquet")
	if err != nil {
		t.Fatal(err)
	}
	n := int(data[len(data)-8]) | int(data[len(data)-7])<<8 | int(data[len(data)-6])<<16 | int(data[len(data)-5])<<24
	footer := data[len(data)-8-n : len(data)-8]
	if _, _, err := withoutRowGroups(footer); err != nil {
		t.Fatal(err)
	}
	for i := range footer {
		for _, b := range []byte{0x00, 0xff, 0x0f, 0xf9, footer[i] ^ 0x80} {
			m := append([]byte(nil), footer...)
			m[i] = b
			withoutRowGroups(m)
			withoutRowGroups(m[:i])
		}
	}
}
