package write

import (
	"fmt"
	"hash/maphash"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicedata/sluice/spec"
)

// parquetConfig holds the writer properties shared by a Writer's files.
type parquetConfig struct {
	schema *arrow.Schema
	props  *parquet.WriterProperties
	aprops pqarrow.ArrowWriterProperties
	runID  string
	vers   string

	// base are the properties but dictionary choices; dictCols the
	// top-level string and binary columns (index in schema, leaf path)
	// whose dictionary encoding is decided on the first rows written.
	base     []parquet.WriterProperty
	dictCols []dictCol
	decided  bool
}

type dictCol struct {
	field int
	path  string
}

func parquetCodec(c spec.Compression) (compress.Compression, error) {
	switch c {
	case 0, spec.CompressionSnappy:
		return compress.Codecs.Snappy, nil
	case spec.CompressionZstd:
		return compress.Codecs.Zstd, nil
	case spec.CompressionGzip:
		return compress.Codecs.Gzip, nil
	case spec.CompressionNone:
		return compress.Codecs.Uncompressed, nil
	}
	return 0, fmt.Errorf("write: parquet cannot be compressed with codec %d (snappy, zstd, gzip or none)", int(c))
}

// dataPageSize is the uncompressed size at which a data page is closed.
// arrow-go's default, 1 MiB, grows each column's page buffer to 1 MiB by
// doubling through a pool that every garbage collection empties, and
// zeroes it on release: on flights-3m (3b) pages of 256 KiB took 15% off
// the run's CPU and 30 MiB off its peak RSS, for files 2.4% larger (0.3%
// on the compaction benchmark); 128 KiB saved little more CPU and cost
// 4.6%.
const dataPageSize = 256 << 10

// newParquetConfig sets the writer properties: the codec, statistics on,
// and dictionary encoding only for byte-array (string and binary) leaves.
// Dictionaries on high-cardinality numbers cost ~30% of write time and grew
// files in our measurements (notes/engines.md §4), and low-cardinality
// numbers compress well enough without them. Top-level string columns that
// turn out nearly unique get none either (see decideDictionaries).
func newParquetConfig(s *arrow.Schema, o Options, mem memory.Allocator) (*parquetConfig, error) {
	codec, err := parquetCodec(o.Compression)
	if err != nil {
		return nil, err
	}
	base := []parquet.WriterProperty{
		parquet.WithAllocator(mem),
		parquet.WithCompression(codec),
		parquet.WithStats(true),
		parquet.WithDictionaryDefault(false),
		parquet.WithCreatedBy("sluice version " + o.Version),
		parquet.WithDataPageSize(dataPageSize),
	}
	aprops := pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema())
	pqs, err := pqarrow.ToParquet(s, parquet.NewWriterProperties(base...), aprops)
	if err != nil {
		return nil, fmt.Errorf("write: parquet schema: %w", err)
	}
	c := &parquetConfig{schema: s, aprops: aprops, runID: o.RunID, vers: o.Version, base: base}
	var dict []parquet.WriterProperty
	for i := 0; i < pqs.NumColumns(); i++ {
		col := pqs.Column(i)
		if col.PhysicalType() != parquet.Types.ByteArray {
			continue
		}
		dict = append(dict, parquet.WithDictionaryFor(col.Path(), true))
		if f := s.FieldIndices(col.Path()); len(f) == 1 && isFlatBinary(s.Field(f[0]).Type) {
			c.dictCols = append(c.dictCols, dictCol{field: f[0], path: col.Path()})
		}
	}
	c.props = parquet.NewWriterProperties(append(base[:len(base):len(base)], dict...)...)
	return c, nil
}

func isFlatBinary(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.BINARY, arrow.LARGE_STRING, arrow.LARGE_BINARY:
		return true
	}
	return false
}

// Dictionary sampling: a column whose first dictSample values are more than
// half distinct is written without a dictionary. arrow-go hashes every
// value into the dictionary until it passes the dictionary page limit
// (1 MiB) and only then falls back to plain encoding, in every row group
// again: for ids, sessions and free text that hashing is wasted, about a
// tenth of the write time of the wide benchmark data. Fewer than
// dictMinSample non-null values say too little, and keep the dictionary.
const (
	dictSample    = 8 << 10
	dictMinSample = 2 << 10
)

// decideDictionaries settles, on the first batch the Writer gets, which
// top-level string columns get a dictionary in this Writer's files.
func (c *parquetConfig) decideDictionaries(rec arrow.RecordBatch) {
	if c.decided {
		return
	}
	c.decided = true
	var props []parquet.WriterProperty
	for _, dc := range c.dictCols {
		props = append(props, parquet.WithDictionaryFor(dc.path, !nearlyUnique(rec.Column(dc.field))))
	}
	c.props = parquet.NewWriterProperties(append(c.base[:len(c.base):len(c.base)], props...)...)
}

// nearlyUnique reports whether more than half of the first dictSample
// non-null values of a string or binary array are distinct, on at least
// dictMinSample of them.
func nearlyUnique(a arrow.Array) bool {
	seed := maphash.MakeSeed()
	var hash func(int) uint64
	switch v := a.(type) {
	case *array.String:
		hash = func(i int) uint64 { return maphash.String(seed, v.Value(i)) }
	case *array.LargeString:
		hash = func(i int) uint64 { return maphash.String(seed, v.Value(i)) }
	case *array.Binary:
		hash = func(i int) uint64 { return maphash.Bytes(seed, v.Value(i)) }
	case *array.LargeBinary:
		hash = func(i int) uint64 { return maphash.Bytes(seed, v.Value(i)) }
	default:
		return false
	}
	seen := make(map[uint64]struct{}, dictSample)
	n := 0
	for i := 0; i < a.Len() && n < dictSample; i++ {
		if a.IsNull(i) {
			continue
		}
		n++
		seen[hash(i)] = struct{}{}
	}
	return n >= dictMinSample && 2*len(seen) > n
}

// parquetFile writes one Parquet file with buffered row groups whose
// boundaries it chooses itself from RowGroupSize and the average row width
// seen so far (MaxRowGroupLength is fixed per file, the width is not).
type parquetFile struct {
	w      *Writer
	cw     *countingWriter
	fw     *pqarrow.FileWriter
	rgRows int64 // rows in the open row group
	rgRaw  int64 // their uncompressed bytes
	closed bool
}

func (c *parquetConfig) newFile(w *Writer, out io.Writer) (encoder, error) {
	cw := out.(*countingWriter)
	fw, err := pqarrow.NewFileWriter(c.schema, cw, c.props, c.aprops)
	if err != nil {
		return nil, err
	}
	if err := fw.AppendKeyValueMetadata(MetaVersion, c.vers); err != nil {
		fw.Close()
		return nil, err
	}
	if err := fw.AppendKeyValueMetadata(MetaRunID, c.runID); err != nil {
		fw.Close()
		return nil, err
	}
	return &parquetFile{w: w, cw: cw, fw: fw}, nil
}

// rowWidth is the running average uncompressed bytes per row.
func (w *Writer) rowWidth() float64 {
	return float64(w.rawSeen) / float64(w.rowsSeen)
}

// ratio is compressed/uncompressed over the row groups closed so far
// (1 before the first: it only makes the first file roll early if a file
// fits in less than one row group).
func (w *Writer) ratio() float64 {
	if w.rawFlushed == 0 || w.bytesFlushed == 0 {
		return 1
	}
	return float64(w.bytesFlushed) / float64(w.rawFlushed)
}

// rowGroupTarget converts RowGroupSize to rows at the current row width.
func (w *Writer) rowGroupTarget() int64 {
	return max(int64(float64(w.o.RowGroupSize)/w.rowWidth()), 1)
}

func (p *parquetFile) write(rec arrow.RecordBatch) error {
	n := rec.NumRows()
	for off := int64(0); off < n; {
		target := p.w.rowGroupTarget()
		if p.rgRows >= target {
			if err := p.flush(); err != nil {
				return err
			}
		}
		k := min(n-off, target-p.rgRows)
		s := rec
		if off != 0 || k != n {
			s = rec.NewSlice(off, off+k)
		}
		raw := recordRawSize(s)
		err := p.fw.WriteBuffered(s)
		if s != rec {
			s.Release()
		}
		if err != nil {
			return err
		}
		p.rgRows += k
		p.rgRaw += raw
		off += k
	}
	return nil
}

// flush closes the open row group, which writes its pages to the upload.
// The next write opens a new one (a forced flush on a file that then gets
// no more rows leaves an empty row group at the end, which readers accept).
func (p *parquetFile) flush() error {
	if p.rgRows == 0 {
		return nil
	}
	before := p.cw.n
	if err := p.fw.NewBufferedRowGroupChecked(); err != nil {
		return err
	}
	p.w.rawFlushed += p.rgRaw
	p.w.bytesFlushed += p.cw.n - before
	p.rgRows, p.rgRaw = 0, 0
	return p.cw.err
}

func (p *parquetFile) size() int64 {
	return p.cw.n + int64(float64(p.rgRaw)*p.w.ratio())
}

func (p *parquetFile) bytesPerRow() float64 {
	return max(p.w.rowWidth()*p.w.ratio(), 1e-3)
}

func (p *parquetFile) buffered() int64 { return p.rgRaw }

func (p *parquetFile) close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	if p.rgRaw > 0 {
		p.w.rawFlushed += p.rgRaw
		defer func(before int64) { p.w.bytesFlushed += p.cw.n - before }(p.cw.n)
	}
	p.rgRows, p.rgRaw = 0, 0
	if err := p.fw.Close(); err != nil {
		return err
	}
	return p.cw.err
}
