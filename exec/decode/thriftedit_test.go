package decode

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Test tools that rewrite a real Parquet file's Thrift structures (footer,
// page headers) to make files that lie: the hostile inputs of issue 13.

// at walks path from v: a struct takes a field id, a list an index.
func (v *tval) at(t *testing.T, path ...int) *tval {
	t.Helper()
	for _, p := range path {
		switch v.typ {
		case tStruct:
			f := v.field(int16(p))
			if f == nil {
				t.Fatalf("thrift: no field %d", p)
			}
			v = f
		case tList, tSet:
			if p >= len(v.list) {
				t.Fatalf("thrift: index %d past %d elements", p, len(v.list))
			}
			v = &v.list[p]
		default:
			t.Fatalf("thrift: cannot index a value of type %d", v.typ)
		}
	}
	return v
}

// set sets the integer field id of struct v, adding it (as typ) if absent.
func (v *tval) set(id int16, typ byte, x int64) {
	if f := v.field(id); f != nil {
		f.i = x
		return
	}
	i := 0
	for i < len(v.fields) && v.fields[i].id < id {
		i++
	}
	v.fields = append(v.fields[:i], append([]tfield{{id: id, v: tval{typ: typ, i: x}}}, v.fields[i:]...)...)
}

// Field ids of parquet.thrift used by the tests.
const (
	fmNumRows   = 3 // FileMetaData.num_rows
	fmRowGroups = 4 // FileMetaData.row_groups
	rgColumns   = 1 // RowGroup.columns
	rgNumRows   = 3 // RowGroup.num_rows
	ccMeta      = 3 // ColumnChunk.meta_data
	cmNumValues = 5 // ColumnMetaData.num_values
	cmUncomp    = 6 // ColumnMetaData.total_uncompressed_size
	cmComp      = 7 // ColumnMetaData.total_compressed_size
	cmDataPage  = 9 // ColumnMetaData.data_page_offset
	cmDictPage  = 11
	phUncomp    = 2 // PageHeader.uncompressed_page_size
	phComp      = 3 // PageHeader.compressed_page_size
	phData      = 5 // PageHeader.data_page_header
	phDict      = 7 // PageHeader.dictionary_page_header
	phDataV2    = 8
	dphNumVals  = 1 // DataPageHeader/DictionaryPageHeader/DataPageHeaderV2.num_values
)

// footerOf returns the decoded footer of a Parquet file.
func footerOf(t *testing.T, file []byte) tval {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(file[len(file)-8:]))
	fm, used, err := readThriftStruct(file[len(file)-8-n : len(file)-8])
	if err != nil || used != n {
		t.Fatalf("footer: %v (%d of %d bytes)", err, used, n)
	}
	return fm
}

// withFooter returns file with its footer replaced by fm.
func withFooter(file []byte, fm *tval) []byte {
	n := int(binary.LittleEndian.Uint32(file[len(file)-8:]))
	out := bytes.Clone(file[:len(file)-8-n])
	enc := fm.encode(nil)
	out = append(out, enc...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(enc)))
	return append(out, "PAR1"...)
}

// editFooter rewrites file's footer with edit.
func editFooter(t *testing.T, file []byte, edit func(fm *tval)) []byte {
	t.Helper()
	fm := footerOf(t, file)
	edit(&fm)
	return withFooter(file, &fm)
}

// chunkMeta is row group rg's column col's ColumnMetaData in fm.
func chunkMeta(t *testing.T, fm *tval, rg, col int) *tval {
	t.Helper()
	return fm.at(t, fmRowGroups, rg, rgColumns, col, ccMeta)
}

// chunkStart is where a chunk's first page starts.
func chunkStart(t *testing.T, cm *tval) int64 {
	t.Helper()
	start, _ := cm.int(cmDataPage)
	if d, ok := cm.int(cmDictPage); ok && d > 0 && d < start {
		start = d
	}
	return start
}

// pageAt decodes the page header at off, returning it and its length.
func pageAt(t *testing.T, file []byte, off int64) (tval, int) {
	t.Helper()
	h, n, err := readThriftStruct(file[off:])
	if err != nil {
		t.Fatalf("page header at %d: %v", off, err)
	}
	return h, n
}

// editPage rewrites the header of the page-th page (0-based, dictionary page
// included) of row group rg's column col, and moves everything after it (the
// footer's offsets and the chunk's sizes follow).
func editPage(t *testing.T, file []byte, rg, col, page int, edit func(h *tval)) []byte {
	t.Helper()
	return replacePage(t, file, rg, col, page, nil, edit)
}

// replacePage is editPage that also replaces the page's body when body is
// not nil (the page's sizes then say len(body), as for an uncompressed
// column).
func replacePage(t *testing.T, file []byte, rg, col, page int, body []byte, edit func(h *tval)) []byte {
	t.Helper()
	fm := footerOf(t, file)
	off := chunkStart(t, chunkMeta(t, &fm, rg, col))
	for range page {
		h, n := pageAt(t, file, off)
		c, _ := h.int(phComp)
		off += int64(n) + c
	}
	h, n := pageAt(t, file, off)
	oldBody, _ := h.int(phComp)
	if body != nil {
		h.set(phComp, tI32, int64(len(body)))
		h.set(phUncomp, tI32, int64(len(body)))
	} else {
		body = file[off+int64(n) : off+int64(n)+oldBody]
	}
	edit(&h)
	enc := h.encode(nil)
	delta := int64(len(enc)+len(body)) - int64(n) - oldBody
	out := append(bytes.Clone(file[:off]), enc...)
	out = append(out, body...)
	out = append(out, file[off+int64(n)+oldBody:]...)
	for g := range fm.at(t, fmRowGroups).list {
		cols := fm.at(t, fmRowGroups, g, rgColumns)
		for c := range cols.list {
			cm := chunkMeta(t, &fm, g, c)
			start := chunkStart(t, cm)
			size, _ := cm.int(cmComp)
			if off >= start && off < start+size {
				cm.set(cmComp, tI64, size+delta)
				u, _ := cm.int(cmUncomp)
				cm.set(cmUncomp, tI64, u+delta)
			}
			for _, id := range []int16{cmDataPage, 10, cmDictPage, 14} {
				if x, ok := cm.int(id); ok && x > off {
					cm.set(id, tI64, x+delta)
				}
			}
			cc := fm.at(t, fmRowGroups, g, rgColumns, c)
			for _, id := range []int16{2, 4, 6} {
				if x, ok := cc.int(id); ok && x > off {
					cc.set(id, tI64, x+delta)
				}
			}
		}
	}
	return withFooter(out, &fm)
}

func TestThriftRoundTrip(t *testing.T) {
	file := writeParquet(t)
	fm := footerOf(t, file)
	if got := withFooter(file, &fm); !bytes.Equal(got, file) {
		t.Fatal("footer does not round-trip")
	}
	same := editPage(t, file, 1, 3, 0, func(*tval) {})
	if !bytes.Equal(same, file) {
		t.Fatal("page header does not round-trip")
	}
}
