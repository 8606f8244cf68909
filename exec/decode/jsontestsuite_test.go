package decode

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The JSONTestSuite cases (github.com/nst/JSONTestSuite, MIT; see
// testdata/jsontestsuite/LICENSE) whose JSON text spans lines: NDJSON ends a
// record at a line break, so they are not one record (see the README).
var multiLineCases = map[string]bool{
	"n_array_newlines_unclosed.json":       true,
	"n_array_unclosed_with_new_lines.json": true,
	"n_string_unescaped_newline.json":      true,
	"y_array_with_1_and_newline.json":      true,
	"y_object_with_newlines.json":          true,
}

// suiteRead decodes one NDJSON line into schema s and says whether it was
// accepted (one row, no bad record) or why not.
func suiteRead(t *testing.T, line []byte, s *arrow.Schema) (arrow.Array, string) {
	t.Helper()
	var sink badSink
	r, err := NewJSON(bytes.NewReader(line), Options{Key: "case.json", Schema: s, OnBad: sink.onBad, Alloc: memory.NewGoAllocator()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := r.Next()
	switch {
	case err == nil && len(sink.recs) == 0 && b.NumRows() == 1:
		col := b.Column(0)
		col.Retain()
		b.Release()
		return col, ""
	case err == nil:
		b.Release()
		return nil, fmt.Sprintf("%d rows, %d bad records", b.NumRows(), len(sink.recs))
	case len(sink.recs) == 1:
		return nil, sink.recs[0].Reason
	}
	return nil, fmt.Sprintf("%v (%d bad records)", err, len(sink.recs))
}

// suiteType is a column type that reads v exactly, if there is one: a
// JSON string, number or bool, or an array of one of those (nulls allowed).
func suiteType(v any) (arrow.DataType, bool) {
	switch x := v.(type) {
	case string:
		return arrow.BinaryTypes.String, true
	case json.Number:
		return arrow.PrimitiveTypes.Float64, true
	case bool:
		return arrow.FixedWidthTypes.Boolean, true
	case []any:
		var elem arrow.DataType
		for _, e := range x {
			if e == nil {
				continue
			}
			et, ok := suiteType(e)
			if !ok || et.ID() == arrow.LIST || elem != nil && !arrow.TypeEqual(et, elem) {
				return nil, false
			}
			elem = et
		}
		if elem == nil {
			elem = arrow.PrimitiveTypes.Int64
		}
		return arrow.ListOf(elem), true
	}
	return nil, false
}

// suiteWant renders v as render renders the column sluice decoded.
func suiteWant(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case json.Number:
		f, _ := strconv.ParseFloat(string(x), 64)
		return strconv.FormatFloat(f, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, suiteWant(e))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v)
}

func suiteGot(a arrow.Array, i int) string {
	if l, ok := a.(*array.List); ok && !l.IsNull(i) {
		start, end := l.ValueOffsets(i)
		var parts []string
		for j := start; j < end; j++ {
			parts = append(parts, render(l.ListValues(), int(j)))
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return render(a, i)
}

// TestJSONTestSuite runs every case of JSONTestSuite's test_parsing that is
// one line through the NDJSON decoder. A case is wrapped as the value of a
// key, {"v":<case>}, since an NDJSON record is an object, and read twice:
// with v not read (the whole line's syntax is still checked), and, when the
// value has a scalar or array-of-scalars type, with v read as that type and
// compared with what encoding/json decodes. A case that is itself an object
// is also read as it is. y_ cases must be accepted and decode to the same
// values, n_ cases refused; what sluice does with each i_ case (the RFC
// leaves them to the parser) is recorded in i_cases.golden.
func TestJSONTestSuite(t *testing.T) {
	dir := filepath.Join("testdata", "jsontestsuite", "test_parsing")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	unread := sch(field("unread", arrow.PrimitiveTypes.Int64, true))
	var golden strings.Builder
	counts := map[byte]int{}
	for _, e := range entries {
		name := e.Name()
		kind := name[0]
		text, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		text = bytes.TrimSuffix(text, []byte("\n"))
		if bytes.IndexByte(text, '\n') >= 0 {
			if !multiLineCases[name] {
				t.Errorf("%s spans lines but is not listed in multiLineCases", name)
			}
			continue
		}
		counts[kind]++
		line := append(append([]byte(`{"v":`), text...), '}')
		col, why := suiteRead(t, line, unread)
		accepted := why == ""
		if col != nil {
			col.Release()
		}
		var asObject string
		if o := bytes.TrimLeft(text, " \t\r"); len(o) > 0 && o[0] == '{' || bytes.HasPrefix(text, bom) {
			col, whyObj := suiteRead(t, text, unread)
			if col != nil {
				col.Release()
			}
			asObject = whyObj
			if (whyObj == "") != accepted && kind != 'i' {
				t.Errorf("%s: as a value: %q, as the record itself: %q", name, why, whyObj)
			}
		}
		switch kind {
		case 'y':
			if !accepted {
				t.Errorf("%s (valid JSON) was refused: %s\n%q", name, why, text)
				continue
			}
		case 'n':
			if accepted {
				t.Errorf("%s (invalid JSON) was accepted: %q", name, text)
			}
			continue
		}
		// Read the value itself, when it has a type, and compare.
		var v any
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.UseNumber()
		typed := ""
		if err := dec.Decode(&v); err == nil {
			if dt, ok := suiteType(v); ok {
				col, why := suiteRead(t, line, sch(field("v", dt, true)))
				if col == nil {
					typed = fmt.Sprintf("read as %s: bad record (%s)", dt, why)
					if kind == 'y' {
						t.Errorf("%s: read as %s: %s", name, dt, why)
					}
				} else {
					got := suiteGot(col, 0)
					col.Release()
					typed = fmt.Sprintf("read as %s: %s", dt, clipGolden(got))
					want := suiteWant(v)
					if kind == 'y' && got != want && !(dt.ID() == arrow.FLOAT64 && overflowsFloat(v)) {
						t.Errorf("%s: read as %s: %q, encoding/json: %q", name, dt, got, want)
					}
				}
			}
		}
		if kind == 'i' {
			syntax := "accepted"
			if !accepted {
				syntax = "refused (" + why + ")"
			}
			fmt.Fprintf(&golden, "%s\n  as a value: %s\n", name, syntax)
			if asObject != "" || bytes.HasPrefix(text, bom) {
				s := "accepted"
				if asObject != "" {
					s = "refused (" + asObject + ")"
				}
				fmt.Fprintf(&golden, "  as the record: %s\n", s)
			}
			if typed != "" {
				fmt.Fprintf(&golden, "  %s\n", typed)
			}
		}
	}
	t.Logf("cases: %d y_, %d n_, %d i_ (and %d spanning lines)", counts['y'], counts['n'], counts['i'], len(multiLineCases))
	goldenPath := filepath.Join("testdata", "jsontestsuite", "i_cases.golden")
	if *update {
		if err := os.WriteFile(goldenPath, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	if golden.String() != string(want) {
		t.Errorf("i_ cases differ from %s (go test -run TestJSONTestSuite -update to rewrite):\n%s", goldenPath, golden.String())
	}
}

// overflowsFloat: encoding/json and sluice both refuse a number past
// float64's range, so there is nothing to compare.
func overflowsFloat(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return err != nil || math.IsInf(f, 0)
}

// clipGolden keeps golden lines short and printable.
func clipGolden(s string) string {
	if !utf8.ValidString(s) || len(s) > 60 {
		q := strconv.Quote(s)
		if len(q) > 60 {
			q = q[:60] + "…"
		}
		return q
	}
	return strconv.Quote(s)
}
