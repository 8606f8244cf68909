package predicate

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/spec/schema"
)

// TestFunctions pins the documented behaviour of each function on one row
// (docs/language.md, "Functions"): values, nulls, edge cases and the
// messages of failed casts.
func TestFunctions(t *testing.T) {
	row := rowOf(map[string]any{
		"order_id": "  o-12 ", "customer_id": int64(5), "qty": int64(3), "price": 2.5, "paid": true,
		"ts": int64(1767225600123456), "day": int32(20454), "ts_ms": int64(1774747800000), "amount": big.NewInt(-1250),
		"blob": "x", "dt": nil, "region": "eu", "weight": float64(float32(0.1)),
	})
	ts := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMicro()
	}
	tests := []struct {
		src  string
		want any    // value, nil for null
		err  string // a ValueError's message
	}{
		{"paid ? qty : price", 3.0, ""},
		{"dt != nil ? 1 : 2", int64(2), ""},
		{"(dt == nil) ? nil : 1", nil, ""},
		{"coalesce(dt, day)", int32(20454), ""},
		{"coalesce(nil, qty, 7)", int64(3), ""},
		{"trim(order_id)", "o-12", ""},
		{"ltrim(order_id)", "o-12 ", ""},
		{"rtrim('\u00a0x\u2003')", "\u00a0x", ""},
		{"substring('héllo', 2, 3)", "éll", ""},
		{"substring('héllo', -2)", "lo", ""},
		{"substring('abc', 0, 2)", "a", ""},
		{"substring('abc', 5)", "", ""},
		{"substring('abc', 1, -1)", nil, ""},
		{"replace('a-b-c', '-', '+')", "a+b+c", ""},
		{"replace('abc', '', 'x')", "abc", ""},
		{"split_part('a,b,c', ',', 2)", "b", ""},
		{"split_part('a,b,c', ',', -1)", "c", ""},
		{"split_part('a,b,c', ',', 4)", nil, ""},
		{"split_part('a,b,c', ',', 0)", nil, ""},
		{"concat('a', qty, dt, price, paid, day)", "a32.5true2026-01-01", ""},
		{"concat(amount, '|', weight, '|', ts)", "-12.50|0.1|2026-01-01 00:00:00.123456", ""},
		{"order_id matches 'o-[0-9]+'", true, ""},
		{"regex_extract(order_id, 'o-([0-9]+)', 1)", "12", ""},
		{"regex_extract(order_id, 'x(y)?', 1)", nil, ""},
		{"int(' 12 ')", int64(12), ""},
		{"int(-2.7)", int64(-2), ""},
		{"int(amount)", int64(-12), ""},
		{"int(order_id)", nil, "int('  o-12 '): not an integer"},
		{"try_int(order_id)", nil, ""},
		{"int(price * 1e300 * 1e10)", nil, "int(Infinity): not a finite number"},
		{"int(price * 4e18)", nil, "int(10000000000000000000): out of range for int64"},
		{"float('1e3')", 1000.0, ""},
		{"float(amount)", -12.5, ""},
		{"string(1e21)", "1e+21", ""},
		{"string(100000.0)", "100000", ""},
		{"string(weight)", "0.1", ""},
		{"bool(' TRUE ')", true, ""},
		{"bool(0)", false, ""},
		{"bool(order_id)", nil, "bool('  o-12 '): not a bool (want true, false, 1 or 0)"},
		{"date('2024-02-29')", int32(19782), ""},
		{"try_date('2026-02-30')", nil, ""},
		{"date(ts)", int32(20454), ""},
		{"timestamp('2026-01-01T10:00:00+02:00')", ts("2026-01-01T08:00:00Z"), ""},
		{"timestamp(day)", ts("2026-01-01T00:00:00Z"), ""},
		{"decimal(2.675, 5, 2)", big.NewInt(268), ""},
		{"decimal('-1.005', 5, 2)", big.NewInt(-101), ""},
		{"decimal(qty * 1000, 5, 2)", nil, "decimal(3000): does not fit decimal(5, 2)"},
		{"decimal(amount, 3, 1)", big.NewInt(-125), ""},
		{"decimal(amount, 2, 0)", big.NewInt(-13), ""},
		{"parse_timestamp('2026-07-01 12:30:00', '%Y-%m-%d %H:%M:%S', 'Europe/Paris')", ts("2026-07-01T10:30:00Z"), ""},
		{"parse_timestamp('01/Jul/2026:12:30:00.5 -0500', '%d/%b/%Y:%H:%M:%S.%f %z')", ts("2026-07-01T17:30:00.5Z"), ""},
		{"parse_timestamp(concat('2026-06-', 31), '%F')", nil, "parse_timestamp('2026-06-31'): day out of range"},
		{"try_parse_timestamp('2026-06-3', '%F %T')", nil, ""},
		{"from_unixtime(1767225600)", ts("2026-01-01T00:00:00Z"), ""},
		{"from_unixtime_ms(-1)", int64(-1000), ""},
		{"from_unixtime(9223372036854775807)", nil, ""},
		{"trunc(ts, 'month')", ts("2026-01-01T00:00:00Z"), ""},
		{"trunc(ts, 'hour')", ts("2026-01-01T00:00:00Z"), ""},
		{"trunc(day, 'year')", int32(20454), ""},
		{"year(ts) * 10000 + month(ts) * 100 + day(ts)", int64(20260101), ""},
		{"hour(ts_ms) * 100 + minute(ts_ms) + second(ts_ms)", int64(130), ""},
		{"date_add(date('2026-01-31'), 1, 'month')", int32(20512), ""},
		{"date_add(date('2024-02-29'), 1, 'year')", int32(20147), ""},
		{"date_add(ts, -1, 'day')", ts("2025-12-31T00:00:00.123456Z"), ""},
		{"date_add(ts, 9223372036854775807, 'second')", nil, ""},
		{"date_diff(date('2026-01-31'), date('2026-02-01'), 'month')", int64(1), ""},
		{"date_diff(timestamp('2026-01-01 23:59:00'), timestamp('2026-01-02 00:01:00'), 'hour')", int64(1), ""},
		{"date_diff(ts, timestamp('2025-12-31'), 'day')", int64(-1), ""},
		{"to_timezone(ts_ms, 'Europe/Paris')", int64(1774747800000 + 2*3600*1000), ""},
		{"hour(to_timezone(timestamp('2026-07-01T22:30:00Z'), 'Asia/Kolkata'))", int64(4), ""},
	}
	env := testEnv()
	env.Columns = append(env.Columns, schema.Column{Name: "region", Type: schema.StringType})
	for _, tt := range tests {
		e, errs := CompileValue(tt.src, env)
		if errs != nil {
			t.Errorf("CompileValue(%q): %v", tt.src, errs)
			continue
		}
		got, err := Eval(e, row)
		var ve *ValueError
		switch {
		case tt.err != "":
			if !errors.As(err, &ve) || ve.Error() != tt.err {
				t.Errorf("%s: error %v, want %q", tt.src, err, tt.err)
			}
			continue
		case err != nil:
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if b, ok := got.(*big.Int); ok {
			if w, ok := tt.want.(*big.Int); !ok || b.Cmp(w) != 0 {
				t.Errorf("%s = %v, want %v", tt.src, b, tt.want)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("%s = %#v, want %#v", tt.src, got, tt.want)
		}
	}
}

// TestLocalToUTC pins the placing of wall times in timezones, DST gaps and
// overlaps included, against instants worked out by hand.
func TestLocalToUTC(t *testing.T) {
	wall := func(s string) int64 {
		tm, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.Unix()
	}
	tests := []struct{ tz, local, want string }{
		{"Europe/Paris", "2026-07-01 12:00", "2026-07-01T10:00:00Z"},
		{"Europe/Paris", "2026-03-29 02:30", "2026-03-29T01:30:00Z"}, // gap: +01:00 before the jump
		{"Europe/Paris", "2026-03-29 03:00", "2026-03-29T01:00:00Z"},
		{"Europe/Paris", "2026-10-25 02:30", "2026-10-25T00:30:00Z"}, // twice: the earlier (CEST)
		{"Europe/Paris", "2026-10-25 03:00", "2026-10-25T02:00:00Z"},
		{"America/New_York", "2026-03-08 02:30", "2026-03-08T07:30:00Z"},    // gap: EST before the jump
		{"America/New_York", "2026-11-01 01:30", "2026-11-01T05:30:00Z"},    // twice: EDT
		{"Australia/Lord_Howe", "2026-10-04 02:15", "2026-10-03T15:45:00Z"}, // 30-minute gap, +10:30 before
		{"Australia/Lord_Howe", "2026-04-05 01:45", "2026-04-04T14:45:00Z"}, // 30-minute overlap: +11 first
		{"Asia/Kolkata", "1970-01-01 00:00", "1969-12-31T18:30:00Z"},
	}
	for _, tt := range tests {
		loc, err := LoadLocation(tt.tz)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := time.Parse(time.RFC3339, tt.want)
		if got := LocalToUTC(wall(tt.local), loc); got != want.Unix() {
			t.Errorf("%s %s = %s, want %s", tt.tz, tt.local, time.Unix(got, 0).UTC().Format(time.RFC3339), tt.want)
		}
		z := &LocalZone{Loc: loc}
		for _, probe := range []string{"2026-01-15 12:00", tt.local, "2026-08-15 12:00", tt.local} {
			if got, want := z.ToUTC(wall(probe)), LocalToUTC(wall(probe), loc); got != want {
				t.Errorf("%s: LocalZone.ToUTC(%s) = %d, LocalToUTC %d", tt.tz, probe, got, want)
			}
		}
	}
}

// TestTimeFormat checks format compilation errors and parsing limits.
func TestTimeFormat(t *testing.T) {
	for _, f := range []string{"%Y-%q", "%", "abc%"} {
		if _, err := CompileTimeFormat(f); err == nil {
			t.Errorf("CompileTimeFormat(%q): no error", f)
		}
	}
	tf, err := CompileTimeFormat("%Y%m%d%H%M%S%f")
	if err != nil {
		t.Fatal(err)
	}
	var c Civil
	reason := tf.Parse([]byte("20260131235959123456789"), &c)
	if reason != "" || c.Day != 31 || c.Sec != 59 || c.Nsec != 123456789 {
		t.Errorf("Parse = %+v, %q", c, reason)
	}
	for _, s := range []string{"2026013123595", "2026013124000000", "20260132000000", "2026-01-31", "20260131235959x"} {
		if reason := tf.Parse([]byte(s), &c); reason == "" {
			t.Errorf("Parse(%q): no failure", s)
		}
	}
	if y, m, d := CivilFromDays(DaysFromCivil(-4713, 11, 24)); y != -4713 || m != 11 || d != 24 {
		t.Errorf("civil round trip: %d-%d-%d", y, m, d)
	}
	if DaysFromCivil(1970, 1, 1) != 0 || DaysFromCivil(2000, 3, 1) != 11017 {
		t.Error("DaysFromCivil")
	}
	_ = math.MaxInt64
}

// BenchmarkTimeFormatParse is the per-value cost of parse_timestamp's
// format matching (scenario 9's format).
func BenchmarkTimeFormatParse(b *testing.B) {
	tf, err := CompileTimeFormat("%Y-%m-%dT%H:%M:%S.%fZ")
	if err != nil {
		b.Fatal(err)
	}
	v := []byte("2026-01-04T12:34:56.789Z")
	var c Civil
	for b.Loop() {
		if reason := tf.Parse(v, &c); reason != "" {
			b.Fatal(reason)
		}
	}
}

// FailingColumns finds the casts and parses without try_ and the columns
// they read; try_ forms and other functions cannot fail.
func TestFailingColumns(t *testing.T) {
	for _, c := range []struct {
		src   string
		fails bool
		cols  string
	}{
		{"qty > 1", false, ""},
		{"try_int(order_id) > 1", false, ""},
		{"lower(region) == 'eu'", false, ""},
		{"int(order_id) > 1", true, "order_id"},
		{"paid || parse_timestamp(concat(region, order_id), '%Y') > timestamp('2026-01-01') || int(order_id) > qty", true, "region,order_id"},
	} {
		e, errs := Compile(c.src, testEnv())
		if len(errs) > 0 {
			t.Fatalf("%s: %v", c.src, errs)
		}
		fails, cols := FailingColumns(e.Root)
		if fails != c.fails || strings.Join(cols, ",") != c.cols {
			t.Errorf("%s: FailingColumns = %v %q, want %v %q", c.src, fails, cols, c.fails, c.cols)
		}
	}
}
