package write

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// writeAll writes recs through a new Writer and closes it.
func writeAll(t *testing.T, s *arrow.Schema, o Options, recs ...arrow.RecordBatch) []File {
	t.Helper()
	ctx := context.Background()
	w, err := New(ctx, s, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestParquetRoundTrip(t *testing.T) {
	names := map[spec.Compression]string{0: "default", spec.CompressionSnappy: "snappy", spec.CompressionZstd: "zstd", spec.CompressionGzip: "gzip", spec.CompressionNone: "none"}
	for _, codec := range []spec.Compression{0, spec.CompressionSnappy, spec.CompressionZstd, spec.CompressionGzip, spec.CompressionNone} {
		t.Run(names[codec], func(t *testing.T) {
			mem := checked(t)
			st := newStore(t)
			rec := mixedBatch(t, mem)
			defer rec.Release()
			o := baseOptions(st, spec.FormatParquet, mem)
			o.Compression = codec
			files := writeAll(t, mixedSchema, o, rec, rec)
			if len(files) != 1 {
				t.Fatalf("want 1 file, got %d", len(files))
			}
			f := files[0]
			if want := "out/part-20261121T233000Z-abc-00003-00001.parquet"; f.Key != want {
				t.Errorf("key %q, want %q", f.Key, want)
			}
			if f.Rows != 8 || f.Bytes != f.Upload.Size || f.Bytes == 0 {
				t.Errorf("rows %d bytes %d upload size %d", f.Rows, f.Bytes, f.Upload.Size)
			}
			// Pending: invisible until completed.
			if _, err := st.Head(context.Background(), f.Key); err == nil {
				t.Fatal("file visible before CompleteUpload")
			}
			completeAll(t, st, files)
			got, pf := readParquet(t, st, f.Key, mem)
			defer got.Release()
			want := concatBatches(t, mem, mixedSchema, []arrow.RecordBatch{rec, rec})
			defer want.Release()
			assertBatchesEqual(t, want, got)

			md := pf.MetaData()
			if v := md.KeyValueMetadata().FindValue(MetaRunID); v == nil || *v != o.RunID {
				t.Errorf("run id metadata: %v", v)
			}
			if v := md.KeyValueMetadata().FindValue(MetaVersion); v == nil || *v != "0.1.0-test" {
				t.Errorf("version metadata: %v", v)
			}
			wantCodec := map[spec.Compression]string{0: "SNAPPY", spec.CompressionSnappy: "SNAPPY", spec.CompressionZstd: "ZSTD", spec.CompressionGzip: "GZIP", spec.CompressionNone: "UNCOMPRESSED"}[codec]
			rg := md.RowGroup(0)
			for c := 0; c < rg.NumColumns(); c++ {
				cc, err := rg.ColumnChunk(c)
				if err != nil {
					t.Fatal(err)
				}
				if got := cc.Compression().String(); got != wantCodec {
					t.Errorf("column %s: codec %s, want %s", cc.PathInSchema(), got, wantCodec)
				}
				dict := cc.HasDictionaryPage()
				isBytes := md.Schema.Column(c).PhysicalType() == parquet.Types.ByteArray
				// Dictionaries are enabled for byte arrays only; the library may
				// still fall back to plain when one does not pay (as it does
				// here without compression), so only the converse is certain.
				if dict && !isBytes {
					t.Errorf("column %s (%s): dictionary %v", cc.PathInSchema(), md.Schema.Column(c).PhysicalType(), dict)
				}
				if ok, err := cc.StatsSet(); err != nil || !ok {
					t.Errorf("column %s: no statistics", cc.PathInSchema())
				}
			}
			pf.Close()
		})
	}
}

// textSchema is the scalar part of mixedSchema: what arrow's CSV reader reads.
var textSchema = arrow.NewSchema(mixedSchema.Fields()[:11], nil)

func scalarBatch(t *testing.T, rec arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	return array.NewRecordBatch(textSchema, rec.Columns()[:11], rec.NumRows())
}

func decompress(t *testing.T, data []byte, key string) []byte {
	t.Helper()
	var r io.Reader
	switch {
	case strings.HasSuffix(key, ".gz"):
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case strings.HasSuffix(key, ".zst"):
		zr, err := zstd.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		return data
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCSVRoundTrip(t *testing.T) {
	for _, c := range []struct {
		codec spec.Compression
		ext   string
	}{{0, ".csv"}, {spec.CompressionGzip, ".csv.gz"}, {spec.CompressionZstd, ".csv.zst"}} {
		t.Run(c.ext, func(t *testing.T) {
			mem := checked(t)
			st := newStore(t)
			full := mixedBatch(t, mem)
			defer full.Release()
			rec := scalarBatch(t, full)
			defer rec.Release()
			o := baseOptions(st, spec.FormatCSV, mem)
			o.Compression = c.codec
			o.CSV.NullValues = []string{"NULL", ""}
			files := writeAll(t, textSchema, o, rec)
			if len(files) != 1 || !strings.HasSuffix(files[0].Key, c.ext) {
				t.Fatalf("files %+v", files)
			}
			completeAll(t, st, files)
			text := decompress(t, readAll(t, st, files[0].Key), files[0].Key)
			rs := retypeUTC(textSchema)
			want := withSchema(rec, rs)
			defer want.Release()
			r := csv.NewReader(bytes.NewReader(text), rs, csv.WithHeader(true),
				csv.WithNullReader(true, "NULL"), csv.WithChunk(-1), csv.WithAllocator(mem))
			defer r.Release()
			if !r.Next() {
				t.Fatalf("no record: %v", r.Err())
			}
			assertBatchesEqual(t, want, r.RecordBatch())
			if r.Next() || r.Err() != nil {
				t.Fatalf("extra record or error: %v", r.Err())
			}
		})
	}
}

func TestNDJSONRoundTrip(t *testing.T) {
	for _, c := range []struct {
		codec spec.Compression
		ext   string
	}{{0, ".json"}, {spec.CompressionGzip, ".json.gz"}, {spec.CompressionZstd, ".json.zst"}} {
		t.Run(c.ext, func(t *testing.T) {
			mem := checked(t)
			st := newStore(t)
			full := mixedBatch(t, mem)
			defer full.Release()
			// Maps are written as JSON objects, which arrow's reader does not
			// read back as maps: compared in the golden test instead.
			s := arrow.NewSchema(mixedSchema.Fields()[:13], nil)
			rec := array.NewRecordBatch(s, full.Columns()[:13], full.NumRows())
			defer rec.Release()
			o := baseOptions(st, spec.FormatJSON, mem)
			o.Compression = c.codec
			files := writeAll(t, s, o, rec)
			if len(files) != 1 || !strings.HasSuffix(files[0].Key, c.ext) {
				t.Fatalf("files %+v", files)
			}
			completeAll(t, st, files)
			text := decompress(t, readAll(t, st, files[0].Key), files[0].Key)
			rs := retypeUTC(s)
			want := withSchema(rec, rs)
			defer want.Release()
			r := array.NewJSONReader(bytes.NewReader(text), rs, array.WithChunk(-1), array.WithAllocator(mem))
			defer r.Release()
			if !r.Next() {
				t.Fatalf("no record: %v", r.Err())
			}
			assertBatchesEqual(t, want, r.RecordBatch())
			if r.Next() || r.Err() != nil {
				t.Fatalf("extra record or error: %v", r.Err())
			}
		})
	}
}

// TestTextGolden pins the exact text of every type, nested ones included.
func TestTextGolden(t *testing.T) {
	for _, c := range []struct {
		f    spec.Format
		name string
		csv  spec.CSVOptions
	}{
		{spec.FormatJSON, "mixed.ndjson", spec.CSVOptions{}},
		{spec.FormatCSV, "mixed.csv", spec.CSVOptions{Header: true, NullValues: []string{""}}},
		{spec.FormatCSV, "mixed_semicolon.csv", spec.CSVOptions{Header: false, Delimiter: ';', Quote: '\'', NullValues: []string{`\N`}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			mem := checked(t)
			st := newStore(t)
			rec := mixedBatch(t, mem)
			defer rec.Release()
			o := baseOptions(st, c.f, mem)
			o.CSV = c.csv
			files := writeAll(t, mixedSchema, o, rec)
			completeAll(t, st, files)
			golden(t, c.name, readAll(t, st, files[0].Key))
		})
	}
}

func TestZeroRowsZeroFiles(t *testing.T) {
	for _, f := range []spec.Format{spec.FormatParquet, spec.FormatCSV, spec.FormatJSON} {
		t.Run(f.String(), func(t *testing.T) {
			mem := checked(t)
			st := newStore(t)
			full := mixedBatch(t, mem)
			defer full.Release()
			empty := full.NewSlice(0, 0)
			defer empty.Release()
			o := baseOptions(st, f, mem)
			o.PartitionBy = []string{"s"}
			files := writeAll(t, mixedSchema, o, empty, empty)
			if len(files) != 0 {
				t.Fatalf("got %d files from zero rows", len(files))
			}
			ups, err := st.ListUploads(context.Background(), "")
			if err != nil || len(ups) != 0 {
				t.Fatalf("uploads %v %v", ups, err)
			}
		})
	}
}

// String columns whose first values are mostly distinct are written
// without a dictionary; repetitive ones, and any column of a first batch
// too small to judge, keep it. Every value reads back either way.
func TestDictionaryOnlyForRepetitiveStrings(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "unique", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "repeated", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	}, nil)
	batch := func(mem memory.Allocator, n int) arrow.RecordBatch {
		rb := array.NewRecordBuilder(mem, sc)
		defer rb.Release()
		for i := 0; i < n; i++ {
			rb.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("session-%08d", i))
			rb.Field(1).(*array.StringBuilder).Append([]string{"view", "click", "buy"}[i%3])
			if i%2 == 0 {
				rb.Field(2).AppendNull()
			} else {
				rb.Field(2).(*array.BinaryBuilder).Append([]byte{byte(i), byte(i >> 8)})
			}
		}
		return rb.NewRecordBatch()
	}
	dictionary := func(t *testing.T, st objstore.Store, f File, mem memory.Allocator) []bool {
		t.Helper()
		rec, pf := readParquet(t, st, f.Key, mem)
		defer pf.Close()
		defer rec.Release()
		var got []bool
		for c := 0; c < 3; c++ {
			cc, err := pf.MetaData().RowGroup(0).ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, slices.Contains(cc.Encodings(), parquet.Encodings.RLEDict) || slices.Contains(cc.Encodings(), parquet.Encodings.PlainDict))
		}
		if rec.Column(0).(*array.String).Value(int(rec.NumRows())-1) != fmt.Sprintf("session-%08d", rec.NumRows()-1) {
			t.Fatal("values do not read back")
		}
		return got
	}
	for _, c := range []struct {
		rows int
		want []bool // unique, repeated, bin (half null, all distinct)
	}{
		{10000, []bool{false, true, false}},
		{1000, []bool{true, true, true}}, // too few to judge
	} {
		t.Run(fmt.Sprint(c.rows), func(t *testing.T) {
			mem := checked(t)
			st := newStore(t)
			b := batch(mem, c.rows)
			defer b.Release()
			files := writeAll(t, sc, baseOptions(st, spec.FormatParquet, mem), b)
			completeAll(t, st, files)
			if got := dictionary(t, st, files[0], mem); !slices.Equal(got, c.want) {
				t.Fatalf("dictionary encoded (unique, repeated, bin) = %v, want %v", got, c.want)
			}
		})
	}
}
