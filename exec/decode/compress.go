package decode

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/sluicedata/sluice/spec"
)

// Codec is a concrete compression codec of an input stream.
type Codec int

// Codecs detected or named by Decompress.
const (
	CodecNone Codec = iota
	CodecGzip
	CodecZstd
	CodecSnappy
	CodecBzip2
)

func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecZstd:
		return "zstd"
	case CodecSnappy:
		return "snappy"
	case CodecBzip2:
		return "bzip2"
	}
	return fmt.Sprintf("Codec(%d)", int(c))
}

// CodecError is a failure to decompress: the stream is truncated or corrupt.
// Offset is how many compressed bytes had been consumed when it was found.
type CodecError struct {
	Key    string
	Codec  Codec
	Offset int64
	Err    error
}

func (e *CodecError) Error() string {
	return fmt.Sprintf("%s: %s: %v at byte %d", e.Key, e.Codec, e.Err, e.Offset)
}

func (e *CodecError) Unwrap() error { return e.Err }

var (
	magicGzip   = []byte{0x1f, 0x8b}
	magicZstd   = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicSnappy = []byte("\xff\x06\x00\x00sNaPpY")
	magicBzip2  = []byte("BZh")
)

// CodecByExtension returns the codec named by key's extension, if any.
func CodecByExtension(key string) (Codec, bool) {
	k := strings.ToLower(key)
	switch {
	case strings.HasSuffix(k, ".gz"), strings.HasSuffix(k, ".gzip"):
		return CodecGzip, true
	case strings.HasSuffix(k, ".zst"), strings.HasSuffix(k, ".zstd"):
		return CodecZstd, true
	case strings.HasSuffix(k, ".sz"), strings.HasSuffix(k, ".snappy"):
		return CodecSnappy, true
	case strings.HasSuffix(k, ".bz2"):
		return CodecBzip2, true
	}
	return CodecNone, false
}

// CodecByMagic returns the codec whose magic bytes start p, or CodecNone.
func CodecByMagic(p []byte) Codec {
	switch {
	case bytes.HasPrefix(p, magicGzip):
		return CodecGzip
	case bytes.HasPrefix(p, magicZstd):
		return CodecZstd
	case bytes.HasPrefix(p, magicSnappy):
		return CodecSnappy
	case bytes.HasPrefix(p, magicBzip2) && len(p) >= 4 && p[3] >= '1' && p[3] <= '9':
		// "BZh" plus a block-size digit: "BZh" alone could start a text line.
		return CodecBzip2
	}
	return CodecNone
}

// Decompress returns the decompressed stream of r, an object named key.
// c = spec.CompressionAuto picks the codec by key's extension (.gz .zst .sz
// .snappy .bz2), else by magic bytes, else reads r as is. Multi-member gzip
// is read whole. Snappy means the framing format ("sNaPpY"), not raw blocks.
//
// Read errors from the codec are *CodecError values naming key, the codec
// and the compressed byte offset. Closing the result does not close r.
//
// Known limit: a snappy-framed stream cut exactly at a chunk boundary is
// indistinguishable from a complete one (the format has no end marker).
func Decompress(r io.Reader, key string, c spec.Compression) (io.ReadCloser, error) {
	var codec Codec
	switch c {
	case spec.CompressionNone:
		return io.NopCloser(r), nil
	case spec.CompressionGzip:
		codec = CodecGzip
	case spec.CompressionZstd:
		codec = CodecZstd
	case spec.CompressionSnappy:
		codec = CodecSnappy
	case spec.CompressionBzip2:
		codec = CodecBzip2
	case spec.CompressionAuto, 0:
		if ext, ok := CodecByExtension(key); ok {
			codec = ext
			break
		}
		if mem, ok := r.(*bytes.Reader); ok {
			// A whole object in memory (the executor's case): peek with
			// ReadAt instead of copying it through a buffer per object.
			head := make([]byte, len(magicSnappy))
			n, _ := mem.ReadAt(head, mem.Size()-int64(mem.Len()))
			codec = CodecByMagic(head[:n])
			if codec == CodecNone {
				return io.NopCloser(mem), nil
			}
			break
		}
		br := bufio.NewReaderSize(r, 64<<10)
		head, err := br.Peek(len(magicSnappy))
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%s: read: %w", key, err)
		}
		codec = CodecByMagic(head)
		if codec == CodecNone {
			return io.NopCloser(br), nil
		}
		r = br
	default:
		return nil, fmt.Errorf("%s: unknown compression %d", key, int(c))
	}
	return newCodecReader(r, key, codec)
}

// IsCompressed reports whether key or the first bytes of data name a codec.
func IsCompressed(key string, data []byte) bool {
	if c, ok := CodecByExtension(key); ok {
		return c != CodecNone
	}
	return CodecByMagic(data) != CodecNone
}

// Pools of decompressors, reused across objects and tasks.
var (
	gzipPool sync.Pool // *gzip.Reader
	zstdPool sync.Pool // *zstd.Decoder
)

// countingReader counts the compressed bytes handed to the codec, for error offsets.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// byteCountingReader keeps io.ByteReader for codecs (gzip, flate) that would
// otherwise wrap the source in their own bufio.Reader and over-read.
type byteCountingReader struct {
	src interface {
		io.Reader
		io.ByteReader
	}
	n int64
}

func (c *byteCountingReader) Read(p []byte) (int, error) {
	n, err := c.src.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *byteCountingReader) ReadByte() (byte, error) {
	b, err := c.src.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

type codecReader struct {
	key    string
	codec  Codec
	count  func() int64
	r      io.Reader
	close  func()
	err    error
	closed bool
}

func newCodecReader(src io.Reader, key string, codec Codec) (io.ReadCloser, error) {
	cr := &codecReader{key: key, codec: codec}
	switch codec {
	case CodecGzip:
		bc := &byteCountingReader{}
		switch br := src.(type) {
		case *bufio.Reader:
			bc.src = br
		case *bytes.Reader:
			bc.src = br
		default:
			bc.src = bufio.NewReaderSize(src, 64<<10)
		}
		cr.count = func() int64 { return bc.n }
		// gzip readers hold a 32 KiB window and Huffman tables: reuse them,
		// one object after another, rather than allocate per object.
		zr, _ := gzipPool.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(bc)
		} else {
			err = zr.Reset(bc)
		}
		if err != nil {
			return nil, cr.wrap(normalizeEOF(err))
		}
		cr.r = zr
		cr.close = func() {
			_ = zr.Close()
			gzipPool.Put(zr)
		}
	case CodecZstd:
		cnt := &countingReader{r: src}
		cr.count = func() int64 { return cnt.n }
		zr, _ := zstdPool.Get().(*zstd.Decoder)
		var err error
		if zr == nil {
			zr, err = zstd.NewReader(cnt, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		} else {
			err = zr.Reset(cnt)
		}
		if err != nil {
			return nil, cr.wrap(err)
		}
		cr.r = zr
		cr.close = func() {
			// Reset(nil) releases the source but keeps the decoder's
			// buffers for the next object (Close would free them).
			_ = zr.Reset(nil)
			zstdPool.Put(zr)
		}
	case CodecSnappy:
		cnt := &countingReader{r: src}
		cr.count = func() int64 { return cnt.n }
		// The s2 reader reads the snappy framing format too; it checks
		// each chunk's CRC.
		cr.r = s2.NewReader(cnt)
		cr.close = func() {}
	case CodecBzip2:
		cnt := &countingReader{r: src}
		cr.count = func() int64 { return cnt.n }
		cr.r = bzip2.NewReader(cnt)
		cr.close = func() {}
	default:
		return io.NopCloser(src), nil
	}
	return cr, nil
}

func normalizeEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (c *codecReader) wrap(err error) error {
	return &CodecError{Key: c.key, Codec: c.codec, Offset: c.count(), Err: err}
}

func (c *codecReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.closed {
		return 0, fmt.Errorf("%s: read after close", c.key)
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.err = c.wrap(err)
		return n, c.err
	}
	return n, err
}

func (c *codecReader) Close() error {
	if !c.closed {
		c.closed = true
		c.close()
	}
	return nil
}
