package decode

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicedata/sluice/spec"
)

func csvOpts(t *testing.T, s *arrow.Schema, c spec.CSVOptions, sink *badSink) Options {
	o := Options{Key: "k.csv", Schema: s, CSV: c, Alloc: checked(t)}
	if sink != nil {
		o.OnBad = sink.onBad
	}
	return o
}

func TestCSVHeaderByName(t *testing.T) {
	s := sch(
		field("id", arrow.PrimitiveTypes.Int64, false),
		field("name", arrow.BinaryTypes.String, true),
		field("amount", dec, true),
		field("at", tsMS, true),
		field("ok", arrow.FixedWidthTypes.Boolean, true),
		field("d", arrow.FixedWidthTypes.Date32, true),
		field("f", arrow.PrimitiveTypes.Float32, true),
		field("tags", arrow.ListOf(arrow.BinaryTypes.String), true),
	)
	// Columns in another order than the schema, plus one not read.
	in := "\xef\xbb\xbfextra,ok,d,name,id,amount,at,f,tags\r\n" +
		"x,true,2026-03-04,\"Smith, \"\"Jo\"\"\",1,12.5,2026-01-02T00:00:00Z,0.25,\"[\"\"a\"\",\"\"b\"\"]\"\r\n" +
		"\r\n" +
		"y,false,,,2,,,NaN,\n" +
		"z,0,,\"\",3,-1,0,1e3,[]\n"
	r, err := NewCSV(strings.NewReader(in), csvOpts(t, s, spec.CSVOptions{Header: true}, nil))
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{
		`1|Smith, "Jo"|12500|1767312000000|true|2026-03-04|0.25|["a","b"]`,
		`2|null|null|null|false|null|NaN|null`,
		`3||-1000|0|false|null|1000|[]`, // a quoted empty field is never null
	})
}

func TestCSVPositionalAndOptions(t *testing.T) {
	s := sch(field("a", arrow.PrimitiveTypes.Int32, true), field("c", arrow.BinaryTypes.String, true))
	in := "1;'x;y';skip\n" +
		"NULL;'multi\nline';z\n" +
		"3;NA;q\n"
	o := csvOpts(t, s, spec.CSVOptions{Header: false, Delimiter: ';', Quote: '\'', NullValues: []string{"NULL", "NA"}}, nil)
	o.CSVColumns = []string{"a", "b", "c"}[:0]
	o.CSVColumns = append(o.CSVColumns, "a", "c", "b") // the file's order: a, c, b
	r, err := NewCSV(strings.NewReader(in), o)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{"1|x;y", "null|multi\nline", "3|null"})
}

func TestCSVBadRecords(t *testing.T) {
	s := sch(field("id", arrow.PrimitiveTypes.Int64, false), field("v", arrow.PrimitiveTypes.Float64, true), field("s", arrow.BinaryTypes.String, true))
	cases := []struct {
		name, rec, col, reason string
		line                   int64
	}{
		{"ragged short", "2,1.5", "", "row has 2 fields, expected 3", 3},
		{"ragged long", "2,1.5,a,b", "", "row has 4 fields, expected 3", 3},
		{"bad int", "x,1,a", "id", `invalid int64 "x"`, 3},
		{"fraction", "2.5,1,a", "id", `invalid int64 "2.5"`, 3},
		{"bad float", "2,abc,a", "v", `invalid float64 "abc"`, 3},
		{"null id", ",1,a", "id", "null in non-nullable column", 3},
		{"bare quote", "2,1,a\"b", "", "bare quote in unquoted field 3", 3},
		{"text after quote", "2,1,\"a\"b", "", "unexpected text after closing quote in field 3", 3},
		{"utf8", "2,1,\xff", "s", "invalid UTF-8", 3},
		{"multi-line then bad", "\"2\n\",1,a", "id", `invalid int64 "2\n"`, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink := &badSink{}
			in := "id,v,s\n1,0.5,x\n" + c.rec + "\n4,2,y\n"
			r, err := NewCSV(strings.NewReader(in), csvOpts(t, s, spec.CSVOptions{Header: true}, sink))
			if err != nil {
				t.Fatal(err)
			}
			rows, _, err := collect(t, r, s)
			if err != nil {
				t.Fatal(err)
			}
			eqRows(t, rows, []string{"1|0.5|x", "4|2|y"})
			if len(sink.recs) != 1 {
				t.Fatalf("bad = %+v", sink.recs)
			}
			b := sink.recs[0]
			if b.Line != c.line || b.Column != c.col || !strings.Contains(b.Reason, c.reason) || string(b.Raw) != c.rec {
				t.Errorf("bad = %+v (reason %q raw %q)", b, b.Reason, b.Raw)
			}
		})
	}
}

func TestCSVLineNumbersAcrossQuotedNewlines(t *testing.T) {
	s := sch(field("id", arrow.PrimitiveTypes.Int64, true), field("s", arrow.BinaryTypes.String, true))
	in := "id,s\n" + // line 1
		"1,\"a\nb\nc\"\n" + // lines 2-4
		"oops,x\n" + // line 5
		"3,\"unclosed\n" + // line 6
		"4,y\n" // line 7, swallowed by the open quote
	sink := &badSink{}
	r, err := NewCSV(strings.NewReader(in), csvOpts(t, s, spec.CSVOptions{Header: true}, sink))
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{"1|a\nb\nc"})
	if len(sink.recs) != 2 {
		t.Fatalf("bad = %+v", sink.recs)
	}
	if b := sink.recs[0]; b.Line != 5 || b.Column != "id" {
		t.Errorf("first bad = %+v", b)
	}
	if b := sink.recs[1]; b.Line != 6 || !strings.Contains(b.Reason, "unclosed quote") || string(b.Raw) != "3,\"unclosed\n4,y" {
		t.Errorf("second bad = %+v raw %q", b, b.Raw)
	}
}

func TestCSVMissingHeaderColumn(t *testing.T) {
	s := sch(field("id", arrow.PrimitiveTypes.Int64, true), field("gone", arrow.BinaryTypes.String, true))
	t.Run("skip policy reads null", func(t *testing.T) {
		sink := &badSink{}
		r, err := NewCSV(strings.NewReader("id,other\n1,a\n2,b\n"), csvOpts(t, s, spec.CSVOptions{Header: true}, sink))
		if err != nil {
			t.Fatal(err)
		}
		rows, _, err := collect(t, r, s)
		if err != nil {
			t.Fatal(err)
		}
		eqRows(t, rows, []string{"1|null", "2|null"})
		if len(sink.recs) != 1 || sink.recs[0].Line != 1 || sink.recs[0].Column != "gone" || sink.recs[0].Reason != "column not in header" {
			t.Fatalf("bad = %+v", sink.recs)
		}
	})
	t.Run("fail policy", func(t *testing.T) {
		sink := &badSink{stop: true}
		_, err := NewCSV(strings.NewReader("id,other\n1,a\n"), csvOpts(t, s, spec.CSVOptions{Header: true}, sink))
		if err == nil || !strings.Contains(err.Error(), `k.csv:1: column "gone": column not in header`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestCSVEmptyAndErrors(t *testing.T) {
	s := sch(field("id", arrow.PrimitiveTypes.Int64, true))
	r, err := NewCSV(strings.NewReader(""), csvOpts(t, s, spec.CSVOptions{Header: true}, nil))
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil || len(rows) != 0 {
		t.Fatalf("rows %v err %v", rows, err)
	}
	if _, err := NewCSV(strings.NewReader(""), csvOpts(t, s, spec.CSVOptions{Delimiter: '"'}, nil)); err == nil {
		t.Fatal("delimiter == quote accepted")
	}
	if _, err := NewCSV(strings.NewReader("\"id\n"), csvOpts(t, s, spec.CSVOptions{Header: true}, nil)); err == nil || !strings.Contains(err.Error(), "k.csv:1: csv header: unclosed quote") {
		t.Fatalf("err = %v", err)
	}
}

func TestCountOnlyTextFormats(t *testing.T) {
	empty := sch()
	sink := &badSink{}
	r, err := NewCSV(strings.NewReader("a,b\n1,2\n3\n4,5\n"), csvOpts(t, empty, spec.CSVOptions{Header: true}, sink))
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, empty)
	if err != nil || len(rows) != 2 || len(sink.recs) != 1 {
		t.Fatalf("csv: rows %d err %v bad %+v", len(rows), err, sink.recs)
	}
	jr, err := NewJSON(strings.NewReader("{}\n{\"a\":1}\nnope\n"), Options{Key: "c.json", Schema: empty, Alloc: checked(t), OnBad: sink.onBad})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err = collect(t, jr, empty)
	if err != nil || len(rows) != 2 || len(sink.recs) != 2 {
		t.Fatalf("json: rows %d err %v bad %+v", len(rows), err, sink.recs)
	}
}

// A quoted field equal to a null value is null, as DuckDB reads it
// (allow_quoted_nulls), unless quoted_nulls is false: then quoting keeps
// it text, as Spark reads "" (an empty string).
func TestCSVQuotedNulls(t *testing.T) {
	s := sch(field("a", arrow.PrimitiveTypes.Int32, true), field("b", arrow.BinaryTypes.String, true), field("c", arrow.BinaryTypes.String, true))
	in := "a,b,c\n1,NULL,\"NULL\"\n2,,\"\"\n"
	for _, tc := range []struct {
		quoted bool
		want   []string
	}{
		{true, []string{"1|null|null", "2|null|null"}},
		{false, []string{"1|null|NULL", "2|null|"}},
	} {
		c := spec.CSVOptions{Header: true, Delimiter: ',', Quote: '"', NullValues: []string{"", "NULL"}, QuotedNulls: tc.quoted}
		r, err := NewCSV(strings.NewReader(in), csvOpts(t, s, c, nil))
		if err != nil {
			t.Fatal(err)
		}
		rows, _, err := collect(t, r, s)
		if err != nil {
			t.Fatal(err)
		}
		eqRows(t, rows, tc.want)
	}
}
