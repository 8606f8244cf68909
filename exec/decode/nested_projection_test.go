package decode

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// byteCounter counts the bytes read from a file.
type byteCounter struct {
	*bytes.Reader
	n atomic.Int64
}

func (c *byteCounter) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.Reader.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.Reader.Read(p)
	c.n.Add(int64(n))
	return n, err
}

var (
	nestedUser = arrow.StructOf(
		field("id", arrow.PrimitiveTypes.Int64, true),
		field("country", arrow.BinaryTypes.String, true),
		field("bio", arrow.BinaryTypes.String, true),
	)
	nestedPayload = arrow.StructOf(field("user", nestedUser, true), field("note", arrow.BinaryTypes.String, true))
	// prunedPayload is what the planner asks for when only payload.user.id
	// is read.
	prunedPayload = arrow.StructOf(field("user", arrow.StructOf(field("id", arrow.PrimitiveTypes.Int64, true)), true))
)

// TestParquetNestedProjection: a struct column declared with only some of
// the file's fields (the planner's nested projection) reads only their
// leaf column chunks: here one int64 leaf instead of four leaves holding
// kilobytes of text, which the bytes read show.
func TestParquetNestedProjection(t *testing.T) {
	mem := memory.NewGoAllocator()
	s := sch(field("k", arrow.PrimitiveTypes.Int64, false), field("payload", nestedPayload, true))
	b := array.NewRecordBuilder(mem, s)
	defer b.Release()
	const rows = 2000
	for i := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		pb := b.Field(1).(*array.StructBuilder)
		if i%7 == 3 {
			pb.AppendNull()
			continue
		}
		pb.Append(true)
		ub := pb.FieldBuilder(0).(*array.StructBuilder)
		if i%5 == 1 {
			ub.AppendNull()
		} else {
			ub.Append(true)
			ub.FieldBuilder(0).(*array.Int64Builder).Append(int64(i * 10))
			ub.FieldBuilder(1).(*array.StringBuilder).Append("FR")
			ub.FieldBuilder(2).(*array.StringBuilder).Append(fmt.Sprintf("%d %s", i, strings.Repeat("biography ", 40)))
		}
		pb.FieldBuilder(1).(*array.StringBuilder).Append(strings.Repeat("n", 100))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	file := encodeParquet(t, rec, parquet.NewWriterProperties(parquet.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps())

	read := func(payload arrow.DataType) ([]string, int64) {
		want := sch(field("payload", payload, true))
		cr := &byteCounter{Reader: bytes.NewReader(file)}
		r, err := NewParquet(context.Background(), cr, int64(len(file)), Options{Key: "n.parquet", Schema: want, Alloc: checked(t)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := collect(t, r, want)
		if err != nil {
			t.Fatal(err)
		}
		return got, cr.n.Load()
	}
	full, fullBytes := read(nestedPayload)
	pruned, prunedBytes := read(prunedPayload)
	if len(full) != rows || len(pruned) != rows {
		t.Fatalf("rows %d and %d, want %d", len(full), len(pruned), rows)
	}
	for _, i := range []int{0, 1, 3} {
		t.Logf("row %d: %s", i, pruned[i])
	}
	if pruned[0] != `{"user":{"id":0}}` || pruned[1] != `{"user":null}` || pruned[3] != "null" {
		t.Errorf("pruned rows %q", pruned[:4])
	}
	t.Logf("bytes read: whole struct %d, payload.user.id only %d (file %d)", fullBytes, prunedBytes, len(file))
	if prunedBytes*10 > fullBytes {
		t.Errorf("reading payload.user.id read %d bytes, the whole struct %d: the other leaves were fetched", prunedBytes, fullBytes)
	}
}

// TestJSONNestedProjection: a struct column declared with only some of
// the object's fields converts only those; the other subtrees are skipped
// unconverted, so a value there that fits no declared type is no bad
// record (reading the whole struct, it is).
func TestJSONNestedProjection(t *testing.T) {
	lines := `{"k":1,"payload":{"user":{"id":7,"country":"FR","bio":{"unexpected":[1,2]}},"note":"x"}}
{"k":2,"payload":{"note":"y","user":{"bio":5,"id":8}}}
{"k":3,"payload":null}
{"k":4,"payload":{"user":null}}
`
	read := func(payload arrow.DataType) ([]string, []BadRecord) {
		want := sch(field("payload", payload, true))
		var bad badSink
		r, err := NewJSON(strings.NewReader(lines), Options{Key: "n.json", Schema: want, Alloc: checked(t), OnBad: bad.onBad})
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := collect(t, r, want)
		if err != nil {
			t.Fatal(err)
		}
		return got, bad.recs
	}
	got, bad := read(prunedPayload)
	eqRows(t, got, []string{`{"user":{"id":7}}`, `{"user":{"id":8}}`, "null", `{"user":null}`})
	if len(bad) != 0 {
		t.Errorf("pruned read: bad records %v", bad)
	}
	if _, bad := read(nestedPayload); len(bad) != 2 {
		t.Errorf("whole read: %d bad records, want 2 (the bio values)", len(bad))
	}
}

// BenchmarkJSONNestedProjection decodes a struct column whose objects
// carry a large subtree the declared type leaves out (pruned), and the
// same objects read whole (the pruner turns itself off).
func BenchmarkJSONNestedProjection(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&sb, `{"k":%d,"payload":{"user":{"id":%d,"country":"FR","bio":"%s"},"note":"%s","history":[`, i, i, strings.Repeat("b", 200), strings.Repeat("n", 100))
		for h := 0; h < 20; h++ {
			if h > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"at":"2026-01-%02d","v":%d,"tags":["a","b","c"]}`, h+1, h)
		}
		sb.WriteString("]}}\n")
	}
	data := sb.String()
	full := arrow.StructOf(field("user", nestedUser, true), field("note", arrow.BinaryTypes.String, true),
		field("history", arrow.ListOf(arrow.StructOf(field("at", arrow.BinaryTypes.String, true), field("v", arrow.PrimitiveTypes.Int64, true), field("tags", arrow.ListOf(arrow.BinaryTypes.String), true))), true))
	for _, bc := range []struct {
		name string
		dt   arrow.DataType
	}{{"pruned", prunedPayload}, {"whole", full}} {
		b.Run(bc.name, func(b *testing.B) {
			want := sch(field("payload", bc.dt, true))
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				r, err := NewJSON(strings.NewReader(data), Options{Key: "b.json", Schema: want})
				if err != nil {
					b.Fatal(err)
				}
				for {
					rec, err := r.Next()
					if err != nil {
						break
					}
					rec.Release()
				}
				r.Close()
			}
		})
	}
}

func TestPruneObject(t *testing.T) {
	c, err := newConv(prunedPayload, "")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		`{"user":{"id":1,"bio":"x"},"note":"n"}`:                              `{"user":{"id":1}}`,
		`{ "note" : [1,{"a":2}] , "us\u0065r" : { "x":{"y":[]}, "id" : 2 } }`: `{"us\u0065r":{"id":2}}`,
		`{"user":null,"note":1}`:                                              `{"user":null}`,
		`{}`:                                                                  `{}`,
	} {
		got, _, ok := pruneObject(c, []byte(in), nil, new([]byte))
		if !ok || string(got) != want {
			t.Errorf("pruneObject(%s) = %s, %v; want %s", in, got, ok, want)
		}
	}
	// A column whose values never lose a key stops being pruned.
	var p pruner
	full := []byte(`{"user":{"id":1}}`)
	for i := 0; i < pruneMaxIdle; i++ {
		p.prune(c, full)
	}
	if !p.off {
		t.Error("pruner still on after values with nothing to cut")
	}
}
