package decode

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/valyala/fastjson"
)

// flightsFile finds a vega-datasets flights table (a JSON array of flat
// objects) in the repository's testdata, or in $VEGA_DATASETS. It is never
// downloaded: the test is skipped when no copy is present.
func flightsFile(t *testing.T) string {
	var dirs []string
	if d := os.Getenv("VEGA_DATASETS"); d != "" {
		dirs = append(dirs, d)
	}
	dirs = append(dirs, "testdata", "testdata/vega-datasets", "testdata/vega-datasets/data",
		"../../testdata", "../../testdata/vega-datasets", "../../testdata/vega-datasets/data",
		"../../node_modules/vega-datasets/data")
	for _, d := range dirs {
		for _, n := range []string{"flights-200k.json", "flights-20k.json", "flights-10k.json", "flights-5k.json", "flights-2k.json"} {
			p := filepath.Join(d, n)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Skip("vega-datasets flights not present in testdata (not downloaded by tests)")
	return ""
}

// TestRealFlights decodes a real public table: the JSON array is turned
// into NDJSON, a schema is taken from the first object (numbers as
// float64, strings as string), and every row must decode with no bad
// record and the same values fastjson sees.
func TestRealFlights(t *testing.T) {
	path := flightsFile(t)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := fastjson.ParseBytes(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	arr, err := v.Array()
	if err != nil || len(arr) == 0 {
		t.Fatalf("%s: not a JSON array of objects", path)
	}
	var fields []arrow.Field
	first, _ := arr[0].Object()
	first.Visit(func(k []byte, v *fastjson.Value) {
		dt := arrow.DataType(arrow.BinaryTypes.String)
		if v.Type() == fastjson.TypeNumber {
			dt = arrow.PrimitiveTypes.Float64
		}
		fields = append(fields, field(string(k), dt, true))
	})
	s := sch(fields...)
	var nd bytes.Buffer
	for _, e := range arr {
		nd.Write(e.MarshalTo(nil))
		nd.WriteByte('\n')
	}
	sink := &badSink{}
	r, err := NewJSON(&nd, Options{Key: path, Schema: s, Alloc: checked(t), OnBad: sink.onBad})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.recs) != 0 || len(rows) != len(arr) {
		t.Fatalf("%d rows of %d, bad %+v", len(rows), len(arr), sink.recs[:min(3, len(sink.recs))])
	}
	for _, i := range []int{0, len(arr) / 2, len(arr) - 1} {
		var want []byte
		for j, f := range fields {
			if j > 0 {
				want = append(want, '|')
			}
			e := arr[i].Get(f.Name)
			switch {
			case e == nil || e.Type() == fastjson.TypeNull:
				want = append(want, "null"...)
			case e.Type() == fastjson.TypeNumber:
				want = strconv.AppendFloat(want, e.GetFloat64(), 'g', -1, 64)
			default:
				want = append(want, e.GetStringBytes()...)
			}
		}
		if rows[i] != string(want) {
			t.Errorf("row %d = %s, want %s", i, rows[i], want)
		}
	}
	t.Logf("%s: %d rows, %d columns", path, len(rows), len(fields))
}
