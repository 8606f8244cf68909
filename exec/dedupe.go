package exec

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec"
)

// dedupeBuckets is how many parts the deduper splits a run's rows into by
// key hash: the unit of spilling and of the final reduce, so one bucket's
// surviving rows (about 1/64 of the deduplicated output) is what must fit
// in memory per worker.
const dedupeBuckets = 64

// deduper keeps one output row per key across a run's tasks
// (docs/language.md, "dedupe"). Tasks add their projected rows (output
// columns, then the provenance columns) as they go; they are split by a
// fixed hash of the key into buckets held in memory up to budget bytes.
// Over budget, every bucket is first reduced to its current winners and,
// if that is not enough, written to a spill file in a temporary directory.
// When every task is done, finish reduces each bucket (its spill files and
// what is in memory) and writes the winners.
//
// The winner of a key is the greatest (keep last) or least (keep first)
// row by (order_by with nulls first, input, row): a total order that does
// not depend on which task read a row or when, so retries, task packing
// and parallelism never change which rows are written.
type deduper struct {
	schema   *arrow.Schema // output columns, then provenance
	nout     int           // output columns
	keyIdx   []int
	orderIdx int // -1: input order alone
	last     bool
	alloc    memory.Allocator
	budget   int64

	mu       sync.Mutex
	removed  int64 // rows left out so far (shrink and winners)
	buckets  [dedupeBuckets]dbucket
	used     int64
	spillDir string
	spilled  int64 // bytes spilled, for tests and stats
}

type dbucket struct {
	batches []arrow.RecordBatch
	bytes   int64
	spills  []string
}

func newDeduper(job *Job, schema *arrow.Schema, alloc memory.Allocator, o Options) (*deduper, error) {
	d := &deduper{schema: schema, nout: schema.NumFields() - 2, orderIdx: -1, last: job.Dedupe.Keep == spec.KeepLast, alloc: alloc}
	d.budget = o.MemoryLimit / 4
	if o.DedupeMemory > 0 {
		d.budget = o.DedupeMemory
	}
	for _, k := range job.Dedupe.Key {
		idx := schema.FieldIndices(k)
		if len(idx) == 0 {
			return nil, fmt.Errorf("dedupe key %q is not an output column", k)
		}
		d.keyIdx = append(d.keyIdx, idx[0])
	}
	if job.Dedupe.OrderBy != "" {
		idx := schema.FieldIndices(job.Dedupe.OrderBy)
		if len(idx) == 0 {
			return nil, fmt.Errorf("dedupe order_by %q is not an output column", job.Dedupe.OrderBy)
		}
		d.orderIdx = idx[0]
	}
	return d, nil
}

// add takes b's rows (b is not consumed).
func (d *deduper) add(ctx context.Context, b arrow.RecordBatch) error {
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	var idx [dedupeBuckets][]int32
	var kb []byte
	for i := 0; i < n; i++ {
		kb = d.key(kb[:0], b, i)
		h := fnv.New64a()
		_, _ = h.Write(kb)
		bk := h.Sum64() % dedupeBuckets
		idx[bk] = append(idx[bk], int32(i))
	}
	var parts [dedupeBuckets]arrow.RecordBatch
	for bk, rows := range idx {
		if len(rows) == 0 {
			continue
		}
		if len(rows) == n {
			b.Retain()
			parts[bk] = b
			continue
		}
		p, err := takeRows(ctx, d.alloc, b, rows)
		if err != nil {
			for _, q := range parts {
				if q != nil {
					q.Release()
				}
			}
			return err
		}
		parts[bk] = p
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for bk, p := range parts {
		if p == nil {
			continue
		}
		sz := batchBytes(p)
		d.buckets[bk].batches = append(d.buckets[bk].batches, p)
		d.buckets[bk].bytes += sz
		d.used += sz
	}
	if d.used > d.budget {
		return d.shrink(ctx)
	}
	return nil
}

// shrink reduces every bucket to its winners, then spills the buckets if
// they still take more than half the budget (so the next shrink is not
// right away). Called with mu held.
func (d *deduper) shrink(ctx context.Context) error {
	d.used = 0
	for bk := range d.buckets {
		b := &d.buckets[bk]
		if len(b.batches) > 1 {
			var before int64
			for _, x := range b.batches {
				before += x.NumRows()
			}
			w, err := d.reduce(ctx, b.batches)
			releaseAll(b.batches)
			b.batches = nil
			if err != nil {
				return err
			}
			b.batches = []arrow.RecordBatch{w}
			d.removed += before - w.NumRows()
		}
		b.bytes = 0
		for _, x := range b.batches {
			b.bytes += batchBytes(x)
		}
		d.used += b.bytes
	}
	if d.used <= d.budget/2 {
		return nil
	}
	if d.spillDir == "" {
		dir, err := os.MkdirTemp("", "sluice-dedupe-")
		if err != nil {
			return fmt.Errorf("dedupe: spill: %w", err)
		}
		d.spillDir = dir
	}
	for bk := range d.buckets {
		b := &d.buckets[bk]
		if len(b.batches) == 0 {
			continue
		}
		path := filepath.Join(d.spillDir, fmt.Sprintf("b%02d-%04d.arrow", bk, len(b.spills)))
		if err := writeSpill(path, d.schema, b.batches, d.alloc); err != nil {
			return err
		}
		d.spilled += b.bytes
		b.spills = append(b.spills, path)
		releaseAll(b.batches)
		b.batches, b.bytes = nil, 0
	}
	d.used = 0
	return nil
}

// winners returns bucket bk's winners in input order (nil: no rows),
// reading its spill files back, and how many rows it left out.
func (d *deduper) winners(ctx context.Context, bk int) (arrow.RecordBatch, int64, error) {
	d.mu.Lock()
	b := &d.buckets[bk]
	batches := b.batches
	spills := b.spills
	b.batches, b.spills = nil, nil
	d.mu.Unlock()
	defer func() { releaseAll(batches) }()
	for _, path := range spills {
		bs, err := readSpill(path, d.alloc)
		if err != nil {
			return nil, 0, err
		}
		batches = append(batches, bs...)
		_ = os.Remove(path)
	}
	var in int64
	for _, x := range batches {
		in += x.NumRows()
	}
	if in == 0 {
		return nil, 0, nil
	}
	w, err := d.reduce(ctx, batches)
	if err != nil {
		return nil, 0, err
	}
	return w, in - w.NumRows(), nil
}

// reduce returns the winners among batches' rows, in input order.
func (d *deduper) reduce(ctx context.Context, batches []arrow.RecordBatch) (arrow.RecordBatch, error) {
	all, err := concatBatches(d.alloc, d.schema, batches)
	if err != nil {
		return nil, err
	}
	defer all.Release()
	n := int(all.NumRows())
	inCol := all.Column(d.nout).(*array.Int64)
	rowCol := all.Column(d.nout + 1).(*array.Int64)
	order := func(i, j int) int {
		if d.orderIdx >= 0 {
			if c := compareAt(all.Column(d.orderIdx), i, j); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(inCol.Value(i), inCol.Value(j)); c != 0 {
			return c
		}
		return cmp.Compare(rowCol.Value(i), rowCol.Value(j))
	}
	best := make(map[string]int32, n)
	var kb []byte
	for i := 0; i < n; i++ {
		kb = d.key(kb[:0], all, i)
		j, ok := best[string(kb)]
		if !ok {
			best[string(kb)] = int32(i)
			continue
		}
		c := order(i, int(j))
		if d.last && c > 0 || !d.last && c < 0 {
			best[string(kb)] = int32(i)
		}
	}
	rows := make([]int32, 0, len(best))
	for _, i := range best {
		rows = append(rows, i)
	}
	slices.SortFunc(rows, func(a, b int32) int {
		if c := cmp.Compare(inCol.Value(int(a)), inCol.Value(int(b))); c != 0 {
			return c
		}
		return cmp.Compare(rowCol.Value(int(a)), rowCol.Value(int(b)))
	})
	return takeRows(ctx, d.alloc, all, rows)
}

// close releases what the deduper holds and removes its spill files.
func (d *deduper) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for bk := range d.buckets {
		releaseAll(d.buckets[bk].batches)
		d.buckets[bk].batches = nil
	}
	if d.spillDir != "" {
		_ = os.RemoveAll(d.spillDir)
	}
}

// key appends row i's key to dst: per key column a null marker, then the
// value in a fixed binary form (strings length-prefixed), so equal keys,
// and only they, have equal bytes.
func (d *deduper) key(dst []byte, b arrow.RecordBatch, i int) []byte {
	for _, k := range d.keyIdx {
		dst = appendValue(dst, b.Column(k), i)
	}
	return dst
}

func appendValue(dst []byte, a arrow.Array, i int) []byte {
	if a.IsNull(i) {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	switch x := a.(type) {
	case *array.Int32:
		return binary.LittleEndian.AppendUint32(dst, uint32(x.Value(i)))
	case *array.Int64:
		return binary.LittleEndian.AppendUint64(dst, uint64(x.Value(i)))
	case *array.Float32:
		return binary.LittleEndian.AppendUint32(dst, math.Float32bits(normFloat32(x.Value(i))))
	case *array.Float64:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(normFloat64(x.Value(i))))
	case *array.Date32:
		return binary.LittleEndian.AppendUint32(dst, uint32(x.Value(i)))
	case *array.Timestamp:
		return binary.LittleEndian.AppendUint64(dst, uint64(x.Value(i)))
	case *array.Boolean:
		if x.Value(i) {
			return append(dst, 1)
		}
		return append(dst, 0)
	case *array.String:
		s := x.Value(i)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		return append(dst, s...)
	case *array.Binary:
		s := x.Value(i)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		return append(dst, s...)
	case *array.Decimal128:
		v := x.Value(i)
		dst = binary.LittleEndian.AppendUint64(dst, v.LowBits())
		return binary.LittleEndian.AppendUint64(dst, uint64(v.HighBits()))
	case *array.Dictionary:
		return appendValue(dst[:len(dst)-1], x.Dictionary(), x.GetValueIndex(i))
	}
	s := a.ValueStr(i)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// normFloat64 makes -0 and 0, and every NaN, one key (SQL's grouping).
func normFloat64(f float64) float64 {
	switch {
	case f == 0:
		return 0
	case math.IsNaN(f):
		return math.NaN()
	}
	return f
}

func normFloat32(f float32) float32 {
	switch {
	case f == 0:
		return 0
	case f != f:
		return float32(math.NaN())
	}
	return f
}

// compareAt orders rows i and j of a: nulls first, then by value (NaN
// before every number, as cmp.Compare orders it).
func compareAt(a arrow.Array, i, j int) int {
	ni, nj := a.IsNull(i), a.IsNull(j)
	switch {
	case ni && nj:
		return 0
	case ni:
		return -1
	case nj:
		return 1
	}
	switch x := a.(type) {
	case *array.Int32:
		return cmp.Compare(x.Value(i), x.Value(j))
	case *array.Int64:
		return cmp.Compare(x.Value(i), x.Value(j))
	case *array.Float32:
		return cmp.Compare(x.Value(i), x.Value(j))
	case *array.Float64:
		return cmp.Compare(x.Value(i), x.Value(j))
	case *array.Date32:
		return cmp.Compare(x.Value(i), x.Value(j))
	case *array.Timestamp:
		return cmp.Compare(x.Value(i), x.Value(j))
	case *array.Boolean:
		return cmp.Compare(b2i(x.Value(i)), b2i(x.Value(j)))
	case *array.String:
		return cmp.Compare(x.Value(i), x.Value(j))
	case *array.Binary:
		return bytes.Compare(x.Value(i), x.Value(j))
	case *array.Decimal128:
		return x.Value(i).Cmp(x.Value(j))
	case *array.Dictionary:
		return compareAt(x.Dictionary(), x.GetValueIndex(i), x.GetValueIndex(j))
	}
	return cmp.Compare(a.ValueStr(i), a.ValueStr(j))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// takeRows returns the rows of b at idx, in that order.
func takeRows(ctx context.Context, alloc memory.Allocator, b arrow.RecordBatch, idx []int32) (arrow.RecordBatch, error) {
	ib := array.NewInt32Builder(alloc)
	defer ib.Release()
	ib.AppendValues(idx, nil)
	ia := ib.NewArray()
	defer ia.Release()
	// NewDatum takes a reference of its own.
	bd, id := compute.NewDatum(b), compute.NewDatum(ia)
	defer bd.Release()
	defer id.Release()
	out, err := compute.Take(compute.WithAllocator(ctx, alloc), *compute.DefaultTakeOptions(), bd, id)
	if err != nil {
		return nil, fmt.Errorf("dedupe: take: %w", err)
	}
	return out.(*compute.RecordDatum).Value, nil
}

// concatBatches returns batches as one batch of schema.
func concatBatches(alloc memory.Allocator, schema *arrow.Schema, batches []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(batches) == 1 {
		batches[0].Retain()
		return batches[0], nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	var n int64
	for _, b := range batches {
		n += b.NumRows()
	}
	parts := make([]arrow.Array, len(batches))
	for i := range cols {
		for j, b := range batches {
			parts[j] = b.Column(i)
		}
		c, err := array.Concatenate(parts, alloc)
		if err != nil {
			for _, x := range cols[:i] {
				x.Release()
			}
			return nil, fmt.Errorf("dedupe: %w", err)
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(schema, cols, n)
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

// batchBytes is the memory b's buffers hold.
func batchBytes(b arrow.RecordBatch) int64 {
	var n int64
	for _, c := range b.Columns() {
		n += dataBytes(c.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, buf := range d.Buffers() {
		if buf != nil {
			n += int64(buf.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		n += dataBytes(d.Dictionary())
	}
	return n
}

func writeSpill(path string, schema *arrow.Schema, batches []arrow.RecordBatch, alloc memory.Allocator) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("dedupe: spill: %w", err)
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema), ipc.WithAllocator(alloc))
	if err == nil {
		for _, b := range batches {
			if err = w.Write(b); err != nil {
				break
			}
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("dedupe: spill %s: %w", path, err)
	}
	return nil
}

func readSpill(path string, alloc memory.Allocator) ([]arrow.RecordBatch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dedupe: read spill: %w", err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(alloc))
	if err != nil {
		return nil, fmt.Errorf("dedupe: read spill %s: %w", path, err)
	}
	defer r.Close()
	var out []arrow.RecordBatch
	for i := 0; i < r.NumRecords(); i++ {
		b, err := r.RecordBatchAt(i)
		if err != nil {
			releaseAll(out)
			return nil, fmt.Errorf("dedupe: read spill %s: %w", path, err)
		}
		out = append(out, b)
	}
	return out, nil
}
