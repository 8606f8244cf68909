package write

import (
	"bytes"
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// wideBatches generates rows [0, n) in batches of size per.
func wideBatches(mem memory.Allocator, s *arrow.Schema, n, per int) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	for start := 0; start < n; start += per {
		out = append(out, wideBatch(mem, s, start, min(per, n-start)))
	}
	return out
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

func TestRollOver(t *testing.T) {
	mem := checked(t)
	st := newStore(t)
	s := wideSchema()
	recs := wideBatches(mem, s, 50000, 5000)
	defer releaseAll(recs)
	o := baseOptions(st, spec.FormatParquet, mem)
	const target = 1 << 20
	o.TargetFileSize = target
	o.RowGroupSize = 256 << 10
	files := writeAll(t, s, o, recs...)
	if len(files) < 3 {
		t.Fatalf("%d files: want several of about %d bytes", len(files), target)
	}
	var rows int64
	for i, f := range files {
		rows += f.Rows
		lo := int64(target * 3 / 4)
		if i == len(files)-1 {
			lo = 1
		}
		if f.Bytes < lo || f.Bytes > target*5/4 {
			t.Errorf("%s: %d bytes, want about %d", f.Key, f.Bytes, target)
		}
	}
	if rows != 50000 {
		t.Fatalf("%d rows written, want 50000", rows)
	}
	// Files follow each other: reading them in order gives the input back.
	completeAll(t, st, files)
	var got []arrow.RecordBatch
	for _, f := range files {
		rec, pf := readParquet(t, st, f.Key, mem)
		pf.Close()
		got = append(got, rec)
	}
	defer releaseAll(got)
	all := concatBatches(t, mem, s, got)
	defer all.Release()
	want := concatBatches(t, mem, s, recs)
	defer want.Release()
	assertBatchesEqual(t, want, all)
}

func TestTextRollOver(t *testing.T) {
	for _, codec := range []spec.Compression{spec.CompressionNone, spec.CompressionGzip} {
		mem := checked(t)
		st := newStore(t)
		s := wideSchema()
		recs := wideBatches(mem, s, 20000, 2000)
		o := baseOptions(st, spec.FormatJSON, mem)
		o.Compression = codec
		const target = 512 << 10
		o.TargetFileSize = target
		files := writeAll(t, s, o, recs...)
		releaseAll(recs)
		var rows int64
		for i, f := range files {
			rows += f.Rows
			if f.Bytes > target*5/4 || (i < len(files)-1 && f.Bytes < target*3/4) {
				t.Errorf("codec %d: %s: %d bytes, want about %d", codec, f.Key, f.Bytes, target)
			}
		}
		if len(files) < 2 || rows != 20000 {
			t.Errorf("codec %d: %d files, %d rows", codec, len(files), rows)
		}
	}
}

func TestRowGroupSize(t *testing.T) {
	mem := checked(t)
	st := newStore(t)
	s := wideSchema()
	recs := wideBatches(mem, s, 40000, 3000)
	defer releaseAll(recs)
	var raw int64
	for _, r := range recs {
		raw += recordRawSize(r)
	}
	o := baseOptions(st, spec.FormatParquet, mem)
	o.RowGroupSize = 512 << 10
	files := writeAll(t, s, o, recs...)
	if len(files) != 1 {
		t.Fatalf("%d files, want 1 (no target size)", len(files))
	}
	completeAll(t, st, files)
	rec, pf := readParquet(t, st, files[0].Key, mem)
	defer pf.Close()
	rec.Release()
	md := pf.MetaData()
	want := float64(raw) / float64(o.RowGroupSize)
	if n := float64(md.NumRowGroups()); n < want*0.8 || n > want*1.25+1 {
		t.Fatalf("%d row groups, want about %.1f (%d raw bytes / %d)", md.NumRowGroups(), want, raw, o.RowGroupSize)
	}
	first := md.RowGroup(0).NumRows()
	for i := 1; i < md.NumRowGroups()-1; i++ {
		if n := md.RowGroup(i).NumRows(); n < first*3/4 || n > first*5/4 {
			t.Errorf("row group %d: %d rows, first had %d", i, n, first)
		}
	}
	checkDictionaries(t, md.RowGroup(0), s)
}

// Data pages close at dataPageSize uncompressed bytes (the writer checks
// after every 1,024 values, so a page may pass it by one such batch).
func TestDataPageSize(t *testing.T) {
	mem := checked(t)
	st := newStore(t)
	s := wideSchema()
	recs := wideBatches(mem, s, 200000, 20000)
	defer releaseAll(recs)
	files := writeAll(t, s, baseOptions(st, spec.FormatParquet, mem), recs...)
	completeAll(t, st, files)
	pf, err := file.NewParquetReader(bytes.NewReader(readAll(t, st, files[0].Key)))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	pr, err := pf.RowGroup(0).GetColumnPageReader(0) // id, int64: 1.6 MB plain
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for pr.Next() {
		if _, ok := pr.Page().(*file.DataPageV1); !ok {
			continue // the dictionary page
		}
		pages++
		if n := len(pr.Page().Data()); n > dataPageSize+8<<10 {
			t.Errorf("data page of %d bytes, want at most %d", n, dataPageSize)
		}
	}
	if err := pr.Err(); err != nil {
		t.Fatal(err)
	}
	if pages < 1600000/dataPageSize {
		t.Errorf("%d data pages for 1.6 MB, want at least %d", pages, 1600000/dataPageSize)
	}
}

// checkDictionaries: low-cardinality strings are dictionary-encoded,
// numbers never are.
func checkDictionaries(t *testing.T, rg *metadata.RowGroupMetaData, s *arrow.Schema) {
	t.Helper()
	for c := 0; c < rg.NumColumns(); c++ {
		cc, err := rg.ColumnChunk(c)
		if err != nil {
			t.Fatal(err)
		}
		dict := cc.HasDictionaryPage()
		switch s.Field(c).Type.ID() {
		case arrow.STRING:
			if s.Field(c).Name == "c09" && !dict {
				t.Errorf("%s: low-cardinality strings without dictionary", s.Field(c).Name)
			}
		default:
			if dict {
				t.Errorf("%s (%s): dictionary-encoded", s.Field(c).Name, s.Field(c).Type)
			}
		}
	}
}

// partitioned adds a partition column p = id % parts to wide batches.
func partitioned(t *testing.T, mem memory.Allocator, rec arrow.RecordBatch, parts int) arrow.RecordBatch {
	b := array.NewInt32Builder(mem)
	defer b.Release()
	ids := rec.Column(0).(*array.Int64)
	for i := 0; i < ids.Len(); i++ {
		b.Append(int32(ids.Value(i) % int64(parts)))
	}
	p := b.NewArray()
	defer p.Release()
	fs := append(append([]arrow.Field(nil), rec.Schema().Fields()...), arrow.Field{Name: "p", Type: arrow.PrimitiveTypes.Int32})
	return array.NewRecordBatch(arrow.NewSchema(fs, nil), append(append([]arrow.Array(nil), rec.Columns()...), p), rec.NumRows())
}

func TestBudgetFlushesEarly(t *testing.T) {
	var empty int
	run := func(t *testing.T, budget *Budget) (files []File, groups []int, st objstore.Store) {
		mem := checked(t)
		st = newStore(t)
		ctx := context.Background()
		var w *Writer
		for start := 0; start < 16000; start += 2000 {
			wb := wideBatch(mem, wideSchema(), start, 2000)
			rec := partitioned(t, mem, wb, 40)
			wb.Release()
			if w == nil {
				o := baseOptions(st, spec.FormatParquet, mem)
				o.PartitionBy = []string{"p"}
				o.Budget = budget
				var err error
				if w, err = New(ctx, rec.Schema(), o); err != nil {
					t.Fatal(err)
				}
			}
			err := w.Write(ctx, rec)
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
			if budget != nil && budget.Buffered() > budget.Limit() {
				t.Fatalf("after a write %d bytes buffered, limit %d", budget.Buffered(), budget.Limit())
			}
		}
		files, err := w.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		completeAll(t, st, files)
		var rows int64
		for _, f := range files {
			rows += f.Rows
			rec, pf := readParquet(t, st, f.Key, mem)
			if rec.NumRows() != f.Rows {
				t.Errorf("%s: %d rows read, %d written", f.Key, rec.NumRows(), f.Rows)
			}
			groups = append(groups, pf.NumRowGroups())
			for g := 0; g < pf.NumRowGroups(); g++ {
				if pf.MetaData().RowGroup(g).NumRows() == 0 {
					empty++
				}
			}
			rec.Release()
			pf.Close()
		}
		if rows != 16000 || len(files) != 40 {
			t.Fatalf("%d rows in %d files", rows, len(files))
		}
		return files, groups, st
	}
	_, groups, _ := run(t, nil)
	for _, g := range groups {
		if g != 1 {
			t.Fatalf("without a budget: %d row groups, want 1 per file", g)
		}
	}
	b := NewBudget(128 << 10)
	_, groups, _ = run(t, b)
	if b.Flushes() == 0 {
		t.Fatal("the budget never forced a flush")
	}
	several := 0
	for _, g := range groups {
		if g > 1 {
			several++
		}
	}
	if several == 0 {
		t.Fatalf("with a budget of %d bytes no file got more than one row group", b.Limit())
	}
	if b.Buffered() != 0 {
		t.Fatalf("%d bytes still counted after Close", b.Buffered())
	}
	t.Logf("%d forced flushes, %d empty trailing row groups", b.Flushes(), empty)
}

// TestBudgetAcrossWriters: the largest buffer belongs to another writer,
// which flushes it at its next Write.
func TestBudgetAcrossWriters(t *testing.T) {
	mem := checked(t)
	st := newStore(t)
	ctx := context.Background()
	s := wideSchema()
	big := wideBatch(mem, s, 0, 3000)
	defer big.Release()
	small := wideBatch(mem, s, 3000, 1000)
	defer small.Release()
	limit := recordRawSize(big) + recordRawSize(small)/2
	b := NewBudget(limit)
	newW := func(task int) *Writer {
		o := baseOptions(st, spec.FormatParquet, mem)
		o.Task, o.Budget = task, b
		w, err := New(ctx, s, o)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	wa, wb := newW(1), newW(2)
	if err := wb.Write(ctx, big); err != nil { // B holds the big buffer, under the limit
		t.Fatal(err)
	}
	if err := wa.Write(ctx, small); err != nil { // A pushes the total over it
		t.Fatal(err)
	}
	if !wb.order[0].flushReq.Load() {
		t.Fatal("B's buffer, the largest, was not marked for flushing")
	}
	if err := wb.Write(ctx, small); err != nil { // B flushes first, then buffers small
		t.Fatal(err)
	}
	for _, w := range []*Writer{wa, wb} {
		files, err := w.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		completeAll(t, st, files)
		if w == wb {
			rec, pf := readParquet(t, st, files[0].Key, mem)
			if pf.NumRowGroups() != 2 || pf.MetaData().RowGroup(0).NumRows() != 3000 {
				t.Errorf("B: %d row groups, want the marked one closed early", pf.NumRowGroups())
			}
			rec.Release()
			pf.Close()
		}
	}
	if b.Buffered() != 0 {
		t.Fatalf("%d bytes still counted", b.Buffered())
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	for _, f := range []spec.Format{spec.FormatParquet, spec.FormatCSV} {
		mem := checked(t)
		st := newStore(t)
		ctx := context.Background()
		var w *Writer
		for start := 0; start < 20000; start += 5000 {
			wb := wideBatch(mem, wideSchema(), start, 5000)
			rec := partitioned(t, mem, wb, 3)
			wb.Release()
			if w == nil {
				o := baseOptions(st, f, mem)
				o.PartitionBy = []string{"p"}
				o.TargetFileSize = 256 << 10
				o.RowGroupSize = 64 << 10
				o.Budget = NewBudget(1 << 20)
				var err error
				if w, err = New(ctx, rec.Schema(), o); err != nil {
					t.Fatal(err)
				}
			}
			err := w.Write(ctx, rec)
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(w.done) == 0 || len(w.order) == 0 {
			t.Fatalf("want both finished and open files before Abort: %d, %d", len(w.done), len(w.order))
		}
		if err := w.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		if ups, err := st.ListUploads(ctx, ""); err != nil || len(ups) != 0 {
			t.Fatalf("pending uploads after Abort: %v %v", ups, err)
		}
		page, err := st.List(ctx, objstore.ListInput{})
		if err != nil || len(page.Objects) != 0 || len(page.CommonPrefixes) != 0 {
			t.Fatalf("visible after Abort: %+v %v", page, err)
		}
		if err := w.Write(ctx, nil); err == nil {
			t.Fatal("Write after Abort succeeded")
		}
	}
}
