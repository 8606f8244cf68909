package decode

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicedata/sluice/spec"
)

var rescueSchema = sch(
	field("id", arrow.PrimitiveTypes.Int64, false),
	field("amount", arrow.PrimitiveTypes.Float64, true),
	field("tags", arrow.ListOf(arrow.BinaryTypes.String), true),
	field("_rescued", arrow.BinaryTypes.String, true),
)

func rescueOpts(t *testing.T, key string, s *arrow.Schema, bad *badSink) Options {
	return Options{Key: key, Schema: s, Alloc: checked(t), OnBad: bad.onBad,
		Rescue: &Rescue{Column: "_rescued", Known: []string{"id", "amount", "tags", "note", "dt"}}}
}

// TestJSONRescue: undeclared keys (with their raw JSON values) and values
// that do not convert go to the rescued data column and the row is kept;
// a declared but unread key (note) is not rescued; a non-nullable column
// that does not convert is still a bad record; nothing rescued is null.
func TestJSONRescue(t *testing.T) {
	in := `{"id":1,"amount":2.5,"note":"declared, not read"}
{"id":2,"amount":"12,50","extra":{"a":[1,"x"]},"tags":["a"]}
{"extra":true,"id":3,"amount":1,"tags":"notalist","_rescued":"x"}
{"id":"four","amount":1}
{"id":5,"amount":1,"extra":"tab\there \"q\""}
`
	var bad badSink
	r, err := NewJSON(strings.NewReader(in), rescueOpts(t, "r.json", rescueSchema, &bad))
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, rescueSchema)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{
		`1|2.5|null|null`,
		`2|null|["a"]|{"extra":{"a":[1,"x"]},"amount":"12,50"}`,
		`3|1|null|{"extra":true,"_rescued":"x","tags":"notalist"}`,
		`5|1|null|{"extra":"tab\there \"q\""}`,
	})
	if len(bad.recs) != 1 || bad.recs[0].Line != 4 || bad.recs[0].Column != "id" {
		t.Errorf("bad records %v, want line 4 column id", bad.recs)
	}
}

// TestJSONRescueProjectedOut: without the rescued column in the decoded
// schema (the pipeline does not read it), a value that does not convert
// is still null and its row kept.
func TestJSONRescueProjectedOut(t *testing.T) {
	s := sch(field("id", arrow.PrimitiveTypes.Int64, false), field("amount", arrow.PrimitiveTypes.Float64, true))
	var bad badSink
	r, err := NewJSON(strings.NewReader(`{"id":1,"amount":"x","extra":1}`+"\n"), rescueOpts(t, "r.json", s, &bad))
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{"1|null"})
	if len(bad.recs) != 0 {
		t.Errorf("bad records %v", bad.recs)
	}
}

// TestCSVRescue: header names the schema does not declare, and fields
// that do not parse, are rescued as text; null fields are not rescued.
func TestCSVRescue(t *testing.T) {
	in := "id,amount,tags,extra,note\n1,2.5,,,n\n2,\"12,50\",\"[\"\"a\"\"]\",x y,\n3,1,notjson,\"q\"\"\",\nfour,1,,,\n"
	var bad badSink
	o := rescueOpts(t, "r.csv", rescueSchema, &bad)
	o.CSV = spec.CSVOptions{Header: true, NullValues: []string{""}, QuotedNulls: true}
	r, err := NewCSV(strings.NewReader(in), o)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, rescueSchema)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{
		`1|2.5|null|null`,
		`2|null|["a"]|{"extra":"x y","amount":"12,50"}`,
		`3|1|null|{"extra":"q\"","tags":"notjson"}`,
	})
	if len(bad.recs) != 1 || bad.recs[0].Column != "id" {
		t.Errorf("bad records %v, want one for id", bad.recs)
	}
}

func TestAppendJSONText(t *testing.T) {
	got := string(appendJSONText(nil, []byte("a\"\\\n\x01\xffé")))
	if want := `"a\"\\\n\u0001` + "\ufffdé\""; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
