package write

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"

	"github.com/sluicedata/sluice/hive"
)

// column renders and compares the values of one partition column of one
// batch. Values are rendered raw (unescaped) by package hive's Format
// functions, so the commit step names the same directories from typed
// values; null and "" render as hive.DefaultPartition.
type column struct {
	eq     func(i, j int) bool
	render func(i int) string
	// raw is row i's value rendered but with "" kept; nil when null.
	raw func(i int) *string
}

// checkPartitionType reports whether values of t can name a directory.
func checkPartitionType(t arrow.DataType) error {
	switch t.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT32, arrow.FLOAT64, arrow.STRING, arrow.LARGE_STRING,
		arrow.BINARY, arrow.LARGE_BINARY, arrow.DATE32, arrow.DATE64,
		arrow.TIMESTAMP, arrow.DECIMAL128, arrow.DECIMAL256:
		return nil
	case arrow.DICTIONARY:
		return checkPartitionType(t.(*arrow.DictionaryType).ValueType)
	}
	return fmt.Errorf("type %s cannot be a partition value", t)
}

type valuer[T comparable] interface {
	IsNull(i int) bool
	Value(i int) T
}

func eqOf[T comparable](a valuer[T]) func(i, j int) bool {
	return func(i, j int) bool {
		ni, nj := a.IsNull(i), a.IsNull(j)
		if ni || nj {
			return ni == nj
		}
		return a.Value(i) == a.Value(j)
	}
}

func renderOf[T comparable](a valuer[T], f func(T) string) func(i int) string {
	return func(i int) string {
		if a.IsNull(i) {
			return hive.DefaultPartition
		}
		s := f(a.Value(i))
		if s == "" {
			return hive.DefaultPartition
		}
		return s
	}
}

func rawOf[T comparable](a valuer[T], f func(T) string) func(i int) *string {
	return func(i int) *string {
		if a.IsNull(i) {
			return nil
		}
		s := f(a.Value(i))
		return &s
	}
}

func typed[T comparable](a valuer[T], f func(T) string) column {
	return column{eq: eqOf(a), render: renderOf(a, f), raw: rawOf(a, f)}
}

func itoa[T int8 | int16 | int32 | int64](v T) string     { return hive.FormatInt(int64(v)) }
func utoa[T uint8 | uint16 | uint32 | uint64](v T) string { return hive.FormatUint(uint64(v)) }
func ident(s string) string                               { return s }

// newColumn binds the comparer and renderer for one partition column.
func newColumn(a arrow.Array) column {
	switch a := a.(type) {
	case *array.Boolean:
		return typed[bool](a, hive.FormatBool)
	case *array.Int8:
		return typed[int8](a, itoa[int8])
	case *array.Int16:
		return typed[int16](a, itoa[int16])
	case *array.Int32:
		return typed[int32](a, itoa[int32])
	case *array.Int64:
		return typed[int64](a, itoa[int64])
	case *array.Uint8:
		return typed[uint8](a, utoa[uint8])
	case *array.Uint16:
		return typed[uint16](a, utoa[uint16])
	case *array.Uint32:
		return typed[uint32](a, utoa[uint32])
	case *array.Uint64:
		return typed[uint64](a, utoa[uint64])
	case *array.Float32:
		return typed[float32](a, func(v float32) string { return hive.FormatFloat(float64(v), 32) })
	case *array.Float64:
		return typed[float64](a, func(v float64) string { return hive.FormatFloat(v, 64) })
	case *array.String:
		return typed[string](a, ident)
	case *array.LargeString:
		return typed[string](a, ident)
	case *array.Binary:
		return typed[string](binaryStrings{a}, ident)
	case *array.LargeBinary:
		return typed[string](binaryStrings{a}, ident)
	case *array.Date32:
		return typed[arrow.Date32](a, func(v arrow.Date32) string { return hive.FormatDate(int64(v)) })
	case *array.Date64:
		// Milliseconds since the epoch, a whole number of days by Arrow's
		// definition; divided as Arrow's Date64.ToTime does (truncating).
		return typed[arrow.Date64](a, func(v arrow.Date64) string { return hive.FormatDate(int64(v) / 86_400_000) })
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return typed[arrow.Timestamp](a, func(v arrow.Timestamp) string { return hive.FormatTimestamp(v.ToTime(unit)) })
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return typed(a, func(v decimal128Num) string { return hive.FormatDecimal(v.BigInt(), scale) })
	case *array.Decimal256:
		scale := a.DataType().(*arrow.Decimal256Type).Scale
		return typed(a, func(v decimal256Num) string { return hive.FormatDecimal(v.BigInt(), scale) })
	case *array.Dictionary:
		inner := newColumn(a.Dictionary())
		return column{
			eq: func(i, j int) bool {
				ni, nj := a.IsNull(i), a.IsNull(j)
				if ni || nj {
					return ni == nj
				}
				return a.GetValueIndex(i) == a.GetValueIndex(j)
			},
			render: func(i int) string {
				if a.IsNull(i) {
					return hive.DefaultPartition
				}
				return inner.render(a.GetValueIndex(i))
			},
			raw: func(i int) *string {
				if a.IsNull(i) {
					return nil
				}
				return inner.raw(a.GetValueIndex(i))
			},
		}
	}
	// Unreachable after checkPartitionType; fall back to arrow's text form.
	return column{
		eq:     func(i, j int) bool { return a.ValueStr(i) == a.ValueStr(j) },
		render: func(i int) string { return a.ValueStr(i) },
		raw: func(i int) *string {
			s := a.ValueStr(i)
			return &s
		},
	}
}

// binaryStrings views a binary array's values as strings (no copy).
type binaryStrings struct {
	a interface {
		IsNull(int) bool
		ValueString(int) string
	}
}

func (b binaryStrings) IsNull(i int) bool  { return b.a.IsNull(i) }
func (b binaryStrings) Value(i int) string { return b.a.ValueString(i) }

type (
	decimal128Num = decimal128.Num
	decimal256Num = decimal256.Num
)

// PartitionValue renders row i of a partition column exactly as the writer
// names its directory, before escaping: integers in decimal, floats in the
// shortest exact form, bools true/false, dates YYYY-MM-DD, timestamps in UTC
// as "2006-01-02 15:04:05[.fraction]" (Hive's form), decimals with their
// scale's digits, strings and binary as they are (package hive's Format
// functions); a null or empty value is hive.DefaultPartition. Pass the
// result to hive.Dir or hive.EscapeValue.
// It panics if the column's type cannot be a partition value (see New).
func PartitionValue(a arrow.Array, i int) string {
	if err := checkPartitionType(a.DataType()); err != nil {
		panic("write.PartitionValue: " + err.Error())
	}
	return newColumn(a).render(i)
}
