package decode

import (
	"encoding/binary"
	"errors"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
)

// Parquet's deprecated LZ4 codec (not LZ4_RAW) is what Hadoop wrote: the
// page is a sequence of blocks, each a 4-byte big-endian decompressed size,
// a 4-byte big-endian compressed size and a raw LZ4 block. Older
// parquet-cpp wrote a raw LZ4 block under the same codec id instead, so a
// page that does not parse as Hadoop blocks is tried as one raw block,
// which is what Arrow C++ (and so DuckDB's and pyarrow's readers) do.
// arrow-go implements neither, and refused such files ("compression for LZ4
// unimplemented"); parquet-testing has three.

var codecsOnce sync.Once

// UseReadCodecs adapts arrow-go's Parquet codecs to files it refused and
// other readers read: it registers the LZ4 codec (see hadoopLZ4), and makes
// every registered codec decompress an empty page body to nothing (a data
// page v2 of only nulls can have no value bytes, and parquet-testing's
// datapage_v2_empty_datapage.snappy.parquet shows the writers that then
// store nothing, where snappy would refuse the empty input).
//
// arrow-go keeps codecs in a process-wide table it does not lock, so this
// must be called at program start, before any goroutine reads or writes
// Parquet, and after write.UseFastSnappy (it wraps the codecs registered
// when it runs).
func UseReadCodecs() {
	codecsOnce.Do(func() {
		compress.RegisterCodec(compress.Codecs.Lz4, hadoopLZ4{})
		for _, c := range []compress.Compression{compress.Codecs.Snappy, compress.Codecs.Gzip, compress.Codecs.Brotli, compress.Codecs.Zstd, compress.Codecs.Lz4Raw, compress.Codecs.Lz4} {
			codec, err := compress.GetCodec(c)
			if err != nil {
				continue
			}
			if sc, ok := codec.(streamingCodec); ok {
				compress.RegisterCodec(c, emptySafeStreaming{streamingCodec: sc})
			} else {
				compress.RegisterCodec(c, emptySafe{Codec: codec})
			}
		}
	})
}

type streamingCodec interface {
	compress.Codec
	compress.StreamingCodec
}

// emptySafe decodes an empty input to an empty output, and anything else
// as its codec does.
type emptySafe struct{ compress.Codec }

func (e emptySafe) DecodeWithError(dst, src []byte) ([]byte, error) {
	return decodeEmptySafe(e.Codec, dst, src)
}

type emptySafeStreaming struct{ streamingCodec }

func (e emptySafeStreaming) DecodeWithError(dst, src []byte) ([]byte, error) {
	return decodeEmptySafe(e.streamingCodec, dst, src)
}

func decodeEmptySafe(c compress.Codec, dst, src []byte) ([]byte, error) {
	if len(src) == 0 {
		return dst[:0], nil
	}
	return compress.Decode(c, dst, src)
}

type hadoopLZ4 struct{}

var errLZ4 = errors.New("lz4: corrupt page (neither Hadoop-framed nor a raw block)")

func lz4Raw() compress.ErrorCodec {
	c, _ := compress.GetCodec(compress.Codecs.Lz4Raw)
	return c.(compress.ErrorCodec)
}

// DecodeWithError decodes src into dst, which arrow-go sizes to the page's
// uncompressed length.
func (hadoopLZ4) DecodeWithError(dst, src []byte) ([]byte, error) {
	if out, ok := decodeHadoopLZ4(dst, src); ok {
		return out, nil
	}
	out, err := lz4Raw().DecodeWithError(dst[:cap(dst)], src)
	if err != nil {
		return nil, errLZ4
	}
	return out, nil
}

// decodeHadoopLZ4 decodes src as Hadoop blocks into dst; ok is false when
// src is not that (any size that does not add up).
func decodeHadoopLZ4(dst, src []byte) ([]byte, bool) {
	out := dst[:0]
	raw := lz4Raw()
	for len(src) > 0 {
		if len(src) < 8 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint32(src))
		c := int(binary.BigEndian.Uint32(src[4:]))
		src = src[8:]
		if c > len(src) || n > cap(dst)-len(out) {
			return nil, false
		}
		block, err := raw.DecodeWithError(out[len(out):len(out)+n], src[:c])
		if err != nil || len(block) != n {
			return nil, false
		}
		out = out[:len(out)+n]
		src = src[c:]
	}
	return out, true
}

func (h hadoopLZ4) Decode(dst, src []byte) []byte {
	out, err := h.DecodeWithError(dst, src)
	if err != nil {
		panic(err)
	}
	return out
}

// Encode writes src as one Hadoop block (sluice never writes LZ4; the
// tests do, to read it back).
func (hadoopLZ4) Encode(dst, src []byte) []byte {
	block := lz4Raw().Encode(nil, src)
	out := append(dst[:0], make([]byte, 8)...)
	binary.BigEndian.PutUint32(out, uint32(len(src)))
	binary.BigEndian.PutUint32(out[4:], uint32(len(block)))
	return append(out, block...)
}

func (h hadoopLZ4) EncodeLevel(dst, src []byte, _ int) []byte { return h.Encode(dst, src) }

func (hadoopLZ4) CompressBound(n int64) int64 { return 8 + lz4Raw().CompressBound(n) }
