package planner

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

func TestWiden(t *testing.T) {
	mt := schema.MustParseType
	tests := []struct{ a, b, want string }{
		{"int64", "int64", "int64"},
		{"int32", "int64", "int64"},
		{"int64", "float64", "float64"},
		{"float64", "string", "string"},
		{"date", "timestamp(us)", "timestamp(us)"},
		{"date", "string", "string"},
		{"bool", "int64", "string"},
		{"list(int64)", "list(float64)", "list(float64)"},
		{"struct(a int64)", "struct(b string, a float64)", "struct(a float64, b string)"},
		{"struct(a int64)", "list(int64)", "string"},
	}
	for _, tt := range tests {
		got, _ := widen(mt(tt.a), mt(tt.b))
		if got.String() != tt.want {
			t.Errorf("widen(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
		got2, _ := widen(mt(tt.b), mt(tt.a))
		if tt.a != "struct(a int64)" && got2.String() != tt.want {
			t.Errorf("widen(%s, %s) = %s, want %s", tt.b, tt.a, got2, tt.want)
		}
	}
}

func TestTextType(t *testing.T) {
	for s, want := range map[string]string{
		"2026-01-02":                "date",
		"2026-01-02T03:04:05Z":      "timestamp(us)",
		"2026-01-02 03:04:05.123":   "timestamp(us)",
		"2026-01-02T03:04:05+02:00": "timestamp(us)",
		"2026-13-02":                "string",
		"12":                        "int64",
		"1.5e3":                     "float64",
		"true":                      "bool",
		"NaN":                       "string",
		"x":                         "string",
	} {
		if got := textType(s, true).String(); got != want {
			t.Errorf("textType(%q) = %s, want %s", s, got, want)
		}
	}
	if got := textType("12", false); got.Kind != schema.String {
		t.Errorf("a JSON string of digits is %s, want string", got)
	}
}

// textStore serves objects from a map, as the sampler reads them.
type textSampler map[string]string

func (s textSampler) SampleText(_ context.Context, _ objstore.Store, key string, _ spec.Compression, max int64) ([]byte, error) {
	b := []byte(s[key])
	if int64(len(b)) > max {
		b = b[:max]
	}
	return b, nil
}

func TestSampleJSONAndCSV(t *testing.T) {
	s := textSampler{
		"a.json": `{"id":1,"v":1,"u":{"x":1},"l":[],"n":null}` + "\n" + `{"id":2,"v":2.5,"u":{"y":"s"},"l":[1]}` + "\n",
		"b.json": `{"id":3,"v":"three","w":"2026-01-01T00:00:00Z"}` + "\n" + `{"id":4,"long":"` + strings.Repeat("x", 200) + `"}` + "\n",
		"c.csv":  "id,when,flag\n1,2026-01-01,true\n2,,false\n",
	}
	got, err := SampleKeys(context.Background(), nil, []string{"a.json", "b.json"}, SampleOptions{Format: spec.FormatJSON, Bytes: 100}, nil, s)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range got.Columns {
		cols = append(cols, c.Name+" "+c.Type.String()+map[bool]string{true: "?", false: ""}[c.Nullable])
	}
	// b.json is cut at 100 bytes: its last, partial line is not read.
	// Every column of a text sample is nullable; NeverNull names those
	// present and non-null in every record.
	want := "id int64?|v string?|u struct(x int64, y string)?|l list(int64)?|n string?|w timestamp(us)?"
	if strings.Join(cols, "|") != want {
		t.Errorf("columns\n got %s\nwant %s", strings.Join(cols, "|"), want)
	}
	if g := strings.Join(got.NeverNull, ","); g != "id,v" {
		t.Errorf("never null %s, want id,v", g)
	}
	if got.Records != 3 || len(got.Mixed["v"]) != 3 {
		t.Errorf("records %d, mixed %v", got.Records, got.Mixed)
	}
	got, err = SampleKeys(context.Background(), nil, []string{"c.csv"}, SampleOptions{Format: spec.FormatCSV, CSV: spec.CSVOptions{Header: true}}, nil, s)
	if err != nil {
		t.Fatal(err)
	}
	cols = nil
	for _, c := range got.Columns {
		cols = append(cols, c.Name+" "+c.Type.String()+map[bool]string{true: "?", false: ""}[c.Nullable])
	}
	if want := "id int64?|when date?|flag bool?"; strings.Join(cols, "|") != want {
		t.Errorf("csv columns %s, want %s", strings.Join(cols, "|"), want)
	}
	if g := strings.Join(got.NeverNull, ","); g != "id,flag" {
		t.Errorf("csv never null %s, want id,flag", g)
	}
}

func TestHivePartitions(t *testing.T) {
	got := HivePartitions([]string{
		"dt=2026-01-01/region=eu/n=1/a.json",
		"dt=2026-01-02/region=us/n=__HIVE_DEFAULT_PARTITION__/b.json",
		"dt=2026-01-03/region=7/n=2/x=1/c.json",
	})
	var s []string
	for _, c := range got {
		s = append(s, c.Name+" "+c.Type.String())
	}
	if want := "dt date|region string|n int64"; strings.Join(s, "|") != want {
		t.Errorf("partitions %s, want %s", strings.Join(s, "|"), want)
	}
	if got := HivePartitions([]string{"dt=1/a.json", "b.json"}); len(got) != 0 {
		t.Errorf("a key without the segment: %v", got)
	}
}
