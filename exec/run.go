package exec

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"

	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/exec/eval"
	"github.com/sluicedata/sluice/exec/write"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// Options tune a run. The zero value is usable.
type Options struct {
	// Parallelism is the number of tasks run at once (default GOMAXPROCS).
	Parallelism int
	// MemoryLimit bounds buffered data: fetched objects waiting to be
	// decoded and row groups buffered by the writers (default 1 GiB).
	MemoryLimit int64
	// FetchConcurrency is the number of GETs in flight per task (default 32):
	// object stores are latency-bound, so small objects must overlap.
	FetchConcurrency int
	Alloc            memory.Allocator
	Version          string // recorded in Parquet metadata and manifests
	// Progress, when set, receives counters as tasks advance. It is called
	// from worker goroutines and must be cheap and safe for concurrent use.
	Progress func(Progress)
	// Published, when set, is called after each output that a run with
	// committer = "direct" publishes while it runs (from worker goroutines).
	Published func(objstore.PendingUpload)
}

// DefaultMemoryLimit is the budget when Options.MemoryLimit is 0.
const DefaultMemoryLimit = 1 << 30

// coalesceRows is the batch size filters and checks run on: arrow compute
// calls have a fixed dispatch cost, and one small object gives only a few
// hundred rows, so batches of consecutive objects are concatenated first.
// 8Ki rows keep that cost small while bounding what a task holds decoded
// (builders, the stage's queue, the coalescer): 32Ki rows measured the
// same time and ~12 MiB more peak RSS on the NDJSON benchmark.
const coalesceRows = 8 << 10

// Progress is a snapshot of a run's counters.
type Progress struct {
	Pipeline   string
	FilesDone  int64
	FilesTotal int64
	BytesDone  int64
	BytesTotal int64
	RowsIn     int64
	RowsOut    int64
	// Event is "task_started" or "task_done" (Task is that task's index),
	// or "progress": counters moved (at most every progressEvery; Task -1).
	Event string
	Task  int
}

// Stats are a run's totals.
type Stats struct {
	FilesRead    int64 `json:"files_read"`
	BytesRead    int64 `json:"bytes_read"`
	RowsIn       int64 `json:"rows_in"`
	RowsOut      int64 `json:"rows_out"`
	BadRecords   int64 `json:"bad_records"`
	BadFiles     int64 `json:"bad_files"`
	FilesWritten int64 `json:"files_written"`
	BytesWritten int64 `json:"bytes_written"`
}

// CheckResult is the outcome of one check.
type CheckResult struct {
	Name     string   `json:"name"`
	Severity string   `json:"severity"`
	Passed   bool     `json:"passed"`
	Failing  int64    `json:"failing_rows"` // rows where expr was not true
	Examples []string `json:"examples,omitempty"`
	Message  string   `json:"message"`
}

// Result is a finished, not yet committed run: its outputs are pending
// uploads, invisible until Commit.
type Result struct {
	Job        *Job
	Files      []write.File
	Quarantine []objstore.PendingUpload // quarantined bad records, one object per task
	Stats      Stats
	Checks     []CheckResult
	Elapsed    time.Duration
}

// ChecksFailed reports whether an error-severity check failed.
func (r *Result) ChecksFailed() bool {
	for _, c := range r.Checks {
		if !c.Passed && c.Severity == spec.SeverityError.String() {
			return true
		}
	}
	return false
}

// InputChangedError reports a pinned input whose ETag changed since the
// plan was made: the plan is stale.
type InputChangedError struct {
	Key, Planned, Found string
}

func (e *InputChangedError) Error() string {
	return fmt.Sprintf("%s changed since the plan was made (ETag %s, planned %s); run 'sluice plan' again", e.Key, e.Found, e.Planned)
}

// Run executes every task of job and returns the pending outputs. On error
// every upload it started is aborted, so nothing of the run remains.
func Run(ctx context.Context, job *Job, o Options) (*Result, error) {
	start := time.Now()
	r, err := newRunner(job, o)
	if err != nil {
		return nil, err
	}
	res, err := r.run(ctx)
	if err != nil {
		// Abort with a fresh context: the run's may be cancelled already.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		r.abortAll(actx)
		return nil, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

type runner struct {
	job        *Job
	o          Options
	alloc      memory.Allocator
	evalSchema *arrow.Schema // file columns + partition columns
	outSchema  *arrow.Schema // the sink's columns
	outIdx     []int         // outSchema's columns in evalSchema
	filter     *eval.Program
	checks     []*checkState
	fetchMem   *byteBudget
	writeMem   *write.Budget

	filesTotal, bytesTotal            int64
	filesDone, bytesDone, rowsIn, out atomic.Int64
	badRecords, badFiles              atomic.Int64
	lastTick                          atomic.Int64 // unix ns of the last "progress" report

	mu         sync.Mutex
	files      []write.File
	quarantine []objstore.PendingUpload
	writers    []*write.Writer // open writers, aborted on failure
	uploads    []objstore.Upload
}

type checkState struct {
	spec     CheckSpec
	prog     *eval.Program
	mu       sync.Mutex
	failing  int64
	examples []string
}

func newRunner(job *Job, o Options) (*runner, error) {
	if o.Parallelism <= 0 {
		o.Parallelism = runtime.GOMAXPROCS(0)
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.FetchConcurrency <= 0 {
		o.FetchConcurrency = 32
	}
	alloc := o.Alloc
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	r := &runner{job: job, o: o, alloc: alloc}
	fields := append([]arrow.Field(nil), job.Source.FileSchema.Fields()...)
	fields = append(fields, job.Source.PartitionFields...)
	r.evalSchema = arrow.NewSchema(fields, nil)
	outFields := make([]arrow.Field, 0, len(job.Sink.Columns))
	for _, name := range job.Sink.Columns {
		idx := r.evalSchema.FieldIndices(name)
		if len(idx) == 0 {
			return nil, fmt.Errorf("pipeline %s: output column %q is neither decoded nor a partition key", job.Pipeline, name)
		}
		r.outIdx = append(r.outIdx, idx[0])
		outFields = append(outFields, r.evalSchema.Field(idx[0]))
	}
	r.outSchema = arrow.NewSchema(outFields, nil)
	if job.Filter != nil {
		p, err := eval.Compile(job.Filter.Root, r.evalSchema)
		if err != nil {
			return nil, fmt.Errorf("pipeline %s: where: %w", job.Pipeline, err)
		}
		r.filter = p
	}
	for _, c := range job.Checks {
		cs := &checkState{spec: c}
		if c.Expr != nil {
			p, err := eval.Compile(c.Expr.Root, r.outSchema)
			if err != nil {
				return nil, fmt.Errorf("pipeline %s: check %s: %w", job.Pipeline, c.Name, err)
			}
			cs.prog = p
		}
		r.checks = append(r.checks, cs)
	}
	// Half the budget for fetched objects, half for buffered row groups.
	r.fetchMem = newByteBudget(o.MemoryLimit / 2)
	r.writeMem = write.NewBudget(o.MemoryLimit / 2)
	for _, t := range job.Tasks {
		r.filesTotal += int64(len(t.Inputs))
		for _, in := range t.Inputs {
			r.bytesTotal += in.Size
		}
	}
	return r, nil
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ctx = compute.WithAllocator(ctx, r.alloc)
	next := make(chan Task)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel(err) })
	}
	for w := 0; w < r.o.Parallelism; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range next {
				r.report("task_started", t.Index)
				if err := r.runTask(ctx, t); err != nil {
					fail(err)
					return
				}
				r.report("task_done", t.Index)
			}
		}()
	}
feed:
	for _, t := range r.splitTasks(ctx) {
		select {
		case next <- t:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &Result{Job: r.job, Files: r.files, Quarantine: r.quarantine}
	res.Stats = Stats{
		FilesRead: r.filesDone.Load(), BytesRead: r.bytesDone.Load(),
		RowsIn: r.rowsIn.Load(), RowsOut: r.out.Load(),
		BadRecords: r.badRecords.Load(), BadFiles: r.badFiles.Load(),
	}
	for _, f := range r.files {
		res.Stats.FilesWritten++
		res.Stats.BytesWritten += f.Bytes
	}
	res.Checks = r.checkResults(res.Stats.RowsOut)
	return res, nil
}

// progressEvery throttles "progress" reports: a bar needs a few updates a
// second, not one per object.
const progressEvery = 200 * time.Millisecond

// tick reports progress after an object, unless one was reported lately.
func (r *runner) tick() {
	if r.o.Progress == nil {
		return
	}
	now := time.Now().UnixNano()
	last := r.lastTick.Load()
	if now-last < int64(progressEvery) || !r.lastTick.CompareAndSwap(last, now) {
		return
	}
	r.report("progress", -1)
}

func (r *runner) report(event string, task int) {
	if r.o.Progress == nil {
		return
	}
	r.o.Progress(Progress{
		Pipeline: r.job.Pipeline, Event: event, Task: task,
		FilesDone: r.filesDone.Load(), FilesTotal: r.filesTotal,
		BytesDone: r.bytesDone.Load(), BytesTotal: r.bytesTotal,
		RowsIn: r.rowsIn.Load(), RowsOut: r.out.Load(),
	})
}

// runTask reads a task's inputs in key order and writes their rows.
func (r *runner) runTask(ctx context.Context, t Task) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	job := r.job
	w, err := write.New(ctx, r.outSchema, write.Options{
		Store: job.Sink.Loc.Store, Prefix: job.Sink.Loc.Prefix,
		Format: job.Sink.Format, Compression: job.Sink.Compression,
		PartitionBy: job.Sink.PartitionBy, TargetFileSize: job.Sink.TargetFileSize,
		RowGroupSize: job.Sink.RowGroupSize, CSV: job.Sink.CSV,
		RunID: job.RunID, Task: t.Index, Version: r.o.Version,
		Alloc: r.alloc, Budget: r.writeMem,
	})
	if err != nil {
		return fmt.Errorf("pipeline %s: task %d: %w", job.Pipeline, t.Index, err)
	}
	r.mu.Lock()
	r.writers = append(r.writers, w)
	r.mu.Unlock()

	q := &quarantine{}
	co := &coalescer{alloc: r.alloc, schema: r.evalSchema}
	// A task that stops early (a bad record under fail, a later file
	// failing) still holds the earlier files' batches.
	defer co.discard()
	// Decoding and the rest (filter, project, checks, write) overlap: one
	// goroutine processes the batches in order while this one decodes
	// the next objects, so a task uses two cores (a run of few tasks, such
	// as one big file, would otherwise use one).
	pipe := newStage(func(b arrow.RecordBatch) error {
		defer b.Release()
		return r.process(ctx, w, b)
	})
	defer pipe.close()
	flush := pipe.send
	keys := make([]string, len(t.Inputs))
	sizes := make([]int64, len(t.Inputs))
	for i, in := range t.Inputs {
		keys[i], sizes[i] = in.Key, in.Size
		if r.streamed(in) {
			sizes[i] = -1 // not fetched whole: read with ranged GETs below
		}
	}
	// Small NDJSON and CSV objects with the same partition values are
	// decoded into one set of builders (see decode.Appender); group is
	// those values.
	var app *decode.Appender
	var group []any
	if job.Source.Format == spec.FormatJSON || job.Source.Format == spec.FormatCSV {
		if app, err = decode.NewAppender(job.Source.Format, r.decodeOptions(q)); err != nil {
			return fmt.Errorf("pipeline %s: task %d: %w", job.Pipeline, t.Index, err)
		}
		defer app.Release()
	}
	flushGroup := func() error {
		if app == nil || app.Rows() == 0 {
			return nil
		}
		batches := app.Flush()
		defer releaseAll(batches)
		for _, b := range batches {
			if len(job.Source.PartitionFields) > 0 {
				// The values were checked per object: this cannot fail.
				nb, err := decode.TryAppendPartitionColumns(b, job.Source.PartitionFields, group, r.alloc)
				if err != nil {
					return fmt.Errorf("pipeline %s: task %d: %w", job.Pipeline, t.Index, err)
				}
				b = nb
				defer b.Release()
			}
			if out := co.add(b); out != nil {
				if err := flush(out); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// When the sink's partition_by leads the source's hive partitions, key
	// order keeps the inputs of each output partition together: once the
	// inputs move on to other values no more rows come for the files open
	// now, so they are finished there and then, and a task holds one
	// partition's buffers at a time instead of all of its partitions' until
	// its end. Should inputs come back to a partition (first-fit packing can
	// put a late small file into an earlier task) it only costs one more file.
	lead := leadingPartitions(job)
	var lastLead []any
	endPartitions := func() error {
		if err := flushGroup(); err != nil {
			return err
		}
		if out := co.finish(); out != nil {
			if err := flush(out); err != nil {
				return err
			}
		}
		return pipe.sendBarrier(func() error { return w.FinishOpen(ctx) })
	}
	ch, done := prefetch(ctx, job.Source.Loc.Store, keys, sizes, r.o.FetchConcurrency, r.fetchMem)
	for f := range ch {
		in := t.Inputs[f.idx]
		if lead > 0 && len(in.Partition) >= lead {
			if lastLead != nil && !samePartition(lastLead, in.Partition[:lead]) {
				if err := endPartitions(); err != nil {
					return err
				}
			}
			lastLead = in.Partition[:lead]
		}
		var batches []arrow.RecordBatch
		appended := -1 // rows added to app, or -1: the object was not appended
		switch {
		case f.err != nil:
			err = f.err
		case in.ETag != "" && f.etag != "" && f.etag != in.ETag:
			// The object was replaced since it was planned: reading the
			// new content under the old bookmark would be wrong, and
			// on_bad_record does not apply to a healthy object.
			done(in.Size)
			return &InputChangedError{Key: in.Key, Planned: in.ETag, Found: f.etag}
		case job.Source.Format == spec.FormatParquet:
			var n int64
			var emitErr error // the filter's or the writer's: never the object's fault
			n, err = r.streamParquet(ctx, in, f.data, q, func(b arrow.RecordBatch) error {
				if out := co.add(b); out != nil {
					emitErr = flush(out)
				}
				return emitErr
			})
			var changed *InputChangedError
			var half *streamBrokenError
			if emitErr != nil {
				return emitErr
			}
			if errors.As(err, &changed) || errors.As(err, &half) {
				return err
			}
			if err != nil && in.Parts > 1 {
				// Other tasks read the rest of this file: skipping this
				// part would keep half of it.
				return &splitPartError{key: in.Key, part: in.Part, parts: in.Parts, err: err}
			}
			r.rowsIn.Add(n)
			appended = 0 // rows are counted; nothing to hand on below
		case app != nil && r.appendable(in, f.data):
			if app.Rows() > 0 && (app.Rows() >= coalesceRows || !samePartition(group, in.Partition)) {
				if err := flushGroup(); err != nil {
					done(in.Size)
					return err
				}
			}
			appended, err = r.appendObject(app, in, f.data)
			if err == nil {
				group = in.Partition
			}
		default:
			// Rows stay in key order: what app holds goes first.
			if err = flushGroup(); err != nil {
				done(in.Size)
				return err
			}
			batches, err = r.decodeObject(ctx, in, f.data, q)
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
			if ferr := r.badFile(in, err, q); ferr != nil {
				return ferr
			}
			continue
		}
		if in.Part == 0 { // a split file counts once
			r.filesDone.Add(1)
			r.bytesDone.Add(in.Size)
		}
		r.tick()
		if appended >= 0 {
			r.rowsIn.Add(int64(appended))
			continue
		}
		for _, b := range batches {
			r.rowsIn.Add(b.NumRows())
			if out := co.add(b); out != nil {
				if err := flush(out); err != nil {
					releaseAll(batches)
					return err
				}
			}
		}
		releaseAll(batches)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := flushGroup(); err != nil {
		return err
	}
	if out := co.finish(); out != nil {
		if err := flush(out); err != nil {
			return err
		}
	}
	if err := pipe.close(); err != nil {
		return err
	}
	files, err := w.Close(ctx)
	if err != nil {
		return fmt.Errorf("pipeline %s: task %d: %w", job.Pipeline, t.Index, err)
	}
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
			return err
		}
		files = nil
	}
	var qu objstore.PendingUpload
	hasQ := q.buf.Len() > 0
	if hasQ {
		key := fmt.Sprintf("%s_sluice/bad/%s/task-%05d.jsonl", job.Sink.Loc.Prefix, job.RunID, t.Index)
		if qu, err = r.upload(ctx, key, q.buf.Bytes()); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.files = append(r.files, files...)
	if hasQ {
		r.quarantine = append(r.quarantine, qu)
	}
	r.mu.Unlock()
	return nil
}

func releaseAll(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

// upload writes data as a pending (invisible) upload.
func (r *runner) upload(ctx context.Context, key string, data []byte) (objstore.PendingUpload, error) {
	store := r.job.Sink.Loc.Store
	up, err := store.NewUpload(ctx, key)
	if err != nil {
		return objstore.PendingUpload{}, err
	}
	r.mu.Lock()
	r.uploads = append(r.uploads, up)
	r.mu.Unlock()
	if _, err := up.Write(data); err != nil {
		return objstore.PendingUpload{}, fmt.Errorf("%s: %w", key, err)
	}
	return up.Finish(ctx)
}

// maxAppendSize bounds the decoded size (as estimated by the size hint) of
// an object decoded into a task's shared builders: larger objects already
// make batches of their own, and are decoded batch by batch as before.
const maxAppendSize = 8 << 20

// appendable reports whether the object goes into the task's Appender.
func (r *runner) appendable(in Input, data []byte) bool {
	return r.sizeHint(in, data) <= maxAppendSize
}

// sizeHint estimates an object's decoded size.
func (r *runner) sizeHint(in Input, data []byte) int64 {
	n := int64(len(data))
	if decode.IsCompressed(in.Key, data) {
		n *= 8 // a typical text compression ratio; only sizes a buffer
	}
	return n
}

// appendObject decodes one whole NDJSON or CSV object into app and returns its
// rows. On an error the object contributes no rows (see decode.Appender).
func (r *runner) appendObject(app *decode.Appender, in Input, data []byte) (int, error) {
	src := r.job.Source
	if len(src.PartitionFields) > 0 {
		if err := decode.CheckPartitionValues(src.PartitionFields, in.Partition); err != nil {
			return 0, fmt.Errorf("%s: %w", in.Key, err)
		}
	}
	body, err := decode.Decompress(bytes.NewReader(data), in.Key, src.Compression)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	return app.Append(body, in.Key, r.sizeHint(in, data))
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

// decodeOptions are the decoder options common to every object of a task.
func (r *runner) decodeOptions(q *quarantine) decode.Options {
	src := r.job.Source
	opts := decode.Options{
		Schema: src.FileSchema, TimestampFormats: src.TimestampFormats,
		CSV: src.CSV, Alloc: r.alloc, SchemaChange: src.OnSchemaChange,
		OnBad: r.onBad(q),
	}
	if src.OnSchemaChange == spec.SchemaChangeAddColumns {
		// add_columns: a column the planner added from a newer file's
		// footer is missing from older files, which read it as null (the
		// decoders do that under ignore); a column of another type still
		// stops the run, which onBad enforces.
		opts.SchemaChange = spec.SchemaChangeIgnore
	}
	return opts
}

// decodeObject decodes one whole text (JSON or CSV) object into batches of
// evalSchema; Parquet objects go through streamParquet.
//
// Text objects are decoded completely before any row moves on, so a file
// that turns out to be broken half-way (a truncated gzip stream) is handled
// as a whole file under on_bad_record and never contributes half its rows.
func (r *runner) decodeObject(ctx context.Context, in Input, data []byte, q *quarantine) ([]arrow.RecordBatch, error) {
	src := r.job.Source
	opts := r.decodeOptions(q)
	opts.Key, opts.SizeHint = in.Key, r.sizeHint(in, data)
	body, err := decode.Decompress(bytes.NewReader(data), in.Key, src.Compression)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var rd decode.Reader
	if src.Format == spec.FormatCSV {
		rd, err = decode.NewCSV(body, opts)
	} else {
		rd, err = decode.NewJSON(body, opts)
	}
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var out []arrow.RecordBatch
	for {
		b, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			releaseAll(out)
			return nil, err
		}
		if len(src.PartitionFields) > 0 {
			nb, perr := decode.TryAppendPartitionColumns(b, src.PartitionFields, in.Partition, r.alloc)
			b.Release()
			if perr != nil {
				releaseAll(out)
				return nil, fmt.Errorf("%s: %w", in.Key, perr)
			}
			b = nb
		}
		out = append(out, b)
	}
}

// StreamParquetAbove is the size past which a Parquet input is not fetched
// whole into memory but read with ranged GETs (footer, then the needed
// column chunks of the kept row groups) and its batches handed on as they
// are decoded: nothing holds a whole large input in memory.
var StreamParquetAbove int64 = 64 << 20

func (r *runner) streamed(in Input) bool {
	// A part of a split file reads only its row groups, with ranged reads.
	return r.job.Source.Format == spec.FormatParquet && (in.Size > StreamParquetAbove || in.Parts > 1)
}

// streamBrokenError is a streamed object that failed after some of its
// rows were already handed on: on_bad_record cannot skip it whole any
// more, so the run stops (nothing is committed).
type streamBrokenError struct {
	key  string
	rows int64
	err  error
}

func (e *streamBrokenError) Error() string {
	return fmt.Sprintf("%s: unreadable after %d of its rows were read (a large Parquet object is streamed, so it cannot be skipped whole): %v", e.key, e.rows, e.err)
}

func (e *streamBrokenError) Unwrap() error { return e.err }

// splitPartError is a part of a split Parquet file that failed: the other
// parts may have read theirs, so the run stops rather than skip it.
type splitPartError struct {
	key         string
	part, parts int
	err         error
}

func (e *splitPartError) Error() string {
	return fmt.Sprintf("%s: unreadable in part %d of the %d it was split into for reading in parallel (so it cannot be skipped whole): %v", e.key, e.part+1, e.parts, e.err)
}

func (e *splitPartError) Unwrap() error { return e.err }

// streamParquet reads a Parquet input and hands each decoded batch
// (partition columns added) to emit as soon as it is decoded, which does not take
// ownership. It returns the rows handed on. An error before the first
// batch (a vanished object, a broken footer) is an ordinary whole-object
// failure for on_bad_record; one after it is a *streamBrokenError.
//
// data is the object when it was fetched whole (small objects: one GET);
// nil means read it with ranged GETs (large objects), after checking its
// ETag is still the planned one.
func (r *runner) streamParquet(ctx context.Context, in Input, data []byte, q *quarantine, emit func(arrow.RecordBatch) error) (int64, error) {
	opts := r.decodeOptions(q)
	opts.Key = in.Key
	if in.footer != nil {
		opts.ParquetMetadata = in.footer
	}
	var src parquet.ReaderAtSeeker
	var size int64
	if data != nil {
		if err := checkParquetMagic(in.Key, data); err != nil {
			return 0, err
		}
		src, size = bytes.NewReader(data), int64(len(data))
	} else {
		store := r.job.Source.Loc.Store
		info, err := store.Head(ctx, in.Key)
		if err != nil {
			return 0, err
		}
		if in.ETag != "" && info.ETag != in.ETag {
			return 0, &InputChangedError{Key: in.Key, Planned: in.ETag, Found: info.ETag}
		}
		ra := objstore.NewReaderAt(ctx, store, in.Key, in.Size)
		head, tail := make([]byte, min(in.Size, 4)), make([]byte, min(in.Size, 4))
		if _, err := ra.ReadAt(head, 0); err != nil {
			return 0, fmt.Errorf("%s: read: %w", in.Key, err)
		}
		if _, err := ra.ReadAt(tail, in.Size-int64(len(tail))); err != nil {
			return 0, fmt.Errorf("%s: read: %w", in.Key, err)
		}
		if err := checkParquetEnds(in.Key, in.Size, head, tail); err != nil {
			return 0, err
		}
		src, size = ra, in.Size
	}
	rd, err := decode.NewParquet(ctx, src, size, opts, in.RowGroups)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	var rows int64
	for {
		b, err := rd.Next()
		if err == io.EOF {
			return rows, nil
		}
		if err == nil {
			n := b.NumRows()
			var nb arrow.RecordBatch
			first := rows
			nb, err = r.dropNullsInRequired(ctx, in, b, func(i int64) int64 { return decode.FileRow(rd, first+i) }, opts.OnBad)
			b.Release()
			if err == nil && len(r.job.Source.PartitionFields) > 0 {
				b = nb
				nb, err = decode.TryAppendPartitionColumns(b, r.job.Source.PartitionFields, in.Partition, r.alloc)
				b.Release()
			}
			if err == nil {
				err = emit(nb)
				nb.Release()
				rows += n
				if err != nil {
					return rows, err // emit's own error: the caller has it
				}
				continue
			}
		}
		if rows == 0 {
			return 0, err
		}
		return rows, &streamBrokenError{key: in.Key, rows: rows, err: err}
	}
}

// dropNullsInRequired enforces "not nullable" on a Parquet batch: the JSON
// and CSV decoders report a null in a required column as a bad record, but
// the Parquet reader passes on the nulls of an optional file column, or of
// a column missing from the file (read as null under ignore and
// add_columns), and the writer would store them as zeros. Each such row is
// a bad record and is dropped; its Row is its 1-based row in the object
// (fileRow maps the batch's i-th row there: row groups may have been
// skipped). b is not consumed; the result is a new reference.
func (r *runner) dropNullsInRequired(ctx context.Context, in Input, b arrow.RecordBatch, fileRow func(int64) int64, onBad func(decode.BadRecord) error) (arrow.RecordBatch, error) {
	var keep []bool
	for j, f := range r.job.Source.FileSchema.Fields() {
		col := b.Column(j)
		if f.Nullable || col.NullN() == 0 {
			continue
		}
		if keep == nil {
			keep = make([]bool, b.NumRows())
			for i := range keep {
				keep[i] = true
			}
		}
		reason := "null in a column declared not nullable"
		if col.NullN() == col.Len() {
			reason = "no value (the column is missing or all null in the file) in a column declared not nullable"
		}
		for i := 0; i < col.Len(); i++ {
			if col.IsNull(i) && keep[i] {
				keep[i] = false
				if err := onBad(decode.BadRecord{Key: in.Key, Row: fileRow(int64(i)) + 1, Column: f.Name, Reason: reason}); err != nil {
					return nil, err
				}
			}
		}
	}
	if keep == nil {
		b.Retain()
		return b, nil
	}
	mb := array.NewBooleanBuilder(r.alloc)
	defer mb.Release()
	mb.AppendValues(keep, nil)
	mask := mb.NewBooleanArray()
	defer mask.Release()
	nb, err := compute.FilterRecordBatch(compute.WithAllocator(ctx, r.alloc), b, mask, compute.DefaultFilterOptions())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Key, err)
	}
	return nb, nil
}

// process filters one batch, projects the output columns, runs the checks
// and hands the rows to the writer. b is not consumed.
func (r *runner) process(ctx context.Context, w *write.Writer, b arrow.RecordBatch) error {
	kept := b
	if r.filter != nil {
		f, err := r.filter.Filter(ctx, b)
		if err != nil {
			return fmt.Errorf("pipeline %s: where: %w", r.job.Pipeline, err)
		}
		defer f.Release()
		kept = f
	}
	if kept.NumRows() == 0 {
		return nil
	}
	cols := make([]arrow.Array, len(r.outIdx))
	for i, idx := range r.outIdx {
		cols[i] = kept.Column(idx)
	}
	out := array.NewRecordBatch(r.outSchema, cols, kept.NumRows())
	defer out.Release()
	for _, c := range r.checks {
		if err := c.observe(ctx, out); err != nil {
			return err
		}
	}
	r.out.Add(out.NumRows())
	return w.Write(ctx, out)
}

// abortAll aborts every writer and upload of a failed run.
func (r *runner) abortAll(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.writers {
		_ = w.Abort(ctx)
	}
	for _, up := range r.uploads {
		_ = up.Abort(ctx)
	}
	for _, f := range r.files {
		_ = r.job.Sink.Loc.Store.AbortUpload(ctx, f.Upload)
	}
	for _, u := range r.quarantine {
		_ = r.job.Sink.Loc.Store.AbortUpload(ctx, u)
	}
}

// AbortResult discards a finished but uncommitted run (checks failed, or the
// user declined): every pending upload is aborted.
func AbortResult(ctx context.Context, res *Result) error {
	var errs []error
	store := res.Job.Sink.Loc.Store
	for _, f := range res.Files {
		if err := store.AbortUpload(ctx, f.Upload); err != nil {
			errs = append(errs, err)
		}
	}
	for _, u := range res.Quarantine {
		if err := store.AbortUpload(ctx, u); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// quarantine collects one task's bad records as JSON lines.
type quarantine struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

type badLine struct {
	Key    string `json:"key"`
	Line   int64  `json:"line,omitempty"`
	Row    int64  `json:"row,omitempty"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
	Raw    string `json:"raw"`
	// RawBase64 holds the exact bytes when Raw is not valid UTF-8: JSON
	// strings cannot carry invalid UTF-8 (it would become U+FFFD), and a
	// quarantined record must be recoverable byte for byte.
	RawBase64 string `json:"raw_base64,omitempty"`
}

func (q *quarantine) add(b decode.BadRecord) {
	bl := badLine{Key: b.Key, Line: b.Line, Row: b.Row, Column: b.Column, Reason: b.Reason, Raw: string(b.Raw)}
	if !utf8.Valid(b.Raw) {
		bl.RawBase64 = base64.StdEncoding.EncodeToString(b.Raw)
	}
	line, _ := json.Marshal(bl)
	q.mu.Lock()
	q.buf.Write(line)
	q.buf.WriteByte('\n')
	q.mu.Unlock()
}

// onBad applies on_bad_record to one bad record.
//
// Two reports are not about one record, and are sorted out here because
// the decoders leave the policy to the caller: a CSV header that lacks a
// declared column (line 1, a column, no raw text) is schema drift, so
// on_schema_change decides, not on_bad_record; and a Parquet report
// without a row (a column of another type under on_schema_change =
// "ignore", which drops the whole object) counts as a bad file.
func (r *runner) onBad(q *quarantine) func(decode.BadRecord) error {
	src := r.job.Source
	return func(b decode.BadRecord) error {
		if src.Format == spec.FormatCSV && b.Line == 1 && b.Column != "" && b.Raw == nil {
			if src.OnSchemaChange == spec.SchemaChangeIgnore || src.OnSchemaChange == spec.SchemaChangeAddColumns {
				return nil // the column reads as null (DESIGN §1), as Parquet's do
			}
			mm := &decode.SchemaMismatchError{Key: b.Key, Column: b.Column, Want: r.declaredType(b.Column)}
			return mm
		}
		wholeFile := src.Format == spec.FormatParquet && b.Row == 0
		if wholeFile && b.Column != "" && src.OnSchemaChange == spec.SchemaChangeAddColumns {
			// The decoder reports "file type T, expected U: ..." for a
			// column of another type; add_columns never changes a type.
			mm := &decode.SchemaMismatchError{Key: b.Key, Column: b.Column, FileType: "another type", Want: r.declaredType(b.Column)}
			if _, rest, ok := strings.Cut(b.Reason, "file type "); ok {
				if ft, _, ok := strings.Cut(rest, ", expected"); ok {
					mm.FileType = ft
				}
			}
			return mm
		}
		switch src.OnBadRecord {
		case spec.BadRecordSkip, spec.BadRecordQuarantine:
			if wholeFile {
				r.badFiles.Add(1)
			} else {
				r.badRecords.Add(1)
			}
			if src.OnBadRecord == spec.BadRecordQuarantine {
				q.add(b)
			}
			return nil
		default:
			return &decode.BadRecordError{Record: b}
		}
	}
}

// declaredType is the file schema's type of column name, for messages.
func (r *runner) declaredType(name string) string {
	if idx := r.job.Source.FileSchema.FieldIndices(name); len(idx) > 0 {
		return r.job.Source.FileSchema.Field(idx[0]).Type.String()
	}
	return "?"
}

// checkParquetMagic rejects an object that is not Parquet at all with a
// message that says so: arrow-go checks the footer length before the
// magic, so a short text file would be reported as "smaller than indicated
// metadata size". Encrypted files (magic "PARE") are left to arrow-go.
func checkParquetMagic(key string, data []byte) error {
	return checkParquetEnds(key, int64(len(data)), data[:min(len(data), 4)], data[max(len(data)-4, 0):])
}

// checkParquetEnds checks the magic bytes at both ends of an object of size
// bytes, given its first and last (up to) four bytes.
func checkParquetEnds(key string, size int64, head, tail []byte) error {
	if size >= 8 && bytes.Equal(head, []byte("PAR1")) && (bytes.Equal(tail, []byte("PAR1")) || bytes.Equal(tail, []byte("PARE"))) {
		return nil
	}
	if size >= 4 && bytes.Equal(tail, []byte("PARE")) {
		return nil
	}
	return fmt.Errorf("%s: not a Parquet file (%d bytes; starts with %q, ends with %q, expected \"PAR1\" at both ends)", key, size, head, tail)
}

// badFile applies on_bad_record to an object that could not be read at all
// (corrupt compression, broken Parquet footer, vanished object). Under
// skip and quarantine the object counts as processed, so it is not retried
// forever; `state forget` re-queues it.
func (r *runner) badFile(in Input, err error, q *quarantine) error {
	var bre *decode.BadRecordError
	if errors.As(err, &bre) {
		return fmt.Errorf("on_bad_record = \"fail\": %w", err)
	}
	// Drift is not a bad record: under on_schema_change = "fail" (and
	// add_columns, which only adds columns to an inferred schema) it stops
	// the run whatever on_bad_record says; under "ignore" the decoders
	// never return it.
	var mm *decode.SchemaMismatchError
	if errors.As(err, &mm) {
		return fmt.Errorf("schema drift (on_schema_change = %q): %w", r.job.Source.OnSchemaChange, err)
	}
	switch r.job.Source.OnBadRecord {
	case spec.BadRecordSkip:
		r.badFiles.Add(1)
	case spec.BadRecordQuarantine:
		r.badFiles.Add(1)
		q.add(decode.BadRecord{Key: in.Key, Reason: "whole object unreadable: " + err.Error()})
	default:
		if errors.Is(err, objstore.ErrNotExist) {
			return fmt.Errorf("%s: the input vanished after the run started (on_bad_record = \"fail\"): %w", in.Key, err)
		}
		return fmt.Errorf("cannot read input (on_bad_record = \"fail\"): %w", err)
	}
	r.filesDone.Add(1)
	r.bytesDone.Add(in.Size)
	return nil
}
