package decode

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
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

// hostileSchema is what the hostile tests read from hostileParquet.
var hostileSchema = sch(field("a", arrow.PrimitiveTypes.Int64, false), field("s", arrow.BinaryTypes.String, true))

// hostileParquet is a small honest file to lie with: 400 rows in row groups
// of 200, column "a" (int64, PLAIN) and "s" (strings, dictionary-encoded:
// page 0 of its chunk is the dictionary page, page 1 the data page).
func hostileParquet(t *testing.T) []byte {
	t.Helper()
	return hostileParquetWith(t)
}

func hostileParquetWith(t *testing.T, opts ...parquet.WriterProperty) []byte {
	t.Helper()
	b := array.NewRecordBuilder(memory.NewGoAllocator(), hostileSchema)
	defer b.Release()
	for i := range 400 {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("value number " + strconv.Itoa(i%3))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return encodeParquet(t, rec, parquet.NewWriterProperties(append([]parquet.WriterProperty{parquet.WithMaxRowGroupLength(200)}, opts...)...), pqarrow.DefaultWriterProps())
}

// readHostile reads all of file as hostileSchema.
func readHostile(t *testing.T, file []byte, o Options) ([]string, error) {
	t.Helper()
	o.Key, o.Schema, o.Alloc = "lies.parquet", hostileSchema, checked(t)
	r, err := NewParquet(context.Background(), bytes.NewReader(file), int64(len(file)), o, nil)
	if err != nil {
		return nil, err
	}
	rows, _, err := collect(t, r, nil)
	return rows, err
}

// TestParquetLies reads files whose footer or page headers lie about a size
// or a count, one lie each. Every one must be an error naming the lie,
// before anything is allocated for it: the 1 TiB chunk used to end the
// process with "fatal error: runtime: out of memory", the -1 row counts to
// read as fewer rows without an error.
func TestParquetLies(t *testing.T) {
	honest := hostileParquet(t)
	snappyFile := hostileParquetWith(t, parquet.WithCompression(compress.Codecs.Snappy))
	size := int64(len(honest))
	footer := func(edit func(fm *tval)) func() []byte {
		return func() []byte { return editFooter(t, honest, edit) }
	}
	chunk := func(rg, col int, id int16, x int64) func() []byte {
		return footer(func(fm *tval) { chunkMeta(t, fm, rg, col).set(id, tI64, x) })
	}
	page := func(col, pg int, edit func(h *tval)) func() []byte {
		return func() []byte { return editPage(t, honest, 1, col, pg, edit) }
	}
	cases := []struct {
		name string
		file func() []byte
		want string
	}{
		{"chunk of 1 TiB", chunk(0, 0, cmComp, 1<<40), `row group 0, column "a": the footer places its 1099511627776 bytes at offset 4, outside the object`},
		{"chunk of 64 GiB", chunk(1, 1, cmComp, 64<<30), `row group 1, column "s": the footer places its 68719476736 bytes`},
		{"chunk of -1 bytes", chunk(0, 0, cmComp, -1), `the footer places its -1 bytes`},
		{"chunk past the end", chunk(1, 0, cmDataPage, size+10), "outside the object"},
		{"chunk at a negative offset", chunk(1, 0, cmDataPage, -4), "outside the object"},
		{"dictionary page past the end", chunk(0, 1, cmDictPage, size+1), `column "s": dictionary page offset`},
		{"row group of -1 rows", footer(func(fm *tval) { fm.at(t, fmRowGroups, 1).set(rgNumRows, tI64, -1) }), "row group 1: the footer says it has -1 rows"},
		{"row group of 2^40 rows", footer(func(fm *tval) {
			fm.at(t, fmRowGroups, 0).set(rgNumRows, tI64, 1<<40)
		}), `row group 0, column "a": the footer says it holds 200 values, but the row group has 1099511627776 rows`},
		{"column of -1 values", chunk(0, 0, cmNumValues, -1), `column "a": the footer says it holds -1 values`},
		{"column with more values than rows", chunk(0, 1, cmNumValues, 201), `holds 201 values, but the row group has 200 rows`},
		{"chunk in another file", footer(func(fm *tval) {
			cc := fm.at(t, fmRowGroups, 0, rgColumns, 1)
			cc.fields = append([]tfield{{id: 1, v: tval{typ: tBinary, b: []byte("../../etc/other.parquet")}}}, cc.fields...)
		}), `its data is in another file ("../../etc/other.parquet")`},
		{"row group with a column too many", footer(func(fm *tval) {
			cols := fm.at(t, fmRowGroups, 0, rgColumns)
			cols.list = append(cols.list, cols.list[0])
		}), "row group 0 has 3 column chunks, the schema 2 columns"},
		{"page longer than its chunk", page(0, 0, func(h *tval) { h.set(phComp, tI32, 1<<30) }), `row group 1, column "a", page at chunk offset 0: the page header says 1073741824 bytes follow`},
		{"page of negative size", page(0, 0, func(h *tval) { h.set(phUncomp, tI32, -7) }), "negative page size"},
		{"page of 1 GiB uncompressed", page(0, 0, func(h *tval) { h.set(phUncomp, tI32, 1<<30) }), "an uncompressed page of 1600 bytes says it is 1073741824 bytes uncompressed"},
		{"page past the memory limit", func() []byte {
			return editPage(t, snappyFile, 1, 0, 0, func(h *tval) { h.set(phUncomp, tI32, 1<<30+1) })
		}, "a page of 1073741825 bytes uncompressed is larger than the memory limit (1073741824 bytes)"},
		{"dictionary of 2^31-1 values", page(1, 0, func(h *tval) { h.at(t, phDict).set(dphNumVals, tI32, 1<<31-1) }), "a dictionary of 2147483647 values"},
		{"dictionary longer than its page", page(1, 0, func(h *tval) { h.at(t, phDict).set(dphNumVals, tI32, 100_000) }), "a dictionary of 100000 values cannot fit in its"},
		{"data page of 2^31-1 values", page(1, 1, func(h *tval) { h.at(t, phData).set(dphNumVals, tI32, 1<<31-1) }), `column "s": its pages hold 2147483647 values, the footer says 200`},
		{"data page of fewer values", page(0, 0, func(h *tval) { h.at(t, phData).set(dphNumVals, tI32, 150) }), `column "a": its pages hold 150 values, the footer says 200`},
		{"data page of -1 values", page(0, 0, func(h *tval) { h.at(t, phData).set(dphNumVals, tI32, -1) }), "a data page of -1 values"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := c.file()
			rows, err := readHostile(t, file, Options{})
			var ce *CorruptParquetError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "lies.parquet: parquet: corrupt file: ") {
				t.Fatalf("err = %v (%d rows), want a CorruptParquetError saying %q", err, len(rows), c.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
	// The honest file reads, and its footer passes the planner's read.
	if rows, err := readHostile(t, honest, Options{}); err != nil || len(rows) != 400 {
		t.Fatalf("honest file: %d rows, %v", len(rows), err)
	}
	// The file's own row count is not used (real writers get it wrong):
	// reading, and counting rows without reading a column, go by the row
	// groups, whatever it says.
	for _, n := range []int64{-1, 0, 1 << 40} {
		file := footer(func(fm *tval) { fm.set(fmNumRows, tI64, n) })()
		if rows, err := readHostile(t, file, Options{}); err != nil || len(rows) != 400 {
			t.Fatalf("file num_rows %d: %d rows, %v", n, len(rows), err)
		}
		r, err := NewParquet(context.Background(), bytes.NewReader(file), int64(len(file)), Options{Key: "k", Schema: sch(), Alloc: checked(t)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, batches, err := collect(t, r, nil); err != nil || batches != 1 {
			t.Fatalf("count only, file num_rows %d: %d batches, %v", n, batches, err)
		}
	}
	// Footer lies are found when the planner reads the footer, too.
	lie := chunk(0, 0, cmComp, 1<<40)()
	if _, _, err := ReadParquetSchema(bytes.NewReader(lie), int64(len(lie)), "lies.parquet"); err == nil || !strings.Contains(err.Error(), "outside the object") {
		t.Fatalf("ReadParquetSchema: %v", err)
	}
}

// TestParquetStringLengthLies: a PLAIN string's 4-byte length past its page
// is an error from arrow-go itself (it checks against the page's bytes).
func TestParquetStringLengthLies(t *testing.T) {
	s := sch(field("s", arrow.BinaryTypes.String, false))
	b := array.NewRecordBuilder(memory.NewGoAllocator(), s)
	defer b.Release()
	for range 10 {
		b.Field(0).(*array.StringBuilder).Append("abc")
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	honest := encodeParquet(t, rec, parquet.NewWriterProperties(parquet.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps())
	fm := footerOf(t, honest)
	off := chunkStart(t, chunkMeta(t, &fm, 0, 0))
	_, n := pageAt(t, honest, off)
	for _, l := range []uint32{40, 1<<31 - 1, 1 << 31, 1<<32 - 1} {
		file := bytes.Clone(honest)
		binary.LittleEndian.PutUint32(file[off+int64(n):], l) // the first string's length
		r, err := NewParquet(context.Background(), bytes.NewReader(file), int64(len(file)), Options{Key: "k", Schema: s, Alloc: checked(t)}, nil)
		if err == nil {
			_, _, err = collect(t, r, nil)
		}
		if err == nil || !strings.Contains(err.Error(), "bytearray") && !strings.Contains(err.Error(), "BYTE_ARRAY") {
			t.Errorf("length %d: err = %v", l, err)
		}
	}
}

// TestParquetMemoryLimit: a column chunk is read whole, so one larger than
// the memory limit is refused before it is read; so is a page.
func TestParquetMemoryLimit(t *testing.T) {
	honest := hostileParquet(t)
	_, err := readHostile(t, honest, Options{MemoryLimit: 1000})
	if err == nil || !strings.Contains(err.Error(), `column chunk of 1`) || !strings.Contains(err.Error(), "is larger than the memory limit (1000 bytes)") {
		t.Fatalf("err = %v", err)
	}
}

// TestParquetLevelBomb is a file that is consistent in every count it
// states but expands a few bytes into 2^24 list elements: one row whose list
// is one run-length-encoded run of repetition levels, its values one run of
// dictionary index 0. Nothing in the footer or the page headers is a lie, so
// only the allocator's limit (limitAllocator) stops it: reading must fail
// with the memory limit, not allocate 128 MiB and more.
func TestParquetLevelBomb(t *testing.T) {
	s := sch(field("l", arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int64), false))
	b := array.NewRecordBuilder(memory.NewGoAllocator(), s)
	defer b.Release()
	lb := b.Field(0).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{7, 7, 7}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	honest := encodeParquet(t, rec, parquet.NewWriterProperties(parquet.WithDictionaryDefault(true), parquet.WithDictionaryCostFallbackFor("l.list.element", false)), pqarrow.DefaultWriterProps())

	const n = 1 << 24
	// rep levels: one 0 then n-1 ones; def levels: n ones (bit width 1);
	// values: dictionary indices of bit width 1, n zeros.
	rle := func(runs ...[2]int) []byte {
		var out []byte
		for _, r := range runs {
			out = binary.AppendUvarint(out, uint64(r[0])<<1)
			out = append(out, byte(r[1]))
		}
		return out
	}
	levels := func(b []byte) []byte { return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...) }
	body := levels(rle([2]int{1, 0}, [2]int{n - 1, 1}))
	body = append(body, levels(rle([2]int{n, 1}))...)
	body = append(body, 1)
	body = append(body, rle([2]int{n, 0})...)

	fm := footerOf(t, honest)
	if h, _ := pageAt(t, honest, chunkStart(t, chunkMeta(t, &fm, 0, 0))); h.field(phDict) == nil {
		t.Fatal("the list values are not dictionary-encoded")
	}
	bomb := replacePage(t, honest, 0, 0, 1, body, func(h *tval) { h.at(t, phData).set(dphNumVals, tI32, n) })
	bomb = editFooter(t, bomb, func(fm *tval) { chunkMeta(t, fm, 0, 0).set(cmNumValues, tI64, n) })

	o := Options{Key: "bomb.parquet", Schema: s, Alloc: checked(t)}
	o.MemoryLimit = 64 << 20
	_, err := func() ([]string, error) {
		r, err := NewParquet(context.Background(), bytes.NewReader(bomb), int64(len(bomb)), o, nil)
		if err != nil {
			return nil, err
		}
		rows, _, err := collect(t, r, nil)
		return rows, err
	}()
	if err == nil || !strings.Contains(err.Error(), "more than the memory limit (67108864 bytes)") {
		t.Fatalf("err = %v", err)
	}
	// The same file with n = 2^24 is readable within a larger limit: the
	// limit, not the shape, refused it.
	if testing.Short() {
		return
	}
	o.MemoryLimit = 1 << 30
	r, err := NewParquet(context.Background(), bytes.NewReader(bomb), int64(len(bomb)), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec1, err := r.Next()
	if err != nil {
		t.Fatalf("with 1 GiB: %v", err)
	}
	defer rec1.Release()
	if l := rec1.Column(0).(*array.List); l.Len() != 1 || l.ListValues().Len() != n {
		t.Fatalf("with 1 GiB: %d rows, %d elements", l.Len(), l.ListValues().Len())
	}
}

// TestHostileFixtures keeps the lying files of the CLI test
// (interop/e2e/testdata/hostile/) equal to what this package's tools make
// of hostileParquet; -update rewrites them.
func TestHostileFixtures(t *testing.T) {
	honest := hostileParquet(t)
	fixtures := map[string][]byte{
		"honest.parquet":             honest,
		"chunk-1tib.parquet":         editFooter(t, honest, func(fm *tval) { chunkMeta(t, fm, 0, 0).set(cmComp, tI64, 1<<40) }),
		"chunk-64gib.parquet":        editFooter(t, honest, func(fm *tval) { chunkMeta(t, fm, 1, 1).set(cmComp, tI64, 64<<30) }),
		"rowgroup-minus-1.parquet":   editFooter(t, honest, func(fm *tval) { fm.at(t, fmRowGroups, 1).set(rgNumRows, tI64, -1) }),
		"dictionary-2g-vals.parquet": editPage(t, honest, 1, 1, 0, func(h *tval) { h.at(t, phDict).set(dphNumVals, tI32, 1<<31-1) }),
	}
	dir := filepath.Join("..", "..", "interop", "e2e", "testdata", "hostile")
	for name, data := range fixtures {
		p := filepath.Join(dir, name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s differs from what this test makes (go test -run TestHostileFixtures -update): %v", p, err)
		}
	}
}
