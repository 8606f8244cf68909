package decode

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec"
)

// rescueFuzzSchema is fuzzSchema with a rescued data column.
func rescueFuzzSchema() *arrow.Schema {
	fs := append(fuzzSchema().Fields(), field("_rescued", arrow.BinaryTypes.String, true))
	return arrow.NewSchema(fs, nil)
}

func rescueOptions(key string, s *arrow.Schema, mem memory.Allocator, bad *[]BadRecord) Options {
	var known []string
	for _, f := range fuzzSchema().Fields() {
		known = append(known, f.Name)
	}
	return Options{Key: key, Schema: s, Alloc: mem, BatchRows: 3, Rescue: &Rescue{Column: "_rescued", Known: known},
		OnBad: func(b BadRecord) error { *bad = append(*bad, b); return nil }}
}

// checkRescued decodes r and fails unless every rescued value is a JSON
// object (never invalid JSON, whatever the input held).
func checkRescued(t *testing.T, r Reader, s *arrow.Schema) int64 {
	t.Helper()
	defer r.Close()
	var rows int64
	for {
		b, err := r.Next()
		if err != nil {
			return rows
		}
		col := b.Column(s.NumFields() - 1).(*array.String)
		for i := 0; i < col.Len(); i++ {
			if col.IsNull(i) {
				continue
			}
			v := col.Value(i)
			var m map[string]json.RawMessage
			if !json.Valid([]byte(v)) || json.Unmarshal([]byte(v), &m) != nil || len(m) == 0 {
				t.Fatalf("rescued value %q is not a non-empty JSON object", v)
			}
		}
		rows += b.NumRows()
		b.Release()
	}
}

func FuzzJSONRescue(f *testing.F) {
	for _, seed := range []string{
		`{"id":1,"i":"x","extra":{"a":[1,"\u00e9"]},"st":{"x":1,"y":2},"_rescued":5}`,
		"{\"id\":1,\"k\\u0022ey\":\"v\\n\",\"f\":1e400}\n{\"id\":2,\"l\":[[\"a\"]]}",
		"{\"id\":1,\"\xff\":\"\xfe\"}",
	} {
		f.Add([]byte(seed))
	}
	s := rescueFuzzSchema()
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		var bad []BadRecord
		r, err := NewJSON(bytes.NewReader(data), rescueOptions("fuzz.json", s, mem, &bad))
		if err != nil {
			t.Fatal(err)
		}
		checkRescued(t, r, s)
	})
}

func FuzzCSVRescue(f *testing.F) {
	f.Add([]byte("id,i,extra,\"q\"\"k\"\n1,x,\"a\nb\",\xff\n2,3,,\n"))
	f.Add([]byte("id,l,st\n1,[[,{\"x\":1}\n"))
	s := rescueFuzzSchema()
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		var bad []BadRecord
		o := rescueOptions("fuzz.csv", s, mem, &bad)
		o.CSV = spec.CSVOptions{Header: true, NullValues: []string{""}, QuotedNulls: true}
		r, err := NewCSV(bytes.NewReader(data), o)
		if err != nil {
			return // a header that does not parse: an error, not a panic
		}
		checkRescued(t, r, s)
	})
}
