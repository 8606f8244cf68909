package eval

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// castNode converts numbers to a wider representation: the IR's implicit
// conversions (int → float64, int32 → int64) and the ones the evaluator
// inserts itself to line up two columns (float32 → float64, a timestamp
// to a finer unit, a decimal to a larger scale).
type castNode struct {
	x  node
	to arrow.DataType
}

func (c *castNode) dataType() arrow.DataType { return c.to }

func canCast(from, to arrow.DataType) bool {
	fc, tc := classOf(from), classOf(to)
	switch {
	case familyOf(from) == famNumber && to.ID() == arrow.FLOAT64:
		return true
	case from.ID() == arrow.INT32 && to.ID() == arrow.INT64:
		return true
	case from.ID() == arrow.TIMESTAMP && to.ID() == arrow.TIMESTAMP:
		return unitFactor(from, to) > 0
	case fc == clsDecimal && tc == clsDecimal:
		return to.(*arrow.Decimal128Type).Scale >= from.(*arrow.Decimal128Type).Scale
	case fc == clsDecimal && to.ID() == arrow.FLOAT64:
		return true
	}
	return false
}

// unitFactor is how many units of to make one unit of from (timestamps),
// or 0 when to is coarser.
func unitFactor(from, to arrow.DataType) int64 {
	f := from.(*arrow.TimestampType).Unit
	t := to.(*arrow.TimestampType).Unit
	if t < f {
		return 0
	}
	k := int64(1)
	for u := f; u < t; u++ {
		k *= 1000
	}
	return k
}

func (c *castNode) eval(ec *evalCtx) (arrow.Array, error) {
	x, err := c.x.eval(ec)
	if err != nil {
		return nil, err
	}
	defer x.Release()
	n := x.Len()
	validity := validityAnd(ec.mem, n, x)
	from := x.DataType()
	switch {
	case from.ID() == arrow.TIMESTAMP:
		k := unitFactor(from, c.to)
		b, out := newFixed[int64](ec.mem, n)
		for i, v := range valuesOf[int64](x) {
			out[i] = v * k
		}
		return makeArray(c.to, n, validity, b), nil
	case classOf(from) == clsDecimal && classOf(c.to) == clsDecimal:
		fs, ts := from.(*arrow.Decimal128Type).Scale, c.to.(*arrow.Decimal128Type).Scale
		b, out := newFixed[decimal128.Num](ec.mem, n)
		for i, v := range valuesOf[decimal128.Num](x) {
			r, err := v.Rescale(fs, ts)
			if err != nil && x.IsValid(i) {
				b.Release()
				if validity != nil {
					validity.Release()
				}
				return nil, fmt.Errorf("rescale decimal %s to scale %d: %w", v.ToString(fs), ts, err)
			}
			out[i] = r
		}
		return makeArray(c.to, n, validity, b), nil
	case classOf(from) == clsDecimal:
		fs := from.(*arrow.Decimal128Type).Scale
		b, out := newFixed[float64](ec.mem, n)
		for i, v := range valuesOf[decimal128.Num](x) {
			out[i] = v.ToFloat64(fs)
		}
		return makeArray(c.to, n, validity, b), nil
	}
	switch c.to.ID() {
	case arrow.FLOAT64:
		b, out := newFixed[float64](ec.mem, n)
		convertInto(x, out)
		return makeArray(c.to, n, validity, b), nil
	case arrow.INT64:
		b, out := newFixed[int64](ec.mem, n)
		convertInto(x, out)
		return makeArray(c.to, n, validity, b), nil
	}
	if validity != nil {
		validity.Release()
	}
	return nil, fmt.Errorf("cannot convert %s to %s", from, c.to)
}

// convertInto converts a numeric array's values into out.
func convertInto[D numeric](x arrow.Array, out []D) {
	switch classOf(x.DataType()) {
	case clsInt32:
		convert(valuesOf[int32](x), out)
	case clsInt64:
		convert(valuesOf[int64](x), out)
	case clsFloat32:
		convert(valuesOf[float32](x), out)
	case clsFloat64:
		convert(valuesOf[float64](x), out)
	}
}

func convert[S, D numeric](in []S, out []D) {
	for i, v := range in {
		out[i] = D(v)
	}
}
