package decode

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// convKind is the physical target of one column or nested leaf.
type convKind int

const (
	kBool convKind = iota + 1
	kInt32
	kInt64
	kFloat32
	kFloat64
	kString
	kBinary
	kDate
	kTimestamp
	kDecimal
	kList
	kStruct
	kMap
)

func (k convKind) String() string {
	switch k {
	case kBool:
		return "bool"
	case kInt32:
		return "int32"
	case kInt64:
		return "int64"
	case kFloat32:
		return "float32"
	case kFloat64:
		return "float64"
	case kString:
		return "string"
	case kBinary:
		return "binary"
	case kDate:
		return "date"
	case kTimestamp:
		return "timestamp"
	case kDecimal:
		return "decimal"
	case kList:
		return "list"
	case kStruct:
		return "struct"
	case kMap:
		return "map"
	}
	return fmt.Sprintf("convKind(%d)", int(k))
}

// conv converts text or JSON values to one Arrow type.
type conv struct {
	kind   convKind
	dt     arrow.DataType
	unit   arrow.TimeUnit
	prec   int32
	scale  int32
	layout string  // Go time layout for date/timestamp; "" = ISO 8601 / RFC 3339
	elems  []*conv // list: [elem]; map: [key, value]; struct: fields
	names  []string
}

func newConv(dt arrow.DataType, layout string) (*conv, error) {
	c := &conv{dt: dt, layout: goLayout(layout)}
	switch t := dt.(type) {
	case *arrow.BooleanType:
		c.kind = kBool
	case *arrow.Int32Type:
		c.kind = kInt32
	case *arrow.Int64Type:
		c.kind = kInt64
	case *arrow.Float32Type:
		c.kind = kFloat32
	case *arrow.Float64Type:
		c.kind = kFloat64
	case *arrow.StringType:
		c.kind = kString
	case *arrow.BinaryType:
		c.kind = kBinary
	case *arrow.Date32Type:
		c.kind = kDate
	case *arrow.TimestampType:
		c.kind, c.unit = kTimestamp, t.Unit
	case *arrow.Decimal128Type:
		c.kind, c.prec, c.scale = kDecimal, t.Precision, t.Scale
	case *arrow.MapType:
		c.kind = kMap
		k, err := newConv(t.KeyType(), "")
		if err != nil {
			return nil, err
		}
		v, err := newConv(t.ItemType(), "")
		if err != nil {
			return nil, err
		}
		c.elems = []*conv{k, v}
	case *arrow.ListType:
		c.kind = kList
		e, err := newConv(t.Elem(), "")
		if err != nil {
			return nil, err
		}
		c.elems = []*conv{e}
	case *arrow.StructType:
		c.kind = kStruct
		for _, f := range t.Fields() {
			e, err := newConv(f.Type, "")
			if err != nil {
				return nil, err
			}
			c.elems = append(c.elems, e)
			c.names = append(c.names, f.Name)
		}
	default:
		return nil, fmt.Errorf("type %s cannot be decoded", dt)
	}
	return c, nil
}

// cell is one converted value, staged before it is appended so that a bad
// field later in the row leaves no partial row in the builders.
type cell struct {
	null bool
	i    int64
	f    float64
	b    []byte
	d    decimal128.Num
}

// fromText converts the text form of a value (CSV fields, and JSON strings
// for dates, timestamps, decimals and map keys). scratch holds decoded bytes
// that must outlive the call (binary); it is reused per column.
func (c *conv) fromText(s []byte, x *cell) error {
	x.null = false
	switch c.kind {
	case kBool:
		switch string(s) {
		case "true", "TRUE", "True", "t", "T", "1":
			x.i = 1
		case "false", "FALSE", "False", "f", "F", "0":
			x.i = 0
		default:
			return fmt.Errorf("invalid bool %q", clip(s))
		}
	case kInt32, kInt64:
		v, err := parseInt(s)
		if err != nil {
			return fmt.Errorf("invalid %s %q: %v", c.kind, clip(s), err)
		}
		if c.kind == kInt32 && (v < math.MinInt32 || v > math.MaxInt32) {
			return fmt.Errorf("value %d overflows int32", v)
		}
		x.i = v
	case kFloat32, kFloat64:
		v, err := parseFloat(s)
		if err != nil {
			return fmt.Errorf("invalid %s %q", c.kind, clip(s))
		}
		if c.kind == kFloat32 && !math.IsInf(v, 0) && math.Abs(v) > math.MaxFloat32 {
			return fmt.Errorf("value %q overflows float32", clip(s))
		}
		x.f = v
	case kString:
		if !utf8.Valid(s) {
			return errors.New("invalid UTF-8 in string")
		}
		x.b = s
	case kBinary:
		x.b = s
	case kDate:
		d, err := parseDate(s, c.layout)
		if err != nil {
			return err
		}
		x.i = int64(d)
	case kTimestamp:
		v, err := parseTimestamp(s, c.layout, c.unit)
		if err != nil {
			return err
		}
		x.i = v
	case kDecimal:
		d, err := parseDecimal(s, c.prec, c.scale)
		if err != nil {
			return err
		}
		x.d = d
	default:
		return fmt.Errorf("a %s cannot be read from text", c.kind)
	}
	return nil
}

// appendCell appends x to b, whose type is c.dt. It never fails: x was
// produced by this conv.
func (c *conv) appendCell(b array.Builder, x *cell) {
	if x.null {
		b.AppendNull()
		return
	}
	switch c.kind {
	case kBool:
		b.(*array.BooleanBuilder).Append(x.i != 0)
	case kInt32:
		b.(*array.Int32Builder).Append(int32(x.i))
	case kInt64:
		b.(*array.Int64Builder).Append(x.i)
	case kFloat32:
		b.(*array.Float32Builder).Append(float32(x.f))
	case kFloat64:
		b.(*array.Float64Builder).Append(x.f)
	case kString:
		b.(*array.StringBuilder).BinaryBuilder.Append(x.b)
	case kBinary:
		b.(*array.BinaryBuilder).Append(x.b)
	case kDate:
		b.(*array.Date32Builder).Append(arrow.Date32(x.i))
	case kTimestamp:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(x.i))
	case kDecimal:
		b.(*array.Decimal128Builder).Append(x.d)
	}
}

func clip(s []byte) string {
	if len(s) > 64 {
		return string(s[:64]) + "…"
	}
	return string(s)
}

var errSyntax = errors.New("not an integer")

// parseInt parses a base-10 integer with an optional sign, strictly (no
// spaces, no fraction, no exponent).
func parseInt(s []byte) (int64, error) {
	if len(s) == 0 {
		return 0, errors.New("empty")
	}
	neg := false
	i := 0
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		i = 1
		if len(s) == 1 {
			return 0, errSyntax
		}
	}
	if len(s)-i <= 18 { // cannot overflow
		var v int64
		for ; i < len(s); i++ {
			d := s[i] - '0'
			if d > 9 {
				return 0, errSyntax
			}
			v = v*10 + int64(d)
		}
		if neg {
			v = -v
		}
		return v, nil
	}
	v, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, errors.New("overflows int64")
		}
		return 0, errSyntax
	}
	return v, nil
}

var pow10f = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloatFast handles plain decimals ("-123.4567") whose digits fit in
// 2^53 with at most 22 fraction digits: then mantissa / 10^k is one
// correctly rounded IEEE division (Clinger's fast path), the same result
// strconv gives. Anything else reports false.
func parseFloatFast(s []byte) (float64, bool) {
	i, neg := 0, false
	if len(s) > 0 && s[0] == '-' {
		neg, i = true, 1
	}
	if i >= len(s) {
		return 0, false
	}
	var mant uint64
	n, frac, dot := 0, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n++; n > 18 {
				return 0, false
			}
			mant = mant*10 + uint64(c-'0')
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if n == 0 || mant > 1<<53 || frac > 22 {
		return 0, false
	}
	f := float64(mant) / pow10f[frac]
	if neg {
		f = -f
	}
	return f, true
}

// parseFloat parses a decimal float; NaN and ±Inf are accepted spelled
// "NaN", "Inf", "+Inf", "-Inf", "Infinity" (as strconv does), hex is not.
func parseFloat(s []byte) (float64, error) {
	if len(s) == 0 {
		return 0, errors.New("empty")
	}
	if f, ok := parseFloatFast(s); ok {
		return f, nil
	}
	for _, ch := range s {
		if ch == '_' || ch == 'x' || ch == 'X' || ch == 'p' || ch == 'P' {
			return 0, errSyntax
		}
	}
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange && !math.IsInf(v, 0) {
			return v, nil // underflow to 0 / subnormal: keep the nearest value
		}
		return 0, err
	}
	return v, nil
}

// isJSONNumber reports whether s follows the JSON number grammar.
func isJSONNumber(s []byte) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	if s[i] == '0' {
		i++
	} else if s[i] >= '1' && s[i] <= '9' {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	return i == len(s)
}

// daysFromCivil returns days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func digits(s []byte) (int64, bool) {
	var v int64
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		v = v*10 + int64(ch-'0')
	}
	return v, len(s) > 0
}

// parseYMD parses "YYYY-MM-DD" at the start of s.
func parseYMD(s []byte) (days int64, ok bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

// parseDate parses a date: "YYYY-MM-DD", or layout when set.
func parseDate(s []byte, layout string) (int32, error) {
	if layout != "" {
		t, err := time.Parse(layout, string(s))
		if err != nil {
			return 0, fmt.Errorf("invalid date %q for format %q", clip(s), layout)
		}
		return int32(floorDiv(t.Unix(), 86400)), nil
	}
	if len(s) != 10 {
		return 0, fmt.Errorf("invalid date %q: want YYYY-MM-DD", clip(s))
	}
	d, ok := parseYMD(s)
	if !ok {
		return 0, fmt.Errorf("invalid date %q: want YYYY-MM-DD", clip(s))
	}
	return int32(d), nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// parseISO parses "YYYY-MM-DD[(T|t| )hh:mm[:ss[.f…]]][Z|±hh[:mm]]"; no zone means UTC.
func parseISO(s []byte) (sec int64, nsec int64, ok bool) {
	days, ok := parseYMD(s)
	if !ok {
		return 0, 0, false
	}
	sec = days * 86400
	s = s[10:]
	if len(s) == 0 {
		return sec, 0, true
	}
	if s[0] != 'T' && s[0] != 't' && s[0] != ' ' {
		return 0, 0, false
	}
	s = s[1:]
	if len(s) < 5 || s[2] != ':' {
		return 0, 0, false
	}
	h, ok1 := digits(s[0:2])
	mi, ok2 := digits(s[3:5])
	if !ok1 || !ok2 || h > 23 || mi > 59 {
		return 0, 0, false
	}
	sec += h*3600 + mi*60
	s = s[5:]
	if len(s) >= 3 && s[0] == ':' {
		se, ok := digits(s[1:3])
		if !ok || se > 59 {
			return 0, 0, false
		}
		sec += se
		s = s[3:]
		if len(s) > 0 && (s[0] == '.' || s[0] == ',') {
			i := 1
			var scale int64 = 100_000_000
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				nsec += int64(s[i]-'0') * scale
				scale /= 10
				i++
			}
			if i == 1 {
				return 0, 0, false
			}
			s = s[i:]
		}
	}
	switch {
	case len(s) == 0:
	case len(s) == 1 && (s[0] == 'Z' || s[0] == 'z'):
	case s[0] == '+' || s[0] == '-':
		z := s[1:]
		var oh, om int64
		var ok bool
		switch {
		case len(z) == 2:
			oh, ok = digits(z)
		case len(z) == 4:
			oh, ok = digits(z[:2])
			om, _ = digits(z[2:])
			_, ok2 := digits(z[2:])
			ok = ok && ok2
		case len(z) == 5 && z[2] == ':':
			oh, ok = digits(z[:2])
			var ok2 bool
			om, ok2 = digits(z[3:])
			ok = ok && ok2
		}
		if !ok || oh > 23 || om > 59 {
			return 0, 0, false
		}
		off := oh*3600 + om*60
		if s[0] == '+' {
			sec -= off
		} else {
			sec += off
		}
	default:
		return 0, 0, false
	}
	return sec, nsec, true
}

// parseTimestamp converts text to a count of unit since the epoch, UTC.
// Accepted without a layout: ISO 8601 / RFC 3339 with 'T' or a space, with or
// without seconds, fraction and zone (no zone = UTC), a bare date (midnight
// UTC), and an integer (already a count of unit since the epoch). With a
// layout: time.Parse(layout) (no zone in the layout = UTC). Digits finer than
// the unit are truncated toward the past.
func parseTimestamp(s []byte, layout string, unit arrow.TimeUnit) (int64, error) {
	var sec, nsec int64
	if layout != "" {
		t, err := time.Parse(layout, string(s))
		if err != nil {
			return 0, fmt.Errorf("invalid timestamp %q for format %q", clip(s), layout)
		}
		sec, nsec = t.Unix(), int64(t.Nanosecond())
	} else {
		var ok bool
		sec, nsec, ok = parseISO(s)
		if !ok {
			if v, err := parseInt(s); err == nil {
				return v, nil
			}
			return 0, fmt.Errorf("invalid timestamp %q: want RFC 3339 (2006-01-02T15:04:05Z07:00)", clip(s))
		}
	}
	v, ok := toUnit(sec, nsec, unit)
	if !ok {
		return 0, fmt.Errorf("timestamp %q out of range for unit %s", clip(s), unit)
	}
	return v, nil
}

func toUnit(sec, nsec int64, unit arrow.TimeUnit) (int64, bool) {
	var mul, div int64
	switch unit {
	case arrow.Second:
		mul, div = 1, 1_000_000_000
	case arrow.Millisecond:
		mul, div = 1_000, 1_000_000
	case arrow.Microsecond:
		mul, div = 1_000_000, 1_000
	default:
		mul, div = 1_000_000_000, 1
	}
	if sec > math.MaxInt64/mul-1 || sec < math.MinInt64/mul+1 {
		return 0, false
	}
	hi := sec * mul
	lo := nsec / div
	if hi > 0 && lo > math.MaxInt64-hi {
		return 0, false
	}
	return hi + lo, true
}

var pow10u64 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// parseDecimal converts decimal text (optionally signed, with fraction and
// exponent) to an unscaled decimal128 at scale, exactly: a value that needs
// more fraction digits than scale, or more than prec digits, is an error,
// never rounded.
func parseDecimal(s []byte, prec, scale int32) (decimal128.Num, error) {
	bad := func(why string) (decimal128.Num, error) {
		return decimal128.Num{}, fmt.Errorf("invalid decimal(%d,%d) %q: %s", prec, scale, clip(s), why)
	}
	if len(s) == 0 {
		return bad("empty")
	}
	i := 0
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		i++
	}
	// digs holds all mantissa digits; point is how many of them are integer digits.
	var buf [80]byte
	digs := buf[:0]
	point := -1
	for ; i < len(s); i++ {
		ch := s[i]
		if ch >= '0' && ch <= '9' {
			if len(digs) >= 1024 {
				return bad("too many digits")
			}
			digs = append(digs, ch)
		} else if ch == '.' && point < 0 {
			point = len(digs)
		} else {
			break
		}
	}
	if len(digs) == 0 {
		return bad("no digits")
	}
	if point < 0 {
		point = len(digs)
	}
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return bad("unexpected character")
		}
		e, err := parseInt(s[i+1:])
		if err != nil || e > 1000 || e < -1000 {
			return bad("invalid exponent")
		}
		point += int(e)
	}
	// Value = digs × 10^(point − len(digs)); unscaled = digs × 10^(point − len(digs) + scale).
	shift := point - len(digs) + int(scale)
	if shift < 0 {
		cut := len(digs) + shift
		if cut < 0 {
			cut = 0
		}
		for _, ch := range digs[cut:] {
			if ch != '0' {
				return bad(fmt.Sprintf("more than %d fraction digits", scale))
			}
		}
		digs = digs[:cut]
		shift = 0
	}
	// Strip leading zeros and count significant digits.
	j := 0
	for j < len(digs) && digs[j] == '0' {
		j++
	}
	digs = digs[j:]
	if len(digs) == 0 {
		return decimal128.Num{}, nil
	}
	if len(digs)+shift > int(prec) {
		return bad(fmt.Sprintf("more than %d digits", prec))
	}
	var n decimal128.Num
	if len(digs)+shift <= 19 {
		var v uint64
		for _, ch := range digs {
			v = v*10 + uint64(ch-'0')
		}
		v *= pow10u64[shift]
		n = decimal128.FromU64(v)
	} else {
		bi, ok := new(big.Int).SetString(string(digs), 10)
		if !ok {
			return bad("no digits")
		}
		if shift > 0 {
			bi.Mul(bi, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(shift)), nil))
		}
		n = decimal128.FromBigInt(bi)
	}
	if neg {
		n = n.Negate()
	}
	return n, nil
}

// decodeBase64 decodes standard base64, padded or not, appending to dst.
func decodeBase64(dst, s []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	n := enc.DecodedLen(len(s))
	if cap(dst)-len(dst) < n {
		nd := make([]byte, len(dst), len(dst)+n)
		copy(nd, dst)
		dst = nd
	}
	m, err := enc.Decode(dst[len(dst):len(dst)+n], s)
	if err != nil {
		return dst, errors.New("invalid base64 in binary value")
	}
	return dst[:len(dst)+m], nil
}
