package decode

import (
	"encoding/binary"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// ReadParquetColumns is ReadParquetSchema for callers that need the schema
// only (the planner's drift report): the footer's row groups — for a wide
// file nearly all of it, one column chunk with statistics per column and
// row group — are cut out of the Thrift bytes before arrow-go parses them,
// which allocates every chunk's metadata. A 200-column footer parses in a
// tenth of the time. A footer this cannot cut (encrypted, or not the
// Thrift it should be) goes through ReadParquetSchema, which reports it as
// it reports any footer.
func ReadParquetColumns(r parquet.ReaderAtSeeker, size int64, key string) (*arrow.Schema, error) {
	if md, ok := schemaOnlyFooter(r, size); ok {
		if sc, err := schemaOf(md, key); err == nil {
			return sc, nil
		}
	}
	sc, _, err := ReadParquetSchema(r, size, key)
	return sc, err
}

// schemaOnlyFooter reads the footer of a Parquet object and parses it
// without its row groups; ok is false when that is not possible.
func schemaOnlyFooter(r io.ReaderAt, size int64) (md *metadata.FileMetaData, ok bool) {
	defer func() {
		if p := recover(); p != nil { // arrow-go panics on some malformed footers
			md, ok = nil, false
		}
	}()
	if size < 12 {
		return nil, false
	}
	// One read of the object's end holds most footers, as arrow-go's own
	// first read does: a second request costs a round trip on S3.
	tail := make([]byte, min(size, footerTailRead))
	if _, err := r.ReadAt(tail, size-int64(len(tail))); err != nil {
		return nil, false
	}
	if string(tail[len(tail)-4:]) != "PAR1" {
		return nil, false // "PARE": an encrypted footer; or no Parquet at all
	}
	n := int64(binary.LittleEndian.Uint32(tail[len(tail)-8:]))
	if n <= 0 || n > size-12 {
		return nil, false
	}
	var raw []byte
	if n <= int64(len(tail))-8 {
		raw = tail[int64(len(tail))-8-n : len(tail)-8]
	} else {
		raw = make([]byte, n)
		if _, err := r.ReadAt(raw, size-8-n); err != nil {
			return nil, false
		}
	}
	cut, err := withoutRowGroups(raw)
	if err != nil {
		return nil, false
	}
	md, err = metadata.NewFileMetaData(cut, nil)
	if err != nil {
		return nil, false
	}
	return md, true
}

// footerTailRead is how much of an object's end the first read takes.
const footerTailRead = 64 << 10

// rowGroupsField is FileMetaData's field 4, list<RowGroup>.
const rowGroupsField = 4

// withoutRowGroups re-encodes a serialized FileMetaData with an empty
// row_groups list; the other fields are decoded and written back as they
// were. The row groups are skipped, never built.
func withoutRowGroups(b []byte) ([]byte, error) {
	d := tdecoder{b: b}
	fm := tval{typ: tStruct}
	var last int16
	for {
		id, ft, err := d.fieldHeader(last)
		if err != nil {
			return nil, err
		}
		if ft == tStop {
			break
		}
		last = id
		if id == rowGroupsField {
			if ft != tList {
				return nil, errThrift
			}
			if err := d.skip(ft, 1); err != nil {
				return nil, err
			}
			fm.fields = append(fm.fields, tfield{id: id, v: tval{typ: tList, elem: tStruct}})
			continue
		}
		v, err := d.value(ft, 1)
		if err != nil {
			return nil, err
		}
		fm.fields = append(fm.fields, tfield{id: id, v: v})
	}
	return fm.encode(nil), nil
}
