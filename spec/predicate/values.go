package predicate

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/spec/schema"
)

// ParsePartitionValue turns the value of a hive path segment as written
// (the text after "key=") into the row representation of type t documented
// on Literal: hive.DefaultPartition is null (nil); other values are
// unescaped by hive.DecodeValue (leniently: "50%off" is the text 50%off)
// and then parsed as t (a string-typed key keeps the unescaped text), so
// only a value that is not of type t is an error.
func ParsePartitionValue(raw string, t schema.Type) (any, error) {
	s, ok := hive.DecodeValue(raw)
	if !ok {
		return nil, nil
	}
	v, err := ParseValue(s, t)
	if err != nil {
		return nil, fmt.Errorf("partition value %q: %w", raw, err)
	}
	return v, nil
}

// FormatPartitionValue is the inverse of ParsePartitionValue: the text
// (unescaped) of a typed partition value, as the writer names its output
// directory (TestPartitionValueRenderingMatchesWriter in exec holds the two
// together). A partition key is a string, an integer or a date (spec
// enforces it); null is "" (the writer's hive.DefaultPartition).
func FormatPartitionValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return hive.FormatInt(x)
	case int32: // date: days since the epoch
		return hive.FormatDate(int64(x))
	}
	return fmt.Sprint(v)
}

// ParseValue parses text as a value of type t, in the representation of
// Literal.Value. Dates are YYYY-MM-DD; timestamps are RFC 3339, or
// "YYYY-MM-DD hh:mm:ss[.frac]" / "YYYY-MM-DDThh:mm:ss[.frac]" / a bare date,
// read in the type's timezone (UTC when it has none); decimals are plain
// decimal numbers with at most t.Scale fractional digits.
func ParseValue(s string, t schema.Type) (any, error) {
	switch t.Kind {
	case schema.String, schema.Binary:
		return s, nil
	case schema.Bool:
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("invalid bool %q: want true or false", s)
	case schema.Int32, schema.Int64:
		bits := 64
		if t.Kind == schema.Int32 {
			bits = 32
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, bits)
		if err != nil {
			return nil, fmt.Errorf("invalid %s %q", t, s)
		}
		return n, nil
	case schema.Float32, schema.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("invalid %s %q", t, s)
		}
		return f, nil
	case schema.Date:
		d, err := ParseDate(s)
		if err != nil {
			return nil, err
		}
		return d, nil
	case schema.Timestamp:
		ts, err := ParseTimestamp(s, t)
		if err != nil {
			return nil, err
		}
		return ts, nil
	case schema.Decimal:
		d, err := ParseDecimal(s, t)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, fmt.Errorf("values of type %s cannot be parsed from text", t)
}

// ParseDate parses YYYY-MM-DD into days since 1970-01-01.
func ParseDate(s string) (int32, error) {
	tm, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("invalid date %q: want YYYY-MM-DD, as in '2026-01-01'", s)
	}
	days := tm.Unix() / 86400
	if tm.Unix()%86400 < 0 {
		days--
	}
	if days < math.MinInt32 || days > math.MaxInt32 {
		return 0, fmt.Errorf("date %q is out of range", s)
	}
	return int32(days), nil
}

// FormatDate is the inverse of ParseDate.
func FormatDate(days int32) string {
	return time.Unix(int64(days)*86400, 0).UTC().Format(time.DateOnly)
}

var localLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	time.DateOnly,
}

// ParseTimestamp parses s as an instant in t's unit since the epoch. Text
// with an offset (RFC 3339) is taken as written; text without one is read
// in t's timezone. A value finer than the unit is an error rather than
// silently truncated, since truncation would change comparisons.
func ParseTimestamp(s string, t schema.Type) (int64, error) {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		loc := time.UTC
		if t.TZ != "" && t.TZ != "UTC" {
			if loc, err = time.LoadLocation(t.TZ); err != nil {
				return 0, fmt.Errorf("timestamp %q: timezone %q: %w", s, t.TZ, err)
			}
		}
		ok := false
		for _, layout := range localLayouts {
			if tm, err = time.ParseInLocation(layout, s, loc); err == nil {
				ok = true
				break
			}
		}
		if !ok {
			return 0, fmt.Errorf("invalid timestamp %q: want RFC 3339 ('2026-01-01T10:00:00Z'), '2026-01-01 10:00:00' or a date", s)
		}
	}
	return timeToUnit(tm, t.Unit, s)
}

func timeToUnit(tm time.Time, u schema.TimeUnit, s string) (int64, error) {
	per := u.PerSecond()
	if per == 0 {
		return 0, fmt.Errorf("timestamp %q: invalid unit %d", s, u)
	}
	sec, nsec := tm.Unix(), int64(tm.Nanosecond())
	sub := int64(1e9) / per
	if nsec%sub != 0 {
		return 0, fmt.Errorf("timestamp %q is finer than the column's unit (%s)", s, u)
	}
	hi := new(big.Int).Mul(big.NewInt(sec), big.NewInt(per))
	hi.Add(hi, big.NewInt(nsec/sub))
	if !hi.IsInt64() {
		return 0, fmt.Errorf("timestamp %q is out of range for unit %s", s, u)
	}
	return hi.Int64(), nil
}

// FormatTimestamp renders v (in unit u since the epoch) as RFC 3339 in UTC.
func FormatTimestamp(v int64, u schema.TimeUnit) string {
	per := u.PerSecond()
	if per == 0 {
		return strconv.FormatInt(v, 10)
	}
	sec, frac := v/per, v%per
	if frac < 0 {
		sec--
		frac += per
	}
	return time.Unix(sec, frac*(int64(1e9)/per)).UTC().Format(time.RFC3339Nano)
}

// ParseDecimal parses a plain decimal number ("-12.5", "3", "+0.25") as the
// unscaled integer of t (decimal(p, s)): it must have at most s fractional
// digits (trailing zeros aside) and fit p digits.
func ParseDecimal(s string, t schema.Type) (*big.Int, error) {
	text := strings.TrimSpace(s)
	neg := false
	if strings.HasPrefix(text, "-") || strings.HasPrefix(text, "+") {
		neg = text[0] == '-'
		text = text[1:]
	}
	intPart, frac, _ := strings.Cut(text, ".")
	if (intPart == "" && frac == "") || !allDigits(intPart) || !allDigits(frac) {
		return nil, fmt.Errorf("invalid decimal %q: want a number such as 12.50", s)
	}
	trimmed := strings.TrimRight(frac, "0")
	if len(trimmed) > t.Scale {
		return nil, fmt.Errorf("decimal %q has more than %d digits after the point, the scale of %s", s, t.Scale, t)
	}
	frac = (trimmed + strings.Repeat("0", t.Scale))[:t.Scale]
	digits := strings.TrimLeft(intPart+frac, "0")
	if len(digits) > t.Precision {
		return nil, fmt.Errorf("decimal %q does not fit %s", s, t)
	}
	v := new(big.Int)
	if digits != "" {
		v.SetString(digits, 10)
	}
	if neg {
		v.Neg(v)
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatDecimal renders an unscaled value at scale as plain decimal text.
func FormatDecimal(v *big.Int, scale int) string {
	if v == nil {
		return "nil"
	}
	s := new(big.Int).Abs(v).String()
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if v.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// IntValue returns an integer value of the Literal representation (int64,
// or int32 days of a date; a plain int is accepted too) as an int64.
func IntValue(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int:
		return int64(x), true
	}
	return 0, false
}
