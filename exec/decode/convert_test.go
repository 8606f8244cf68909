package decode

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestParseFloatFastMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	inputs := []string{"0", "-0", "1.5", "0.1", "123456789012345678", "9007199254740993", "1.7976931348623157", "-0.000001", "5.", ".5", "1e5", "-", "1..2", "12a"}
	for range 20000 {
		inputs = append(inputs, strconv.FormatFloat(rng.NormFloat64()*math.Pow10(rng.IntN(12)), 'f', rng.IntN(10), 64))
	}
	for _, in := range inputs {
		want, werr := strconv.ParseFloat(in, 64)
		got, err := parseFloat([]byte(in))
		if (err != nil) != (werr != nil) || (err == nil && math.Float64bits(got) != math.Float64bits(want)) {
			t.Fatalf("parseFloat(%q) = %v, %v; strconv %v, %v", in, got, err, want, werr)
		}
	}
}

func TestParseDecimalExact(t *testing.T) {
	cases := []struct {
		in         string
		prec, sc   int32
		want, errs string
	}{
		{"12.34", 5, 2, "1234", ""},
		{"-12.3", 5, 2, "-1230", ""},
		{"1.2300", 5, 2, "123", ""},
		{"1.235", 5, 2, "", "more than 2 fraction digits"},
		{"1234", 5, 2, "", "more than 5 digits"},
		{"999.99", 5, 2, "99999", ""},
		{"1.5e2", 5, 2, "15000", ""},
		{"15E-1", 5, 2, "150", ""},
		{"0.000", 5, 2, "0", ""},
		{"12345678901234567890123456789012345678", 38, 0, "12345678901234567890123456789012345678", ""},
		{"-9999999999999999999999999999.9999999999", 38, 10, "-99999999999999999999999999999999999999", ""},
		{"1e39", 38, 0, "", "more than 38 digits"},
		{"", 5, 2, "", "empty"},
		{"1.2.3", 5, 2, "", "unexpected character"},
		{"+", 5, 2, "", "no digits"},
		{"1e", 5, 2, "", "invalid exponent"},
	}
	for _, c := range cases {
		d, err := parseDecimal([]byte(c.in), c.prec, c.sc)
		if c.errs != "" {
			if err == nil || !contains(err.Error(), c.errs) {
				t.Errorf("parseDecimal(%q) err = %v, want %q", c.in, err, c.errs)
			}
			continue
		}
		if err != nil || d.BigInt().String() != c.want {
			t.Errorf("parseDecimal(%q) = %s, %v; want %s", c.in, d.BigInt(), err, c.want)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}

func TestParseTimestampForms(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		in, layout string
		unit       arrow.TimeUnit
		want       int64
		ok         bool
	}{
		{"2026-01-02T03:04:05Z", "", arrow.Second, base.Unix(), true},
		{"2026-01-02t03:04:05z", "", arrow.Millisecond, base.UnixMilli(), true},
		{"2026-01-02 03:04:05", "", arrow.Microsecond, base.UnixMicro(), true},
		{"2026-01-02T05:04:05+02:00", "", arrow.Second, base.Unix(), true},
		{"2026-01-02T01:04:05-0200", "", arrow.Second, base.Unix(), true},
		{"2026-01-02T04:04:05+01", "", arrow.Second, base.Unix(), true},
		{"2026-01-02T03:04:05.9999999999Z", "", arrow.Nanosecond, base.UnixNano() + 999999999, true},
		{"2026-01-02T03:04:05.5Z", "", arrow.Millisecond, base.UnixMilli() + 500, true},
		{"1969-12-31T23:59:59.5Z", "", arrow.Millisecond, -500, true},
		{"2026-01-02T03:04Z", "", arrow.Second, base.Unix() - 5, true},
		{"2026-01-02", "", arrow.Second, base.Unix() - 3*3600 - 4*60 - 5, true},
		{"1700000000", "", arrow.Second, 1700000000, true},
		{"-5", "", arrow.Second, -5, true},
		{"02.01.2026 03:04:05 +0100", "02.01.2006 15:04:05 -0700", arrow.Second, base.Unix() - 3600, true},
		{"2026-01-02T24:00:00Z", "", arrow.Second, 0, false},
		{"2026-13-02T00:00:00Z", "", arrow.Second, 0, false},
		{"2026-01-02T03:04:05+25:00", "", arrow.Second, 0, false},
		{"2026-01-02T03:04:05.Z", "", arrow.Second, 0, false},
		{"2500-01-01T00:00:00Z", "", arrow.Nanosecond, 0, false}, // out of range for ns
		{"2026-01-02X", "", arrow.Second, 0, false},
		{"02.01.2026", "2006-01-02", arrow.Second, 0, false},
	}
	for _, c := range cases {
		got, err := parseTimestamp([]byte(c.in), c.layout, c.unit)
		if c.ok != (err == nil) || (c.ok && got != c.want) {
			t.Errorf("parseTimestamp(%q, %q, %s) = %d, %v; want %d ok=%v", c.in, c.layout, c.unit, got, err, c.want, c.ok)
		}
	}
	for _, d := range []string{"2024-02-29", "0001-01-01", "9999-12-31", "1970-01-01"} {
		want, _ := time.Parse("2006-01-02", d)
		got, err := parseDate([]byte(d), "")
		if err != nil || int64(got) != want.Unix()/86400 && want.Unix() >= 0 {
			t.Errorf("parseDate(%q) = %d, %v", d, got, err)
		}
		if want.Unix() < 0 && int64(got) != floorDiv(want.Unix(), 86400) {
			t.Errorf("parseDate(%q) = %d, want %d", d, got, floorDiv(want.Unix(), 86400))
		}
	}
	for _, d := range []string{"2023-02-29", "2026-1-2", "2026-01-32", "2026/01/02", ""} {
		if _, err := parseDate([]byte(d), ""); err == nil {
			t.Errorf("parseDate(%q) accepted", d)
		}
	}
	if got, err := parseDate([]byte("02/01/2026"), "02/01/2006"); err != nil || got != 20455 {
		t.Errorf("layout date = %d, %v", got, err)
	}
}

func TestTextConversions(t *testing.T) {
	mk := func(dt arrow.DataType) *conv {
		c, err := newConv(dt, "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	b := mk(arrow.FixedWidthTypes.Boolean)
	for _, in := range []string{"true", "TRUE", "True", "t", "1"} {
		if x, err := fromTextInto(b, []byte(in)); err != nil || x.i != 1 {
			t.Errorf("bool %q", in)
		}
	}
	for _, in := range []string{"false", "f", "0"} {
		if x, err := fromTextInto(b, []byte(in)); err != nil || x.i != 0 {
			t.Errorf("bool %q", in)
		}
	}
	if _, err := fromTextInto(b, []byte("yes")); err == nil {
		t.Error("bool yes accepted")
	}
	i32 := mk(arrow.PrimitiveTypes.Int32)
	for in, ok := range map[string]bool{"2147483647": true, "-2147483648": true, "2147483648": false, "+7": true, "1.0": false, " 1": false, "": false, "-": false} {
		if _, err := fromTextInto(i32, []byte(in)); (err == nil) != ok {
			t.Errorf("int32 %q: %v", in, err)
		}
	}
	i64 := mk(arrow.PrimitiveTypes.Int64)
	for in, ok := range map[string]bool{"9223372036854775807": true, "-9223372036854775808": true, "9223372036854775808": false, "12345678901234567890123": false} {
		if _, err := fromTextInto(i64, []byte(in)); (err == nil) != ok {
			t.Errorf("int64 %q: %v", in, err)
		}
	}
	f32 := mk(arrow.PrimitiveTypes.Float32)
	for in, ok := range map[string]bool{"1e38": true, "1e39": false, "Inf": true, "-Infinity": true, "NaN": true, "0x1p3": false, "1_000": false, "1e-400": true} {
		if _, err := fromTextInto(f32, []byte(in)); (err == nil) != ok {
			t.Errorf("float32 %q: %v", in, err)
		}
	}
	bin := mk(arrow.BinaryTypes.Binary)
	if x, err := fromTextInto(bin, []byte("\x00\xff")); err != nil || string(x.b) != "\x00\xff" {
		t.Errorf("binary text = %q, %v", x.b, err)
	}
	if d, err := decodeBase64(nil, []byte("aGk")); err != nil || string(d) != "hi" {
		t.Errorf("raw base64 = %q, %v", d, err)
	}
}

func TestUnescape(t *testing.T) {
	cases := map[string]string{
		`plain`:              "plain",
		`a\"b\\c\/d`:         `a"b\c/d`,
		`\b\f\n\r\t`:         "\b\f\n\r\t",
		`\u00e9\u20AC`:       "é€",
		`\ud83d\ude00`:       "😀",
		`\ud800x`:            "\uFFFDx",
		`\udc00\ud800\u0041`: "\uFFFD\uFFFDA",
	}
	for in, want := range cases {
		if _, _, err := scanString([]byte(`"`+in+`"`), 0); err != nil {
			t.Errorf("scanString(%q): %v", in, err)
		}
		if got := string(unescape(nil, []byte(in))); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{`"\x"`, `"\u12"`, `"abc`, `"\`} {
		if _, _, err := scanString([]byte(bad), 0); err == nil {
			t.Errorf("scanString(%q) accepted", bad)
		}
	}
}

func TestStrftimeLayouts(t *testing.T) {
	for in, want := range map[string]string{
		"%Y-%m-%d %H:%M:%S": "2006-01-02 15:04:05",
		"%d/%m/%y %I:%M %p": "02/01/06 03:04 PM",
		"%FT%T.%f%z":        "2006-01-02T15:04:05.000000-0700",
		"100%% %Q":          "100% %Q",
		"2006-01-02":        "2006-01-02",
	} {
		if got := goLayout(in); got != want {
			t.Errorf("goLayout(%q) = %q, want %q", in, got, want)
		}
	}
	c, err := newConv(&arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}, "%d.%m.%Y %H:%M")
	if err != nil {
		t.Fatal(err)
	}
	x, err := fromTextInto(c, []byte("02.01.2026 03:04"))
	if err != nil || x.i != time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC).Unix() {
		t.Fatalf("strftime timestamp = %d, %v", x.i, err)
	}
}

// shared is the one cell every conversion in these tests writes into, as the
// decoders reuse a row's cells: a value must never keep what the previous
// one left (a false after a true, say).
var shared cell

func fromTextInto(c *conv, s []byte) (cell, error) {
	err := c.fromText(s, &shared)
	return shared, err
}
