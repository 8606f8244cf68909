package hive

import (
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEscapeValue(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"eu", "eu"},
		{"", DefaultPartition},
		{"a/b", "a%2Fb"},
		{"k=v", "k%3Dv"},
		{"100%", "100%25"},
		{"50%off", "50%25off"},
		{"%25", "%2525"},
		{"2026-01-02 10:00:00", "2026-01-02 10%3A00%3A00"},
		{"what?#frag", "what%3F%23frag"},
		{"tab\there\n", "tab%09here%0A"},
		{"del\x7f", "del%7F"},
		{`q"u'o*t\e{[]}^`, "q%22u%27o%2At%5Ce%7B%5B%5D}%5E"},
		{"ünïcödé space", "ünïcödé space"},
		{"日本/語", "日本%2F語"},
		{DefaultPartition, DefaultPartition},
	} {
		got := EscapeValue(c.in)
		if got != c.want {
			t.Errorf("EscapeValue(%q) = %q, want %q", c.in, got, c.want)
		}
		if c.in != "" && Unescape(got) != c.in {
			t.Errorf("Unescape(%q) = %q, want %q", got, Unescape(got), c.in)
		}
	}
}

// Unescaping is lenient like Hive's and Spark's: what is not an escape is
// kept, so a path someone wrote without escaping is still data.
func TestUnescapeLenient(t *testing.T) {
	for in, want := range map[string]string{
		"50%off":   "50%off", // % then two non-hex letters
		"50%25off": "50%off", // as DuckDB and Spark write 50%off
		"%25":      "%",
		"%2525":    "%25", // decoded once, not repeatedly
		"%zz":      "%zz",
		"%4":       "%4",  // one hex digit, then the end
		"50%":      "50%", // trailing %
		"%":        "%",
		"%%41":     "%A",
		"a%20b":    "a b", // other engines escape more than Hive's set
		"%41%42":   "AB",
		"%c3%bc":   "ü", // lower-case hex, UTF-8 bytes
		"ü%2F日本":   "ü/日本",
		"a%3Db":    "a=b",
		"":         "",
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodeValue(t *testing.T) {
	if v, ok := DecodeValue(DefaultPartition); ok || v != "" {
		t.Errorf("DecodeValue(default) = %q, %v; want null", v, ok)
	}
	if v, ok := DecodeValue("50%off"); !ok || v != "50%off" {
		t.Errorf("DecodeValue(50%%off) = %q, %v", v, ok)
	}
	if v, ok := DecodeValue(""); !ok || v != "" {
		t.Errorf("DecodeValue(\"\") = %q, %v; want the empty string", v, ok)
	}
}

func TestDir(t *testing.T) {
	if got := Dir(nil, nil); got != "" {
		t.Errorf("no keys: %q", got)
	}
	got := Dir([]string{"dt", "region"}, []string{"2026-01-02", "eu/west"})
	if want := "dt=2026-01-02/region=eu%2Fwest/"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = Dir([]string{"a=b"}, []string{""})
	if want := "a%3Db=" + DefaultPartition + "/"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("Dir with mismatched lengths did not panic")
		}
	}()
	Dir([]string{"a"}, nil)
}

func TestPathValuesAndParse(t *testing.T) {
	keys := []string{"dt", "region"}
	for rel, want := range map[string][]string{
		"dt=2026-01-01/region=eu/x.json":   {"2026-01-01", "eu"},
		"dt=2026-01-01/other=eu/x.json":    {"2026-01-01"},
		"dt=2026-01-01/x.json":             {"2026-01-01"},
		"x.json":                           {},
		"dt=" + DefaultPartition + "/x":    {DefaultPartition},
		"dt=50%off/region=a%2Fb/x":         {"50%off", "a%2Fb"},
		"dt=a=b/region=c/x":                {"a=b", "c"},
		"dt=a%2Fb/region=%3D%25/x":         {"a%2Fb", "%3D%25"}, // as written
		"dt=/region=/x":                    {"", ""},
		"d%74=1/region=2/x":                {"1", "2"}, // an escaped key is the key
		"region=eu/dt=2026-01-01/x.json":   {},
		"dt=2026-01-01/region=eu/deep/x.j": {"2026-01-01", "eu"},
	} {
		got := PathValues(rel, keys)
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("PathValues(%q) = %q, want %q", rel, got, want)
		}
	}
	if got := PathValues("dt=1/x", nil); got != nil {
		t.Errorf("no keys: %q", got)
	}
	got := Parse("dt=50%25off/region="+DefaultPartition+"/x", keys)
	if want := []Value{{Text: "50%off"}, {Null: true}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
	got = Parse("dt=50%off/region=%zz/x", keys)
	if want := []Value{{Text: "50%off"}, {Text: "%zz"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
}

func TestCut(t *testing.T) {
	for seg, want := range map[string][3]string{
		"dt=1":       {"dt", "1", "true"},
		"dt=a=b":     {"dt", "a=b", "true"},
		"dt=":        {"dt", "", "true"},
		"a%3Ab=x%2F": {"a:b", "x%2F", "true"},
		"dt":         {"", "", "false"},
	} {
		k, v, ok := Cut(seg)
		if k != want[0] || v != want[1] || (ok != (want[2] == "true")) {
			t.Errorf("Cut(%q) = %q, %q, %v; want %v", seg, k, v, ok, want)
		}
	}
}

func TestHidden(t *testing.T) {
	for rel, want := range map[string]bool{
		"dt=1/x.json":           false,
		"_sluice/commits/x":     true,
		"dt=1/_SUCCESS":         true,
		"dt=1/.x.json.tmp":      true,
		"a/_temporary/0/x":      true,
		"a_b/c.d":               false,
		"dt=_x/y":               false, // a value may start with _ (the segment starts with the key)
		"":                      false,
		"dt=1/region=eu/.hid/f": true,
	} {
		if got := Hidden(rel); got != want {
			t.Errorf("Hidden(%q) = %v, want %v", rel, got, want)
		}
	}
}

func TestFormat(t *testing.T) {
	ts := time.Date(2026, 1, 2, 11, 0, 0, 500_000_000, time.FixedZone("CET", 3600))
	for _, c := range []struct{ got, want string }{
		{FormatBool(true), "true"},
		{FormatInt(-42), "-42"},
		{FormatUint(18446744073709551615), "18446744073709551615"},
		{FormatFloat(2.5, 64), "2.5"},
		{FormatFloat(float64(float32(0.1)), 32), "0.1"},
		{FormatFloat(1e21, 64), "1e+21"},
		{FormatDate(20454), "2026-01-01"},
		{FormatDate(-1), "1969-12-31"},
		{FormatDate(0), "1970-01-01"},
		{FormatTimestamp(ts), "2026-01-02 10:00:00.5"},
		{FormatTimestamp(time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)), "2026-01-02 10:00:00"},
		{FormatDecimal(big.NewInt(1250), 2), "12.50"},
		{FormatDecimal(big.NewInt(-50), 2), "-0.50"},
		{FormatDecimal(big.NewInt(5), 3), "0.005"},
		{FormatDecimal(big.NewInt(0), 2), "0.00"},
		{FormatDecimal(big.NewInt(12), 0), "12"},
		{FormatDecimal(big.NewInt(12), -2), "1200"},
		{FormatDecimal(big.NewInt(0), -2), "0"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if s := EscapeValue(FormatTimestamp(ts)); !strings.Contains(s, "%3A") {
		t.Errorf("timestamp path %q: ':' not escaped", s)
	}
}
