package decode

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Late materialisation of dictionary-encoded strings.
//
// A Parquet writer stores a string column with few distinct values as a
// dictionary page and, per row, an index (RLE/bit-packed). pqarrow copies
// every row's string out of the dictionary into a new array; most of them
// are then thrown away by a selective filter (flights-3m's delay > 15 keeps
// a fifth of the rows). Reading such a column as a dictionary array decodes
// only the indices; the filter selects indices; Dense copies the strings of
// the rows kept. On flights-3m this took 13% of the run's CPU away.

// dictionaryLeaves returns the leaf columns of md to read as dictionaries:
// the top-level, flat string and binary columns named in o.Dictionaries
// whose every chunk in rowGroups is dictionary-encoded, when those row
// groups average at least o.BatchRows rows (smaller ones make partial
// batches, which the executor concatenates: unifying their dictionaries
// costs more than copying the strings).
func dictionaryLeaves(md *metadata.FileMetaData, o *Options, rowGroups []int) map[int]bool {
	if len(o.Dictionaries) == 0 || len(rowGroups) == 0 {
		return nil
	}
	var rows int64
	for _, g := range rowGroups {
		rows += md.RowGroup(g).NumRows()
	}
	if rows/int64(len(rowGroups)) < int64(o.BatchRows) {
		return nil
	}
	var out map[int]bool
	for _, f := range o.Schema.Fields() {
		if !o.Dictionaries[f.Name] || (f.Type.ID() != arrow.STRING && f.Type.ID() != arrow.BINARY) {
			continue
		}
		ci := md.Schema.ColumnIndexByName(f.Name)
		if ci < 0 {
			continue
		}
		col := md.Schema.Column(ci)
		if col.PhysicalType() != parquet.Types.ByteArray || col.MaxRepetitionLevel() != 0 || col.MaxDefinitionLevel() > 1 || len(col.ColumnPath()) != 1 {
			continue
		}
		if !dictionaryEncoded(md, rowGroups, ci) {
			continue
		}
		if out == nil {
			out = map[int]bool{}
		}
		out[ci] = true
	}
	return out
}

// dictionaryEncoded reports whether every chunk of leaf c in rowGroups has
// dictionary-encoded data pages (pages that fell back to plain encoding
// are still read correctly, only more slowly).
func dictionaryEncoded(md *metadata.FileMetaData, rowGroups []int, c int) bool {
	for _, g := range rowGroups {
		cc, err := md.RowGroup(g).ColumnChunk(c)
		if err != nil {
			return false
		}
		dict := false
		for _, e := range cc.Encodings() {
			dict = dict || e == parquet.Encodings.RLEDict || e == parquet.Encodings.PlainDict
		}
		if !dict {
			return false
		}
	}
	return true
}

// readAsDictionary makes the record reader of fr decode the leaves of
// dict as dictionaries. pqarrow honours ArrowReadProperties.SetReadDict
// only where the file's stored Arrow schema does not name another string
// type: a large_string there (as Polars and DuckDB write) wins, and the
// column would be read densely. Such leaves' manifest types are set back
// to the dictionary type the reader then builds (the value type is the
// 32-bit-offset one, which the column is read as anyway: see
// narrowOffsets).
func readAsDictionary(fr *pqarrow.FileReader, dict map[int]bool) {
	for i := range fr.Manifest.Fields {
		sf := &fr.Manifest.Fields[i]
		if !sf.IsLeaf() || !dict[sf.ColIndex] {
			continue
		}
		switch sf.Field.Type.ID() {
		case arrow.LARGE_STRING:
			sf.Field.Type = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
		case arrow.LARGE_BINARY:
			sf.Field.Type = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.Binary}
		}
	}
}

// Dense returns a as a plain array: a dictionary array with every row's
// value taken out of the dictionary (strings and binaries are copied into
// one buffer of exactly their size), anything else a itself. The result is
// a new reference either way.
func Dense(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
	d, ok := a.(*array.Dictionary)
	if !ok {
		a.Retain()
		return a, nil
	}
	idx, ok := d.Indices().(*array.Int32)
	if !ok {
		return denseByCast(mem, d)
	}
	var doffs []int32
	var dvals []byte
	switch v := d.Dictionary().(type) {
	case *array.String:
		doffs, dvals = v.ValueOffsets(), v.Data().Buffers()[2].Bytes()
	case *array.Binary:
		doffs, dvals = v.ValueOffsets(), v.Data().Buffers()[2].Bytes()
	default:
		return denseByCast(mem, d)
	}
	n, iv, nulls := d.Len(), idx.Int32Values(), idx.NullN() > 0
	total := 0
	for i, k := range iv {
		if !nulls || idx.IsValid(i) {
			total += int(doffs[k+1] - doffs[k])
		}
	}
	offBuf := memory.NewResizableBuffer(mem)
	offBuf.Resize(arrow.Int32Traits.BytesRequired(n + 1))
	defer offBuf.Release()
	dataBuf := memory.NewResizableBuffer(mem)
	dataBuf.Resize(total)
	defer dataBuf.Release()
	offs, data := arrow.Int32Traits.CastFromBytes(offBuf.Bytes()), dataBuf.Bytes()
	pos := int32(0)
	for i, k := range iv {
		offs[i] = pos
		if !nulls || idx.IsValid(i) {
			pos += int32(copy(data[pos:], dvals[doffs[k]:doffs[k+1]]))
		}
	}
	offs[n] = pos
	var valid *memory.Buffer
	if nulls {
		valid = validity(mem, idx)
		defer valid.Release()
	}
	ad := array.NewData(d.DataType().(*arrow.DictionaryType).ValueType, n, []*memory.Buffer{valid, offBuf, dataBuf}, nil, idx.NullN(), 0)
	defer ad.Release()
	return array.MakeFromData(ad), nil
}

// validity is a's validity bitmap starting at bit 0 (a new reference).
func validity(mem memory.Allocator, a arrow.Array) *memory.Buffer {
	if b := a.Data().Buffers()[0]; b != nil && a.Data().Offset() == 0 {
		b.Retain()
		return b
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(a.Len()))))
	bits := buf.Bytes()
	clear(bits)
	for i := 0; i < a.Len(); i++ {
		if a.IsValid(i) {
			bits[i/8] |= 1 << (i % 8)
		}
	}
	return buf
}

// denseByCast materialises the dictionaries Dense has no fast path for
// (the Parquet reader makes none of them).
func denseByCast(mem memory.Allocator, d *array.Dictionary) (arrow.Array, error) {
	ctx := compute.WithAllocator(context.Background(), mem)
	return compute.CastArray(ctx, d, compute.SafeCastOptions(d.DataType().(*arrow.DictionaryType).ValueType))
}
