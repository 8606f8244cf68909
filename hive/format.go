package hive

import (
	"math/big"
	"strconv"
	"strings"
	"time"
)

// The Format functions render a typed partition value as its directory
// names it, before escaping (pass the result to EscapeValue, Segment or
// Dir). The writer, which reads values out of Arrow arrays, and the commit
// step, which names the partitions an overwrite replaces from the inputs'
// typed values, both render through them, so the two always name a
// partition the same way. The forms are the ones Hive and Spark write, so
// that their readers type the values back.

// TimestampLayout is how a timestamp is written: Hive's text form,
// "2026-01-02 10:00:00", with fractional seconds only when non-zero. The
// ':' are percent-escaped in the path like any Hive path.
const TimestampLayout = "2006-01-02 15:04:05.999999999"

// FormatBool renders true or false.
func FormatBool(v bool) string { return strconv.FormatBool(v) }

// FormatInt renders a signed integer in decimal.
func FormatInt(v int64) string { return strconv.FormatInt(v, 10) }

// FormatUint renders an unsigned integer in decimal.
func FormatUint(v uint64) string { return strconv.FormatUint(v, 10) }

// FormatFloat renders a float in the shortest form that reads back as the
// same value at bitSize (32 or 64): 2.5, 1e+21.
func FormatFloat(v float64, bitSize int) string {
	return strconv.FormatFloat(v, 'g', -1, bitSize)
}

// FormatDate renders a date given as days since 1970-01-01 as YYYY-MM-DD.
func FormatDate(days int64) string {
	return time.Unix(days*86400, 0).UTC().Format(time.DateOnly)
}

// FormatTimestamp renders an instant in UTC with TimestampLayout, whatever
// t's location (or the column's time zone): one instant has one path.
func FormatTimestamp(t time.Time) string {
	return t.UTC().Format(TimestampLayout)
}

// FormatDecimal renders the decimal unscaled × 10^-scale with exactly
// scale digits after the point ("-0.50" for -50 at scale 2); a scale of 0
// or less gives an integer ("1200" for 12 at scale -2). It is the text
// form of Arrow's decimal types (decimal128.Num.ToString), digit for digit.
func FormatDecimal(unscaled *big.Int, scale int32) string {
	value := unscaled.String()
	if scale <= 0 {
		if scale < 0 && unscaled.Sign() != 0 {
			value += strings.Repeat("0", int(-scale))
		}
		return value
	}
	sign := ""
	if unscaled.Sign() < 0 {
		sign, value = "-", value[1:]
	}
	places := int(scale)
	if len(value) <= places {
		return sign + "0." + strings.Repeat("0", places-len(value)) + value
	}
	at := len(value) - places
	return sign + value[:at] + "." + value[at:]
}
