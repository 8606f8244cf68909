package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// parquetScratch is one floor goroutine's reusable state: the file bytes,
// the decompression buffer and a zstd decoder.
type parquetScratch struct {
	file, page []byte
	zstd       *zstd.Decoder
}

// splitAbove is the size past which a Parquet file's row groups are
// shared out among the floor's goroutines (sluice splits a file of 8 MiB
// or more across idle workers; DuckDB reads row groups in parallel).
var splitAbove = 8 << 20

// rgUnit is one row group of a file whose row groups are shared out.
type rgUnit struct {
	path string
	b    []byte
	md   *metadata.FileMetaData
	rg   int
	cols []int
}

// unitQueue holds the row groups waiting for a goroutine.
type unitQueue struct {
	mu    sync.Mutex
	units []rgUnit
}

func (q *unitQueue) push(us ...rgUnit) {
	q.mu.Lock()
	q.units = append(q.units, us...)
	q.mu.Unlock()
}

func (q *unitQueue) pop() (rgUnit, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.units) == 0 {
		return rgUnit{}, false
	}
	u := q.units[0]
	q.units = q.units[1:]
	return u, true
}

func (q *unitQueue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.units) == 0
}

// floorParquet reads a Parquet file, parses its footer and, for the wanted
// columns (all when want is nil) of every row group, each page header, and
// decompresses each page body into a reused buffer; it returns the pages.
// That is the least any reader does: arrow-go's page reader allocates per
// column chunk, which the floor leaves out. A large file's row groups
// after the first go to q for other goroutines.
func floorParquet(path string, want map[string]bool, s *parquetScratch, q *unitQueue) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := int(fi.Size())
	var b []byte
	if size > splitAbove {
		b = make([]byte, size) // shared with other goroutines
	} else {
		if cap(s.file) < size {
			s.file = make([]byte, size)
		}
		b = s.file[:size]
	}
	if _, err := f.ReadAt(b, 0); err != nil {
		return 0, err
	}
	if size < 12 || string(b[size-4:]) != "PAR1" {
		return 0, errors.New("not a Parquet file")
	}
	flen := int(binary.LittleEndian.Uint32(b[size-8:]))
	if flen > size-12 {
		return 0, errors.New("footer longer than the file")
	}
	md, err := metadata.NewFileMetaData(b[size-8-flen:size-8], nil)
	if err != nil {
		return 0, err
	}
	var cols []int
	for i := range md.Schema.NumColumns() {
		if want == nil || want[md.Schema.Column(i).ColumnPath()[0]] {
			cols = append(cols, i)
		}
	}
	if len(cols) == 0 {
		return 0, errors.New("none of the wanted columns is in the file")
	}
	n := md.NumRowGroups()
	if size > splitAbove && q != nil && n > 1 {
		for g := 1; g < n; g++ {
			q.push(rgUnit{path: path, b: b, md: md, rg: g, cols: cols})
		}
		n = 1
	}
	var pages int64
	for g := range n {
		p, err := floorRowGroup(rgUnit{path: path, b: b, md: md, rg: g, cols: cols}, s)
		pages += p
		if err != nil {
			return pages, err
		}
	}
	return pages, nil
}

// floorRowGroup walks and decompresses the pages of one row group's
// wanted column chunks.
func floorRowGroup(u rgUnit, s *parquetScratch) (int64, error) {
	rg := u.md.RowGroup(u.rg)
	var pages int64
	for _, c := range u.cols {
		cc, err := rg.ColumnChunk(c)
		if err != nil {
			return pages, err
		}
		start := cc.DataPageOffset()
		if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && cc.DictionaryPageOffset() < start {
			start = cc.DictionaryPageOffset()
		}
		end := start + cc.TotalCompressedSize()
		if start < 0 || end > int64(len(u.b)) {
			return pages, fmt.Errorf("column chunk %d/%d outside the file", u.rg, c)
		}
		values := cc.NumValues()
		chunk := u.b[start:end]
		for len(chunk) > 0 && values > 0 {
			h, n, err := readPageHeader(chunk)
			if err != nil {
				return pages, err
			}
			chunk = chunk[n:]
			if h.compressed < 0 || int(h.compressed) > len(chunk) {
				return pages, errors.New("page longer than its chunk")
			}
			body := chunk[:h.compressed]
			chunk = chunk[h.compressed:]
			if h.isData {
				values -= int64(h.numValues)
			}
			if err := s.decompress(cc.Compression(), body, h); err != nil {
				return pages, err
			}
			pages++
		}
	}
	return pages, nil
}

// decompress decompresses a page body (past a v2 page's levels, which are
// stored uncompressed) into the scratch buffer.
func (s *parquetScratch) decompress(codec compress.Compression, body []byte, h pageHeader) error {
	if h.v2 {
		lv := int(h.defLen + h.repLen)
		if lv < 0 || lv > len(body) {
			return errors.New("v2 levels longer than the page")
		}
		body = body[lv:]
		if !h.v2Compressed {
			return nil
		}
	}
	if cap(s.page) < int(h.uncompressed) {
		s.page = make([]byte, h.uncompressed)
	}
	var err error
	switch codec {
	case compress.Codecs.Uncompressed:
	case compress.Codecs.Snappy:
		_, err = s2.Decode(s.page[:cap(s.page)], body)
	case compress.Codecs.Zstd:
		if s.zstd == nil {
			if s.zstd, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1)); err != nil {
				return err
			}
		}
		_, err = s.zstd.DecodeAll(body, s.page[:0])
	default:
		return fmt.Errorf("floor: no decompressor for %v", codec)
	}
	return err
}

// pageHeader is what the floor needs of a Parquet page header.
type pageHeader struct {
	uncompressed, compressed int32
	numValues                int32
	isData, v2, v2Compressed bool
	defLen, repLen           int32
}

// readPageHeader decodes a page header (Thrift compact protocol) at the
// start of b and returns it and its length.
func readPageHeader(b []byte) (pageHeader, int, error) {
	h := pageHeader{v2Compressed: true}
	r := compactReader{b: b}
	var last int16
	for {
		id, typ, err := r.fieldHeader(&last)
		if err != nil {
			return h, 0, err
		}
		if typ == 0 {
			return h, r.off, nil
		}
		switch {
		case id == 2 && typ == 5:
			v, err := r.zigzag()
			h.uncompressed = int32(v)
			if err != nil {
				return h, 0, err
			}
		case id == 3 && typ == 5:
			v, err := r.zigzag()
			h.compressed = int32(v)
			if err != nil {
				return h, 0, err
			}
		case (id == 5 || id == 8) && typ == 12: // data page v1 / v2 header
			h.isData, h.v2 = true, id == 8
			var inner int16
			for {
				fid, ftyp, err := r.fieldHeader(&inner)
				if err != nil {
					return h, 0, err
				}
				if ftyp == 0 {
					break
				}
				switch {
				case fid == 1 && ftyp == 5:
					v, err := r.zigzag()
					if err != nil {
						return h, 0, err
					}
					h.numValues = int32(v)
				case h.v2 && (fid == 5 || fid == 6) && ftyp == 5:
					v, err := r.zigzag()
					if err != nil {
						return h, 0, err
					}
					if fid == 5 {
						h.defLen = int32(v)
					} else {
						h.repLen = int32(v)
					}
				case h.v2 && fid == 7 && (ftyp == 1 || ftyp == 2):
					h.v2Compressed = ftyp == 1
				default:
					if err := r.skip(ftyp, 0); err != nil {
						return h, 0, err
					}
				}
			}
		default:
			if err := r.skip(typ, 0); err != nil {
				return h, 0, err
			}
		}
	}
}

// compactReader reads Thrift's compact protocol.
type compactReader struct {
	b   []byte
	off int
}

var errShort = errors.New("truncated page header")

func (r *compactReader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errShort
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *compactReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		return 0, errShort
	}
	r.off += n
	return v, nil
}

func (r *compactReader) zigzag() (int64, error) {
	v, err := r.uvarint()
	return int64(v>>1) ^ -int64(v&1), err
}

// fieldHeader reads a field header; typ 0 is the struct's end.
func (r *compactReader) fieldHeader(last *int16) (id int16, typ byte, err error) {
	c, err := r.byte()
	if err != nil || c == 0 {
		return 0, 0, err
	}
	typ = c & 0x0f
	if d := int16(c >> 4); d != 0 {
		*last += d
	} else {
		v, err := r.zigzag()
		if err != nil {
			return 0, 0, err
		}
		*last = int16(v)
	}
	return *last, typ, nil
}

// skip skips a value of compact type typ.
func (r *compactReader) skip(typ byte, depth int) error {
	if depth > 32 {
		return errors.New("page header nested too deeply")
	}
	switch typ {
	case 1, 2: // booleans: in the field header
		return nil
	case 3:
		_, err := r.byte()
		return err
	case 4, 5, 6:
		_, err := r.uvarint()
		return err
	case 7:
		if r.off+8 > len(r.b) {
			return errShort
		}
		r.off += 8
		return nil
	case 8:
		n, err := r.uvarint()
		if err != nil || n > uint64(len(r.b)-r.off) {
			return errShort
		}
		r.off += int(n)
		return nil
	case 9, 10:
		c, err := r.byte()
		if err != nil {
			return err
		}
		n := uint64(c >> 4)
		if n == 15 {
			if n, err = r.uvarint(); err != nil {
				return err
			}
		}
		if et := c & 0x0f; et == 1 || et == 2 {
			// Booleans in a list take a byte each.
			if n > uint64(len(r.b)-r.off) {
				return errShort
			}
			r.off += int(n)
			return nil
		}
		for range n {
			if err := r.skip(c&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 11:
		n, err := r.uvarint()
		if err != nil || n == 0 {
			return err
		}
		kv, err := r.byte()
		if err != nil {
			return err
		}
		for range n {
			if err := r.skip(kv>>4, depth+1); err != nil {
				return err
			}
			if err := r.skip(kv&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 12:
		var last int16
		for {
			_, t, err := r.fieldHeader(&last)
			if err != nil || t == 0 {
				return err
			}
			if err := r.skip(t, depth+1); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("unknown compact type %d", typ)
}
