package decode

import (
	"encoding/binary"
	"io"

	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// A footer arrow-go cannot parse, but other readers read, is repaired here
// before it is given up on.
//
// A logical type newer than arrow-go (a LogicalType union member it has no
// field for) made it panic ("invalid logical type"), refusing the whole file
// (parquet-testing's unknown-logical-type.parquet, which DuckDB reads). The
// format says a reader that does not know a logical type reads the column
// as its physical type: the repair drops such annotations, so that column
// reads as its physical type (a byte array as binary) and the others as
// before.

// Field ids of parquet.thrift used by the repair.
const (
	fmSchema        = 2  // FileMetaData.schema
	seLogicalType   = 10 // SchemaElement.logicalType
	knownLogicalMax = 18 // LogicalType members arrow-go v18.8.0 knows: 1-8, 10-18
)

func knownLogicalType(id int16) bool {
	return id >= 1 && id <= knownLogicalMax && id != 9
}

// repairFooter reads the footer of an object of size bytes and returns it
// with unknown logical types dropped, or nil when there was nothing to
// repair.
func repairFooter(r io.ReaderAt, size int64) (*metadata.FileMetaData, error) {
	if size < 12 {
		return nil, nil
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return nil, err
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if string(tail[4:]) != "PAR1" || n > size-12 {
		return nil, nil
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-8-n); err != nil {
		return nil, err
	}
	fm, used, err := readThriftStruct(buf)
	if err != nil || int64(used) != n {
		return nil, nil
	}
	schema := fm.field(fmSchema)
	if schema == nil || schema.typ != tList {
		return nil, nil
	}
	changed := false
	for i := range schema.list {
		se := &schema.list[i]
		lt := se.field(seLogicalType)
		if lt == nil || lt.typ != tStruct {
			continue
		}
		known := false
		for _, f := range lt.fields {
			known = known || knownLogicalType(f.id)
		}
		if !known {
			kept := se.fields[:0]
			for _, f := range se.fields {
				if f.id != seLogicalType {
					kept = append(kept, f)
				}
			}
			se.fields = kept
			changed = true
		}
	}
	if !changed {
		return nil, nil
	}
	md, err := metadata.NewFileMetaData(fm.encode(nil), nil)
	if err != nil {
		return nil, err
	}
	md.SetSourceFileSize(size)
	return md, nil
}
