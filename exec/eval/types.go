package eval

import (
	"fmt"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/schema"
)

// class is the physical representation a kernel works on: the storage of
// an Arrow type, regardless of its logical meaning (a date32 is an int32).
type class uint8

const (
	clsInvalid class = iota
	clsBool
	clsInt32 // int32, date32
	clsInt64 // int64, timestamp
	clsFloat32
	clsFloat64
	clsBytes // string, large_string, binary, large_binary
	clsDecimal
)

func (c class) String() string {
	switch c {
	case clsBool:
		return "bool"
	case clsInt32:
		return "int32"
	case clsInt64:
		return "int64"
	case clsFloat32:
		return "float32"
	case clsFloat64:
		return "float64"
	case clsBytes:
		return "bytes"
	case clsDecimal:
		return "decimal128"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

func (c class) isInt() bool     { return c == clsInt32 || c == clsInt64 }
func (c class) isFloat() bool   { return c == clsFloat32 || c == clsFloat64 }
func (c class) isNumeric() bool { return c.isInt() || c.isFloat() }

func classOf(dt arrow.DataType) class {
	switch dt.ID() {
	case arrow.BOOL:
		return clsBool
	case arrow.INT32, arrow.DATE32:
		return clsInt32
	case arrow.INT64, arrow.TIMESTAMP:
		return clsInt64
	case arrow.FLOAT32:
		return clsFloat32
	case arrow.FLOAT64:
		return clsFloat64
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return clsBytes
	case arrow.DECIMAL128:
		return clsDecimal
	}
	return clsInvalid
}

// family groups types whose values may be compared with each other:
// integers and floats mix, temporal types compare only with their own kind.
type family uint8

const (
	famOther family = iota
	famBool
	famNumber
	famBytes
	famDate
	famTimestamp
	famDecimal
)

func familyOf(dt arrow.DataType) family {
	switch dt.ID() {
	case arrow.BOOL:
		return famBool
	case arrow.INT32, arrow.INT64, arrow.FLOAT32, arrow.FLOAT64:
		return famNumber
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return famBytes
	case arrow.DATE32:
		return famDate
	case arrow.TIMESTAMP:
		return famTimestamp
	case arrow.DECIMAL128:
		return famDecimal
	}
	return famOther
}

// scalar is a constant value (a literal or a folded constant subtree) in
// the Go representation of its class: ints (also int32, dates and
// timestamps) in i, floats in f.
type scalar struct {
	null bool
	b    bool
	i    int64
	f    float64
	s    string
	d    decimal128.Num
}

// arrowUnit maps a schema time unit to Arrow's.
func arrowUnit(u schema.TimeUnit) (arrow.TimeUnit, error) {
	switch u {
	case schema.Millisecond:
		return arrow.Millisecond, nil
	case schema.Microsecond:
		return arrow.Microsecond, nil
	case schema.Nanosecond:
		return arrow.Nanosecond, nil
	}
	return 0, fmt.Errorf("unsupported timestamp unit %v", u)
}

// literalType is the Arrow type a literal of IR type t is held in. Int32
// and Float32 literals are widened (their values are int64 and float64 in
// the IR), so a float32 column compares against the literal's exact value,
// as the reference does.
func literalType(t schema.Type) (arrow.DataType, error) {
	switch t.Kind {
	case schema.Bool:
		return arrow.FixedWidthTypes.Boolean, nil
	case schema.Int32, schema.Int64:
		return arrow.PrimitiveTypes.Int64, nil
	case schema.Float32, schema.Float64:
		return arrow.PrimitiveTypes.Float64, nil
	case schema.String:
		return arrow.BinaryTypes.String, nil
	case schema.Binary:
		return arrow.BinaryTypes.Binary, nil
	case schema.Date:
		return arrow.FixedWidthTypes.Date32, nil
	case schema.Timestamp:
		u, err := arrowUnit(t.Unit)
		if err != nil {
			return nil, err
		}
		return &arrow.TimestampType{Unit: u, TimeZone: t.TZ}, nil
	case schema.Decimal:
		return &arrow.Decimal128Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}, nil
	}
	return nil, fmt.Errorf("type %s cannot be used in a predicate", t)
}

// literalScalar converts a Literal's Value (representation documented on
// predicate.Literal) into a scalar.
func literalScalar(v any, t schema.Type) (scalar, error) {
	if v == nil {
		return scalar{null: true}, nil
	}
	bad := func() (scalar, error) {
		return scalar{}, fmt.Errorf("literal %v (%T) is not a valid %s value", v, v, t)
	}
	switch t.Kind {
	case schema.Bool:
		b, ok := v.(bool)
		if !ok {
			return bad()
		}
		return scalar{b: b}, nil
	case schema.Int32, schema.Int64, schema.Date, schema.Timestamp:
		switch x := v.(type) {
		case int64:
			return scalar{i: x}, nil
		case int32:
			return scalar{i: int64(x)}, nil
		case int:
			return scalar{i: int64(x)}, nil
		}
		return bad()
	case schema.Float32, schema.Float64:
		switch x := v.(type) {
		case float64:
			return scalar{f: x}, nil
		case float32:
			return scalar{f: float64(x)}, nil
		case int64:
			return scalar{f: float64(x)}, nil
		}
		return bad()
	case schema.String, schema.Binary:
		switch x := v.(type) {
		case string:
			return scalar{s: x}, nil
		case []byte:
			return scalar{s: string(x)}, nil
		}
		return bad()
	case schema.Decimal:
		x, ok := v.(*big.Int)
		if !ok || x == nil {
			return bad()
		}
		if x.BitLen() > 127 {
			return scalar{}, fmt.Errorf("decimal literal %s does not fit 128 bits", x)
		}
		return scalar{d: decimal128.FromBigInt(x)}, nil
	}
	return bad()
}

// columnTypeOK reports whether an Arrow column type holds values of the IR
// type t (docs/language.md "Types"; large string/binary are accepted as
// well, and the timezone of a timestamp does not matter: values are UTC
// instants).
func columnTypeOK(t schema.Type, dt arrow.DataType) bool {
	switch t.Kind {
	case schema.Bool:
		return dt.ID() == arrow.BOOL
	case schema.Int32:
		return dt.ID() == arrow.INT32
	case schema.Int64:
		return dt.ID() == arrow.INT64
	case schema.Float32:
		return dt.ID() == arrow.FLOAT32
	case schema.Float64:
		return dt.ID() == arrow.FLOAT64
	case schema.String:
		return dt.ID() == arrow.STRING || dt.ID() == arrow.LARGE_STRING
	case schema.Binary:
		return dt.ID() == arrow.BINARY || dt.ID() == arrow.LARGE_BINARY
	case schema.Date:
		return dt.ID() == arrow.DATE32
	case schema.Timestamp:
		ts, ok := dt.(*arrow.TimestampType)
		u, err := arrowUnit(t.Unit)
		return ok && err == nil && ts.Unit == u
	case schema.Decimal:
		d, ok := dt.(*arrow.Decimal128Type)
		return ok && int(d.Scale) == t.Scale
	case schema.List, schema.Struct, schema.Map:
		return nestedTypeOK(t, dt)
	}
	return false
}

// scalarAt reads row i of a as a scalar (used to fold constant subtrees).
func scalarAt(a arrow.Array, i int) scalar {
	if a.IsNull(i) {
		return scalar{null: true}
	}
	switch classOf(a.DataType()) {
	case clsBool:
		bm, off := bitsOf(a)
		return scalar{b: bitAt(bm, off+i)}
	case clsInt32:
		return scalar{i: int64(valuesOf[int32](a)[i])}
	case clsInt64:
		return scalar{i: valuesOf[int64](a)[i]}
	case clsFloat32:
		return scalar{f: float64(valuesOf[float32](a)[i])}
	case clsFloat64:
		return scalar{f: valuesOf[float64](a)[i]}
	case clsBytes:
		if isLarge(a) {
			return scalar{s: string(viewOf[int64](a).at(i))}
		}
		return scalar{s: string(viewOf[int32](a).at(i))}
	case clsDecimal:
		return scalar{d: valuesOf[decimal128.Num](a)[i]}
	}
	return scalar{null: true}
}

// materialize builds an n-row array of dt holding v in every row. Kernels
// avoid it on hot paths (a column compared with a literal never builds
// one); it serves rare shapes such as a literal on the left of startsWith.
func materialize(mem memory.Allocator, dt arrow.DataType, v scalar, n int) arrow.Array {
	if v.null {
		return array.MakeArrayOfNull(mem, dt, n)
	}
	switch classOf(dt) {
	case clsBool:
		b := newBitmap(mem, n)
		if v.b {
			fillOnes(b.Bytes(), n)
		}
		return makeArray(dt, n, nil, b)
	case clsInt32:
		return fillFixed(mem, dt, n, int32(v.i))
	case clsInt64:
		return fillFixed(mem, dt, n, v.i)
	case clsFloat32:
		return fillFixed(mem, dt, n, float32(v.f))
	case clsFloat64:
		return fillFixed(mem, dt, n, v.f)
	case clsDecimal:
		return fillFixed(mem, dt, n, v.d)
	case clsBytes:
		data := newBuf(mem, n*len(v.s))
		db := data.Bytes()
		for i := 0; i < n; i++ {
			copy(db[i*len(v.s):], v.s)
		}
		if isLargeType(dt) {
			ob, offs := newFixed[int64](mem, n+1)
			for i := range offs {
				offs[i] = int64(i * len(v.s))
			}
			return makeArray(dt, n, nil, ob, data)
		}
		ob, offs := newFixed[int32](mem, n+1)
		for i := range offs {
			offs[i] = int32(i * len(v.s))
		}
		return makeArray(dt, n, nil, ob, data)
	}
	return array.MakeArrayOfNull(mem, dt, n)
}

func isLargeType(dt arrow.DataType) bool {
	return dt.ID() == arrow.LARGE_STRING || dt.ID() == arrow.LARGE_BINARY
}

func fillFixed[T fixed](mem memory.Allocator, dt arrow.DataType, n int, v T) arrow.Array {
	b, vals := newFixed[T](mem, n)
	for i := range vals {
		vals[i] = v
	}
	return makeArray(dt, n, nil, b)
}

func fillOnes(bm []byte, n int) {
	for i := 0; i < n/8; i++ {
		bm[i] = 0xff
	}
	for i := n &^ 7; i < n; i++ {
		setBit(bm, i)
	}
}
