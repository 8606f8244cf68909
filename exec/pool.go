package exec

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/exec/eval"
	"github.com/sluicedata/sluice/exec/write"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
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
	// DedupeMemory is what a dedupe may hold in memory before it spills
	// (default MemoryLimit / 4).
	DedupeMemory int64
	// Published, when set, is called after each output that a run with
	// committer = "direct" publishes while it runs (from worker goroutines).
	Published func(objstore.PendingUpload)
	// Retries is how many times a task that failed with an error a retry
	// may mend is run again (runAttempts); RetryBackoff the first pause
	// (default 1s, doubling up to 30s).
	Retries      int
	RetryBackoff time.Duration
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

// coalesceBytes bounds a batch by its decoded size as well: 8Ki rows of
// nested events of ~1 KB are 8 MiB, and a task holds about four batches
// (builders, the stage's queue, the one being written), so wide rows made
// tasks hold tens of MiB decoded. A batch ends at whichever comes first.
const coalesceBytes = 2 << 20

// Run executes every task of job and returns the pending outputs. On error
// every upload it started is aborted, so nothing of the run remains. Errors
// name the task, object or operator that failed but not the pipeline: the
// caller knows which job it ran, and names it once (apply's views do).
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
	// prov: batches carry provenance columns (project.go); proj computes
	// the output columns; dedupe, when set, takes the output rows of
	// every task and writes the winners once they are all in (dedupe.go).
	prov   bool
	proj   *projection
	dedupe *deduper
	table  *tableWrite // an iceberg sink's conversion; nil for files
	filter *eval.Program
	// whereColumns, when the where applies a cast or parse without try_,
	// are the columns those read: a row it fails on is a bad record
	// naming them (task.filter).
	whereColumns string
	// dictionaries are the file columns a Parquet reader may hand over
	// as dictionary arrays (decode.Options.Dictionaries): strings and
	// binaries neither the filter nor an output expression reads,
	// materialised after the filter (projection.apply).
	dictionaries map[string]bool
	checks       []*checkState
	fetchMem     *byteBudget
	writeMem     *write.Budget

	// The run's totals, for progress reports; each task counts its own
	// (taskCounts) for its TaskResult.
	filesTotal, bytesTotal            int64
	filesDone, bytesDone, rowsIn, out atomic.Int64
	lastTick                          atomic.Int64 // unix ns of the last "progress" report

	mu         sync.Mutex
	files      []write.File
	quarantine []objstore.PendingUpload
	writers    []*write.Writer // open writers, aborted on failure
	uploads    []objstore.Upload
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
	// With an output block, a dedupe or a where that can fail on a row,
	// rows carry their provenance (project.go).
	r.prov = job.Output != nil || job.Dedupe != nil
	if job.Filter != nil {
		if fails, cols := predicate.FailingColumns(job.Filter.Root); fails {
			r.prov = true
			r.whereColumns = strings.Join(cols, ", ")
		}
	}
	if r.prov {
		fields = append(fields, provenanceFields()...)
	}
	r.evalSchema = arrow.NewSchema(fields, nil)
	proj, err := newProjection(job, r.evalSchema, job.Dedupe != nil)
	if err != nil {
		return nil, err
	}
	r.proj = proj
	nout := len(proj.cols)
	r.outSchema = arrow.NewSchema(proj.out.Fields()[:nout], nil)
	if job.Dedupe != nil {
		if r.dedupe, err = newDeduper(job, proj.out, alloc, o); err != nil {
			return nil, err
		}
	}
	if job.Sink.Table != nil {
		tw, err := newTableWrite(r.outSchema, job.Sink.Table)
		if err != nil {
			return nil, fmt.Errorf("pipeline %s: %w", job.Pipeline, err)
		}
		r.table = tw
	}
	if job.Filter != nil {
		p, err := eval.Compile(job.Filter.Root, r.evalSchema)
		if err != nil {
			return nil, fmt.Errorf("where: %w", err)
		}
		r.filter = p
	}
	if job.Source.Format == spec.FormatParquet {
		r.dictionaries = lateColumns(job.Source.FileSchema, r.filter)
		for _, c := range proj.exprColumns() {
			delete(r.dictionaries, c)
		}
	}
	for _, c := range job.Checks {
		cs := &checkState{spec: c}
		if c.Expr != nil {
			p, err := eval.Compile(c.Expr.Root, r.outSchema)
			if err != nil {
				return nil, fmt.Errorf("check %s: %w", c.Name, err)
			}
			cs.prog = p
		}
		r.checks = append(r.checks, cs)
	}
	// Half the budget for fetched objects, half for buffered row groups.
	r.fetchMem = newByteBudget(o.MemoryLimit / 2)
	r.writeMem = write.NewBudget(o.MemoryLimit / 2)
	for _, t := range job.Tasks {
		files, bytes := job.TaskSize(t)
		r.filesTotal += int64(files)
		r.bytesTotal += bytes
	}
	return r, nil
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if r.dedupe != nil {
		defer r.dedupe.close()
	}
	ctx = compute.WithAllocator(ctx, r.alloc)
	next := make(chan Task)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel(err) })
	}
	// Split first: the number of workers is what there is to run, never
	// more (-parallelism 1000000 over one task used to start a million
	// goroutines, 2.7 GB, to move 100 rows).
	tasks := r.splitTasks(ctx)
	var resMu sync.Mutex
	var results []TaskResult
	for w := 0; w < min(r.o.Parallelism, len(tasks)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range next {
				tr, err := r.runOne(ctx, t)
				if err != nil {
					fail(err)
					return
				}
				resMu.Lock()
				results = append(results, *tr)
				resMu.Unlock()
			}
		}()
	}
feed:
	for _, t := range tasks {
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
	if r.dedupe != nil {
		drs, err := r.finishDedupe(ctx, len(tasks))
		if err != nil {
			return nil, err
		}
		results = append(results, drs...)
	}
	// The same merge a distributed executor applies to its tasks' records:
	// the result does not depend on which task finished first.
	return Merge(r.job, results), nil
}

// finishDedupe writes the dedupe's winners once every task is done: worker
// w reduces buckets w, w+P, … in order and writes them as task
// firstIndex+w (a bucket's rows go to one writer, in input order, so the
// files a run writes depend only on the data and the parallelism).
func (r *runner) finishDedupe(ctx context.Context, firstIndex int) ([]TaskResult, error) {
	p := min(r.o.Parallelism, dedupeBuckets)
	results := make([]TaskResult, p)
	errs := make([]error, p)
	var wg sync.WaitGroup
	for w := 0; w < p; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := r.dedupeWorker(ctx, Task{Index: firstIndex + w}, w, p)
			if err != nil {
				errs[w] = err
				return
			}
			results[w] = *tr
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	// Rows left out while shrinking count too.
	results[0].Stats.Deduped += r.dedupe.removed
	return results, nil
}

func (r *runner) dedupeWorker(ctx context.Context, t Task, w, p int) (*TaskResult, error) {
	tk, err := r.newTask(ctx, t)
	if err != nil {
		return nil, err
	}
	tk.pipe = newStage(func(arrow.RecordBatch) error { return nil })
	defer tk.pipe.close()
	start := time.Now()
	var removed int64
	write1 := func(win arrow.RecordBatch) error {
		cols := win.Columns()[:r.dedupe.nout]
		out := array.NewRecordBatch(r.outSchema, cols, win.NumRows())
		defer out.Release()
		// In batches of the usual size: the writer's pages and buffers
		// are sized for them.
		for i := int64(0); i < out.NumRows(); i += coalesceRows {
			part := out.NewSlice(i, min(i+coalesceRows, out.NumRows()))
			err := tk.writeOut(part)
			part.Release()
			if err != nil {
				return err
			}
		}
		return nil
	}
	// write writes winners in order and releases them.
	write := func(wins []arrow.RecordBatch) error {
		defer releaseAll(wins)
		for _, win := range wins {
			if err := write1(win); err != nil {
				return err
			}
		}
		return nil
	}
	win, n, whole, err := r.dedupe.workerWinners(ctx, w, p)
	switch {
	case err != nil:
		return nil, err
	case whole:
		removed = n
		if err := write(win); err != nil {
			return nil, err
		}
	default:
		for bk := w; bk < dedupeBuckets; bk += p {
			win, n, err := r.dedupe.winners(ctx, bk)
			if err != nil {
				return nil, err
			}
			removed += n
			if err := write(win); err != nil {
				return nil, err
			}
		}
	}
	tk.counts.writeNS.Add(int64(time.Since(start)))
	tr, err := tk.finish()
	if err != nil {
		return nil, err
	}
	tr.Stats.Deduped = removed
	return tr, nil
}

// runOne runs one task with its progress events and logs.
func (r *runner) runOne(ctx context.Context, t Task) (*TaskResult, error) {
	r.report("task_started", t.Index)
	start := time.Now()
	t.Inputs = r.job.TaskInputs(t) // built now, dropped when the task ends
	slog.DebugContext(ctx, "task started", "pipeline", r.job.Pipeline, "task", t.Index, "inputs", len(t.Inputs))
	tr, err := r.runAttempts(ctx, t)
	if err != nil {
		slog.DebugContext(ctx, "task failed", "pipeline", r.job.Pipeline, "task", t.Index, "err", err)
		return nil, err
	}
	slog.DebugContext(ctx, "task done", "pipeline", r.job.Pipeline, "task", t.Index, "elapsed", time.Since(start).Round(time.Millisecond))
	r.report("task_done", t.Index)
	return tr, nil
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

// upload writes data, JSON lines, as a pending (invisible) upload under
// the sink, with the sink's object settings.
func (r *runner) upload(ctx context.Context, key string, data []byte) (objstore.PendingUpload, error) {
	store := r.job.Sink.Loc.Store
	obj := r.job.Sink.Object
	obj.ContentType, obj.ContentEncoding = "application/x-ndjson", ""
	up, err := store.NewUpload(ctx, key, obj)
	if err != nil {
		return objstore.PendingUpload{}, err
	}
	r.mu.Lock()
	r.uploads = append(r.uploads, up)
	r.mu.Unlock()
	if _, err := up.Write(data); err != nil {
		_ = up.Abort(context.WithoutCancel(ctx))
		return objstore.PendingUpload{}, fmt.Errorf("%s: %w", key, err)
	}
	pu, err := up.Finish(ctx)
	if err != nil {
		_ = up.Abort(context.WithoutCancel(ctx))
	}
	return pu, err
}
