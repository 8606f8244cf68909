package duck

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/internal/lakegen"
)

func open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := Open(2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func wideCols() []Column {
	cols := make([]Column, 0, len(lakegen.WideColumns)+1)
	for _, c := range lakegen.WideColumns {
		cols = append(cols, Column{c.Name, c.SQLType})
	}
	return append(cols, Column{"dt", "DATE"})
}

// The same seed writes the same rows in every format, so DuckDB reading the
// JSON, the gzip CSV and the Parquet copies must find equal relations: this
// checks the read_* calls the interop tests build their expectations with.
func TestReadersAgreeOnWideData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, f := range []lakegen.WideFormat{lakegen.WideJSON, lakegen.WideCSVGzip, lakegen.WideParquet} {
		if _, err := lakegen.Wide(filepath.Join(dir, f.String()), lakegen.WideOptions{Format: f, Files: 6, Days: 3, RowsPerFile: 50, Seed: 11}); err != nil {
			t.Fatal(err)
		}
	}
	db := open(t)
	cols := wideCols()
	raw := lakegen.WideColumns
	rawCols := make([]Column, len(raw))
	for i, c := range raw {
		rawCols[i] = Column{c.Name, c.SQLType}
	}
	js := Select(ReadJSON(filepath.Join(dir, "json", "**", "*.json"), rawCols), cols, "")
	cs := Select(ReadCSV(filepath.Join(dir, "csv", "**", "*.csv.gz"), rawCols), cols, "")
	pq := Select(ReadParquet(filepath.Join(dir, "parquet", "**", "*.parquet")), cols, "")
	sum, err := Compare(ctx, db, js, cs, cols, "dt")
	if err != nil {
		t.Fatalf("json vs csv: %v", err)
	}
	if sum.Rows != 300 || len(sum.PartitionRows) != 3 || sum.PartitionRows["2026-01-02"] != 100 {
		t.Fatalf("summary = %+v, want 300 rows over 3 days of 100", sum)
	}
	if _, err := Compare(ctx, db, js, pq, cols, "dt"); err != nil {
		t.Fatalf("json vs parquet: %v", err)
	}
	// A filter over a data column and the partition column.
	where := "dt >= DATE '2026-01-02' AND price > 5000"
	a, err := Summarize(ctx, db, Select(ReadJSON(filepath.Join(dir, "json", "**", "*.json"), rawCols), cols, where), cols, "dt")
	if err != nil {
		t.Fatal(err)
	}
	if a.Rows == 0 || a.Rows >= 200 || len(a.PartitionRows) != 2 {
		t.Fatalf("filtered summary = %+v", a)
	}
	// Nulls are read as nulls in every format (10% of discounts are null).
	var nulls int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+cs+" WHERE discount IS NULL").Scan(&nulls); err != nil {
		t.Fatal(err)
	}
	if nulls == 0 || nulls > 100 {
		t.Fatalf("%d null discounts in 300 rows", nulls)
	}
}

func TestCompareFindsDifferences(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	cols := []Column{{"k", "VARCHAR"}, {"v", "BIGINT"}, {"x", "DOUBLE"}}
	base := "(VALUES ('a', 1, 0.5), ('a', 2, 1.5), ('b', 3, 2.5)) AS t(k, v, x)"
	want := Select(base, cols, "")
	if _, err := Compare(ctx, db, want, want, cols, "k"); err != nil {
		t.Fatalf("a relation differs from itself: %v", err)
	}
	cases := []struct {
		name, other string
		msgs        []string
	}{
		{"missing row", "(VALUES ('a', 1, 0.5), ('a', 2, 1.5)) AS t(k, v, x)",
			[]string{"rows: got 2, want 3", "sum(v): got 3, want 6", "rows in k=b: got 0, want 1", "1 expected rows missing"}},
		{"changed value", "(VALUES ('a', 1, 0.5), ('a', 2, 1.5), ('b', 4, 2.75)) AS t(k, v, x)",
			[]string{"sum(v): got 7, want 6", "sum(x): got 4.75", "1 output rows not expected"}},
		// Same count, same sums, same partitions: only the multiset check sees it.
		{"swapped values", "(VALUES ('a', 2, 0.5), ('a', 1, 1.5), ('b', 3, 2.5)) AS t(k, v, x)",
			[]string{"2 expected rows missing", "2 output rows not expected"}},
		{"duplicate row", "(VALUES ('a', 1, 0.5), ('a', 1, 0.5), ('a', 2, 1.5), ('b', 3, 2.5)) AS t(k, v, x)",
			[]string{"rows: got 4, want 3", "1 output rows not expected"}},
		{"extra partition", "(VALUES ('a', 1, 0.5), ('a', 2, 1.5), ('b', 3, 2.5), (NULL, 0, 0.0)) AS t(k, v, x)",
			[]string{"rows in k=NULL: got 1, want none"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compare(ctx, db, want, Select(c.other, cols, ""), cols, "k")
			if err == nil {
				t.Fatal("no difference found")
			}
			for _, m := range c.msgs {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error lacks %q:\n%v", m, err)
				}
			}
		})
	}
}

func TestExtensionsAreNotAutoloaded(t *testing.T) {
	db := open(t)
	var v string
	if err := db.QueryRow("SELECT current_setting('autoload_known_extensions')::VARCHAR || current_setting('autoinstall_known_extensions')::VARCHAR").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "falsefalse" {
		t.Fatalf("autoload/autoinstall = %q, want both false", v)
	}
}

func TestQuote(t *testing.T) {
	if got := Quote("it's"); got != "'it''s'" {
		t.Fatal(got)
	}
	if got := Ident(`a"b`); got != `"a""b"` {
		t.Fatal(got)
	}
}
