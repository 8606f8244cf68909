package exec

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/murmur3"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/tables"
)

// tableWrite turns an iceberg sink's output batches into what its writer
// takes: the data files' columns, each converted to the table's type and
// carrying its field id (Iceberg readers resolve columns by id), followed
// by one computed column per partition field (the transform's values,
// which name the files' directories and are not written into them). The
// partition's source columns stay in the files: Iceberg readers, DuckDB
// included, read partition values from the data, not from paths.
type tableWrite struct {
	schema *arrow.Schema // the writer's input: file columns, then partition values
	src    []int         // per file column, its index in the output batch
	unsafe []bool        // per file column, a cast that may truncate (timestamp(ns) → us)
	parts  []tablePart
	// by and names are the writer's PartitionBy (the computed columns)
	// and PartitionNames (the partition fields').
	by, names []string
}

// tablePart computes one partition field's values from a file column.
type tablePart struct {
	col int // index of the source column among the file columns
	fn  func(a arrow.Array, mem memory.Allocator) (arrow.Array, error)
}

func newTableWrite(out *arrow.Schema, ws *tables.WriteSpec) (*tableWrite, error) {
	tw := &tableWrite{}
	fields := append([]arrow.Field{}, ws.Schema.Fields()...)
	for _, f := range ws.Schema.Fields() {
		idx := out.FieldIndices(f.Name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("table column %q is not an output column", f.Name)
		}
		tw.src = append(tw.src, idx[0])
		from := out.Field(idx[0]).Type
		tw.unsafe = append(tw.unsafe, hasNanos(from))
	}
	for i, p := range ws.Partition {
		col := ws.Schema.FieldIndices(p.Column)
		if len(col) != 1 {
			return nil, fmt.Errorf("partition field %s: column %q is not written", p.Name, p.Column)
		}
		fn, typ, err := transformFn(p.Spec, ws.Schema.Field(col[0]).Type)
		if err != nil {
			return nil, fmt.Errorf("partition field %s: %w", p.Name, err)
		}
		name := fmt.Sprintf("\x00partition %d", i)
		fields = append(fields, arrow.Field{Name: name, Type: typ, Nullable: true})
		tw.parts = append(tw.parts, tablePart{col: col[0], fn: fn})
		tw.by = append(tw.by, name)
		tw.names = append(tw.names, p.Name)
	}
	tw.schema = arrow.NewSchema(fields, nil)
	return tw, nil
}

func hasNanos(t arrow.DataType) bool {
	switch x := t.(type) {
	case *arrow.TimestampType:
		return x.Unit == arrow.Nanosecond
	case arrow.NestedType:
		for _, f := range x.Fields() {
			if hasNanos(f.Type) {
				return true
			}
		}
	}
	return false
}

// convert builds the writer's batch from an output batch (not consumed).
func (tw *tableWrite) convert(ctx context.Context, out arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
	n := len(tw.src) + len(tw.parts)
	cols := make([]arrow.Array, 0, n)
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for i, idx := range tw.src {
		f := tw.schema.Field(i)
		c, err := conform(ctx, out.Column(idx), f.Type, tw.unsafe[i])
		if err != nil {
			return nil, fmt.Errorf("column %q to the table's %s: %w", f.Name, f.Type, err)
		}
		if !f.Nullable && c.NullN() > 0 {
			c.Release()
			return nil, fmt.Errorf("column %q holds nulls, but the table requires it", f.Name)
		}
		cols = append(cols, c)
	}
	for _, p := range tw.parts {
		c, err := p.fn(cols[p.col], mem)
		if err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return array.NewRecordBatch(tw.schema, cols, out.NumRows()), nil
}

// conform returns a (retained or new) array of type t holding a's values:
// the same data when only field names or metadata differ (the table's
// field ids, Iceberg's "element"/"key"/"value" names), else a cast
// (a wider integer or float, a decimal of more precision, a timestamp in
// microseconds UTC).
func conform(ctx context.Context, a arrow.Array, t arrow.DataType, truncate bool) (arrow.Array, error) {
	if arrow.TypeEqual(a.DataType(), t) {
		d := retype(a.Data(), t)
		defer d.Release()
		return array.MakeFromData(d), nil
	}
	opts := compute.SafeCastOptions(t)
	if truncate {
		opts = compute.UnsafeCastOptions(t)
	}
	c, err := compute.CastArray(ctx, a, opts)
	if err != nil {
		return nil, err
	}
	defer c.Release()
	d := retype(c.Data(), t)
	defer d.Release()
	return array.MakeFromData(d), nil
}

// retype returns d's buffers under type t (equal to d's but for field
// names and metadata), children included.
func retype(d arrow.ArrayData, t arrow.DataType) arrow.ArrayData {
	children := d.Children()
	var newChildren []arrow.ArrayData
	if nt, ok := t.(arrow.NestedType); ok && len(children) > 0 {
		fs := nt.Fields()
		for i, c := range children {
			ct := c.DataType()
			if i < len(fs) {
				ct = fs[i].Type
			}
			nc := retype(c, ct)
			defer nc.Release()
			newChildren = append(newChildren, nc)
		}
	} else {
		newChildren = children
	}
	return array.NewData(t, d.Len(), d.Buffers(), newChildren, d.NullN(), d.Offset())
}

// transformFn returns the function computing a partition field's values
// from its source column (of the table's type t), and their Arrow type:
// the Iceberg transform's result (day: a date; year, month, hour, bucket:
// int32; identity and truncate: t). The values follow the Iceberg spec
// exactly (bucket is murmur3 over the spec's byte form), since readers
// prune with them.
func transformFn(f spec.PartitionField, t arrow.DataType) (func(arrow.Array, memory.Allocator) (arrow.Array, error), arrow.DataType, error) {
	switch f.Transform {
	case spec.TransformIdentity:
		return func(a arrow.Array, _ memory.Allocator) (arrow.Array, error) { a.Retain(); return a, nil }, t, nil
	case spec.TransformYear, spec.TransformMonth, spec.TransformDay, spec.TransformHour:
		var micros func(a arrow.Array, i int) int64
		switch tt := t.(type) {
		case *arrow.TimestampType:
			if tt.Unit != arrow.Microsecond {
				return nil, nil, fmt.Errorf("timestamp unit %s", tt.Unit)
			}
			micros = func(a arrow.Array, i int) int64 { return int64(a.(*array.Timestamp).Value(i)) }
		case *arrow.Date32Type:
			if f.Transform == spec.TransformHour {
				return nil, nil, fmt.Errorf("hour of a date")
			}
			micros = func(a arrow.Array, i int) int64 { return int64(a.(*array.Date32).Value(i)) * 86_400_000_000 }
		default:
			return nil, nil, fmt.Errorf("%s of a %s column", f.Transform, t)
		}
		if f.Transform == spec.TransformDay {
			return func(a arrow.Array, mem memory.Allocator) (arrow.Array, error) {
				b := array.NewDate32Builder(mem)
				defer b.Release()
				b.Reserve(a.Len())
				for i := 0; i < a.Len(); i++ {
					if a.IsNull(i) {
						b.AppendNull()
					} else {
						b.Append(arrow.Date32(floorDiv(micros(a, i), 86_400_000_000)))
					}
				}
				return b.NewArray(), nil
			}, arrow.FixedWidthTypes.Date32, nil
		}
		var of func(us int64) int32
		switch f.Transform {
		case spec.TransformHour:
			of = func(us int64) int32 { return int32(floorDiv(us, 3_600_000_000)) }
		case spec.TransformMonth:
			of = func(us int64) int32 {
				tm := time.UnixMicro(us).UTC()
				return int32((tm.Year()-1970)*12 + int(tm.Month()) - 1)
			}
		default:
			of = func(us int64) int32 { return int32(time.UnixMicro(us).UTC().Year() - 1970) }
		}
		return int32Of(func(a arrow.Array, i int) int32 { return of(micros(a, i)) }), arrow.PrimitiveTypes.Int32, nil
	case spec.TransformBucket:
		n := uint32(f.Param)
		var hash func(a arrow.Array, i int) uint32
		switch t.ID() {
		case arrow.INT32:
			hash = func(a arrow.Array, i int) uint32 { return hashLong(int64(a.(*array.Int32).Value(i))) }
		case arrow.INT64:
			hash = func(a arrow.Array, i int) uint32 { return hashLong(a.(*array.Int64).Value(i)) }
		case arrow.DATE32:
			hash = func(a arrow.Array, i int) uint32 { return hashLong(int64(a.(*array.Date32).Value(i))) }
		case arrow.TIMESTAMP:
			hash = func(a arrow.Array, i int) uint32 { return hashLong(int64(a.(*array.Timestamp).Value(i))) }
		case arrow.STRING:
			hash = func(a arrow.Array, i int) uint32 { return murmur3.Sum32([]byte(a.(*array.String).Value(i))) }
		case arrow.BINARY:
			hash = func(a arrow.Array, i int) uint32 { return murmur3.Sum32(a.(*array.Binary).Value(i)) }
		default:
			return nil, nil, fmt.Errorf("bucket of a %s column", t)
		}
		return int32Of(func(a arrow.Array, i int) int32 { return int32((hash(a, i) & 0x7fffffff) % n) }), arrow.PrimitiveTypes.Int32, nil
	case spec.TransformTruncate:
		w := int64(f.Param)
		switch t.ID() {
		case arrow.INT32:
			return int32Of(func(a arrow.Array, i int) int32 {
				v := int64(a.(*array.Int32).Value(i))
				return int32(v - ((v%w)+w)%w)
			}), t, nil
		case arrow.INT64:
			return func(a arrow.Array, mem memory.Allocator) (arrow.Array, error) {
				b := array.NewInt64Builder(mem)
				defer b.Release()
				for i := 0; i < a.Len(); i++ {
					if a.IsNull(i) {
						b.AppendNull()
						continue
					}
					v := a.(*array.Int64).Value(i)
					b.Append(v - ((v%w)+w)%w)
				}
				return b.NewArray(), nil
			}, t, nil
		case arrow.STRING:
			return func(a arrow.Array, mem memory.Allocator) (arrow.Array, error) {
				b := array.NewStringBuilder(mem)
				defer b.Release()
				for i := 0; i < a.Len(); i++ {
					if a.IsNull(i) {
						b.AppendNull()
						continue
					}
					b.Append(truncateRunes(a.(*array.String).Value(i), int(w)))
				}
				return b.NewArray(), nil
			}, t, nil
		}
		return nil, nil, fmt.Errorf("truncate of a %s column", t)
	}
	return nil, nil, fmt.Errorf("unknown transform %s", f.Transform)
}

func int32Of(v func(a arrow.Array, i int) int32) func(arrow.Array, memory.Allocator) (arrow.Array, error) {
	return func(a arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		b := array.NewInt32Builder(mem)
		defer b.Release()
		b.Reserve(a.Len())
		for i := 0; i < a.Len(); i++ {
			if a.IsNull(i) {
				b.AppendNull()
			} else {
				b.Append(v(a, i))
			}
		}
		return b.NewArray(), nil
	}
}

// hashLong is the Iceberg spec's bucket hash of an integer: murmur3 (x86,
// 32-bit, seed 0) over its 8 bytes, little-endian.
func hashLong(v int64) uint32 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(v))
	return murmur3.Sum32(b[:])
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// truncateRunes keeps the first n code points of s (Iceberg truncates
// strings by code points, not bytes).
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := 0; k < n; k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}
