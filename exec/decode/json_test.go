package decode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

var (
	tsMS = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	tsUS = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	tsNS = &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	dec  = &arrow.Decimal128Type{Precision: 12, Scale: 3}
)

func allTypes() *arrow.Schema {
	return sch(
		field("b", arrow.FixedWidthTypes.Boolean, true),
		field("i32", arrow.PrimitiveTypes.Int32, true),
		field("i64", arrow.PrimitiveTypes.Int64, true),
		field("f32", arrow.PrimitiveTypes.Float32, true),
		field("f64", arrow.PrimitiveTypes.Float64, true),
		field("s", arrow.BinaryTypes.String, true),
		field("bin", arrow.BinaryTypes.Binary, true),
		field("d", arrow.FixedWidthTypes.Date32, true),
		field("ts_ms", tsMS, true),
		field("ts_us", tsUS, true),
		field("ts_ns", tsNS, true),
		field("dec", dec, true),
		field("tsf", tsMS, true),
	)
}

func ms(t time.Time) string { return fmt.Sprint(t.UnixMilli()) }

func TestJSONConversions(t *testing.T) {
	mem := checked(t)
	in := strings.Join([]string{
		`{"b":true,"i32":-5,"i64":9007199254740993,"f32":1.5,"f64":-2.25e3,"s":"a\"b\u00e9","bin":"aGk=","d":"2026-01-02","ts_ms":"2026-01-02T03:04:05.678Z","ts_us":"2026-01-02T03:04:05.123456+01:00","ts_ns":"2026-01-02 03:04:05.123456789","dec":"12345.678","tsf":"02/01/2026 10:30","extra":{"x":[1,2]}}`,
		`{"b":null}`,
		`{"b":false,"i32":3.0,"i64":1e2,"f32":0,"f64":1,"dec":0.5,"ts_ms":1700000000000,"ts_us":"2026-01-02","ts_ns":"2026-01-02T03:04","d":"1969-12-31","bin":"aGk"}`,
		`{"dec":"-0.001","ts_ms":"2026-01-02T03:04:05.999999-08:00","s":"","i64":-9223372036854775808}`,
		`{"dec":"1.2300","ts_ms":"1900-01-01T00:00:00Z","dec":"-99.5e1"}`,
	}, "\n")
	r, err := NewJSON(strings.NewReader(in), Options{Key: "t.json", Schema: allTypes(), Alloc: mem,
		TimestampFormats: map[string]string{"tsf": "02/01/2006 15:04"}})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, allTypes())
	if err != nil {
		t.Fatal(err)
	}
	utc := time.UTC
	want := []string{
		"true|-5|9007199254740993|1.5|-2250|a\"bé|hi|2026-01-02|" +
			ms(time.Date(2026, 1, 2, 3, 4, 5, 678e6, utc)) + "|" +
			fmt.Sprint(time.Date(2026, 1, 2, 2, 4, 5, 123456e3, utc).UnixMicro()) + "|" +
			fmt.Sprint(time.Date(2026, 1, 2, 3, 4, 5, 123456789, utc).UnixNano()) + "|12345678|" +
			ms(time.Date(2026, 1, 2, 10, 30, 0, 0, utc)),
		"null|null|null|null|null|null|null|null|null|null|null|null|null",
		"false|3|100|0|1|null|hi|1969-12-31|1700000000000|" +
			fmt.Sprint(time.Date(2026, 1, 2, 0, 0, 0, 0, utc).UnixMicro()) + "|" +
			fmt.Sprint(time.Date(2026, 1, 2, 3, 4, 0, 0, utc).UnixNano()) + "|500|null",
		"null|null|-9223372036854775808|null|null||null|null|" +
			ms(time.Date(2026, 1, 2, 11, 4, 5, 999e6, utc)) + "|null|null|-1|null",
		"null|null|null|null|null|null|null|null|" + ms(time.Date(1900, 1, 1, 0, 0, 0, 0, utc)) + "|null|null|-995000|null",
	}
	eqRows(t, rows, want)
}

func TestJSONBadRecords(t *testing.T) {
	s := sch(
		field("id", arrow.PrimitiveTypes.Int64, false),
		field("i32", arrow.PrimitiveTypes.Int32, true),
		field("s", arrow.BinaryTypes.String, true),
		field("f", arrow.PrimitiveTypes.Float64, true),
		field("b", arrow.FixedWidthTypes.Boolean, true),
		field("d", arrow.FixedWidthTypes.Date32, true),
		field("ts", tsUS, true),
		field("dec", dec, true),
		field("bin", arrow.BinaryTypes.Binary, true),
		field("l", arrow.ListOf(arrow.PrimitiveTypes.Int64), true),
		field("st", arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}), true),
		field("m", arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32), true),
	)
	cases := []struct {
		line, col, reason string
	}{
		{`[1,2]`, "", "not a JSON object (got array)"},
		{`"str"`, "", "not a JSON object (got string)"},
		{`{"id":1`, "", "invalid JSON"},
		{`{"id":1,}`, "", "invalid JSON"},
		{`{"id":1} x`, "", "invalid JSON"},
		{`{"id":"x"}`, "id", "expected int64, got string"},
		{`{"id":1.5}`, "id", "not an integer"},
		{`{"id":99999999999999999999}`, "id", "overflows int64"},
		{`{"id":null}`, "id", "null or missing value in non-nullable column"},
		{`{}`, "id", "null or missing value in non-nullable column"},
		{`{"id":1,"i32":3000000000}`, "i32", "overflows int32"},
		{`{"id":1,"s":{"a":1}}`, "s", "expected string, got object"},
		{`{"id":1,"s":3}`, "s", "expected string, got number"},
		{"{\"id\":1,\"s\":\"\xff\xfe\"}", "s", "invalid UTF-8 in string"},
		{`{"id":1,"f":"1.5"}`, "f", "expected float64, got string"},
		{`{"id":1,"f":nan}`, "", "invalid JSON: invalid literal at offset 12"},
		{`{"id":1,"f":01}`, "", "invalid JSON"},
		{`{"id":1,"s":"\q"}`, "", "invalid JSON: invalid escape"},
		{`{"id":1,"zz":[1,]}`, "", "invalid JSON"},
		{`{"id":1 "s":"x"}`, "", "expected ',' or '}' in object"},
		{`{"id":1,"b":1}`, "b", "expected bool, got number"},
		{`{"id":1,"d":"2026-02-30"}`, "d", "invalid date"},
		{`{"id":1,"d":20260101}`, "d", "expected date, got number"},
		{`{"id":1,"ts":"yesterday"}`, "ts", "invalid timestamp"},
		{`{"id":1,"ts":1.5}`, "ts", "invalid epoch timestamp"},
		{`{"id":1,"ts":"2026-01-02T25:00:00Z"}`, "ts", "invalid timestamp"},
		{`{"id":1,"dec":"1.2345"}`, "dec", "more than 3 fraction digits"},
		{`{"id":1,"dec":1e20}`, "dec", "more than 12 digits"},
		{`{"id":1,"dec":"abc"}`, "dec", "invalid decimal"},
		{`{"id":1,"bin":"!!"}`, "bin", "invalid base64"},
		{`{"id":1,"l":[1,"x"]}`, "l", `[1]: expected int64, got string`},
		{`{"id":1,"l":{"a":1}}`, "l", "expected array, got object"},
		{`{"id":1,"st":[1]}`, "st", "expected object, got array"},
		{`{"id":1,"st":{"a":true}}`, "st", ".a: expected int64, got bool"},
		{`{"id":1,"m":{"k":"v"}}`, "m", `["k"]: expected int32, got string`},
	}
	nulls := strings.Repeat("|null", s.NumFields()-1)
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			mem := checked(t)
			sink := &badSink{}
			in := `{"id":1}` + "\n" + c.line + "\n" + `{"id":3}` + "\n"
			r, err := NewJSON(strings.NewReader(in), Options{Key: "k.json", Schema: s, Alloc: mem, OnBad: sink.onBad})
			if err != nil {
				t.Fatal(err)
			}
			rows, _, err := collect(t, r, s)
			if err != nil {
				t.Fatal(err)
			}
			// The bad line leaves no partial row behind.
			eqRows(t, rows, []string{"1" + nulls, "3" + nulls})
			if len(sink.recs) != 1 {
				t.Fatalf("bad records = %+v", sink.recs)
			}
			b := sink.recs[0]
			if b.Key != "k.json" || b.Line != 2 || b.Column != c.col || !strings.Contains(b.Reason, c.reason) || string(b.Raw) != c.line {
				t.Errorf("bad record = %+v (reason %q), want line 2 column %q reason containing %q", b, b.Reason, c.col, c.reason)
			}
		})
	}
}

func TestJSONFraming(t *testing.T) {
	mem := checked(t)
	s := sch(field("id", arrow.PrimitiveTypes.Int64, true), field("s", arrow.BinaryTypes.String, true))
	huge := strings.Repeat("x", 3<<20) // longer than any buffer
	in := "\xef\xbb\xbf" + `{"id":1}` + "\r\n" +
		"\r\n" +
		"   \n" +
		`{"s":"` + huge + `","id":2}` + "\r\n" +
		`{"id":"bad"}` + "\n" +
		`{"id":4}` // no final newline
	sink := &badSink{}
	r, err := NewJSON(strings.NewReader(in), Options{Key: "f.json", Schema: s, Alloc: mem, BatchRows: 2, OnBad: sink.onBad})
	if err != nil {
		t.Fatal(err)
	}
	rows, batches, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{"1|null", "2|" + huge, "4|null"})
	if batches != 2 {
		t.Errorf("batches = %d, want 2", batches)
	}
	if len(sink.recs) != 1 || sink.recs[0].Line != 5 || sink.recs[0].Column != "id" {
		t.Errorf("bad = %+v", sink.recs)
	}
}

func TestJSONPolicyStopsDecoding(t *testing.T) {
	s := sch(field("id", arrow.PrimitiveTypes.Int64, true))
	in := "{\"id\":1}\n{\"id\":true}\n{\"id\":3}\n"

	t.Run("OnBad error", func(t *testing.T) {
		mem := checked(t)
		sink := &badSink{stop: true}
		r, _ := NewJSON(strings.NewReader(in), Options{Key: "p.json", Schema: s, Alloc: mem, OnBad: sink.onBad})
		_, _, err := collect(t, r, s)
		if err == nil || !strings.Contains(err.Error(), "stop: p.json:2: column \"id\": expected int64, got bool") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("nil OnBad", func(t *testing.T) {
		mem := checked(t)
		r, _ := NewJSON(strings.NewReader(in), Options{Key: "p.json", Schema: s, Alloc: mem})
		_, _, err := collect(t, r, s)
		var be *BadRecordError
		if !errors.As(err, &be) || be.Record.Line != 2 || be.Record.Column != "id" {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestJSONNested(t *testing.T) {
	mem := checked(t)
	s := sch(
		field("l", arrow.ListOf(arrow.PrimitiveTypes.Int64), true),
		field("st", arrow.StructOf(
			arrow.Field{Name: "a", Type: arrow.BinaryTypes.String, Nullable: true},
			arrow.Field{Name: "b", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64), Nullable: true},
			arrow.Field{Name: "t", Type: tsMS, Nullable: true},
		), true),
		field("m", arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32), true),
		field("lm", arrow.ListOf(arrow.MapOf(arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String)), true),
	)
	in := `{"l":[1,null,3],"st":{"a":"x","b":[1.5],"t":"1970-01-01T00:00:01Z","zz":1},"m":{"k":1,"j":null},"lm":[{"7":"seven"}]}` + "\n" +
		`{"l":[],"st":{},"m":{},"lm":null}` + "\n" +
		`{"lm":[{"x":"bad key"}]}` + "\n"
	sink := &badSink{}
	r, err := NewJSON(strings.NewReader(in), Options{Key: "n.json", Schema: s, Alloc: mem, OnBad: sink.onBad})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{
		`[1,null,3]|{"a":"x","b":[1.5],"t":"1970-01-01T00:00:01Z"}|[{"key":"k","value":1},{"key":"j","value":null}]|[[{"key":7,"value":"seven"}]]`,
		`[]|{"a":null,"b":null,"t":null}|[]|null`,
	})
	if len(sink.recs) != 1 || sink.recs[0].Column != "lm" || !strings.Contains(sink.recs[0].Reason, `key "x": invalid int64`) {
		t.Fatalf("bad = %+v", sink.recs)
	}
}

func TestJSONReadErrorNamesKey(t *testing.T) {
	mem := checked(t)
	s := sch(field("id", arrow.PrimitiveTypes.Int64, true))
	src := io.MultiReader(strings.NewReader("{\"id\":1}\n"), iotest.ErrReader(errors.New("connection reset")))
	r, _ := NewJSON(src, Options{Key: "net.json", Schema: s, Alloc: mem})
	_, _, err := collect(t, r, s)
	if err == nil || err.Error() != "net.json: read: connection reset" {
		t.Fatalf("err = %v", err)
	}
}

func TestJSONEmptyAndSchemaErrors(t *testing.T) {
	mem := checked(t)
	s := sch(field("id", arrow.PrimitiveTypes.Int64, true))
	r, _ := NewJSON(strings.NewReader("\n\n"), Options{Key: "e.json", Schema: s, Alloc: mem})
	rows, batches, err := collect(t, r, s)
	if err != nil || len(rows) != 0 || batches != 0 {
		t.Fatalf("rows=%v batches=%d err=%v", rows, batches, err)
	}
	_, err = NewJSON(strings.NewReader(""), Options{Key: "e.json", Schema: sch(field("x", arrow.FixedWidthTypes.Time32ms, true)), Alloc: mem})
	if err == nil || !strings.Contains(err.Error(), `e.json: column "x"`) {
		t.Fatalf("err = %v", err)
	}
}

// nextStringSpecial's word-at-a-time search finds what a byte loop finds,
// for every start, length and position, including bytes that differ from
// '"', '\\' and the control characters only in the high bit or by one (the
// carries a SWAR test can get wrong).
func TestNextStringSpecial(t *testing.T) {
	alphabet := []byte{'a', '"', '\\', 0x00, 0x01, 0x1f, 0x0a, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x9f, 0xa0, 0xa2, 0xdc, 0x80, 0xff}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 40; n++ {
		for trial := 0; trial < 300; trial++ {
			s := make([]byte, n)
			for k := range s {
				if rng.IntN(4) == 0 {
					s[k] = alphabet[rng.IntN(len(alphabet))]
				} else {
					s[k] = alphabet[rng.IntN(len(alphabet)-7)+7] // mostly none
				}
			}
			for i := 0; i <= n; i++ {
				want := i
				for want < n && s[want] != '"' && s[want] != '\\' && s[want] >= 0x20 {
					want++
				}
				if got := nextStringSpecial(s, i); got != want {
					t.Fatalf("nextStringSpecial(%q, %d) = %d, want %d", s, i, got, want)
				}
			}
		}
	}
}

// keyWords.prefixOf agrees with bytes.HasPrefix for patterns of every
// length around the word sizes, at every offset, near the end of the line
// too (where it falls back to bytes).
func TestKeyWordsPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{'a', 'b', '"', ':', 0xe1, 0xa2} // high-bit twins of a and "
	for n := 1; n <= 20; n++ {
		for trial := 0; trial < 200; trial++ {
			pat := make([]byte, n)
			for k := range pat {
				pat[k] = alphabet[rng.IntN(len(alphabet))]
			}
			kw := newKeyWords(pat)
			s := make([]byte, rng.IntN(40))
			for k := range s {
				s[k] = alphabet[rng.IntN(len(alphabet))]
			}
			if len(s) > n && rng.IntN(2) == 0 { // plant the pattern
				copy(s[rng.IntN(len(s)-n+1):], pat)
			}
			for i := 0; i <= len(s); i++ {
				if got, want := kw.prefixOf(s, i, pat), bytes.HasPrefix(s[i:], pat); got != want {
					t.Fatalf("prefixOf(%q at %d, %q) = %v, want %v", s, i, pat, got, want)
				}
			}
		}
	}
}

// TestJSONControlCharacters: raw control characters (U+0000 to U+001F)
// inside strings are not JSON (RFC 8259 §7); escaped ones are.
func TestJSONControlCharacters(t *testing.T) {
	s := sch(field("a", arrow.BinaryTypes.String, true))
	in := "{\"a\":\"tab\there\"}\n" +
		"{\"a\":\"nul\x00\"}\n" +
		"{\"k\x01\":1}\n" +
		"{\"a\":\"esc\\t\\u0000\"}\n" +
		"{\"a\":\"del\x7f ok\"}\n"
	var sink badSink
	r, err := NewJSON(strings.NewReader(in), Options{Key: "c.json", Schema: s, Alloc: checked(t), OnBad: sink.onBad})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{"esc\t\x00", "del\x7f ok"})
	want := []string{
		"c.json:1: invalid JSON: raw control character U+0009 in a string (column 10;",
		"c.json:2: invalid JSON: raw control character U+0000 in a string (column 10;",
		"c.json:3: invalid JSON: raw control character U+0001 in a string (column 4;",
	}
	if len(sink.recs) != len(want) {
		t.Fatalf("bad records: %+v", sink.recs)
	}
	for i, w := range want {
		if got := sink.recs[i].String(); !strings.HasPrefix(got, w) {
			t.Errorf("got %q, want %q…", got, w)
		}
	}
}

// TestJSONLoneSurrogatesNested: a lone surrogate escape becomes U+FFFD in a
// string inside a list or struct as it does outside one (fastjson, which
// decodes nested values, kept the escape as six characters of text).
func TestJSONLoneSurrogatesNested(t *testing.T) {
	s := sch(field("s", arrow.BinaryTypes.String, true), field("l", arrow.ListOf(arrow.BinaryTypes.String), true))
	in := `{"s":"a\ud800b","l":["a\ud800b","\udc00","\ud83d\ude00","\\ud800",null]}`
	r, err := NewJSON(strings.NewReader(in), Options{Key: "s.json", Schema: s, Alloc: checked(t)})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{`a�b|["a�b","�","😀","\\ud800",null]`})
}
