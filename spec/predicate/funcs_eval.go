package predicate

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/sluicedata/sluice/spec/schema"
)

// The reference semantics of the function library, one row at a time,
// written the obvious way (big integers, the time package) so that the
// vectorised evaluator has something independent to be held to.

func evalCond(e *Cond, row func(string) (any, bool)) (any, error) {
	c, err := Eval(e.If, row)
	if err != nil {
		return nil, err
	}
	if c == true {
		return evalAs(e.Then, e.Typ, row)
	}
	return evalAs(e.Else, e.Typ, row)
}

func evalCoalesce(e *Coalesce, row func(string) (any, bool)) (any, error) {
	for _, a := range e.Args {
		v, err := evalAs(a, e.Typ, row)
		if err != nil || v != nil {
			return v, err
		}
	}
	return nil, nil
}

// evalAs evaluates a branch and brings its value to the node's type (a
// decimal branch of a smaller precision is already the same value).
func evalAs(e Expr, t schema.Type, row func(string) (any, bool)) (any, error) {
	v, err := Eval(e, row)
	if err != nil || v == nil {
		return nil, err
	}
	if t.Kind == schema.Timestamp {
		if x, ok := v.(int64); ok {
			return x, nil // a timestamp of the same unit, whatever its timezone
		}
	}
	return normalize(v, t)
}

func evalApply(e *Apply, row func(string) (any, bool)) (any, error) {
	vals := make([]any, len(e.Args))
	for i, a := range e.Args {
		v, err := Eval(a, row)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	if e.Fn == Concat {
		var b strings.Builder
		for i, v := range vals {
			if v != nil {
				b.WriteString(toText(v, e.Args[i].Type()))
			}
		}
		return b.String(), nil
	}
	for _, v := range vals {
		if v == nil {
			return nil, nil
		}
	}
	v, err := applyFn(e, vals)
	var ve *ValueError
	if e.Try && errors.As(err, &ve) {
		return nil, nil
	}
	return v, err
}

func applyFn(e *Apply, v []any) (any, error) {
	at := func(i int) schema.Type { return e.Args[i].Type() }
	switch e.Fn {
	case Trim:
		return strings.TrimFunc(v[0].(string), unicode.IsSpace), nil
	case LTrim:
		return strings.TrimLeftFunc(v[0].(string), unicode.IsSpace), nil
	case RTrim:
		return strings.TrimRightFunc(v[0].(string), unicode.IsSpace), nil
	case Substring:
		length := int64(math.MaxInt64)
		if len(v) > 2 {
			length = v[2].(int64)
		}
		return substringRef(v[0].(string), v[1].(int64), length), nil
	case Replace:
		if v[1].(string) == "" {
			return v[0], nil
		}
		return strings.ReplaceAll(v[0].(string), v[1].(string), v[2].(string)), nil
	case SplitPart:
		s, sep, n := v[0].(string), v[1].(string), v[2].(int64)
		parts := []string{s}
		if sep != "" {
			parts = strings.Split(s, sep)
		}
		if n < 0 {
			n += int64(len(parts)) + 1
		}
		if n < 1 || n > int64(len(parts)) {
			return nil, nil
		}
		return parts[n-1], nil
	case Matches:
		re, err := CompileRegexp(v[1].(string))
		if err != nil {
			return nil, err
		}
		return re.MatchString(v[0].(string)), nil
	case RegexExtract:
		re, err := CompileRegexp(v[1].(string))
		if err != nil {
			return nil, err
		}
		g := 0
		if len(v) > 2 {
			g = int(v[2].(int64))
		}
		m := re.FindStringSubmatchIndex(v[0].(string))
		if m == nil || 2*g+1 >= len(m) || m[2*g] < 0 {
			return nil, nil
		}
		return v[0].(string)[m[2*g]:m[2*g+1]], nil
	case ToInt:
		return castInt(e.Name(), v[0], at(0))
	case ToFloat:
		return castFloat(e.Name(), v[0], at(0))
	case ToString:
		return toText(v[0], at(0)), nil
	case ToBool:
		return castBool(e.Name(), v[0], at(0))
	case ToDate:
		return castDate(e.Name(), v[0], at(0))
	case ToTimestamp:
		return castTimestamp(e.Name(), v[0], at(0))
	case ToDecimal:
		d, verr := CastDecimal(e.Name(), v[0], at(0), e.Typ)
		if verr != nil {
			return nil, verr
		}
		return d, nil
	case ParseTimestampFn:
		return parseTimestampRef(e, v)
	case FromUnixtime, FromUnixtimeMs:
		per := int64(1e6)
		if e.Fn == FromUnixtimeMs {
			per = 1e3
		}
		switch x := v[0].(type) {
		case int64:
			return fitInt(new(big.Int).Mul(big.NewInt(x), big.NewInt(per))), nil
		case float64:
			r := math.Round(x * float64(per))
			if math.IsNaN(r) || r < -(1<<63) || r >= 1<<63 {
				return nil, nil
			}
			return int64(r), nil
		}
	case Trunc:
		p, _ := ParseDatePart(v[1].(string))
		return truncRef(v[0], at(0), p), nil
	case Year, Month, Day, Hour, Minute, Second:
		tm := timeOf(v[0], at(0))
		switch e.Fn {
		case Year:
			return int64(tm.Year()), nil
		case Month:
			return int64(tm.Month()), nil
		case Day:
			return int64(tm.Day()), nil
		case Hour:
			return int64(tm.Hour()), nil
		case Minute:
			return int64(tm.Minute()), nil
		}
		return int64(tm.Second()), nil
	case DateAdd:
		p, _ := ParseDatePart(v[2].(string))
		return dateAddRef(v[0], at(0), v[1].(int64), p), nil
	case DateDiff:
		p, _ := ParseDatePart(v[2].(string))
		return dateDiffRef(v[0], at(0), v[1], at(1), p), nil
	case ToTimezone:
		loc, err := LoadLocation(v[1].(string))
		if err != nil {
			return nil, err
		}
		x := v[0].(int64)
		per := at(0).Unit.PerSecond()
		_, off := time.Unix(FloorDiv(x, per), 0).In(loc).Zone()
		r := new(big.Int).Mul(big.NewInt(int64(off)), big.NewInt(per))
		return fitInt(r.Add(r, big.NewInt(x))), nil
	}
	return nil, fmt.Errorf("%s: cannot apply to %v", e.Name(), v)
}

// fitInt is r as an int64, or null when it does not fit (overflow).
func fitInt(r *big.Int) any {
	if !r.IsInt64() {
		return nil
	}
	return r.Int64()
}

// substringRef takes the characters (runes, an invalid byte counting as
// one) at 1-based positions [start, start+length); a negative start
// counts from the end (-1 is the last character); positions outside the
// string are ignored; a negative length is null.
func substringRef(s string, start, length int64) any {
	if length < 0 {
		return nil
	}
	var pos []int // byte offset of each character, then len(s)
	for i := range s {
		pos = append(pos, i)
	}
	n := int64(len(pos))
	pos = append(pos, len(s))
	from := big.NewInt(start - 1)
	if start < 0 {
		from = big.NewInt(n + start)
	}
	to := new(big.Int).Add(from, big.NewInt(length))
	clamp := func(x *big.Int) int64 {
		if x.Sign() < 0 {
			return 0
		}
		if x.Cmp(big.NewInt(n)) > 0 {
			return n
		}
		return x.Int64()
	}
	f, t := clamp(from), clamp(to)
	if f >= t {
		return ""
	}
	return s[pos[f]:pos[t]]
}

var regexps sync.Map // pattern → *regexp.Regexp, for the reference evaluator

// CompileRegexp compiles an RE2 pattern (cached: the reference evaluator
// asks for it on every row).
func CompileRegexp(p string) (*regexp.Regexp, error) {
	if re, ok := regexps.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	regexps.Store(p, re)
	return re, nil
}

var locations sync.Map // name → *time.Location

// LoadLocation loads an IANA timezone ("UTC" included), cached.
func LoadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		return nil, fmt.Errorf("unknown timezone %s: want an IANA name such as 'Europe/Paris' or 'UTC'", Quote(name))
	}
	locations.Store(name, l)
	return l, nil
}

// castInt is int(x): integers as they are, floats truncated toward zero,
// strings read as decimal integers (spaces around allowed), bools 1 or 0,
// decimals truncated toward zero.
func castInt(fn string, v any, t schema.Type) (any, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, NewValueError(fn, x, "not a finite number")
		}
		tr := math.Trunc(x)
		if tr < -(1<<63) || tr >= 1<<63 {
			return nil, NewValueError(fn, x, "out of range for int64")
		}
		return int64(tr), nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, NewValueError(fn, x, "out of range for int64")
			}
			return nil, NewValueError(fn, x, "not an integer")
		}
		return n, nil
	case *big.Int:
		q := new(big.Int).Quo(x, pow10(t.Scale))
		if !q.IsInt64() {
			return nil, NewValueError(fn, Shown(FormatDecimal(x, t.Scale)), "out of range for int64")
		}
		return q.Int64(), nil
	}
	return nil, fmt.Errorf("%s: cannot convert %T", fn, v)
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// castFloat is float(x): strings as strconv.ParseFloat reads them after
// trimming spaces (out of range is an error), decimals rounded to the
// nearest float.
func castFloat(fn string, v any, t schema.Type) (any, error) {
	switch x := v.(type) {
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case bool:
		if x {
			return 1.0, nil
		}
		return 0.0, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, NewValueError(fn, x, "out of range for float64")
			}
			return nil, NewValueError(fn, x, "not a number")
		}
		return f, nil
	case *big.Int:
		f, _ := new(big.Rat).SetFrac(x, pow10(t.Scale)).Float64()
		return f, nil
	}
	return nil, fmt.Errorf("%s: cannot convert %T", fn, v)
}

// castBool is bool(x): integers are true unless 0; strings true, false,
// 1 or 0 (any case, spaces around allowed).
func castBool(fn string, v any, _ schema.Type) (any, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	case string:
		switch s := strings.TrimSpace(x); {
		case strings.EqualFold(s, "true") || s == "1":
			return true, nil
		case strings.EqualFold(s, "false") || s == "0":
			return false, nil
		}
		return nil, NewValueError(fn, x, "not a bool (want true, false, 1 or 0)")
	}
	return nil, fmt.Errorf("%s: cannot convert %T", fn, v)
}

// castDate is date(x): a timestamp's date in UTC; a string YYYY-MM-DD.
func castDate(fn string, v any, t schema.Type) (any, error) {
	switch t.Kind {
	case schema.Date:
		return v, nil
	case schema.Timestamp:
		x := v.(int64)
		days := FloorDiv(x, 86400*t.Unit.PerSecond())
		return int32(days), nil // int64 µs/ms/ns / 86400 s always fits int32
	case schema.String:
		s := v.(string)
		tm, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
		if err != nil {
			return nil, NewValueError(fn, s, "not a date (want YYYY-MM-DD)")
		}
		return int32(FloorDiv(tm.Unix(), 86400)), nil
	}
	return nil, fmt.Errorf("%s: cannot convert %s", fn, t)
}

// castTimestamp is timestamp(x): a date at midnight UTC; a string as a
// timestamp literal is read (RFC 3339, or 'YYYY-MM-DD hh:mm:ss[.frac]' in
// UTC, or a date), to the microsecond.
func castTimestamp(fn string, v any, t schema.Type) (any, error) {
	switch t.Kind {
	case schema.Timestamp:
		return v, nil
	case schema.Date:
		r := new(big.Int).Mul(big.NewInt(int64(v.(int32))), big.NewInt(86400*1e6))
		if !r.IsInt64() {
			return nil, NewValueError(fn, Shown(Quote(FormatDate(v.(int32)))), "out of range for timestamp(us)")
		}
		return r.Int64(), nil
	case schema.String:
		s := v.(string)
		ts, err := ParseTimestamp(strings.TrimSpace(s), schema.TimestampOf(schema.Microsecond, ""))
		if err != nil {
			return nil, NewValueError(fn, s, TimestampReason)
		}
		return ts, nil
	}
	return nil, fmt.Errorf("%s: cannot convert %s", fn, t)
}

// TimestampReason is why timestamp(s) failed.
const TimestampReason = "not a timestamp (want RFC 3339, 'YYYY-MM-DD hh:mm:ss[.ffffff]' or a date, at most to the microsecond)"

// CastDecimal is decimal(x, p, s): integers exactly, floats and strings
// and decimals of another scale rounded half away from zero to s places;
// the result must fit p digits. It is shared by both evaluators.
func CastDecimal(fn string, v any, from, to schema.Type) (*big.Int, *ValueError) {
	var r *big.Rat
	shown := v
	switch x := v.(type) {
	case int64:
		r = new(big.Rat).SetInt64(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, NewValueError(fn, x, "not a finite number")
		}
		// The float's shortest decimal text, as string() prints it, so
		// that 2.675 rounds as written (its binary value is 2.67499…).
		r, _ = new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
	case string:
		var ok bool
		if r, ok = parseDecimalText(strings.TrimSpace(x)); !ok {
			return nil, NewValueError(fn, x, "not a decimal number")
		}
	case *big.Int:
		r = new(big.Rat).SetFrac(x, pow10(from.Scale))
		shown = Shown(FormatDecimal(x, from.Scale))
	default:
		return nil, NewValueError(fn, v, "cannot convert "+from.String())
	}
	r.Mul(r, new(big.Rat).SetInt(pow10(to.Scale)))
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Abs(m).Lsh(m, 1).Cmp(r.Denom()) >= 0 { // |rem|*2 >= den: away from zero
		if r.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if len(new(big.Int).Abs(q).String()) > to.Precision && q.Sign() != 0 {
		return nil, NewValueError(fn, shown, "does not fit "+to.String())
	}
	return q, nil
}

// parseDecimalText reads [+-]digits[.digits] (digits on at least one side).
func parseDecimalText(s string) (*big.Rat, bool) {
	t := s
	if strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		t = t[1:]
	}
	ip, fp, _ := strings.Cut(t, ".")
	if ip == "" && fp == "" || !allDigits(ip) || !allDigits(fp) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(strings.TrimPrefix(s, "+"))
	return r, ok
}

// toText is string(x) (and how concat renders its arguments).
func toText(v any, t schema.Type) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		if t.Kind == schema.Float32 {
			return formatFloatBits(x, 32)
		}
		return FormatFloat(x)
	case *big.Int:
		return FormatDecimal(x, t.Scale)
	case int32:
		return FormatDate(x)
	case int64:
		if t.Kind == schema.Timestamp {
			return FormatTimestampText(x, t.Unit)
		}
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

// FormatTimestampText renders a timestamp as string() does: UTC,
// 'YYYY-MM-DD hh:mm:ss' with as many fractional digits as needed.
func FormatTimestampText(v int64, u schema.TimeUnit) string {
	per := u.PerSecond()
	sec, frac := FloorDiv(v, per), v-FloorDiv(v, per)*per
	return time.Unix(sec, frac*(int64(1e9)/per)).UTC().Format("2006-01-02 15:04:05.999999999")
}

func parseTimestampRef(e *Apply, v []any) (any, error) {
	tf, err := CompileTimeFormat(v[1].(string))
	if err != nil {
		return nil, err
	}
	s := v[0].(string)
	var c Civil
	reason := tf.Parse([]byte(s), &c)
	if reason != "" {
		return nil, NewValueError(e.Name(), s, reason)
	}
	// The wall time as if it were UTC, by the time package.
	wall := time.Date(c.Year, time.Month(c.Month), c.Day, c.Hour, c.Min, c.Sec, 0, time.UTC).Unix()
	sec := wall - int64(c.Offset)
	if !c.HasOffset && len(v) > 2 {
		loc, err := LoadLocation(v[2].(string))
		if err != nil {
			return nil, err
		}
		sec = LocalToUTC(wall, loc)
	}
	return sec*1e6 + int64(c.Nsec/1000), nil
}

// timeOf is a date or timestamp value as a UTC time.
func timeOf(v any, t schema.Type) time.Time {
	if t.Kind == schema.Date {
		return time.Unix(int64(v.(int32))*86400, 0).UTC()
	}
	x := v.(int64)
	per := t.Unit.PerSecond()
	sec := FloorDiv(x, per)
	return time.Unix(sec, (x-sec*per)*(int64(1e9)/per)).UTC()
}

// fromTime converts back to t's representation: null when it does not fit.
func fromTime(tm time.Time, t schema.Type) any {
	days := FloorDiv(tm.Unix(), 86400)
	if t.Kind == schema.Date {
		if days < math.MinInt32 || days > math.MaxInt32 {
			return nil
		}
		return int32(days)
	}
	per := t.Unit.PerSecond()
	r := new(big.Int).Mul(big.NewInt(tm.Unix()), big.NewInt(per))
	r.Add(r, big.NewInt(int64(tm.Nanosecond())/(int64(1e9)/per)))
	return fitInt(r)
}

func truncRef(v any, t schema.Type, p DatePart) any {
	tm := timeOf(v, t)
	y, m, d := tm.Date()
	switch p {
	case PartYear:
		m, d = 1, 1
		fallthrough
	case PartMonth:
		if p == PartMonth {
			d = 1
		}
		fallthrough
	case PartDay:
		return fromTime(time.Date(y, m, d, 0, 0, 0, 0, time.UTC), t)
	}
	return fromTime(tm.Truncate(time.Duration(p.Seconds())*time.Second), t)
}

// maxYears bounds date_add's month arithmetic: no timestamp or date
// reaches this far, so a result beyond it is null (overflow).
const maxYears = 100_000_000

func dateAddRef(v any, t schema.Type, n int64, p DatePart) any {
	tm := timeOf(v, t)
	switch p {
	case PartYear, PartMonth:
		k := big.NewInt(n)
		if p == PartYear {
			k.Mul(k, big.NewInt(12))
		}
		months := new(big.Int).Add(big.NewInt(int64(tm.Year())*12+int64(tm.Month())-1), k)
		if !months.IsInt64() {
			return nil
		}
		mo := months.Int64()
		y, m := FloorDiv(mo, 12), mo-FloorDiv(mo, 12)*12+1
		if y > maxYears || y < -maxYears {
			return nil
		}
		d := min(tm.Day(), DaysIn(int(y), int(m)))
		return fromTime(time.Date(int(y), time.Month(m), d, tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond(), time.UTC), t)
	}
	// Fixed-length parts: exact arithmetic in the value's unit.
	if t.Kind == schema.Date {
		r := new(big.Int).Mul(big.NewInt(n), big.NewInt(p.Seconds()/86400))
		r.Add(r, big.NewInt(int64(v.(int32))))
		if !r.IsInt64() || r.Int64() < math.MinInt32 || r.Int64() > math.MaxInt32 {
			return nil
		}
		return int32(r.Int64())
	}
	r := new(big.Int).Mul(big.NewInt(n), big.NewInt(p.Seconds()*t.Unit.PerSecond()))
	return fitInt(r.Add(r, big.NewInt(v.(int64))))
}

// dateDiffRef is b - a in whole parts crossed: the number of part
// boundaries (midnights for 'day', first days of a month for 'month')
// between them, negative when b is earlier.
func dateDiffRef(a any, at schema.Type, b any, bt schema.Type, p DatePart) any {
	ta, tb := timeOf(a, at), timeOf(b, bt)
	switch p {
	case PartYear:
		return int64(tb.Year() - ta.Year())
	case PartMonth:
		return int64(tb.Year()*12+int(tb.Month())) - int64(ta.Year()*12+int(ta.Month()))
	}
	step := p.Seconds()
	return FloorDiv(tb.Unix(), step) - FloorDiv(ta.Unix(), step)
}
