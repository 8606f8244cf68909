package decode

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// INT96 timestamps (Impala, Spark) are a day number and nanoseconds of the
// day. pqarrow converts them to timestamp(ns) and refuses the whole file when
// one falls outside the years 1677-2262, which Spark writes freely
// (parquet-testing's int96_from_spark.parquet holds 9999-12-31; DuckDB reads
// it as microseconds). sluice instead has arrow-go read INT96 columns as
// their 12 bytes (the footer given to arrow-go says FIXED_LEN_BYTE_ARRAY(12),
// which stores the same bytes in every encoding) and converts them itself,
// into the unit the schema asks for: timestamp(ns) by default (INT96 →
// timestamp(ns)), or a declared timestamp(us) or (ms), which hold any year.
// A value the unit cannot hold is a bad record of its row, not the end of
// the file.

const julianUnixEpoch = 2_440_588

// int96Columns returns the leaf columns of md stored as INT96, or nil.
func int96Columns(md *metadata.FileMetaData) map[int]bool {
	var out map[int]bool
	for i := range md.Schema.NumColumns() {
		if md.Schema.Column(i).PhysicalType() == parquet.Types.Int96 {
			if out == nil {
				out = map[int]bool{}
			}
			out[i] = true
		}
	}
	return out
}

// int96AsFixed returns md with its INT96 columns said to be
// FIXED_LEN_BYTE_ARRAY(12), in the schema and in every column chunk.
func int96AsFixed(ctx context.Context, md *metadata.FileMetaData) (*metadata.FileMetaData, error) {
	raw, err := md.Serialize(ctx)
	if err != nil {
		return nil, err
	}
	fm, _, err := readThriftStruct(raw)
	if err != nil {
		return nil, err
	}
	const typeInt96, typeFixed = 3, 7
	if se := fm.field(fmSchema); se != nil {
		for i := range se.list {
			el := &se.list[i]
			if t, ok := el.int(1); ok && t == typeInt96 {
				el.field(1).i = typeFixed
				if f := el.field(2); f != nil {
					f.i = 12
				} else {
					el.fields = append(el.fields, tfield{})
					copy(el.fields[2:], el.fields[1:])
					el.fields[1] = tfield{id: 2, v: tval{typ: tI32, i: 12}}
				}
			}
		}
	}
	if rgs := fm.field(4); rgs != nil {
		for g := range rgs.list {
			cols := rgs.list[g].field(1)
			if cols == nil {
				continue
			}
			for c := range cols.list {
				if cm := cols.list[c].field(3); cm != nil {
					if t := cm.field(1); t != nil && t.i == typeInt96 {
						t.i = typeFixed
					}
				}
			}
		}
	}
	out, err := metadata.NewFileMetaData(fm.encode(nil), nil)
	if err != nil {
		return nil, err
	}
	out.SetSourceFileSize(md.GetSourceFileSize())
	return out, nil
}

// int96FileType is t, the type pqarrow gives field sf of a file whose
// INT96 columns (int96) it reads as fixed_size_binary(12), with each such
// leaf typed as the timestamp want has there (timestamp(ns) if want has
// none): the type the reader produces with convertInt96.
func int96FileType(sf *pqarrow.SchemaField, t, want arrow.DataType, int96 map[int]bool) arrow.DataType {
	if sf.IsLeaf() {
		if !int96[sf.ColIndex] {
			return t
		}
		if w, ok := want.(*arrow.TimestampType); ok {
			return &arrow.TimestampType{Unit: w.Unit, TimeZone: "UTC"}
		}
		return &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	}
	child := func(i int, ct, wt arrow.DataType) arrow.DataType {
		if i < len(sf.Children) {
			return int96FileType(&sf.Children[i], ct, wt, int96)
		}
		return ct
	}
	switch x := t.(type) {
	case *arrow.ListType:
		var we arrow.DataType
		if w, ok := want.(*arrow.ListType); ok {
			we = w.Elem()
		}
		ef := x.ElemField()
		ef.Type = child(0, ef.Type, we)
		return arrow.ListOfField(ef)
	case *arrow.MapType:
		if len(sf.Children) == 1 && len(sf.Children[0].Children) == 2 {
			var wk, wv arrow.DataType
			if w, ok := want.(*arrow.MapType); ok {
				wk, wv = w.KeyType(), w.ItemType()
			}
			kv := &sf.Children[0]
			kf, vf := x.KeyField(), x.ItemField()
			kf.Type = int96FileType(&kv.Children[0], kf.Type, wk, int96)
			vf.Type = int96FileType(&kv.Children[1], vf.Type, wv, int96)
			return arrow.MapOfFields(kf, vf)
		}
	case *arrow.StructType:
		// t may be a projection of sf's struct (some fields): match by name.
		ws, _ := want.(*arrow.StructType)
		fs := x.Fields()
		for i := range fs {
			var wt arrow.DataType
			if ws != nil {
				if f, ok := ws.FieldByName(fs[i].Name); ok {
					wt = f.Type
				}
			}
			for k := range sf.Children {
				if sf.Children[k].Field.Name == fs[i].Name {
					fs[i].Type = int96FileType(&sf.Children[k], fs[i].Type, wt, int96)
					break
				}
			}
		}
		return arrow.StructOf(fs...)
	}
	return t
}

// convertInt96 converts the fixed_size_binary(12) leaves of d where t (its
// int96FileType) has timestamps. It returns the new data and, per logical
// index of d (as its parent's offsets address it), why a value under it
// could not be converted, or "" (such values are null in the result; their
// rows are bad records).
func convertInt96(mem memory.Allocator, d arrow.ArrayData, t arrow.DataType) (arrow.ArrayData, []string) {
	if ts, ok := t.(*arrow.TimestampType); ok && d.DataType().ID() == arrow.FIXED_SIZE_BINARY {
		return int96ToTimestamps(mem, d, ts)
	}
	var children []arrow.ArrayData
	var bad []string
	mark := func(parentIndex int, cbad []string, lo, hi int) {
		for j := lo; j < hi && j < len(cbad); j++ {
			if cbad[j] != "" {
				if bad == nil {
					bad = make([]string, d.Len())
				}
				if bad[parentIndex] == "" {
					bad[parentIndex] = cbad[j]
				}
				return
			}
		}
	}
	switch x := t.(type) {
	case *arrow.ListType, *arrow.MapType:
		var et arrow.DataType
		if l, ok := x.(*arrow.ListType); ok {
			et = l.Elem()
		} else {
			et = x.(*arrow.MapType).Elem()
		}
		c, cbad := convertInt96(mem, d.Children()[0], et)
		children = []arrow.ArrayData{c}
		if cbad != nil {
			offs := arrow.Int32Traits.CastFromBytes(d.Buffers()[1].Bytes())[d.Offset():]
			for i := range d.Len() {
				mark(i, cbad, int(offs[i]), int(offs[i+1]))
			}
		}
	case *arrow.StructType:
		for i, cd := range d.Children() {
			c, cbad := convertInt96(mem, cd, x.Field(i).Type)
			children = append(children, c)
			if cbad != nil {
				for j := range d.Len() {
					mark(j, cbad, d.Offset()+j, d.Offset()+j+1)
				}
			}
		}
	default:
		d.Retain()
		return d, nil
	}
	defer releaseData(children)
	return array.NewData(t, d.Len(), d.Buffers(), children, d.NullN(), d.Offset()), bad
}

// int96ToTimestamps converts an array of INT96 values (12 bytes each) to
// timestamps of t's unit.
func int96ToTimestamps(mem memory.Allocator, d arrow.ArrayData, t *arrow.TimestampType) (arrow.ArrayData, []string) {
	in := array.NewFixedSizeBinaryData(d)
	defer in.Release()
	n := in.Len()
	b := array.NewTimestampBuilder(mem, t)
	defer b.Release()
	b.Reserve(n)
	var bad []string
	perSec := int64(time.Second / t.Unit.Multiplier())
	for i := range n {
		if in.IsNull(i) {
			b.AppendNull()
			continue
		}
		v, err := int96Value(in.Value(i), perSec)
		if err != "" {
			if bad == nil {
				bad = make([]string, n)
			}
			bad[i] = err
			b.AppendNull()
			continue
		}
		b.Append(arrow.Timestamp(v))
	}
	out := b.NewArray()
	defer out.Release()
	od := out.Data()
	od.Retain()
	return od, bad
}

// int96Value is an INT96 as a count of units (perSec to the second) since
// the epoch, or why it cannot be one.
func int96Value(b []byte, perSec int64) (int64, string) {
	// The nanoseconds are a signed int64, as Arrow C++ and DuckDB read
	// them: Spark writes negative ones for instants far from the epoch.
	nanos := int64(binary.LittleEndian.Uint64(b[:8]))
	days := int64(binary.LittleEndian.Uint32(b[8:12])) - julianUnixEpoch
	perDay := 86_400 * perSec
	frac := nanos / (int64(time.Second) / perSec) // truncated to the unit
	if days > math.MaxInt64/perDay || days < math.MinInt64/perDay ||
		frac > 0 && days*perDay > math.MaxInt64-frac || frac < 0 && days*perDay < math.MinInt64-frac {
		d := time.Unix(days*86_400, 0).UTC() // whole days of a uint32 day number do not overflow
		return 0, fmt.Sprintf("INT96 timestamp %s is outside the range of timestamp(%s) (declare the column timestamp(us) to read it)", d.Format("2006-01-02"), unitName(perSec))
	}
	return days*perDay + frac, ""
}

func unitName(perSec int64) string {
	switch perSec {
	case 1_000:
		return "ms"
	case 1_000_000:
		return "us"
	}
	return "ns"
}
