package exec

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/exec/eval"
	"github.com/sluicedata/sluice/exec/write"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// task is one task of a run in progress: its inputs are read in key
// order, decoded, and their rows handed through a coalescer to a stage
// that filters, projects, checks and writes them on its own goroutine.
type task struct {
	r   *runner
	t   Task
	ctx context.Context
	w   *write.Writer
	q   *quarantine
	co  *coalescer
	// pipe overlaps decoding with the rest (filter, project, checks,
	// write): one goroutine processes the batches in order while the task
	// decodes the next objects, so a task uses two cores (a run of few
	// tasks, such as one big file, would otherwise use one).
	pipe *stage
	// app decodes small NDJSON and CSV objects with the same partition
	// values into one set of builders (see decode.Appender); group is
	// those values, groupBytes the decoded size of the objects in it (as
	// sizeHint estimates it). nil for Parquet.
	app        *decode.Appender
	group      []any
	groupBytes int64
	// lead is how many leading source partition keys the sink partitions
	// by (leadingPartitions), lastLead the last input's values of them.
	lead     int
	lastLead []any
	// counts and checks are this task's own: its TaskResult reports them,
	// and Merge adds every task's up (the runner's totals are for progress).
	counts *taskCounts
	checks []*checkState
	// pv numbers each input's rows, groupRuns are the provenance runs of
	// the rows app holds, and keys names an input by its provenance code
	// (for bad records): all unused unless the runner's prov is set.
	pv        provenance
	groupRuns []provRun
	keys      map[int64]string
}

// runTask reads a task's inputs in key order, writes their rows and
// returns what the task produced.
func (r *runner) runTask(ctx context.Context, t Task) (_ *TaskResult, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	job := r.job
	tk, err := r.newTask(ctx, t)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			r.undoAttempt(ctx, tk.w, tk.counts)
		}
	}()
	if r.prov {
		tk.keys = map[int64]string{}
		for _, in := range t.Inputs {
			tk.keys[inputCode(in)] = in.Key
		}
	}
	// A task that stops early (a bad record under fail, a later file
	// failing) still holds the earlier files' batches.
	defer tk.co.discard()
	tk.pipe = newStage(func(b arrow.RecordBatch) error {
		defer b.Release()
		start := time.Now()
		defer func() { tk.counts.writeNS.Add(int64(time.Since(start))) }()
		return tk.process(b)
	})
	defer tk.pipe.close()
	if job.Source.Format == spec.FormatJSON || job.Source.Format == spec.FormatCSV {
		if tk.app, err = decode.NewAppender(job.Source.Format, r.decodeOptions(tk.q)); err != nil {
			return nil, fmt.Errorf("task %d: %w", t.Index, err)
		}
		defer tk.app.Release()
	}
	if err := tk.readAll(); err != nil {
		return nil, err
	}
	return tk.finish()
}

// newTask opens t's writer and counters (its stage is the caller's).
func (r *runner) newTask(ctx context.Context, t Task) (*task, error) {
	job := r.job
	wo := write.Options{
		Store: job.Sink.Loc.Store, Prefix: job.Sink.Loc.Prefix,
		Format: job.Sink.Format, Compression: job.Sink.Compression,
		PartitionBy: job.Sink.PartitionBy, TargetFileSize: job.Sink.TargetFileSize,
		RowGroupSize: job.Sink.RowGroupSize, CSV: job.Sink.CSV,
		RunID: job.RunID, Task: t.Index, Version: r.o.Version, Object: job.Sink.Object,
		Alloc: r.alloc, Budget: r.writeMem,
	}
	schema := r.outSchema
	if r.table != nil {
		schema = r.table.schema
		wo.Format, wo.PartitionBy, wo.PartitionNames, wo.TypedPartitions = spec.FormatParquet, r.table.by, r.table.names, true
	}
	w, err := write.New(ctx, schema, wo)
	if err != nil {
		return nil, fmt.Errorf("task %d: %w", t.Index, err)
	}
	r.mu.Lock()
	r.writers = append(r.writers, w)
	r.mu.Unlock()
	counts := &taskCounts{}
	return &task{r: r, t: t, ctx: ctx, w: w, q: &quarantine{counts: counts}, lead: leadingPartitions(job),
		co: &coalescer{alloc: r.alloc, schema: r.evalSchema}, counts: counts, checks: r.newChecks()}, nil
}

// readAll fetches the task's inputs (dozens of GETs in flight, bounded in
// bytes) and reads each in key order.
func (tk *task) readAll() error {
	r, t := tk.r, tk.t
	keys := make([]string, len(t.Inputs))
	sizes := make([]int64, len(t.Inputs))
	for i, in := range t.Inputs {
		keys[i], sizes[i] = in.Key, in.Size
		if r.streamed(in) {
			sizes[i] = -1 // not fetched whole: read with ranged GETs
		}
	}
	ch, done := prefetch(tk.ctx, r.job.Source.Loc.Store, keys, sizes, r.o.FetchConcurrency, r.fetchMem)
	for f := range ch {
		tk.counts.fetchNS.Add(int64(f.took))
		start := time.Now()
		err := tk.read(f, done)
		tk.counts.decodeNS.Add(int64(time.Since(start)))
		if err != nil {
			return err
		}
	}
	return tk.ctx.Err()
}

// read handles one fetched input: it decodes the object and hands its rows
// on, or applies on_bad_record to it. done releases the fetch budget the
// object holds. An error stops the task.
func (tk *task) read(f fetched, done func(int64)) error {
	r, ctx := tk.r, tk.ctx
	job := r.job
	in := tk.t.Inputs[f.idx]
	if err := tk.nextPartition(in); err != nil {
		return err
	}
	var batches []arrow.RecordBatch
	var err error
	appended := -1 // rows added to app, or -1: the object was not appended
	switch {
	case f.err != nil:
		err = f.err
	case in.PartitionErr != nil:
		err = in.PartitionErr
	case in.ETag != "" && f.etag != "" && f.etag != in.ETag:
		// The object was replaced since it was planned: reading the new
		// content under the old bookmark would be wrong, and on_bad_record
		// does not apply to a healthy object.
		done(in.Size)
		return &InputChangedError{Key: in.Key, Planned: in.ETag, Found: f.etag}
	case job.Source.Format == spec.FormatParquet:
		var n int64
		var stop error
		if n, err, stop = tk.readParquet(in, f.data); stop != nil {
			return stop
		}
		r.rowsRead(tk.counts, n)
		appended = 0 // rows are counted; nothing to hand on below
	case tk.app != nil && r.appendable(in, f.data):
		if tk.app.Rows() > 0 && (tk.app.Rows() >= coalesceRows || tk.groupBytes >= coalesceBytes || !samePartition(tk.group, in.Partition)) {
			if err := tk.flushGroup(); err != nil {
				done(in.Size)
				return err
			}
		}
		appended, err = r.appendObject(tk.app, in, f.data)
		if err == nil {
			tk.group = in.Partition
			tk.groupBytes += r.sizeHint(in, f.data)
			if r.prov && appended > 0 {
				tk.groupRuns = append(tk.groupRuns, tk.pv.take(in, int64(appended)))
			}
		}
	default:
		// Rows stay in key order: what app holds goes first.
		if err = tk.flushGroup(); err != nil {
			done(in.Size)
			return err
		}
		batches, err = r.decodeObject(ctx, in, f.data, tk.q)
	}
	if !r.streamed(in) {
		done(in.Size)
	}
	if job.Source.Format != spec.FormatParquet {
		// Text decoders copy every value out: the bytes are free.
		recycle(f.data)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return r.badFile(in, err, tk.q)
	}
	if in.Part == 0 { // a split file counts once
		r.fileRead(tk.counts, in.Size)
	}
	r.tick()
	if appended >= 0 {
		r.rowsRead(tk.counts, int64(appended))
		return nil
	}
	defer releaseAll(batches)
	for _, b := range batches {
		r.rowsRead(tk.counts, b.NumRows())
		if err := tk.emitFrom(in, b); err != nil {
			return err
		}
	}
	return nil
}

// emitFrom hands on a batch of in's rows, with their provenance when the
// run tracks it.
func (tk *task) emitFrom(in Input, b arrow.RecordBatch) error {
	if !tk.r.prov {
		return tk.emit(b)
	}
	nb := withProvenance(tk.r.alloc, b, []provRun{tk.pv.take(in, b.NumRows())})
	defer nb.Release()
	return tk.emit(nb)
}

// readParquet streams one Parquet input into the coalescer and returns its
// rows, and either the object's own failure (objErr: on_bad_record decides)
// or an error that stops the task (stop): the filter's or the writer's
// (never the object's fault), a changed input, an object that broke after
// some of its rows were handed on, a failed part of a split file.
func (tk *task) readParquet(in Input, data []byte) (rows int64, objErr, stop error) {
	var emitErr error
	n, err := tk.r.streamParquet(tk.ctx, in, data, tk.q, func(b arrow.RecordBatch) error {
		emitErr = tk.emitFrom(in, b)
		return emitErr
	})
	var changed *InputChangedError
	var half *streamBrokenError
	switch {
	case emitErr != nil:
		return n, nil, emitErr
	case errors.As(err, &changed) || errors.As(err, &half):
		return n, nil, err
	case err != nil && in.Parts > 1:
		// Other tasks read the rest of this file: skipping this part
		// would keep half of it.
		return n, nil, &splitPartError{key: in.Key, part: in.Part, parts: in.Parts, err: err}
	}
	return n, err, nil
}

// nextPartition finishes the open output partitions when the inputs move
// past them. When the sink's partition_by leads the source's hive
// partitions, key order keeps the inputs of each output partition
// together: once the inputs move on to other values no more rows come for
// the files open now, so they are finished there and then, and a task
// holds one partition's buffers at a time instead of all of its
// partitions' until its end. Should inputs come back to a partition
// (first-fit packing can put a late small file into an earlier task) it
// only costs one more file.
func (tk *task) nextPartition(in Input) error {
	if tk.lead == 0 || len(in.Partition) < tk.lead {
		return nil
	}
	moved := tk.lastLead != nil && !samePartition(tk.lastLead, in.Partition[:tk.lead])
	tk.lastLead = in.Partition[:tk.lead]
	if !moved {
		return nil
	}
	if err := tk.drain(); err != nil {
		return err
	}
	return tk.pipe.sendBarrier(func() error { return tk.w.FinishOpen(tk.ctx) })
}

// emit hands one decoded batch on (not consumed): batches are coalesced
// first, and a full one goes to the stage.
func (tk *task) emit(b arrow.RecordBatch) error {
	if out := tk.co.add(b); out != nil {
		return tk.pipe.send(out)
	}
	return nil
}

// flushGroup hands on the rows the Appender holds, with the group's
// partition columns added.
func (tk *task) flushGroup() error {
	if tk.app == nil || tk.app.Rows() == 0 {
		return nil
	}
	tk.groupBytes = 0
	r := tk.r
	fields := r.job.Source.PartitionFields
	batches := tk.app.Flush()
	defer releaseAll(batches)
	runs := tk.groupRuns
	tk.groupRuns = nil
	for _, b := range batches {
		if len(fields) > 0 {
			// The values were checked per object: this cannot fail.
			nb, err := decode.TryAppendPartitionColumns(b, fields, tk.group, r.alloc)
			if err != nil {
				return fmt.Errorf("task %d: %w", tk.t.Index, err)
			}
			defer nb.Release()
			b = nb
		}
		if r.prov {
			var head []provRun
			head, runs = splitRuns(runs, b.NumRows())
			nb := withProvenance(r.alloc, b, head)
			defer nb.Release()
			b = nb
		}
		if err := tk.emit(b); err != nil {
			return err
		}
	}
	return nil
}

// drain hands on everything decoded so far: the Appender's rows and the
// coalescer's last, partial batch.
func (tk *task) drain() error {
	if err := tk.flushGroup(); err != nil {
		return err
	}
	if out := tk.co.finish(); out != nil {
		return tk.pipe.send(out)
	}
	return nil
}

// finish writes the task's last rows, closes its writer, records its
// files and quarantined records with the run (so a failed run aborts them)
// and returns the task's result; a direct run publishes the files now.
func (tk *task) finish() (*TaskResult, error) {
	r, ctx, t := tk.r, tk.ctx, tk.t
	job := r.job
	if err := tk.drain(); err != nil {
		return nil, err
	}
	if err := tk.pipe.close(); err != nil {
		return nil, err
	}
	files, err := tk.w.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("task %d: %w", t.Index, err)
	}
	res := &TaskResult{Task: t.Index, Files: files, Stats: tk.counts.stats(files), Checks: taskChecks(tk.checks), PhaseNS: tk.counts.phases()}
	if job.Sink.Committer == spec.CommitterDirect {
		// committer = "direct": publish the task's files now. Commit later
		// completes them again, which a store recognises as done.
		ups := make([]objstore.PendingUpload, len(files))
		for i, f := range files {
			ups[i] = f.Upload
		}
		r.mu.Lock()
		r.files = append(r.files, files...) // so a failed run deletes them
		r.mu.Unlock()
		if err := objstore.CompleteAll(ctx, job.Sink.Loc.Store, ups, r.o.Published); err != nil {
			return nil, err
		}
		files = nil
	}
	if tk.q.buf.Len() > 0 {
		key := fmt.Sprintf("%s_sluice/bad/%s/task-%05d.jsonl", job.Sink.Loc.Prefix, job.RunID, t.Index)
		qu, err := r.upload(ctx, key, tk.q.buf.Bytes())
		if err != nil {
			return nil, err
		}
		res.Quarantine = &qu
	}
	r.mu.Lock()
	r.files = append(r.files, files...)
	if res.Quarantine != nil {
		r.quarantine = append(r.quarantine, *res.Quarantine)
	}
	r.mu.Unlock()
	return res, nil
}

func releaseAll(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

// leadingPartitions is len(Sink.PartitionBy) when the sink's partition
// columns are the first source partition keys, in order (hive key order then
// groups each output partition's inputs), else 0.
func leadingPartitions(job *Job) int {
	by, src := job.Sink.PartitionBy, job.Source.PartitionFields
	if len(by) == 0 || len(by) > len(src) {
		return 0
	}
	for i, name := range by {
		if src[i].Name != name {
			return 0
		}
	}
	return len(by)
}

// samePartition reports whether two objects' partition values are equal,
// so that their rows can share one batch and one set of constant columns.
func samePartition(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		switch x := a[i].(type) {
		case *big.Int:
			y, ok := b[i].(*big.Int)
			if !ok || x.Cmp(y) != 0 {
				return false
			}
		default:
			if a[i] != b[i] {
				return false
			}
		}
	}
	return true
}

// process filters one batch, projects the output columns, runs the checks
// and hands the rows to the writer. b is not consumed.
func (tk *task) process(b arrow.RecordBatch) error {
	r, ctx := tk.r, tk.ctx
	kept := b
	if r.filter != nil {
		f, err := tk.filter(b)
		if err != nil {
			return err
		}
		defer f.Release()
		kept = f
	}
	if kept.NumRows() == 0 {
		return nil
	}
	out, err := r.proj.apply(ctx, kept, tk.where(kept), r.onBad(tk.q))
	if err != nil {
		return err
	}
	defer out.Release()
	if r.dedupe != nil {
		// Checks and the writer see the winners, once every task is done.
		return r.dedupe.add(ctx, out)
	}
	return tk.writeOut(out)
}

// filter applies the where to b (not consumed). The where cannot decide a
// row on which a cast or parse without try_ failed: that row is a bad
// record under on_bad_record, named by object, row and the columns the
// cast reads (from the provenance columns, which such a where turns on),
// and is left out.
func (tk *task) filter(b arrow.RecordBatch) (arrow.RecordBatch, error) {
	r := tk.r
	f, errs, err := r.filter.FilterRows(tk.ctx, b)
	if err != nil {
		return nil, fmt.Errorf("where: %w", err)
	}
	if errs == nil {
		return f, nil
	}
	if !r.prov {
		f.Release()
		return nil, fmt.Errorf("where: %w", &eval.BadRowsError{Rows: errs})
	}
	where, onBad := tk.where(b), r.onBad(tk.q)
	for _, re := range errs {
		key, pos := where(re.Row)
		rec := decode.BadRecord{Key: key, Row: pos + 1, Column: r.whereColumns, Reason: "where: " + re.Msg}
		if err := onBad(rec); err != nil {
			f.Release()
			return nil, fmt.Errorf("on_bad_record = %q: %w", spec.BadRecordFail, err)
		}
	}
	return f, nil
}

// writeOut runs the checks on output rows and hands them to the writer.
// out is not consumed.
func (tk *task) writeOut(out arrow.RecordBatch) error {
	r, ctx, w := tk.r, tk.ctx, tk.w
	for _, c := range tk.checks {
		if err := c.observe(ctx, out); err != nil {
			return err
		}
	}
	tk.counts.rowsOut.Add(out.NumRows())
	r.out.Add(out.NumRows())
	if r.table != nil {
		tb, err := r.table.convert(ctx, out, r.alloc)
		if err != nil {
			return fmt.Errorf("pipeline %s: %w", r.job.Pipeline, err)
		}
		defer tb.Release()
		return w.Write(ctx, tb)
	}
	return w.Write(ctx, out)
}

// where names the object and the row (from 0) of row i of b, a batch with
// provenance columns.
func (tk *task) where(b arrow.RecordBatch) func(i int) (string, int64) {
	return func(i int) (string, int64) {
		n := b.NumCols()
		code := b.Column(int(n) - 2).(*array.Int64).Value(i)
		pos := b.Column(int(n) - 1).(*array.Int64).Value(i)
		return tk.keys[code], pos
	}
}
