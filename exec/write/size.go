package write

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// rawSize estimates the uncompressed bytes of the values an array (or a
// slice of one) holds: fixed widths times length, the value bytes and
// offsets of variable-length types, children recursively. Unlike summing
// buffer lengths it is exact for slices, which the partition split and the
// row-group chunking produce all the time.
func rawSize(a arrow.Array) int64 {
	n := int64(a.Len())
	if n == 0 {
		return 0
	}
	var s int64
	if a.NullN() > 0 {
		s += (n + 7) / 8
	}
	switch a := a.(type) {
	case *array.String:
		return s + 4*n + int64(a.ValueOffset(a.Len()-1)+int(a.ValueLen(a.Len()-1))-a.ValueOffset(0))
	case *array.LargeString:
		return s + 8*n + a.ValueOffset64(a.Len()-1) + int64(a.ValueLen(a.Len()-1)) - a.ValueOffset64(0)
	case *array.Binary:
		return s + 4*n + int64(a.ValueOffset(a.Len()-1)+a.ValueLen(a.Len()-1)-a.ValueOffset(0))
	case *array.LargeBinary:
		return s + 8*n + a.ValueOffset64(a.Len()-1) + int64(a.ValueLen(a.Len()-1)) - a.ValueOffset64(0)
	case array.ListLike:
		start, _ := a.ValueOffsets(0)
		_, end := a.ValueOffsets(a.Len() - 1)
		child := array.NewSlice(a.ListValues(), start, end)
		defer child.Release()
		return s + 4*n + rawSize(child)
	case *array.Struct:
		for i := 0; i < a.NumField(); i++ {
			s += rawSize(a.Field(i))
		}
		return s
	case *array.Dictionary:
		return s + rawSize(a.Indices())
	case *array.Boolean:
		return s + (n+7)/8
	}
	if fw, ok := a.DataType().(arrow.FixedWidthDataType); ok {
		return s + n*int64(fw.BitWidth()+7)/8
	}
	return s + 8*n
}

// recordRawSize is rawSize summed over a record's columns.
func recordRawSize(rec arrow.RecordBatch) int64 {
	var s int64
	for _, c := range rec.Columns() {
		s += rawSize(c)
	}
	return s
}

// schemaRowEstimate guesses the uncompressed width of one row before any
// data is seen, so that the first row group and file are sized sensibly.
func schemaRowEstimate(s *arrow.Schema) int64 {
	var w int64
	for _, f := range s.Fields() {
		w += typeEstimate(f.Type)
	}
	if w < 1 {
		w = 1
	}
	return w
}

func typeEstimate(t arrow.DataType) int64 {
	switch t := t.(type) {
	case *arrow.StringType, *arrow.BinaryType:
		return 4 + 24
	case *arrow.LargeStringType, *arrow.LargeBinaryType:
		return 8 + 24
	case *arrow.BooleanType:
		return 1
	case *arrow.StructType:
		var w int64
		for _, f := range t.Fields() {
			w += typeEstimate(f.Type)
		}
		return w
	case arrow.ListLikeType:
		return 4 + 4*typeEstimate(t.Elem())
	case arrow.FixedWidthDataType:
		return int64(t.BitWidth()+7) / 8
	}
	return 8
}
