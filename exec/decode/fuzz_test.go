package decode

import (
	"bytes"
	"context"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec"
)

func fuzzSchema() *arrow.Schema {
	return sch(
		field("id", arrow.PrimitiveTypes.Int64, false),
		field("i", arrow.PrimitiveTypes.Int32, true),
		field("f", arrow.PrimitiveTypes.Float32, true),
		field("s", arrow.BinaryTypes.String, true),
		field("b", arrow.FixedWidthTypes.Boolean, true),
		field("bin", arrow.BinaryTypes.Binary, true),
		field("d", arrow.FixedWidthTypes.Date32, true),
		field("t", tsNS, true),
		field("m", &arrow.Decimal128Type{Precision: 38, Scale: 10}, true),
		field("l", arrow.ListOf(arrow.ListOf(arrow.PrimitiveTypes.Float64)), true),
		field("st", arrow.StructOf(arrow.Field{Name: "x", Type: arrow.BinaryTypes.String, Nullable: true}), true),
		field("mp", arrow.MapOf(arrow.FixedWidthTypes.Date32, arrow.PrimitiveTypes.Int64), true),
	)
}

// fuzzDecode decodes all of r; it fails the test on any error other than a
// bad record (OnBad never stops) and returns rows and bad records.
func fuzzDecode(t *testing.T, r Reader, s *arrow.Schema) (rows int64) {
	defer r.Close()
	for {
		b, err := r.Next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatalf("error with a skip policy: %v", err)
		}
		if !b.Schema().Equal(s) {
			t.Fatalf("schema %s", b.Schema())
		}
		for i, c := range b.Columns() {
			if c.Len() != int(b.NumRows()) {
				t.Fatalf("column %d has %d values, batch %d rows", i, c.Len(), b.NumRows())
			}
			if !s.Field(i).Nullable && c.NullN() > 0 {
				t.Fatalf("nulls in non-nullable column %s", s.Field(i).Name)
			}
		}
		rows += b.NumRows()
		b.Release()
	}
}

func FuzzJSON(f *testing.F) {
	for _, seed := range []string{
		`{"id":1,"i":2,"f":1.5,"s":"x","b":true,"bin":"aGk=","d":"2026-01-02","t":"2026-01-02T03:04:05.123456789+02:00","m":"-12.5e3","l":[[1,2],[]],"st":{"x":"y"},"mp":{"2026-01-01":5}}`,
		"{\"id\":1}\r\n\n{\"id\":\"x\"}\n[1]\n{\"id\":2,}\n{\"id\":3",
		"\xef\xbb\xbf{\"id\":9223372036854775807,\"i\":-2147483648}",
		`{"id":1,"s":"\ud800","bin":"===","m":1e-10,"t":-1}`,
	} {
		f.Add([]byte(seed))
	}
	s := fuzzSchema()
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		var bad []BadRecord
		r, err := NewJSON(bytes.NewReader(data), Options{Key: "fuzz.json", Schema: s, Alloc: mem, BatchRows: 3,
			OnBad: func(b BadRecord) error { bad = append(bad, b); return nil }})
		if err != nil {
			t.Fatal(err)
		}
		rows := fuzzDecode(t, r, s)
		// Every non-blank line is a row or a bad record, never both or neither.
		lines := int64(0)
		for i, l := range bytes.Split(data, []byte("\n")) {
			if i == 0 {
				l = bytes.TrimPrefix(l, bom)
			}
			if !isBlank(l) {
				lines++
			}
		}
		if rows+int64(len(bad)) != lines {
			t.Fatalf("rows %d + bad %d != non-blank lines %d", rows, len(bad), lines)
		}
		for _, b := range bad {
			if b.Line < 1 || b.Reason == "" || b.Key != "fuzz.json" {
				t.Fatalf("bad record %+v", b)
			}
		}
	})
}

func FuzzCSV(f *testing.F) {
	for _, seed := range []string{
		"id,s,m,l\n1,x,1.5,\"[[1]]\"\n2,\"a\nb\",,\n",
		"id,s\n\"1\",\"unclosed\n2,x\n",
		"s,id\nx\"y,1\n\"x\"y,2\n,,,\n3\n",
		"\xef\xbb\xbfid\r\n1\r\n\r\n2",
	} {
		f.Add([]byte(seed), true)
	}
	f.Add([]byte("1;x\n2;'y;z'\n"), false)
	s := fuzzSchema()
	f.Fuzz(func(t *testing.T, data []byte, header bool) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		var bad []BadRecord
		o := Options{Key: "fuzz.csv", Schema: s, Alloc: mem, BatchRows: 2,
			CSV:   spec.CSVOptions{Header: header, NullValues: []string{"", "NULL"}},
			OnBad: func(b BadRecord) error { bad = append(bad, b); return nil }}
		if !header {
			o.CSV.Delimiter, o.CSV.Quote = ';', '\''
		}
		r, err := NewCSV(bytes.NewReader(data), o)
		if err != nil {
			if !header {
				t.Fatalf("error without a header: %v", err)
			}
			return // a malformed header is an error, not a panic
		}
		rows := fuzzDecode(t, r, s)
		lines := int64(bytes.Count(data, []byte("\n")) + 1)
		if rows > lines {
			t.Fatalf("%d rows from %d lines", rows, lines)
		}
		for _, b := range bad {
			if b.Line < 1 || b.Line > lines || b.Reason == "" {
				t.Fatalf("bad record %+v (lines %d)", b, lines)
			}
		}
	})
}

// FuzzParquet reads mutated Parquet files: whatever the bytes, reading is
// an error or rows, never a panic or an allocation past the memory limit
// (which would end the process, not fail the test).
func FuzzParquet(f *testing.F) {
	t := &testing.T{}
	honest := hostileParquet(t)
	f.Add(honest)
	f.Add(hostileParquetWith(t, parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDataPageVersion(parquet.DataPageV2)))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := Options{Key: "f.parquet", Schema: hostileSchema, MemoryLimit: 64 << 20, OnBad: func(BadRecord) error { return nil }}
		r, err := NewParquet(context.Background(), bytes.NewReader(data), int64(len(data)), o, nil)
		if err != nil {
			return
		}
		defer r.Close()
		for {
			b, err := r.Next()
			if err != nil {
				return
			}
			b.Release()
		}
	})
}
