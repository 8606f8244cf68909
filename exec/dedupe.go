package exec

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
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
// columns, then the provenance columns) as they go: each batch is kept as
// it is, with its rows grouped by bucket (a fixed hash of the key, so a
// key always falls in the same bucket), until the batches held exceed the
// budget; then every bucket is reduced to its winners so far and written
// to a spill file of its own in a temporary directory, and the batches are
// let go. When every task is done, finish reduces each bucket — its spill
// files and its rows of the batches still held — and writes the winners.
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
	held     []*heldBatch
	used     int64
	spills   [dedupeBuckets][]string
	spillDir string
	spilled  int   // spill events, for tests
	removed  int64 // rows left out while spilling

	// live holds, while nothing has spilled, the winners so far of each
	// final worker's buckets (bucket % len(live)), as refs into held: add
	// keeps them as rows arrive, so that the work overlaps decoding and
	// finish only sorts and writes them. nil once a spill let the held
	// batches go (buckets are then reduced at the end).
	live     []*liveWinners
	liveRows []int64 // rows added per worker
	intKey   bool    // one int64 key column
}

// liveWinners is one final worker's winners by key.
type liveWinners struct {
	ints map[int64]ref
	null *ref // the winner of the null key (int64 keys)
	strs map[string]ref
}

// heldBatch is an added batch, with its rows grouped by bucket: rows
// starts[k]:starts[k+1] of order are bucket k's.
type heldBatch struct {
	b      arrow.RecordBatch
	order  []int32
	starts [dedupeBuckets + 1]int32
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
	d.intKey = len(d.keyIdx) == 1 && schema.Field(d.keyIdx[0]).Type.ID() == arrow.INT64
	workers := max(1, min(o.Parallelism, dedupeBuckets))
	d.liveRows = make([]int64, workers)
	for range workers {
		d.live = append(d.live, &liveWinners{ints: map[int64]ref{}, strs: map[string]ref{}})
	}
	return d, nil
}

// bucketOf is the bucket of a key: FNV-1a, fixed, so that a run's buckets
// (and the files they are written to) are the same on every retry.
func bucketOf(key []byte) int {
	h := uint64(14695981039346656037)
	for _, c := range key {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return int(h % dedupeBuckets)
}

// add takes b's rows (b is not consumed).
func (d *deduper) add(ctx context.Context, b arrow.RecordBatch) error {
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	hb := &heldBatch{b: b, order: make([]int32, n)}
	bk := make([]uint8, n)
	// Keys are built once, outside the lock; the live maps (other than
	// for an int64 key) index them.
	var keys []byte
	var ends []int32
	if !d.intKey {
		ends = make([]int32, n)
	}
	var counts [dedupeBuckets]int32
	for i := 0; i < n; i++ {
		start := len(keys)
		keys = d.key(keys, b, i)
		k := bucketOf(keys[start:])
		if d.intKey {
			keys = keys[:0]
		} else {
			ends[i] = int32(len(keys))
		}
		bk[i] = uint8(k)
		counts[k]++
	}
	for k := 0; k < dedupeBuckets; k++ {
		hb.starts[k+1] = hb.starts[k] + counts[k]
	}
	next := hb.starts
	for i := 0; i < n; i++ {
		hb.order[next[bk[i]]] = int32(i)
		next[bk[i]]++
	}
	b.Retain()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.held = append(d.held, hb)
	d.used += batchBytes(b) + 4*int64(n)
	if d.live != nil {
		d.track(int32(len(d.held)-1), bk, keys, ends)
	}
	if d.used > d.budget {
		return d.spill(ctx)
	}
	return nil
}

// track updates the live winners with the rows of held batch src (bk are
// the rows' buckets; keys and ends their key bytes, unless intKey).
// Called with mu held.
func (d *deduper) track(src int32, bk []uint8, keys []byte, ends []int32) {
	b := d.held[src].b
	better := d.better(func(i int32) arrow.RecordBatch { return d.held[i].b })
	workers := len(d.live)
	var col *array.Int64
	if d.intKey {
		col = b.Column(d.keyIdx[0]).(*array.Int64)
	}
	start := int32(0)
	for i := range bk {
		lw := d.live[int(bk[i])%workers]
		d.liveRows[int(bk[i])%workers]++
		r := ref{src, int32(i)}
		switch {
		case d.intKey && col.IsNull(i):
			if lw.null == nil || better(r, *lw.null) {
				rr := r
				lw.null = &rr
			}
		case d.intKey:
			k := col.Value(i)
			if cur, ok := lw.ints[k]; !ok || better(r, cur) {
				lw.ints[k] = r
			}
		default:
			k := keys[start:ends[i]]
			start = ends[i]
			if cur, ok := lw.strs[string(k)]; !ok || better(r, cur) {
				lw.strs[string(k)] = r
			}
		}
	}
}

// spill reduces every bucket of the batches held to its winners so far,
// writes them to the bucket's next spill file and lets the batches go.
// Called with mu held.
func (d *deduper) spill(ctx context.Context) error {
	if d.spillDir == "" {
		dir, err := os.MkdirTemp("", "sluice-dedupe-")
		if err != nil {
			return fmt.Errorf("dedupe: spill: %w", err)
		}
		d.spillDir = dir
	}
	for bk := 0; bk < dedupeBuckets; bk++ {
		w, removed, err := d.reduce(ctx, d.sources(bk, nil))
		if err != nil {
			return err
		}
		if len(w) == 0 {
			continue
		}
		d.removed += removed
		path := filepath.Join(d.spillDir, fmt.Sprintf("b%02d-%04d.arrow", bk, d.spilled))
		err = writeSpill(path, d.schema, w, d.alloc)
		releaseAll(w)
		if err != nil {
			return err
		}
		d.spills[bk] = append(d.spills[bk], path)
	}
	for _, hb := range d.held {
		hb.b.Release()
	}
	d.held, d.used = nil, 0
	d.spilled++
	d.live = nil // its refs named the batches let go
	return nil
}

// source is rows of one batch that take part in a reduce (nil rows: all).
type source struct {
	b    arrow.RecordBatch
	rows []int32
}

func (s source) len() int {
	if s.rows == nil {
		return int(s.b.NumRows())
	}
	return len(s.rows)
}

func (s source) row(i int) int {
	if s.rows == nil {
		return i
	}
	return int(s.rows[i])
}

// sources are bucket bk's rows of the batches held, then extra.
func (d *deduper) sources(bk int, extra []arrow.RecordBatch) []source {
	var out []source
	for _, hb := range d.held {
		if rows := hb.order[hb.starts[bk]:hb.starts[bk+1]]; len(rows) > 0 {
			out = append(out, source{b: hb.b, rows: rows})
		}
	}
	for _, b := range extra {
		out = append(out, source{b: b})
	}
	return out
}

// workerWinners returns, when nothing was spilled, the winners of every
// bucket that worker w of p reduces (buckets w, w+p, …), in input order:
// one reduce over the batches held, so that the winners are taken from
// each batch once rather than once per bucket. ok is false when some
// bucket was spilled: winners, one bucket at a time, must be used.
func (d *deduper) workerWinners(ctx context.Context, w, p int) (out []arrow.RecordBatch, removed int64, ok bool, err error) {
	d.mu.Lock()
	spilled := d.spilled > 0
	d.mu.Unlock()
	if spilled {
		return nil, 0, false, nil
	}
	if d.live != nil && p == len(d.live) {
		lw := d.live[w]
		refs := make([]ref, 0, len(lw.ints)+len(lw.strs)+1)
		for _, r := range lw.ints {
			refs = append(refs, r)
		}
		for _, r := range lw.strs {
			refs = append(refs, r)
		}
		if lw.null != nil {
			refs = append(refs, *lw.null)
		}
		out, err = d.materialize(ctx, func(i int32) arrow.RecordBatch { return d.held[i].b }, len(d.held), refs)
		return out, d.liveRows[w] - int64(len(refs)), true, err
	}
	var srcs []source
	for _, hb := range d.held {
		var rows []int32
		for bk := w; bk < dedupeBuckets; bk += p {
			rows = append(rows, hb.order[hb.starts[bk]:hb.starts[bk+1]]...)
		}
		if len(rows) > 0 {
			srcs = append(srcs, source{b: hb.b, rows: rows})
		}
	}
	out, removed, err = d.reduce(ctx, srcs)
	return out, removed, true, err
}

// winners returns bucket bk's winners in input order (none: no rows),
// reading its spill files back, and how many rows it left out. It is
// called once per bucket, after every add.
func (d *deduper) winners(ctx context.Context, bk int) ([]arrow.RecordBatch, int64, error) {
	d.mu.Lock()
	spills := d.spills[bk]
	d.spills[bk] = nil
	d.mu.Unlock()
	var spilled []arrow.RecordBatch
	defer func() { releaseAll(spilled) }()
	for _, path := range spills {
		bs, err := readSpill(path, d.alloc)
		if err != nil {
			return nil, 0, err
		}
		spilled = append(spilled, bs...)
		_ = os.Remove(path)
	}
	// No add runs any more: the batches held are read without the lock.
	return d.reduce(ctx, d.sources(bk, spilled))
}

// ref is one row of a reduce's sources.
type ref struct{ src, row int32 }

// reduce returns the winners among srcs' rows, in input order, as batches
// (none when there is no row), and how many rows it left out.
func (d *deduper) reduce(ctx context.Context, srcs []source) ([]arrow.RecordBatch, int64, error) {
	var total int64
	for _, s := range srcs {
		total += int64(s.len())
	}
	if total == 0 {
		return nil, 0, nil
	}
	better := d.better(func(i int32) arrow.RecordBatch { return srcs[i].b })
	var refs []ref
	if len(d.keyIdx) == 1 && d.schema.Field(d.keyIdx[0]).Type.ID() == arrow.INT64 {
		// One int64 key (an id, the common case): no key bytes to build.
		best := make(map[int64]ref, total)
		var null *ref
		for si, s := range srcs {
			col := s.b.Column(d.keyIdx[0]).(*array.Int64)
			for i, n := 0, s.len(); i < n; i++ {
				r := ref{int32(si), int32(s.row(i))}
				if col.IsNull(int(r.row)) {
					if null == nil || better(r, *null) {
						rr := r
						null = &rr
					}
					continue
				}
				k := col.Value(int(r.row))
				if cur, ok := best[k]; !ok || better(r, cur) {
					best[k] = r
				}
			}
		}
		refs = make([]ref, 0, len(best)+1)
		for _, r := range best {
			refs = append(refs, r)
		}
		if null != nil {
			refs = append(refs, *null)
		}
	} else {
		best := make(map[string]ref)
		var kb []byte
		for si, s := range srcs {
			for i, n := 0, s.len(); i < n; i++ {
				r := ref{int32(si), int32(s.row(i))}
				kb = d.key(kb[:0], s.b, int(r.row))
				if cur, ok := best[string(kb)]; !ok || better(r, cur) {
					best[string(kb)] = r
				}
			}
		}
		refs = make([]ref, 0, len(best))
		for _, r := range best {
			refs = append(refs, r)
		}
	}
	out, err := d.materialize(ctx, func(i int32) arrow.RecordBatch { return srcs[i].b }, len(srcs), refs)
	if err != nil {
		return nil, 0, err
	}
	return out, total - int64(len(refs)), nil
}

// better returns whether row r beats row cur (of the batches batch
// returns) as the winner of their key.
func (d *deduper) better(batch func(int32) arrow.RecordBatch) func(r, cur ref) bool {
	return func(r, cur ref) bool {
		rb, cb := batch(r.src), batch(cur.src)
		c := 0
		if d.orderIdx >= 0 {
			c = compareAcross(rb.Column(d.orderIdx), int(r.row), cb.Column(d.orderIdx), int(cur.row))
		}
		if c == 0 {
			c = cmp.Compare(rb.Column(d.nout).(*array.Int64).Value(int(r.row)), cb.Column(d.nout).(*array.Int64).Value(int(cur.row)))
		}
		if c == 0 {
			c = cmp.Compare(rb.Column(d.nout+1).(*array.Int64).Value(int(r.row)), cb.Column(d.nout+1).(*array.Int64).Value(int(cur.row)))
		}
		return d.last && c > 0 || !d.last && c < 0
	}
}

// materialize returns the rows refs name (of the nsrc batches batch
// returns) in input order, as batches.
func (d *deduper) materialize(ctx context.Context, batch func(int32) arrow.RecordBatch, nsrc int, refs []ref) ([]arrow.RecordBatch, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	pos := func(r ref) (int64, int64) {
		b := batch(r.src)
		return b.Column(d.nout).(*array.Int64).Value(int(r.row)), b.Column(d.nout + 1).(*array.Int64).Value(int(r.row))
	}
	// Sort the winners into input order on their positions, read once.
	type keyed struct {
		in, row int64
		r       ref
	}
	ks := make([]keyed, len(refs))
	for i, r := range refs {
		in, row := pos(r)
		ks[i] = keyed{in, row, r}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := cmp.Compare(a.in, b.in); c != 0 {
			return c
		}
		return cmp.Compare(a.row, b.row)
	})
	for i := range ks {
		refs[i] = ks[i].r
	}
	// Take each source's winners (in input order). When each source's
	// winners are contiguous in input order (tasks read contiguous runs of
	// inputs, the usual packing), the parts in order of their first winner
	// are the input order already; otherwise they are put in it with one
	// more take.
	var srcOrder []int32 // sources in order of their first winner
	perSrc := make([][]int32, nsrc)
	grouped := true
	for i, r := range refs {
		if len(perSrc[r.src]) == 0 {
			srcOrder = append(srcOrder, r.src)
		} else if refs[i-1].src != r.src {
			grouped = false
		}
		perSrc[r.src] = append(perSrc[r.src], r.row)
	}
	var parts []arrow.RecordBatch
	offset := make([]int32, nsrc)
	var off int32
	for _, si := range srcOrder {
		offset[si] = off
		p, err := takeRows(ctx, d.alloc, batch(si), perSrc[si])
		if err != nil {
			releaseAll(parts)
			return nil, err
		}
		parts = append(parts, p)
		off += int32(len(perSrc[si]))
	}
	if grouped {
		return parts, nil
	}
	defer releaseAll(parts)
	all, err := concatBatches(d.alloc, d.schema, parts)
	if err != nil {
		return nil, err
	}
	defer all.Release()
	perm := make([]int32, len(refs))
	seen := make([]int32, nsrc)
	for i, r := range refs {
		perm[i] = offset[r.src] + seen[r.src]
		seen[r.src]++
	}
	out, err := takeRows(ctx, d.alloc, all, perm)
	if err != nil {
		return nil, err
	}
	return []arrow.RecordBatch{out}, nil
}

// close releases what the deduper holds and removes its spill files.
func (d *deduper) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, hb := range d.held {
		hb.b.Release()
	}
	d.held = nil
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

// compareAcross orders row i of a and row j of b (arrays of one type):
// nulls first, then by value (NaN before every number, as cmp.Compare
// orders it).
func compareAcross(a arrow.Array, i int, b arrow.Array, j int) int {
	ni, nj := a.IsNull(i), b.IsNull(j)
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
		return cmp.Compare(x.Value(i), b.(*array.Int32).Value(j))
	case *array.Int64:
		return cmp.Compare(x.Value(i), b.(*array.Int64).Value(j))
	case *array.Float32:
		return cmp.Compare(x.Value(i), b.(*array.Float32).Value(j))
	case *array.Float64:
		return cmp.Compare(x.Value(i), b.(*array.Float64).Value(j))
	case *array.Date32:
		return cmp.Compare(x.Value(i), b.(*array.Date32).Value(j))
	case *array.Timestamp:
		return cmp.Compare(x.Value(i), b.(*array.Timestamp).Value(j))
	case *array.Boolean:
		return cmp.Compare(b2i(x.Value(i)), b2i(b.(*array.Boolean).Value(j)))
	case *array.String:
		return cmp.Compare(x.Value(i), b.(*array.String).Value(j))
	case *array.Binary:
		return bytes.Compare(x.Value(i), b.(*array.Binary).Value(j))
	case *array.Decimal128:
		return x.Value(i).Cmp(b.(*array.Decimal128).Value(j))
	case *array.Dictionary:
		y := b.(*array.Dictionary)
		return compareAcross(x.Dictionary(), x.GetValueIndex(i), y.Dictionary(), y.GetValueIndex(j))
	}
	return cmp.Compare(a.ValueStr(i), b.ValueStr(j))
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
