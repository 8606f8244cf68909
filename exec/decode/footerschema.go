package decode

import (
	"encoding/binary"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// ReadParquetColumns is ReadParquetSchema for callers that need the schema
// only (the planner's drift report, schema inference): the footer's row
// groups — for a wide file nearly all of it, a column chunk with its
// statistics per column and row group — are cut out of the Thrift bytes
// before arrow-go parses them, which allocates every chunk's metadata; and
// the schema of a footer whose schema and key-value bytes were seen lately
// (the files of one source usually share them) is not built again. A
// footer this cannot cut (encrypted, or not the Thrift it should be) goes
// through ReadParquetSchema, which reports it as it reports any footer.
func ReadParquetColumns(r parquet.ReaderAtSeeker, size int64, key string) (*arrow.Schema, error) {
	if sc, ok := columnsFast(r, size, key); ok {
		return sc, nil
	}
	sc, _, err := ReadParquetSchema(r, size, key)
	return sc, err
}

// columnsFast is ReadParquetColumns without the fallback; ok is false when
// the footer could not be cut or parsed so.
func columnsFast(r io.ReaderAt, size int64, key string) (sc *arrow.Schema, ok bool) {
	raw, ok := readFooterBytes(r, size)
	if !ok {
		return nil, false
	}
	cut, id, err := withoutRowGroups(raw)
	if err != nil {
		return nil, false
	}
	if sc := footerSchemas.get(id); sc != nil {
		return sc, true
	}
	md, ok := parseFooter(cut)
	if !ok {
		return nil, false
	}
	if sc, err = schemaOf(md, key); err != nil {
		return nil, false
	}
	footerSchemas.put(id, sc)
	return sc, true
}

// readFooterBytes returns the serialized FileMetaData of a Parquet object.
func readFooterBytes(r io.ReaderAt, size int64) ([]byte, bool) {
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
	if n <= int64(len(tail))-8 {
		return tail[int64(len(tail))-8-n : len(tail)-8], true
	}
	raw := make([]byte, n)
	if _, err := r.ReadAt(raw, size-8-n); err != nil {
		return nil, false
	}
	return raw, true
}

// parseFooter is metadata.NewFileMetaData with its panics (on some
// malformed footers) as a failure.
func parseFooter(b []byte) (md *metadata.FileMetaData, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			md, ok = nil, false
		}
	}()
	md, err := metadata.NewFileMetaData(b, nil)
	return md, err == nil
}

// footerSchemas remembers the Arrow schemas of recent footers by the bytes
// that decide them (schemaOf reads the schema elements and the key-value
// metadata, nothing else). It holds at most maxCachedSchemas entries, each
// key at most maxCachedSchemaKey bytes, and starts afresh when full.
var footerSchemas schemaCache

const (
	maxCachedSchemas   = 64
	maxCachedSchemaKey = 1 << 20
)

type schemaCache struct {
	mu sync.Mutex
	m  map[string]*arrow.Schema
}

func (c *schemaCache) get(id []byte) *arrow.Schema {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[string(id)]
}

func (c *schemaCache) put(id []byte, sc *arrow.Schema) {
	if len(id) > maxCachedSchemaKey {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedSchemas {
		c.m = map[string]*arrow.Schema{}
	}
	c.m[string(id)] = sc
}

// footerTailRead is how much of an object's end the first read takes.
const footerTailRead = 64 << 10

// FileMetaData fields: row_groups (list<RowGroup>), and the two that
// decide the Arrow schema, schema (list<SchemaElement>) and
// key_value_metadata (the ARROW:schema sluice and arrow writers store).
const (
	schemaField    = 2
	rowGroupsField = 4
	keyValueField  = 5
)

// withoutRowGroups re-encodes a serialized FileMetaData with an empty
// row_groups list. Every other field's value bytes are copied as they are,
// behind a field header in its long form (valid whatever field came
// before); nothing is decoded into a tree. id is the encoded schema and
// key-value fields, which decide the Arrow schema.
func withoutRowGroups(b []byte) (cut, id []byte, err error) {
	d := tdecoder{b: b}
	cut = make([]byte, 0, 1024)
	var last int16
	for {
		fid, ft, err := d.fieldHeader(last)
		if err != nil {
			return nil, nil, err
		}
		if ft == tStop {
			return append(cut, tStop), id, nil
		}
		last = fid
		start := len(cut)
		cut = append(cut, ft)
		cut = putZigzag(cut, int64(fid))
		from := d.off
		if err := d.skip(ft, 1); err != nil {
			return nil, nil, err
		}
		switch fid {
		case rowGroupsField:
			if ft != tList {
				return nil, nil, errThrift
			}
			cut = append(cut, tStruct) // a list of no structs
		default:
			cut = append(cut, b[from:d.off]...)
		}
		if fid == schemaField || fid == keyValueField {
			id = append(id, cut[start:]...)
		}
	}
}
