package parquettesting

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicedata/sluice/exec/arrowtype"
	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/interop/duck"
)

// refused lists the files sluice does not read although DuckDB reads at
// least their row count, with the reason (testdata/README.md says the
// same). The test fails when one of them becomes readable, so that the
// list stays true.
var refused = map[string]string{
	"data/large_string_map.brotli.parquet":                           "page of 1073741828 bytes uncompressed is larger than the memory limit",
	"data/encrypt_columns_plaintext_footer.parquet.encrypted":        "cannot decrypt column metadata",
	"data/aes256/encrypt_columns_plaintext_footer.parquet.encrypted": "cannot decrypt column metadata",
	"shredded_variant/case-032.parquet":                              "unsupported type time64[us]",
	"shredded_variant/case-084-INVALID.parquet":                      "typed_value field must be a valid nested type",
	"bad_data/ARROW-GH-45185.parquet":                                "record starts with a nonzero repetition level",
	"bad_data/ARROW-GH-47662.parquet":                                "eof exception",
	"bad_data/ARROW-RS-GH-6229-DICTHEADER.parquet":                   "outside the object",
	"bad_data/ARROW-RS-GH-6229-LEVELS.parquet":                       "its pages hold 21 values, the footer says 1",
}

// twins names, for files whose values DuckDB cannot decode (it reads their
// footer only), a file of parquet-testing holding the same rows that it
// can: the LZ4 files' LZ4_RAW twins.
var twins = map[string]string{
	"data/hadoop_lz4_compressed.parquet":        "data/lz4_raw_compressed.parquet",
	"data/non_hadoop_lz4_compressed.parquet":    "data/lz4_raw_compressed.parquet",
	"data/hadoop_lz4_compressed_larger.parquet": "data/lz4_raw_compressed_larger.parquet",
}

// declared gives a file the schema a user would declare instead of the one
// inferred from its footer: int96_from_spark holds INT96 timestamps of
// year 9999, which the inferred timestamp(ns) cannot hold (they are bad
// records then: see TestInt96Inferred) and timestamp(us) can.
var declared = map[string]*arrow.Schema{
	"data/int96_from_spark.parquet": arrow.NewSchema([]arrow.Field{{Name: "a", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true}}, nil),
}

// badRows are the rows sluice reports as bad records where DuckDB reads
// something: the condition (DuckDB SQL) that selects the rows both read.
// int96_from_spark's 6th value has a day number (as uint32, 4189104040)
// past any 64-bit count of microseconds: Spark meant year 290000, got there
// by overflowing int64 arithmetic, and DuckDB wraps it around to 226414 BC;
// sluice says it cannot be a timestamp(us).
var badRows = map[string]struct {
	n     int
	where string
}{
	"data/int96_from_spark.parquet": {1, "a IS NULL OR a > TIMESTAMP '0001-01-01'"},
}

// sluiceRead reads file as a source without a declared schema does (unless
// declared has one): the schema is the footer's, mapped to sluice's types as
// the planner maps them, then read with decode.NewParquet, as the executor
// reads an object it fetched whole. What it read is written to out, as
// Parquet, for DuckDB to compare.
func sluiceRead(rel, out string) (int64, int, *arrow.Schema, error) {
	data, err := os.ReadFile(filepath.Join("testdata", rel))
	if err != nil {
		return 0, 0, nil, err
	}
	key, size := rel, int64(len(data))
	sc, md, err := decode.ReadParquetSchema(bytes.NewReader(data), size, key)
	if err != nil {
		return 0, 0, nil, err
	}
	want := declared[rel]
	if want == nil {
		cols, err := arrowtype.FromArrowSchema(sc)
		if err != nil {
			return 0, 0, nil, fmt.Errorf("schema: %w", err)
		}
		want = arrowtype.ArrowSchema(cols)
	}
	bad := 0
	r, err := decode.NewParquet(context.Background(), bytes.NewReader(data), size, decode.Options{
		Key: key, Schema: want, Alloc: memory.NewGoAllocator(), ParquetMetadata: md,
		OnBad: func(decode.BadRecord) error { bad++; return nil },
	}, nil)
	if err != nil {
		return 0, 0, nil, err
	}
	defer r.Close()
	f, err := os.Create(out)
	if err != nil {
		return 0, 0, nil, err
	}
	defer f.Close()
	w, err := pqarrow.NewFileWriter(want, f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		return 0, 0, nil, err
	}
	var rows int64
	for {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.Close()
			return rows, bad, nil, err
		}
		rows += b.NumRows()
		err = w.WriteBuffered(b)
		b.Release()
		if err != nil {
			w.Close()
			return rows, bad, nil, fmt.Errorf("write back: %w", err)
		}
	}
	return rows, bad, want, w.Close()
}

func corpusFiles(t *testing.T) []string {
	var files []string
	err := filepath.WalkDir("testdata", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".parquet") || strings.HasSuffix(p, ".encrypted")) {
			rel, _ := filepath.Rel("testdata", p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func duckCount(db *sql.DB, file string) (int64, error) {
	var n int64
	err := db.QueryRow("SELECT count(*) FROM read_parquet(" + duck.Quote(file) + ")").Scan(&n)
	return n, err
}

// duckTypes is DuckDB's type of each column of file.
func duckTypes(db *sql.DB, file string) (map[string]string, error) {
	rows, err := db.Query("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(" + duck.Quote(file) + "))")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, err
		}
		out[n] = t
	}
	return out, rows.Err()
}

// canonical is the text both sides of a comparison are reduced to: DuckDB's
// text of the value, where sluice's documented mappings change only the
// spelling. A timestamp sluice reads as UTC prints "+00" where the file's
// had no zone; a NaN's sign is not data; a GEOMETRY or GEOGRAPHY column
// (DuckDB reads the logical type) is read by sluice as its WKB bytes.
func canonical(col, origType, outType string, orig bool) string {
	e := duck.Ident(col)
	if !orig && (strings.HasPrefix(origType, "GEOMETRY") || strings.HasPrefix(origType, "GEOGRAPHY")) && outType == "BLOB" {
		e = "ST_GeomFromWKB(" + e + ")"
	}
	e = "CAST(" + e + " AS VARCHAR)"
	e = `regexp_replace(` + e + `, '(\d\d:\d\d:\d\d(\.\d+)?)\+00', '\1', 'g')`
	return `regexp_replace(` + e + `, '-nan', 'nan', 'g')`
}

// duckDiff compares the rows of orig (those where says, if not "") and out
// as DuckDB reads them, as multisets of canonical text; it returns up to 3
// rows of each side that the other lacks, or "".
func duckDiff(db *sql.DB, orig, out string, cols []string, where string) (string, error) {
	ot, err := duckTypes(db, orig)
	if err != nil {
		return "", err
	}
	st, err := duckTypes(db, out)
	if err != nil {
		return "", err
	}
	sel := func(f string, isOrig bool) string {
		var exprs []string
		for _, c := range cols {
			exprs = append(exprs, canonical(c, ot[c], st[c], isOrig))
		}
		q := "SELECT " + strings.Join(exprs, ", ") + " FROM read_parquet(" + duck.Quote(f) + ")"
		if isOrig && where != "" {
			q += " WHERE " + where
		}
		return q
	}
	var diff strings.Builder
	for _, q := range []string{sel(orig, true) + " EXCEPT ALL " + sel(out, false), sel(out, false) + " EXCEPT ALL " + sel(orig, true)} {
		rows, err := db.Query("SELECT * FROM (" + q + ") LIMIT 3")
		if err != nil {
			return "", err
		}
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return "", err
			}
			var parts []string
			for _, v := range vals {
				s := "NULL"
				if v.Valid {
					s = v.String
				}
				if len(s) > 80 {
					s = s[:80] + "…"
				}
				parts = append(parts, s)
			}
			fmt.Fprintf(&diff, "    %s\n", strings.Join(parts, " | "))
		}
		rows.Close()
		diff.WriteString("    --\n")
	}
	if s := diff.String(); s != "    --\n    --\n" {
		return s, nil
	}
	return "", nil
}

// TestParquetTestingCorpus reads every Parquet file of apache/parquet-testing's
// data/, shredded_variant/ and bad_data/ (testdata/; see its README) with
// sluice's decoder and with DuckDB. Where DuckDB reads a file, sluice must
// read it too (or the file is listed in refused, with the reason), with the
// same row count and the same values; bad_data/ files must never crash.
func TestParquetTestingCorpus(t *testing.T) {
	tmp := t.TempDir()
	var summary []string
	for i, rel := range corpusFiles(t) {
		t.Run(rel, func(t *testing.T) {
			// A fresh DuckDB per file: an internal error on one file
			// (shredded_variant/case-041) invalidates the database.
			db, err := duck.Open(1)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			path := filepath.Join("testdata", rel)
			dn, derr := duckCount(db, path)
			out := filepath.Join(tmp, fmt.Sprintf("%d.parquet", i))
			sn, nbad, sc, serr := sluiceRead(rel, out)
			expect := badRows[rel]
			if nbad != expect.n {
				t.Errorf("%d bad records, want %d", nbad, expect.n)
			}
			why, listed := refused[rel]
			switch {
			case serr != nil && listed:
				if !strings.Contains(serr.Error(), why) {
					t.Errorf("refused for another reason than listed (%q): %v", why, serr)
				}
				summary = append(summary, fmt.Sprintf("%s: refused (DuckDB: %s)", rel, duckVerdict(dn, derr)))
				return
			case listed:
				t.Errorf("listed as refused (%q) but read: %d rows; update refused and the README", why, sn)
				return
			case serr != nil && derr != nil:
				summary = append(summary, fmt.Sprintf("%s: refused by both", rel))
				return
			case serr != nil:
				t.Errorf("DuckDB reads %d rows, sluice refuses: %v", dn, serr)
				return
			case derr != nil:
				summary = append(summary, fmt.Sprintf("%s: sluice reads %d rows, DuckDB refuses (%s)", rel, sn, firstLine(derr)))
				return
			case dn != sn+int64(nbad):
				t.Errorf("DuckDB reads %d rows, sluice %d (and %d bad records)", dn, sn, nbad)
				return
			}
			var cols []string
			for _, f := range sc.Fields() {
				cols = append(cols, f.Name)
			}
			against := path
			if twin, ok := twins[rel]; ok {
				against = filepath.Join("testdata", twin)
			}
			if strings.HasPrefix(rel, "shredded_variant/") {
				// DuckDB reads a variant as its own type, sluice as its
				// encoding (metadata and value bytes): only counts compare.
				summary = append(summary, fmt.Sprintf("%s: %d rows (variant encoding: counts compared)", rel, sn))
				return
			}
			d, err := duckDiff(db, against, out, cols, expect.where)
			switch {
			case err != nil && strings.Contains(err.Error(), "BYTE_STREAM_SPLIT"):
				// DuckDB cannot decode the non-float BYTE_STREAM_SPLIT
				// columns; each has a PLAIN twin in the file.
				if msg := bssTwinsEqual(db, out, cols); msg != "" {
					t.Error(msg)
				}
				summary = append(summary, fmt.Sprintf("%s: %d rows (DuckDB cannot decode it: each BYTE_STREAM_SPLIT column equals its PLAIN twin)", rel, sn))
			case err != nil:
				t.Errorf("comparing with DuckDB: %v", err)
			case d != "":
				t.Errorf("values differ (%s rows first, then sluice's):\n%s", against, d)
			default:
				summary = append(summary, fmt.Sprintf("%s: %d rows, same values", rel, sn))
			}
		})
	}
	t.Logf("\n%s", strings.Join(summary, "\n"))
}

// bssTwinsEqual checks, in what sluice read of
// byte_stream_split_extended.gzip.parquet, that every *_byte_stream_split
// column equals its *_plain twin.
func bssTwinsEqual(db *sql.DB, out string, cols []string) string {
	n := 0
	for _, c := range cols {
		base, ok := strings.CutSuffix(c, "_byte_stream_split")
		if !ok {
			continue
		}
		n++
		var diff int64
		q := fmt.Sprintf("SELECT count(*) FROM read_parquet(%s) WHERE %s IS DISTINCT FROM %s", duck.Quote(out), duck.Ident(c), duck.Ident(base+"_plain"))
		if err := db.QueryRow(q).Scan(&diff); err != nil {
			return err.Error()
		}
		if diff != 0 {
			return fmt.Sprintf("%s differs from %s_plain in %d rows", c, base, diff)
		}
	}
	if n == 0 {
		return "no BYTE_STREAM_SPLIT column found"
	}
	return ""
}

// TestInt96Inferred: int96_from_spark read with the inferred schema
// (INT96 → timestamp(ns)) reads the rows ns can hold; the others are bad
// records, named by row.
func TestInt96Inferred(t *testing.T) {
	data, err := os.ReadFile("testdata/data/int96_from_spark.parquet")
	if err != nil {
		t.Fatal(err)
	}
	sc, md, err := decode.ReadParquetSchema(bytes.NewReader(data), int64(len(data)), "int96_from_spark.parquet")
	if err != nil {
		t.Fatal(err)
	}
	cols, err := arrowtype.FromArrowSchema(sc)
	if err != nil {
		t.Fatal(err)
	}
	var bad []decode.BadRecord
	r, err := decode.NewParquet(context.Background(), bytes.NewReader(data), int64(len(data)), decode.Options{
		Key: "int96_from_spark.parquet", Schema: arrowtype.ArrowSchema(cols), ParquetMetadata: md,
		OnBad: func(b decode.BadRecord) error { bad = append(bad, b); return nil },
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows int64
	for {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows += b.NumRows()
		b.Release()
	}
	if rows != 4 || len(bad) != 2 || bad[0].Row != 3 || bad[1].Row != 6 {
		t.Fatalf("%d rows, bad records %v", rows, bad)
	}
}

func duckVerdict(n int64, err error) string {
	if err != nil {
		return "refuses: " + firstLine(err)
	}
	return fmt.Sprintf("%d rows", n)
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
