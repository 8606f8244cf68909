package predicate

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// TimeFormat is a compiled strftime-style format of parse_timestamp. The
// directives are:
//
//	%Y  year, four digits          %m  month, 1 or 2 digits
//	%d  day, 1 or 2 digits         %H  hour (00-23), 1 or 2 digits
//	%M  minute, 1 or 2 digits      %S  second, 1 or 2 digits
//	%f  fraction of a second, 1 to 9 digits (finer than microseconds is truncated)
//	%z  offset: Z, +hh, +hhmm or +hh:mm (or -)
//	%b  month name, three letters, any case (Jan)
//	%F  %Y-%m-%d                   %T  %H:%M:%S
//	%%  a literal %
//
// Any other character must appear as written. The whole value must match.
// Fields the format does not mention default to 1970-01-01 00:00:00.
type TimeFormat struct {
	Source  string
	items   []fmtItem
	HasZone bool // %z: the value carries its offset, the tz argument is not used
}

type fmtItem struct {
	dir    byte   // 0: literal text
	lit    string // literal text
	lo, hi int    // digits of a numeric directive
	field  int    // where a numeric directive's value goes (fYear …)
}

// Indices of Parse's fields.
const (
	fYear = iota
	fMonth
	fDay
	fHour
	fMin
	fSec
	fNsec
	nFields
)

// numeric returns the item of a numeric directive, ok false for others.
func numeric(d byte) (fmtItem, bool) {
	switch d {
	case 'Y':
		return fmtItem{dir: d, lo: 4, hi: 4, field: fYear}, true
	case 'm':
		return fmtItem{dir: d, lo: 1, hi: 2, field: fMonth}, true
	case 'd':
		return fmtItem{dir: d, lo: 1, hi: 2, field: fDay}, true
	case 'H':
		return fmtItem{dir: d, lo: 1, hi: 2, field: fHour}, true
	case 'M':
		return fmtItem{dir: d, lo: 1, hi: 2, field: fMin}, true
	case 'S':
		return fmtItem{dir: d, lo: 1, hi: 2, field: fSec}, true
	case 'f':
		return fmtItem{dir: d, lo: 1, hi: 9, field: fNsec}, true
	}
	return fmtItem{}, false
}

// CompileTimeFormat checks and compiles a format. The error names the
// offending directive.
func CompileTimeFormat(f string) (*TimeFormat, error) {
	tf := &TimeFormat{Source: f}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			tf.items = append(tf.items, fmtItem{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			lit.WriteByte(f[i])
			continue
		}
		if i+1 == len(f) {
			return nil, fmt.Errorf("format %s ends with a lone %%: write %%%% for a literal %%", Quote(f))
		}
		i++
		switch d := f[i]; d {
		case '%':
			lit.WriteByte('%')
		case 'Y', 'm', 'd', 'H', 'M', 'S', 'f':
			flush()
			it, _ := numeric(d)
			tf.items = append(tf.items, it)
		case 'z', 'b':
			flush()
			tf.items = append(tf.items, fmtItem{dir: d, field: fMonth})
			if d == 'z' {
				tf.HasZone = true
			}
		case 'F':
			flush()
			y, _ := numeric('Y')
			m, _ := numeric('m')
			dd, _ := numeric('d')
			tf.items = append(tf.items, y, fmtItem{lit: "-"}, m, fmtItem{lit: "-"}, dd)
		case 'T':
			flush()
			h, _ := numeric('H')
			mi, _ := numeric('M')
			sec, _ := numeric('S')
			tf.items = append(tf.items, h, fmtItem{lit: ":"}, mi, fmtItem{lit: ":"}, sec)
		default:
			return nil, fmt.Errorf("format %s: unsupported directive %%%c (supported: %%Y %%m %%d %%H %%M %%S %%f %%z %%b %%F %%T %%%%)", Quote(f), d)
		}
	}
	flush()
	return tf, nil
}

// Civil is a parsed date and time of day, with its UTC offset when the
// value carried one.
type Civil struct {
	Year, Month, Day int
	Hour, Min, Sec   int
	Nsec             int
	Offset           int // seconds east of UTC, when HasOffset
	HasOffset        bool
}

var monthAbbr = [12]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// Parse reads b with the format into *c. On failure it returns a reason
// (for a row error); it does not allocate on success.
func (tf *TimeFormat) Parse(b []byte, c *Civil) string {
	f := [nFields]int{fYear: 1970, fMonth: 1, fDay: 1}
	*c = Civil{}
	p := 0
	for i := range tf.items {
		it := &tf.items[i]
		switch it.dir {
		case 0:
			if len(it.lit) == 1 { // the usual separator: one byte, no call
				if p >= len(b) || b[p] != it.lit[0] {
					return tf.mismatch("expected " + Quote(it.lit))
				}
				p++
				continue
			}
			if len(b)-p < len(it.lit) || string(b[p:p+len(it.lit)]) != it.lit {
				return tf.mismatch("expected " + Quote(it.lit))
			}
			p += len(it.lit)
		case 'z':
			off, k, ok := parseOffset(b[p:])
			if !ok {
				return tf.mismatch("expected an offset such as Z, +02:00 or -0500")
			}
			c.Offset, c.HasOffset = off, true
			p += k
		case 'b':
			m := 0
			if len(b)-p >= 3 {
				for k, a := range monthAbbr {
					if lowerEq(b[p:p+3], a) {
						m = k + 1
						break
					}
				}
			}
			if m == 0 {
				return tf.mismatch("expected " + directiveName(it.dir))
			}
			f[fMonth] = m
			p += 3
		default:
			v, n := 0, 0
			for n < it.hi && p+n < len(b) {
				d := b[p+n] - '0'
				if d > 9 {
					break
				}
				v = v*10 + int(d)
				n++
			}
			if n < it.lo {
				return tf.mismatch("expected " + directiveName(it.dir))
			}
			if it.field == fNsec {
				v *= pow10i[9-n]
			}
			f[it.field] = v
			p += n
		}
	}
	if p != len(b) {
		return tf.mismatch("unexpected text at the end")
	}
	c.Year, c.Month, c.Day, c.Hour, c.Min, c.Sec, c.Nsec = f[fYear], f[fMonth], f[fDay], f[fHour], f[fMin], f[fSec], f[fNsec]
	switch {
	case c.Month < 1 || c.Month > 12:
		return "month out of range"
	case c.Day < 1 || c.Day > DaysIn(c.Year, c.Month):
		return "day out of range"
	case c.Hour > 23:
		return "hour out of range"
	case c.Min > 59:
		return "minute out of range"
	case c.Sec > 59:
		return "second out of range"
	}
	return ""
}

var pow10i = [10]int{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

// mismatch is the reason of a value that does not follow the format.
func (tf *TimeFormat) mismatch(what string) string {
	return "does not match the format " + Quote(tf.Source) + " (" + what + ")"
}

func directiveName(d byte) string {
	switch d {
	case 'Y':
		return "a four-digit year"
	case 'm':
		return "a month"
	case 'd':
		return "a day"
	case 'H':
		return "an hour"
	case 'M':
		return "minutes"
	case 'S':
		return "seconds"
	case 'f':
		return "a fraction of a second"
	case 'b':
		return "a month name such as Jan"
	}
	return "%" + string(d)
}

// digits reads between lo and hi ASCII digits (as many as there are, up to
// hi); n is 0 when there are fewer than lo.
func digits(b []byte, lo, hi int) (v, n int) {
	for n < hi && n < len(b) && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + int(b[n]-'0')
		n++
	}
	if n < lo {
		return 0, 0
	}
	return v, n
}

func lowerEq(b []byte, a string) bool {
	for i := range len(a) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != a[i] {
			return false
		}
	}
	return true
}

// parseOffset reads Z, ±hh, ±hhmm or ±hh:mm.
func parseOffset(b []byte) (off, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	if b[0] == 'Z' || b[0] == 'z' {
		return 0, 1, true
	}
	if b[0] != '+' && b[0] != '-' {
		return 0, 0, false
	}
	h, k := digits(b[1:], 2, 2)
	if k == 0 || h > 23 {
		return 0, 0, false
	}
	n = 3
	m := 0
	rest := b[3:]
	if len(rest) > 0 && rest[0] == ':' {
		if m, k = digits(rest[1:], 2, 2); k == 0 {
			return 0, 0, false
		}
		n += 3
	} else if m, k = digits(rest, 2, 2); k > 0 {
		n += 2
	}
	if m > 59 {
		return 0, 0, false
	}
	off = h*3600 + m*60
	if b[0] == '-' {
		off = -off
	}
	return off, n, true
}

// DaysIn is the number of days of a month (proleptic Gregorian calendar).
func DaysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// DaysFromCivil is the number of days from 1970-01-01 to the date
// (proleptic Gregorian; H. Hinnant's algorithm), valid for any year whose
// day count fits an int64.
func DaysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// CivilFromDays is the inverse of DaysFromCivil.
func CivilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// FloorDiv is a / b rounded toward negative infinity (b > 0).
func FloorDiv(a, b int64) int64 { return floorDiv(a, b) }

// LocalToUTC is the instant (seconds since the epoch) at which the clocks
// of loc show the wall time local (seconds since 1970-01-01 00:00 of the
// wall clock). A wall time in a gap, skipped when clocks jump forward, is
// read with the offset in force before the jump (02:30 becomes 03:30 of
// the new offset); a wall time that occurs twice, when clocks go back, is
// the earlier instant. time.Date leaves both cases unspecified, so they
// are decided here.
func LocalToUTC(local int64, loc *time.Location) int64 {
	off := func(u int64) int64 {
		_, o := time.Unix(u, 0).In(loc).Zone()
		return int64(o)
	}
	// The offsets a day before and after cover any single transition
	// near local (offsets are within ±1 day).
	before, after := off(local-86400), off(local+86400)
	v1, v2 := off(local-before) == before, off(local-after) == after
	switch {
	case v1 && v2:
		return min(local-before, local-after)
	case v2:
		return local - after
	}
	return local - before // valid, or the gap
}

// LocalZone is LocalToUTC with a cache of the zone period last seen, for
// evaluating many nearby wall times (a column) in one timezone.
type LocalZone struct {
	Loc      *time.Location
	from, to int64 // the period [from, to) of offset off; empty when from == to
	off      int64
}

// ToUTC is LocalToUTC(local, z.Loc).
func (z *LocalZone) ToUTC(local int64) int64 {
	// Well inside a period (a day away from its ends) the wall time has
	// exactly one instant: the one at the period's offset.
	if u := local - z.off; z.to > z.from && u-86400 >= z.from && u+86400 < z.to {
		return u
	}
	u := LocalToUTC(local, z.Loc)
	tm := time.Unix(u, 0).In(z.Loc)
	_, o := tm.Zone()
	start, end := tm.ZoneBounds()
	z.off, z.from, z.to = int64(o), math.MinInt64/2, math.MaxInt64/2
	if !start.IsZero() {
		z.from = start.Unix()
	}
	if !end.IsZero() {
		z.to = end.Unix()
	}
	return u
}
