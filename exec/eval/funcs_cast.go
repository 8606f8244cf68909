package eval

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// Explicit casts: int(), float(), string(), bool(), date(), timestamp(),
// decimal() and their try_ forms. A value that does not convert is null,
// and, without try_, a row error with predicate.ValueError's message.

type convNode struct {
	fn   predicate.Func
	name string // as written, try_ included, for messages
	try  bool
	x    node
	from schema.Type
	to   schema.Type
	dt   arrow.DataType
}

func (cv *convNode) dataType() arrow.DataType { return cv.dt }

func (c *compiler) convert(e *predicate.Apply, args []node) (node, error) {
	dt, err := literalType(e.Typ)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e, err)
	}
	from := e.Args[0].Type()
	if e.Fn == predicate.ToString {
		return c.toText(args[0], from, e)
	}
	if !columnTypeOK(from, args[0].dataType()) && !(from.IsInteger() && args[0].dataType().ID() == arrow.INT64) &&
		!(from.IsFloat() && args[0].dataType().ID() == arrow.FLOAT64) {
		return nil, fmt.Errorf("%s: operand is %s, not %s", e, args[0].dataType(), from)
	}
	return &convNode{fn: e.Fn, name: e.Name(), try: e.Try, x: args[0], from: from, to: e.Typ, dt: dt}, nil
}

// bstr views b as a string without copying, for strconv; the string must
// not outlive the call (strconv keeps it only in the error, dropped here).
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (cv *convNode) eval(ec *evalCtx) (arrow.Array, error) {
	x, err := cv.x.eval(ec)
	if err != nil {
		return nil, err
	}
	defer x.Release()
	n := ec.n
	valid := argValidity(ec.mem, n, []arrow.Array{x})
	vb := valid.Bytes()
	fail := func(i int, v any, reason string) {
		clearBit(vb, i)
		if !cv.try {
			ec.addRowError(i, predicate.NewValueError(cv.name, v, reason))
		}
	}
	// unsupported gives up on an argument type no case converts (the
	// checker refuses them), releasing the result's buffer.
	unsupported := func(result *memory.Buffer) (arrow.Array, error) {
		result.Release()
		valid.Release()
		return nil, fmt.Errorf("%s: cannot convert %s", cv.name, x.DataType())
	}
	fc := classOf(x.DataType())
	var bx bytesArg
	if fc == clsBytes {
		bx = bytesArgOf(x, nil)
	}
	switch cv.fn {
	case predicate.ToInt:
		buf, out := newFixed[int64](ec.mem, n)
		switch fc {
		case clsInt64:
			copy(out, valuesOf[int64](x))
		case clsFloat64:
			for i, f := range valuesOf[float64](x) {
				if !bitAt(vb, i) {
					continue
				}
				switch t := math.Trunc(f); {
				case math.IsNaN(f) || math.IsInf(f, 0):
					fail(i, f, "not a finite number")
				case t < -(1<<63) || t >= 1<<63:
					fail(i, f, "out of range for int64")
				default:
					out[i] = int64(t)
				}
			}
		case clsBool:
			bm, off := bitsOf(x)
			for i := range out {
				if bitAt(bm, off+i) {
					out[i] = 1
				}
			}
		case clsBytes:
			for i := range out {
				if bitAt(vb, i) {
					v, reason := parseInt(bx.at(i))
					if reason != "" {
						fail(i, string(bx.at(i)), reason)
					}
					out[i] = v
				}
			}
		case clsDecimal:
			scale := cv.from.Scale
			p := pow10Big(scale)
			for i, d := range valuesOf[decimal128.Num](x) {
				if !bitAt(vb, i) {
					continue
				}
				q := new(big.Int).Quo(d.BigInt(), p)
				if !q.IsInt64() {
					fail(i, predicate.Shown(predicate.FormatDecimal(d.BigInt(), scale)), "out of range for int64")
					continue
				}
				out[i] = q.Int64()
			}
		default:
			return unsupported(buf)
		}
		return makeArray(cv.dt, n, dropAllValid(valid, n), buf), nil
	case predicate.ToFloat:
		buf, out := newFixed[float64](ec.mem, n)
		switch fc {
		case clsInt64:
			convert(valuesOf[int64](x), out)
		case clsFloat64:
			copy(out, valuesOf[float64](x))
		case clsBool:
			bm, off := bitsOf(x)
			for i := range out {
				if bitAt(bm, off+i) {
					out[i] = 1
				}
			}
		case clsBytes:
			for i := range out {
				if bitAt(vb, i) {
					f, err := strconv.ParseFloat(bstr(bytes.TrimSpace(bx.at(i))), 64)
					if err != nil {
						reason := "not a number"
						if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
							reason = "out of range for float64"
						}
						fail(i, string(bx.at(i)), reason)
					}
					out[i] = f
				}
			}
		case clsDecimal:
			scale := cv.from.Scale
			for i, d := range valuesOf[decimal128.Num](x) {
				if bitAt(vb, i) {
					out[i] = decimalToFloat(d, scale)
				}
			}
		default:
			return unsupported(buf)
		}
		return makeArray(cv.dt, n, dropAllValid(valid, n), buf), nil
	case predicate.ToBool:
		out := newBitmap(ec.mem, n)
		ob := out.Bytes()
		switch fc {
		case clsBool:
			bm, off := bitsOf(x)
			for i := 0; i < n; i++ {
				if bitAt(bm, off+i) {
					setBit(ob, i)
				}
			}
		case clsInt64:
			for i, v := range valuesOf[int64](x) {
				if v != 0 {
					setBit(ob, i)
				}
			}
		case clsBytes:
			for i := 0; i < n; i++ {
				if !bitAt(vb, i) {
					continue
				}
				switch s := bytes.TrimSpace(bx.at(i)); {
				case bytes.EqualFold(s, []byte("true")) || string(s) == "1":
					setBit(ob, i)
				case bytes.EqualFold(s, []byte("false")) || string(s) == "0":
				default:
					fail(i, string(bx.at(i)), "not a bool (want true, false, 1 or 0)")
				}
			}
		default:
			return unsupported(out)
		}
		return makeArray(cv.dt, n, dropAllValid(valid, n), out), nil
	case predicate.ToDate:
		buf, out := newFixed[int32](ec.mem, n)
		switch {
		case x.DataType().ID() == arrow.DATE32:
			copy(out, valuesOf[int32](x))
		case x.DataType().ID() == arrow.TIMESTAMP:
			perDay := 86400 * cv.from.Unit.PerSecond()
			for i, v := range valuesOf[int64](x) {
				out[i] = int32(predicate.FloorDiv(v, perDay))
			}
		case fc == clsBytes:
			for i := range out {
				if bitAt(vb, i) {
					d, ok := parseDate(bytes.TrimSpace(bx.at(i)))
					if !ok {
						fail(i, string(bx.at(i)), "not a date (want YYYY-MM-DD)")
					}
					out[i] = d
				}
			}
		default:
			return unsupported(buf)
		}
		return makeArray(cv.dt, n, dropAllValid(valid, n), buf), nil
	case predicate.ToTimestamp:
		buf, out := newFixed[int64](ec.mem, n)
		switch {
		case x.DataType().ID() == arrow.TIMESTAMP:
			copy(out, valuesOf[int64](x))
		case x.DataType().ID() == arrow.DATE32:
			for i, d := range valuesOf[int32](x) {
				r, ok := mulCheck(int64(d), 86400*1e6)
				if !ok {
					if bitAt(vb, i) {
						fail(i, predicate.Shown(predicate.Quote(predicate.FormatDate(d))), "out of range for timestamp(us)")
					}
					continue
				}
				out[i] = r
			}
		case fc == clsBytes:
			us := schema.TimestampOf(schema.Microsecond, "")
			for i := range out {
				if bitAt(vb, i) {
					if v, ok := fastTimestamp(bytes.TrimSpace(bx.at(i))); ok {
						out[i] = v
						continue
					}
					v, err := predicate.ParseTimestamp(bstr(bytes.TrimSpace(bx.at(i))), us)
					if err != nil {
						fail(i, string(bx.at(i)), predicate.TimestampReason)
					}
					out[i] = v
				}
			}
		default:
			return unsupported(buf)
		}
		return makeArray(cv.dt, n, dropAllValid(valid, n), buf), nil
	case predicate.ToDecimal:
		buf, out := newFixed[decimal128.Num](ec.mem, n)
		for i := 0; i < n; i++ {
			if !bitAt(vb, i) {
				continue
			}
			var v any
			switch fc {
			case clsInt64:
				v = valuesOf[int64](x)[i]
			case clsFloat64:
				v = valuesOf[float64](x)[i]
			case clsBytes:
				v = string(bx.at(i))
			case clsDecimal:
				v = valuesOf[decimal128.Num](x)[i].BigInt()
			default:
				return unsupported(buf)
			}
			d, verr := predicate.CastDecimal(cv.name, v, cv.from, cv.to)
			if verr != nil {
				clearBit(vb, i)
				if !cv.try {
					ec.addRowError(i, verr)
				}
				continue
			}
			out[i] = decimal128.FromBigInt(d)
		}
		return makeArray(cv.dt, n, dropAllValid(valid, n), buf), nil
	}
	valid.Release()
	return nil, fmt.Errorf("%s: unknown conversion", cv.name)
}

// parseInt is strconv.ParseInt(strings.TrimSpace(s), 10, 64) on bytes,
// without allocating; reason is "" on success.
func parseInt(s []byte) (int64, string) {
	s = bytes.TrimSpace(s)
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, "not an integer"
	}
	var u uint64
	overflow := false
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, "not an integer"
		}
		if u > (1<<64-1)/10 {
			overflow = true
		}
		u = u*10 + uint64(c-'0')
		if u < uint64(c-'0') {
			overflow = true
		}
	}
	switch {
	case overflow, !neg && u > math.MaxInt64, neg && u > 1<<63:
		return 0, "out of range for int64"
	case neg:
		return -int64(u), ""
	}
	return int64(u), ""
}

// parseDate reads exactly YYYY-MM-DD (time.Parse(time.DateOnly) rules).
func parseDate(s []byte) (int32, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	num := func(b []byte) (int, bool) {
		v := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(s[0:4])
	m, ok2 := num(s[5:7])
	d, ok3 := num(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > predicate.DaysIn(y, m) {
		return 0, false
	}
	return int32(predicate.DaysFromCivil(int64(y), int64(m), int64(d))), true
}

// fastTimestamp reads the commonest timestamp texts, 'YYYY-MM-DD
// hh:mm:ss', 'YYYY-MM-DDThh:mm:ss' and 'YYYY-MM-DDThh:mm:ssZ' (UTC), in
// microseconds, by arithmetic; ok is false for anything else, which
// predicate.ParseTimestamp then reads (or rejects) as the reference does.
func fastTimestamp(s []byte) (int64, bool) {
	switch {
	case len(s) == 19 && (s[10] == ' ' || s[10] == 'T'):
	case len(s) == 20 && s[10] == 'T' && s[19] == 'Z':
	default:
		return 0, false
	}
	if s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	num := func(b []byte) int {
		v := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec := num(s[0:4]), num(s[5:7]), num(s[8:10]), num(s[11:13]), num(s[14:16]), num(s[17:19])
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > predicate.DaysIn(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return 0, false
	}
	days := predicate.DaysFromCivil(int64(y), int64(mo), int64(d))
	return (days*86400 + int64(h*3600+mi*60+sec)) * 1e6, true
}

var pow10f = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// decimalToFloat is the float nearest to d/10^scale: one correctly rounded
// division when both are exact in float64, else exact rational rounding.
func decimalToFloat(d decimal128.Num, scale int) float64 {
	lo := int64(d.LowBits())
	small := d.HighBits() == 0 && lo >= 0 && lo < 1<<53 || d.HighBits() == -1 && lo < 0 && lo >= -(1<<53)
	if small && scale < len(pow10f) {
		return float64(lo) / pow10f[scale]
	}
	f, _ := new(big.Rat).SetFrac(d.BigInt(), pow10Big(scale)).Float64()
	return f
}

func pow10Big(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// textNode is string(x) for a non-string x.
type textNode struct {
	x    node
	from schema.Type
}

func (t *textNode) dataType() arrow.DataType { return arrow.BinaryTypes.String }

// toText converts x (of IR type from) to its text, as string() does.
func (c *compiler) toText(x node, from schema.Type, e predicate.Expr) (node, error) {
	switch classOf(x.dataType()) {
	case clsBytes:
		if from.Kind == schema.String && x.dataType().ID() == arrow.STRING {
			return x, nil
		}
	case clsInt64, clsFloat64, clsFloat32, clsBool, clsInt32, clsDecimal:
	default:
		return nil, fmt.Errorf("%s: cannot convert %s to a string", e, x.dataType())
	}
	return foldIfConst(&textNode{x: x, from: from}, x)
}

func (t *textNode) eval(ec *evalCtx) (arrow.Array, error) {
	x, err := t.x.eval(ec)
	if err != nil {
		return nil, err
	}
	defer x.Release()
	n := ec.n
	valid := validityAnd(ec.mem, n, x)
	b := newStrBuilder(ec.mem, arrow.BinaryTypes.String, n, 12*n)
	isValid := func(i int) bool { return valid == nil || bitAt(valid.Bytes(), i) }
	switch {
	case classOf(x.DataType()) == clsBytes:
		v := bytesArgOf(x, nil)
		for i := 0; i < n; i++ {
			b.append(v.at(i))
			b.next()
		}
	case x.DataType().ID() == arrow.TIMESTAMP:
		per := t.from.Unit.PerSecond()
		for i, v := range valuesOf[int64](x) {
			if isValid(i) {
				sec := predicate.FloorDiv(v, per)
				b.grow(48)
				b.data = time.Unix(sec, (v-sec*per)*(int64(1e9)/per)).UTC().AppendFormat(b.data, "2006-01-02 15:04:05.999999999")
			}
			b.next()
		}
	case x.DataType().ID() == arrow.DATE32:
		for i, d := range valuesOf[int32](x) {
			if isValid(i) {
				b.grow(24)
				b.data = time.Unix(int64(d)*86400, 0).UTC().AppendFormat(b.data, time.DateOnly)
			}
			b.next()
		}
	case classOf(x.DataType()) == clsInt64:
		for i, v := range valuesOf[int64](x) {
			if isValid(i) {
				b.grow(20)
				b.data = strconv.AppendInt(b.data, v, 10)
			}
			b.next()
		}
	case classOf(x.DataType()) == clsInt32:
		for i, v := range valuesOf[int32](x) {
			if isValid(i) {
				b.grow(20)
				b.data = strconv.AppendInt(b.data, int64(v), 10)
			}
			b.next()
		}
	case classOf(x.DataType()) == clsFloat64:
		for i, v := range valuesOf[float64](x) {
			if isValid(i) {
				b.grow(32)
				b.data = appendFloat(b.data, v, 64)
			}
			b.next()
		}
	case classOf(x.DataType()) == clsFloat32:
		for i, v := range valuesOf[float32](x) {
			if isValid(i) {
				b.grow(32)
				b.data = appendFloat(b.data, float64(v), 32)
			}
			b.next()
		}
	case classOf(x.DataType()) == clsBool:
		bm, off := bitsOf(x)
		for i := 0; i < n; i++ {
			if isValid(i) {
				b.grow(5)
				b.data = strconv.AppendBool(b.data, bitAt(bm, off+i))
			}
			b.next()
		}
	case classOf(x.DataType()) == clsDecimal:
		scale := int(x.DataType().(*arrow.Decimal128Type).Scale)
		for i, d := range valuesOf[decimal128.Num](x) {
			if isValid(i) {
				b.appendString(predicate.FormatDecimal(d.BigInt(), scale))
			}
			b.next()
		}
	default:
		if valid != nil {
			valid.Release()
		}
		return nil, fmt.Errorf("string(): cannot convert %s", x.DataType())
	}
	return b.finish(valid)
}

// appendFloat appends predicate.FormatFloat(f) (for a float32, the
// shortest text of the float32) without allocating.
func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.AppendFloat(dst, f, 'f', -1, bits)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}
