package decode

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// TestParquetLZ4 reads Parquet's LZ4 codec both ways it was written:
// Hadoop-framed blocks, and a raw LZ4 block (older parquet-cpp), the
// latter made by relabelling an LZ4_RAW file's chunks as LZ4.
func TestParquetLZ4(t *testing.T) {
	s := sch(field("a", arrow.PrimitiveTypes.Int64, false), field("s", arrow.BinaryTypes.String, true))
	b := array.NewRecordBuilder(memory.NewGoAllocator(), s)
	defer b.Release()
	var want []string
	for i := range 3000 {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		v := strings.Repeat("x", i%50) + strconv.Itoa(i)
		b.Field(1).(*array.StringBuilder).Append(v)
		want = append(want, strconv.Itoa(i)+"|"+v)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	hadoop := encodeParquet(t, rec, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Lz4), parquet.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps())
	raw := encodeParquet(t, rec, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Lz4Raw), parquet.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps())
	raw = editFooter(t, raw, func(fm *tval) {
		for c := range 2 {
			chunkMeta(t, fm, 0, c).set(4, tI32, 5) // codec LZ4_RAW (7) → LZ4 (5)
		}
	})
	for name, file := range map[string][]byte{"hadoop": hadoop, "raw block": raw} {
		r, err := NewParquet(context.Background(), bytes.NewReader(file), int64(len(file)), Options{Key: "lz4.parquet", Schema: s, Alloc: checked(t)}, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rows, _, err := collect(t, r, s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		eqRows(t, rows, want)
	}
	// A page that is neither is an error, not a panic.
	bad := bytes.Clone(hadoop)
	fm := footerOf(t, bad)
	off := chunkStart(t, chunkMeta(t, &fm, 0, 1))
	_, n := pageAt(t, bad, off)
	for i := off + int64(n); i < off+int64(n)+40; i++ {
		bad[i] ^= 0xa5
	}
	r, err := NewParquet(context.Background(), bytes.NewReader(bad), int64(len(bad)), Options{Key: "lz4.parquet", Schema: s, Alloc: checked(t)}, nil)
	if err == nil {
		_, _, err = collect(t, r, s)
	}
	if err == nil {
		t.Fatal("a corrupt LZ4 page was read")
	}
}

// TestParquetEmptyV2Page: a data page v2 whose values are all null can have
// no value bytes at all; the snappy codec refused the empty input ("s2:
// corrupt input"), as on parquet-testing's datapage_v2_empty_datapage.
func TestParquetEmptyV2Page(t *testing.T) {
	s := sch(field("f", arrow.PrimitiveTypes.Float32, true))
	b := array.NewRecordBuilder(memory.NewGoAllocator(), s)
	defer b.Release()
	b.Field(0).AppendNull()
	rec := b.NewRecordBatch()
	defer rec.Release()
	file := encodeParquet(t, rec, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps())
	fm := footerOf(t, file)
	off := chunkStart(t, chunkMeta(t, &fm, 0, 0))
	h, n := pageAt(t, file, off)
	defLen, _ := h.at(t, phDataV2).int(5)
	comp, _ := h.int(phComp)
	if comp <= defLen {
		t.Fatalf("the writer stored no value bytes already (%d bytes, %d of levels)", comp, defLen)
	}
	body := file[off+int64(n) : off+int64(n)+defLen] // the levels, without the compressed empty values
	file = replacePage(t, file, 0, 0, 0, bytes.Clone(body), func(*tval) {})
	r, err := NewParquet(context.Background(), bytes.NewReader(file), int64(len(file)), Options{Key: "v2.parquet", Schema: s, Alloc: checked(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{"null"})
}
