package decode

import (
	"fmt"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
)

// AppendPartitionColumns returns a new batch: b's columns followed by one
// constant column per field, holding values[i] in every row. Values use
// predicate.Literal's representation: string (string, binary), int64
// (int32, int64, timestamp), int32 days (date; int64 is accepted too),
// float64, bool, *big.Int unscaled (decimal), or nil for a null column
// (hive's __HIVE_DEFAULT_PARTITION__).
//
// Ownership: b is not released; the caller releases b and the result.
//
// A value that does not fit its field's type is a bug in the caller (the
// planner types partition values): AppendPartitionColumns panics with the
// column named. Use TryAppendPartitionColumns to get an error instead.
func AppendPartitionColumns(b arrow.RecordBatch, fields []arrow.Field, values []any, alloc memory.Allocator) arrow.RecordBatch {
	out, err := TryAppendPartitionColumns(b, fields, values, alloc)
	if err != nil {
		panic("decode.AppendPartitionColumns: " + err.Error())
	}
	return out
}

// TryAppendPartitionColumns is AppendPartitionColumns returning an error
// for a value that does not fit its field's type.
func TryAppendPartitionColumns(b arrow.RecordBatch, fields []arrow.Field, values []any, alloc memory.Allocator) (arrow.RecordBatch, error) {
	if len(fields) != len(values) {
		return nil, fmt.Errorf("partition columns: %d fields, %d values", len(fields), len(values))
	}
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	n := int(b.NumRows())
	cols := make([]arrow.Array, 0, int(b.NumCols())+len(fields))
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	schemaFields := append([]arrow.Field(nil), b.Schema().Fields()...)
	for _, c := range b.Columns() {
		c.Retain()
		cols = append(cols, c)
	}
	for i, f := range fields {
		a, err := constantArray(alloc, f.Type, values[i], n)
		if err != nil {
			return nil, fmt.Errorf("partition column %q: %w", f.Name, err)
		}
		cols = append(cols, a)
		schemaFields = append(schemaFields, f)
	}
	meta := b.Schema().Metadata()
	return array.NewRecordBatch(arrow.NewSchema(schemaFields, &meta), cols, int64(n)), nil
}

func constantArray(alloc memory.Allocator, dt arrow.DataType, v any, n int) (arrow.Array, error) {
	if v == nil {
		return array.MakeArrayOfNull(alloc, dt, n), nil
	}
	bld := array.NewBuilder(alloc, dt)
	defer bld.Release()
	bld.Reserve(n)
	wrong := func() (arrow.Array, error) {
		return nil, fmt.Errorf("value %v (%T) does not fit type %s", v, v, dt)
	}
	switch bb := bld.(type) {
	case *array.StringBuilder:
		s, ok := v.(string)
		if !ok {
			return wrong()
		}
		bb.ReserveData(n * len(s))
		for range n {
			bb.Append(s)
		}
	case *array.BinaryBuilder:
		s, ok := v.(string)
		if !ok {
			return wrong()
		}
		for range n {
			bb.AppendString(s)
		}
	case *array.Int64Builder:
		x, ok := predicate.IntValue(v)
		if !ok {
			return wrong()
		}
		for range n {
			bb.UnsafeAppend(x)
		}
	case *array.Int32Builder:
		x, ok := predicate.IntValue(v)
		if !ok || x != int64(int32(x)) {
			return wrong()
		}
		for range n {
			bb.UnsafeAppend(int32(x))
		}
	case *array.Date32Builder:
		x, ok := predicate.IntValue(v)
		if !ok || x != int64(int32(x)) {
			return wrong()
		}
		for range n {
			bb.UnsafeAppend(arrow.Date32(x))
		}
	case *array.TimestampBuilder:
		x, ok := predicate.IntValue(v)
		if !ok {
			return wrong()
		}
		for range n {
			bb.UnsafeAppend(arrow.Timestamp(x))
		}
	case *array.Float64Builder:
		x, ok := v.(float64)
		if !ok {
			return wrong()
		}
		for range n {
			bb.UnsafeAppend(x)
		}
	case *array.Float32Builder:
		x, ok := v.(float64)
		if !ok {
			return wrong()
		}
		for range n {
			bb.UnsafeAppend(float32(x))
		}
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return wrong()
		}
		for range n {
			bb.UnsafeAppend(x)
		}
	case *array.Decimal128Builder:
		x, ok := v.(*big.Int)
		if !ok {
			return wrong()
		}
		d := decimal128.FromBigInt(x)
		for range n {
			bb.UnsafeAppend(d)
		}
	default:
		return nil, fmt.Errorf("partition columns of type %s are not supported", dt)
	}
	return bld.NewArray(), nil
}

// CheckPartitionValues reports the first of values that does not fit its
// field's type, as TryAppendPartitionColumns would, without building a
// column: a caller that appends the columns later, to a batch spanning
// many objects, checks each object's values up front.
func CheckPartitionValues(fields []arrow.Field, values []any) error {
	if len(fields) != len(values) {
		return fmt.Errorf("partition columns: %d fields, %d values", len(fields), len(values))
	}
	for i, f := range fields {
		a, err := constantArray(memory.DefaultAllocator, f.Type, values[i], 0)
		if err != nil {
			return fmt.Errorf("partition column %q: %w", f.Name, err)
		}
		a.Release()
	}
	return nil
}
