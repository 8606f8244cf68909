package decode

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// Checks on the sizes and counts a Parquet file states about itself.
//
// arrow-go allocates from them before it reads what they describe: a column
// chunk is read whole into make([]byte, total_compressed_size), a page into a
// buffer of its header's uncompressed size, a dictionary into a slice of its
// header's value count. A 446-byte file whose footer says a chunk is 1 TiB
// therefore ended the process with "fatal error: runtime: out of memory",
// which no recover can catch. Every such number is checked here, against
// the object's real size and the reader's memory limit, before arrow-go
// sees it: the footer when the file is opened (checkFooter, checkChunks),
// each chunk's page headers as the chunk is read (checkPages, through
// checkedSource). A file that fails is an ordinary unreadable object.
//
// Numbers that are consistent but large (a row group that really holds 10⁹
// rows of one constant) are not lies: they are read batch by batch, and
// what arrow-go allocates through an allocator is bounded by limitAllocator.

// CorruptParquetError says what a Parquet file states about itself is
// impossible (or would need more memory than the limit to read).
type CorruptParquetError struct {
	Key    string
	Detail string
}

func (e *CorruptParquetError) Error() string {
	return fmt.Sprintf("%s: parquet: corrupt file: %s", e.Key, e.Detail)
}

// DefaultMemoryLimit is Options.MemoryLimit when it is 0.
const DefaultMemoryLimit = 1 << 30

// maxPageHeader is arrow-go's own limit on a page header's size.
const maxPageHeader = 16 << 20

func corrupt(key, format string, args ...any) error {
	return &CorruptParquetError{Key: key, Detail: fmt.Sprintf(format, args...)}
}

// chunkRange is where arrow-go reads column chunk cc from: from its
// dictionary page when that comes first, for total_compressed_size bytes.
func chunkRange(cc *metadata.ColumnChunkMetaData) (start, length int64) {
	start = cc.DataPageOffset()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && start > cc.DictionaryPageOffset() {
		start = cc.DictionaryPageOffset()
	}
	return start, cc.TotalCompressedSize()
}

// checkFooter checks the footer of a Parquet object of size bytes: row
// group row counts are not negative and do not overflow, each row group has the schema's
// columns, and each column chunk lies inside the object, stored in it
// (not in another file) and, when flat, holds one value per row. A row group
// claiming -1 rows used to read as no rows at all, without a word.
//
// The file's own num_rows is not checked: sluice never uses it (the row
// groups' counts are what is read), and real writers get it wrong
// (parquet-testing's repeated_no_annotation.parquet says 0 rows, its row
// group 6, and DuckDB reads the 6).
func checkFooter(key string, md *metadata.FileMetaData, size int64) error {
	ncols := md.Schema.NumColumns()
	var rows int64
	for g := range md.NumRowGroups() {
		rg := md.RowGroup(g)
		n := rg.NumRows()
		if n < 0 {
			return corrupt(key, "row group %d: the footer says it has %d rows", g, n)
		}
		if rows > math.MaxInt64-n {
			return corrupt(key, "row group %d: the row counts overflow", g)
		}
		rows += n
		if rg.NumColumns() != ncols {
			return corrupt(key, "row group %d has %d column chunks, the schema %d columns", g, rg.NumColumns(), ncols)
		}
		for c := range ncols {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				return corrupt(key, "row group %d, column %d: %v", g, c, err)
			}
			name := md.Schema.Column(c).Path()
			if cc.FilePath() != "" {
				return corrupt(key, "row group %d, column %q: its data is in another file (%q), which sluice does not read", g, name, cc.FilePath())
			}
			start, length := chunkRange(cc)
			if start < 0 || length < 0 || start > size || length > size-start {
				return corrupt(key, "row group %d, column %q: the footer places its %d bytes at offset %d, outside the object's %d bytes", g, name, length, start, size)
			}
			if cc.HasDictionaryPage() && (cc.DictionaryPageOffset() < 0 || cc.DictionaryPageOffset() > size) {
				return corrupt(key, "row group %d, column %q: dictionary page offset %d is outside the object's %d bytes", g, name, cc.DictionaryPageOffset(), size)
			}
			nv := cc.NumValues()
			if nv < 0 {
				return corrupt(key, "row group %d, column %q: the footer says it holds %d values", g, name, nv)
			}
			// A column outside any list has one value (or null) per row;
			// arrow-go would otherwise stop at the shortest column and
			// return fewer rows without an error.
			if md.Schema.Column(c).MaxRepetitionLevel() == 0 && nv != n {
				return corrupt(key, "row group %d, column %q: the footer says it holds %d values, but the row group has %d rows", g, name, nv, n)
			}
		}
	}
	return nil
}

// checkChunks checks, for the row groups and leaf columns about to be read,
// that each column chunk (which arrow-go reads whole into memory) fits the
// memory limit, and returns where each starts for checkedSource.
func checkChunks(key string, md *metadata.FileMetaData, rowGroups, leaves []int, limit int64) (map[int64][]chunkInfo, error) {
	chunks := map[int64][]chunkInfo{}
	for _, g := range rowGroups {
		rg := md.RowGroup(g)
		for _, c := range leaves {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				return nil, corrupt(key, "row group %d, column %d: %v", g, c, err)
			}
			col := md.Schema.Column(c)
			start, length := chunkRange(cc)
			if length > limit {
				return nil, corrupt(key, "row group %d, column %q: its column chunk of %d bytes is larger than the memory limit (%d bytes)", g, col.Path(), length, limit)
			}
			if cc.CryptoMetadata() != nil {
				continue // encrypted page headers: arrow-go refuses the file anyway
			}
			chunks[start] = append(chunks[start], chunkInfo{
				rowGroup: g, name: col.Path(), values: cc.NumValues(),
				typ: col.PhysicalType(), typeLen: col.TypeLength(),
				uncompressed: cc.Compression() == compress.Codecs.Uncompressed,
			})
		}
	}
	return chunks, nil
}

// chunkInfo is what checkPages needs to know about a column chunk.
type chunkInfo struct {
	rowGroup int
	name     string
	values   int64 // num_values in the footer
	typ      parquet.Type
	typeLen  int // FIXED_LEN_BYTE_ARRAY's length
	// uncompressed: the chunk's codec is UNCOMPRESSED, so a page's two
	// sizes must be equal.
	uncompressed bool
}

// Page types and encodings (parquet.thrift PageType, Encoding).
const (
	pageData       = 0
	pageDictionary = 2
	pageDataV2     = 3

	encDeltaLengthByteArray = 6
	encDeltaByteArray       = 7
)

// minPlainWidth is the fewest bytes a PLAIN-encoded value of type t takes
// (a byte array: its 4-byte length), in eighths of a byte: booleans are bits.
func minPlainWidth(t parquet.Type, typeLen int) int64 {
	switch t {
	case parquet.Types.Boolean:
		return 1
	case parquet.Types.Int32, parquet.Types.Float, parquet.Types.ByteArray:
		return 4 * 8
	case parquet.Types.Int64, parquet.Types.Double:
		return 8 * 8
	case parquet.Types.Int96:
		return 12 * 8
	case parquet.Types.FixedLenByteArray:
		return int64(typeLen) * 8
	}
	return 0
}

// checkPages walks the page headers of a column chunk read into buf (the
// bytes arrow-go will decode, from the chunk's first page) before arrow-go
// decodes any: each page must lie inside the chunk and fit the memory limit,
// a dictionary must be no longer than its page can hold (arrow-go allocates
// the dictionary's slice from its count), a page's value count must fit the
// limit when its encoding allocates per value (DELTA_LENGTH_BYTE_ARRAY), and
// the data pages together must hold the chunk's num_values, as arrow-go
// stops there: fewer would be a column shorter than the others.
func checkPages(key string, ci chunkInfo, buf []byte, limit int64) error {
	where := func(off int) string {
		return fmt.Sprintf("row group %d, column %q, page at chunk offset %d", ci.rowGroup, ci.name, off)
	}
	// A dictionary is decoded into a slice of up to 24 bytes a value (a
	// byte array's slice header).
	maxDict := limit / 24
	pageLimit := limit
	var values int64
	off := 0
	for values < ci.values && off < len(buf) {
		h, n, err := readThriftStruct(buf[off:min(len(buf), off+maxPageHeader)])
		if err != nil {
			return corrupt(key, "%s: unreadable page header: %v", where(off), err)
		}
		typ, _ := h.int(1)
		uncomp, _ := h.int(2)
		comp, _ := h.int(3)
		if comp < 0 || uncomp < 0 {
			return corrupt(key, "%s: negative page size (%d compressed, %d uncompressed)", where(off), comp, uncomp)
		}
		if rest := int64(len(buf) - off - n); comp > rest {
			return corrupt(key, "%s: the page header says %d bytes follow, the column chunk has %d left", where(off), comp, rest)
		}
		if ci.uncompressed && uncomp != comp && (typ == pageData || typ == pageDataV2 || typ == pageDictionary) {
			return corrupt(key, "%s: an uncompressed page of %d bytes says it is %d bytes uncompressed", where(off), comp, uncomp)
		}
		if uncomp > pageLimit {
			return corrupt(key, "%s: a page of %d bytes uncompressed is larger than the memory limit (%d bytes)", where(off), uncomp, pageLimit)
		}
		switch typ {
		case pageDictionary:
			dh := h.field(7)
			if dh == nil {
				return corrupt(key, "%s: dictionary page without its header", where(off))
			}
			nv, _ := dh.int(1)
			if nv < 0 || nv > maxDict {
				return corrupt(key, "%s: a dictionary of %d values (more than the memory limit, %d bytes, holds)", where(off), nv, limit)
			}
			if w := minPlainWidth(ci.typ, ci.typeLen); w > 0 && nv > uncomp*8/w {
				return corrupt(key, "%s: a dictionary of %d values cannot fit in its %d bytes", where(off), nv, uncomp)
			}
		case pageData, pageDataV2:
			id := int16(5)
			if typ == pageDataV2 {
				id = 8
			}
			dh := h.field(id)
			if dh == nil {
				return corrupt(key, "%s: data page without its header", where(off))
			}
			nv, _ := dh.int(1)
			if nv < 0 {
				return corrupt(key, "%s: a data page of %d values", where(off), nv)
			}
			encField := int16(2)
			if typ == pageDataV2 {
				encField = 4
			}
			// The delta encodings of byte arrays decode every length of
			// the page at once, 4 bytes each (other encodings decode in
			// batches, and an all-null page of 10⁸ values is legitimate).
			if enc, _ := dh.int(encField); (enc == encDeltaLengthByteArray || enc == encDeltaByteArray) && nv > limit/4 {
				return corrupt(key, "%s: a delta-encoded page of %d values needs more than the memory limit (%d bytes)", where(off), nv, limit)
			}
			if typ == pageDataV2 {
				nulls, _ := dh.int(2)
				rows, _ := dh.int(3)
				defLen, _ := dh.int(5)
				repLen, _ := dh.int(6)
				if nulls < 0 || nulls > nv || rows < 0 || rows > nv || defLen < 0 || repLen < 0 || defLen+repLen > comp {
					return corrupt(key, "%s: inconsistent data page header (%d values, %d nulls, %d rows, %d+%d bytes of levels in %d)", where(off), nv, nulls, rows, defLen, repLen, comp)
				}
			}
			values += nv
		}
		off += n + int(comp)
	}
	if values != ci.values {
		return corrupt(key, "row group %d, column %q: its pages hold %d values, the footer says %d", ci.rowGroup, ci.name, values, ci.values)
	}
	return nil
}

// checkedSource is the object as arrow-go reads it: a read that starts at
// a column chunk about to be decoded (arrow-go reads each whole, in one
// ReadAt) has the chunk's page headers checked before arrow-go gets the
// bytes. It costs no extra read.
type checkedSource struct {
	*io.SectionReader
	key    string
	limit  int64
	chunks map[int64][]chunkInfo
}

func (s *checkedSource) ReadAt(p []byte, off int64) (int, error) {
	n, err := s.SectionReader.ReadAt(p, off)
	if err != nil {
		return n, err
	}
	for _, ci := range s.chunks[off] {
		if err := checkPages(s.key, ci, p[:n], s.limit); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// limitAllocator refuses any single allocation larger than limit, the
// last line of defense for what checkFooter and checkPages cannot see
// coming (a list whose one record holds 10⁹ elements, all from one
// run-length-encoded run, is consistent with every count in the file). It
// refuses by panicking with *memoryLimitError, which the reader recovers
// (see recoverParquet): arrow-go's allocator interface has no error return.
type limitAllocator struct {
	memory.Allocator
	limit int64
}

type memoryLimitError struct{ size, limit int64 }

func (e *memoryLimitError) Error() string {
	return fmt.Sprintf("decoding it needs a buffer of %d bytes, more than the memory limit (%d bytes)", e.size, e.limit)
}

func (a *limitAllocator) Allocate(size int) []byte {
	if int64(size) > a.limit {
		panic(&memoryLimitError{size: int64(size), limit: a.limit})
	}
	return a.Allocator.Allocate(size)
}

func (a *limitAllocator) Reallocate(size int, b []byte) []byte {
	if int64(size) > a.limit {
		panic(&memoryLimitError{size: int64(size), limit: a.limit})
	}
	return a.Allocator.Reallocate(size, b)
}

// recoverParquet turns a panic while arrow-go decodes a file into the
// reader's error: the memory limit refused an allocation, or arrow-go met
// data it does not expect (it panics on some malformed pages, e.g. a
// dictionary of another physical type). Decoding runs on the caller's
// goroutine (pqarrow's Parallel is off), so the panic arrives here. It is a
// last line of defense: the checks above refuse what they can first.
func recoverParquet(key string, err *error) {
	p := recover()
	if p == nil {
		return
	}
	var ml *memoryLimitError
	if e, ok := p.(error); ok && errors.As(e, &ml) {
		*err = corrupt(key, "%v", ml)
		return
	}
	*err = corrupt(key, "arrow-go failed on its data: %v", p)
}
