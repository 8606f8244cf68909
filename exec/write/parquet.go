package write

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
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

// newParquetConfig sets the writer properties: the codec, statistics on,
// and dictionary encoding only for byte-array (string and binary) leaves.
// Dictionaries on high-cardinality numbers cost ~30% of write time and grew
// files in our measurements (notes/engines.md §4), and low-cardinality
// numbers compress well enough without them.
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
	}
	aprops := pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema())
	pqs, err := pqarrow.ToParquet(s, parquet.NewWriterProperties(base...), aprops)
	if err != nil {
		return nil, fmt.Errorf("write: parquet schema: %w", err)
	}
	for i := 0; i < pqs.NumColumns(); i++ {
		c := pqs.Column(i)
		if c.PhysicalType() == parquet.Types.ByteArray {
			base = append(base, parquet.WithDictionaryFor(c.Path(), true))
		}
	}
	return &parquetConfig{
		schema: s, props: parquet.NewWriterProperties(base...), aprops: aprops,
		runID: o.RunID, vers: o.Version,
	}, nil
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
