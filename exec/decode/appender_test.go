package decode

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicedata/sluice/spec"
)

// failAfter yields s and then fails, like a gzip stream cut mid-way.
func failAfter(s string) io.Reader {
	return io.MultiReader(strings.NewReader(s), errReader{})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("unexpected EOF in stream") }

// flushRows flushes a and renders its rows, releasing the batches.
func flushRows(t *testing.T, a *Appender, want *arrow.Schema) ([]string, int) {
	t.Helper()
	bs := a.Flush()
	var rows []string
	for _, b := range bs {
		if !b.Schema().Equal(want) {
			t.Errorf("batch schema %s, want %s", b.Schema(), want)
		}
		for i := 0; i < int(b.NumRows()); i++ {
			var parts []string
			for _, c := range b.Columns() {
				parts = append(parts, render(c, i))
			}
			rows = append(rows, strings.Join(parts, "|"))
		}
		b.Release()
	}
	return rows, len(bs)
}

func TestJSONAppenderSpansObjects(t *testing.T) {
	mem := checked(t)
	s := sch(field("id", arrow.PrimitiveTypes.Int64, false), field("name", arrow.BinaryTypes.String, true))
	sink := &badSink{}
	a, err := NewAppender(spec.FormatJSON, Options{Schema: s, Alloc: mem, OnBad: sink.onBad})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	objs := []struct{ key, body string }{
		{"a.json", "\xef\xbb\xbf{\"id\":1,\"name\":\"x\"}\n{\"id\":2}\n"},
		{"b.json", "{\"id\":3,\"name\":\"y\"}\n{\"id\":null}\n{\"id\":4,\"name\":\"z\"}"},
		{"c.json", "\n\n"},
	}
	total := 0
	for _, o := range objs {
		n, err := a.Append(strings.NewReader(o.body), o.key, int64(len(o.body)))
		if err != nil {
			t.Fatalf("%s: %v", o.key, err)
		}
		total += n
	}
	if total != 4 || a.Rows() != 4 {
		t.Fatalf("appended %d rows, Rows() = %d, want 4", total, a.Rows())
	}
	// The bad record is reported with its own object's key and line.
	if len(sink.recs) != 1 || sink.recs[0].Key != "b.json" || sink.recs[0].Line != 2 {
		t.Fatalf("bad records %+v, want one at b.json:2", sink.recs)
	}
	rows, n := flushRows(t, a, s)
	if n != 1 {
		t.Errorf("%d batches, want 1 spanning the objects", n)
	}
	eqRows(t, rows, []string{"1|x", "2|null", "3|y", "4|z"})
	if a.Rows() != 0 {
		t.Errorf("Rows() after Flush = %d", a.Rows())
	}
	// The appender is reusable after a flush.
	if _, err := a.Append(strings.NewReader(`{"id":5}`), "d.json", 8); err != nil {
		t.Fatal(err)
	}
	rows, _ = flushRows(t, a, s)
	eqRows(t, rows, []string{"5|null"})
}

// An object that fails part-way contributes none of its rows; the objects
// before and after it keep theirs, in order.
func TestJSONAppenderDropsFailedObject(t *testing.T) {
	mem := checked(t)
	s := sch(field("id", arrow.PrimitiveTypes.Int64, false))
	a, err := NewAppender(spec.FormatJSON, Options{Schema: s, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	if _, err := a.Append(strings.NewReader("{\"id\":1}\n{\"id\":2}\n"), "a.json", 0); err != nil {
		t.Fatal(err)
	}
	// A read error after two good lines.
	if _, err := a.Append(failAfter("{\"id\":10}\n{\"id\":11}\n"), "b.json", 0); err == nil || !strings.Contains(err.Error(), "b.json") {
		t.Fatalf("err = %v, want a read error naming b.json", err)
	}
	// A bad record under fail (no OnBad) after a good line.
	var bre *BadRecordError
	if _, err := a.Append(strings.NewReader("{\"id\":20}\n{\"id\":\"x\"}\n"), "c.json", 0); !errors.As(err, &bre) || bre.Record.Key != "c.json" || bre.Record.Line != 2 {
		t.Fatalf("err = %v, want a bad record at c.json:2", err)
	}
	if a.Rows() != 2 {
		t.Fatalf("Rows() = %d, want 2", a.Rows())
	}
	if _, err := a.Append(strings.NewReader("{\"id\":3}\n"), "d.json", 0); err != nil {
		t.Fatal(err)
	}
	rows, _ := flushRows(t, a, s)
	eqRows(t, rows, []string{"1", "2", "3"})

	// A failure in the first object of a batch leaves nothing behind.
	if _, err := a.Append(failAfter("{\"id\":30}\n"), "e.json", 0); err == nil {
		t.Fatal("no error")
	}
	if rows, n := flushRows(t, a, s); len(rows) != 0 || n != 0 {
		t.Fatalf("flush after a failed first object: %d batches, rows %q", n, rows)
	}
	// Rows left unflushed are freed by Release (checked by the allocator).
	if _, err := a.Append(strings.NewReader("{\"id\":4}\n"), "f.json", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Append(failAfter("{\"id\":40}\n"), "g.json", 0); err == nil {
		t.Fatal("no error")
	}
}

// The appender's rows equal NewJSON's on the same objects.
func TestJSONAppenderMatchesReader(t *testing.T) {
	mem := checked(t)
	s := sch(field("id", arrow.PrimitiveTypes.Int64, false), field("tags", arrow.ListOf(arrow.BinaryTypes.String), true),
		field("price", arrow.PrimitiveTypes.Float64, true), field("ts", arrow.FixedWidthTypes.Timestamp_us, true))
	objs := []string{
		`{"id":1,"tags":["a","b"],"price":1.5,"ts":"2026-01-02T03:04:05Z"}` + "\n" + `{"id":2,"tags":null}`,
		`{"price":2,"id":3,"tags":[]}` + "\n" + `{"id":4,"ts":1700000000000000}`,
	}
	var want []string
	for i, o := range objs {
		r, err := NewJSON(strings.NewReader(o), Options{Key: string(rune('a' + i)), Schema: s, Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		rows, _, err := collect(t, r, s)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rows...)
	}
	a, err := NewAppender(spec.FormatJSON, Options{Schema: s, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	for i, o := range objs {
		if _, err := a.Append(strings.NewReader(o), string(rune('a'+i)), int64(len(o))); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := flushRows(t, a, s)
	eqRows(t, got, want)
}

// A schema without columns (a count-only read) still counts rows, across
// a failed object too.
func TestJSONAppenderNoColumns(t *testing.T) {
	mem := checked(t)
	s := sch()
	a, err := NewAppender(spec.FormatJSON, Options{Schema: s, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	if _, err := a.Append(strings.NewReader("{}\n{\"a\":1}\n"), "a.json", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Append(failAfter("{}\n"), "b.json", 0); err == nil {
		t.Fatal("no error")
	}
	if _, err := a.Append(strings.NewReader("{}\n"), "c.json", 0); err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, b := range a.Flush() {
		rows += b.NumRows()
		b.Release()
	}
	if rows != 3 {
		t.Errorf("%d rows, want 3", rows)
	}
}

// CSV objects share builders too; each object's header is its own, so
// objects may order their columns differently, and a column missing from
// one object's header is reported for that object only.
func TestCSVAppenderSpansObjectsWithTheirOwnHeaders(t *testing.T) {
	mem := checked(t)
	s := sch(field("id", arrow.PrimitiveTypes.Int64, false), field("name", arrow.BinaryTypes.String, true))
	sink := &badSink{}
	o := Options{Schema: s, Alloc: mem, OnBad: sink.onBad, CSV: spec.CSVOptions{Header: true}}
	a, err := NewAppender(spec.FormatCSV, o)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	objs := []struct{ key, body string }{
		{"a.csv", "id,name\n1,x\n2,\n"},
		{"b.csv", "name,extra,id\ny,0,3\nz,0,4\n"},
		{"c.csv", "id\n5\n"},
		{"d.csv", ""},
	}
	for _, obj := range objs {
		if _, err := a.Append(strings.NewReader(obj.body), obj.key, int64(len(obj.body))); err != nil {
			t.Fatalf("%s: %v", obj.key, err)
		}
	}
	if len(sink.recs) != 1 || sink.recs[0].Key != "c.csv" || sink.recs[0].Column != "name" {
		t.Fatalf("bad records %+v, want name missing from c.csv's header", sink.recs)
	}
	rows, n := flushRows(t, a, s)
	if n != 1 {
		t.Errorf("%d batches, want 1", n)
	}
	eqRows(t, rows, []string{"1|x", "2|null", "3|y", "4|z", "5|null"})

	// An object that fails part-way keeps none of its rows, and the
	// objects around it keep theirs, in order; the same as NewCSV's rows.
	var bre *BadRecordError
	strict := o
	strict.OnBad = nil
	b, err := NewAppender(spec.FormatCSV, strict)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if _, err := b.Append(strings.NewReader("id,name\n6,p\n"), "e.csv", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(strings.NewReader("id,name\n7,q\nnot-a-number,r\n"), "f.csv", 0); !errors.As(err, &bre) || bre.Record.Key != "f.csv" || bre.Record.Line != 3 {
		t.Fatalf("err = %v, want a bad record at f.csv:3", err)
	}
	if _, err := b.Append(failAfter("id,name\n8,s\n"), "g.csv", 0); err == nil {
		t.Fatal("no error for a broken stream")
	}
	if _, err := b.Append(strings.NewReader("id,name\n9,t\n"), "h.csv", 0); err != nil {
		t.Fatal(err)
	}
	rows, _ = flushRows(t, b, s)
	eqRows(t, rows, []string{"6|p", "9|t"})
	r, err := NewCSV(strings.NewReader("name,extra,id\ny,0,3\nz,0,4\n"), Options{Key: "b.csv", Schema: s, Alloc: mem, CSV: spec.CSVOptions{Header: true}})
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, want, []string{"3|y", "4|z"})
}

// Headerless CSV objects are positional (Options.CSVColumns names the
// fields), object after object.
func TestCSVAppenderPositional(t *testing.T) {
	mem := checked(t)
	s := sch(field("id", arrow.PrimitiveTypes.Int64, false), field("name", arrow.BinaryTypes.String, true))
	a, err := NewAppender(spec.FormatCSV, Options{Schema: s, Alloc: mem, CSVColumns: []string{"name", "skip", "id"}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	for i, body := range []string{"x,0,1\ny,0,2\n", "z,0,3"} {
		if _, err := a.Append(strings.NewReader(body), fmt.Sprintf("%d.csv", i), 0); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := flushRows(t, a, s)
	eqRows(t, rows, []string{"1|x", "2|y", "3|z"})
}

func TestCheckPartitionValues(t *testing.T) {
	fields := []arrow.Field{{Name: "dt", Type: arrow.FixedWidthTypes.Date32}, {Name: "region", Type: arrow.BinaryTypes.String}}
	if err := CheckPartitionValues(fields, []any{int32(20000), "eu"}); err != nil {
		t.Errorf("fitting values: %v", err)
	}
	if err := CheckPartitionValues(fields, []any{nil, nil}); err != nil {
		t.Errorf("null values: %v", err)
	}
	if err := CheckPartitionValues(fields, []any{"2026-01-01", "eu"}); err == nil || !strings.Contains(err.Error(), `"dt"`) {
		t.Errorf("err = %v, want one naming dt", err)
	}
	if err := CheckPartitionValues(fields, []any{int32(1)}); err == nil {
		t.Error("no error for a missing value")
	}
}
