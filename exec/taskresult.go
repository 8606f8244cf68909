package exec

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/sluicedata/sluice/exec/write"
	"github.com/sluicedata/sluice/objstore"
)

// TaskResult is what one task produced: its pending files, its quarantined
// records, its counters and what its checks observed. It is plain data
// (JSON) so that a task run in another process (a Temporal worker, a
// Kubernetes or AWS Batch job) reports it as a record, and the coordinator
// builds the run's Result with Merge exactly as Run does from its own
// tasks' results.
type TaskResult struct {
	Task  int          `json:"task"`
	Files []write.File `json:"files"`
	// Quarantine is the task's bad records (one pending object), if any.
	Quarantine *objstore.PendingUpload `json:"quarantine,omitempty"`
	Stats      Stats                   `json:"stats"`
	// Checks are the expression checks' observations, in the job's check
	// order (min_rows checks are decided on the run's total).
	Checks []TaskCheck `json:"checks,omitempty"`
	// PhaseNS is the time the task spent in each phase, in nanoseconds:
	// "fetch" (GETs of whole objects), "decode" (reading objects and
	// handing their rows on) and "write" (filter, checks and writes).
	PhaseNS map[string]int64 `json:"phase_ns,omitempty"`
	// Attempts is how many times the local pool ran the task to get this
	// result (Options.Retries); 0 or 1 is once.
	Attempts int `json:"attempts,omitempty"`
}

// TaskCheck is one check as observed over one task's output rows.
type TaskCheck struct {
	Name     string   `json:"name"`
	Failing  int64    `json:"failing_rows"`
	Examples []string `json:"examples,omitempty"`
}

// Uploads lists every pending upload the task left: its files and its
// quarantine object.
func (tr *TaskResult) Uploads() []objstore.PendingUpload {
	var out []objstore.PendingUpload
	for _, f := range tr.Files {
		out = append(out, f.Upload)
	}
	if tr.Quarantine != nil {
		out = append(out, *tr.Quarantine)
	}
	return out
}

// Abort discards the task's pending uploads: a task whose attempt lost to
// another attempt's record, or a run that will not commit.
func (tr *TaskResult) Abort(ctx context.Context, store objstore.Store) error {
	var errs []error
	for _, u := range tr.Uploads() {
		if err := store.AbortUpload(ctx, u); err != nil {
			errs = append(errs, fmt.Errorf("aborting upload of %s: %w", u.Key, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("task %d: %w", tr.Task, errs[0])
	}
	return nil
}

// Merge builds a run's Result from its tasks' results, whatever the order
// they came in: files and quarantine in task order, counters added up,
// checks decided over every task (checkResults). Elapsed is the caller's.
func Merge(job *Job, results []TaskResult) *Result {
	rs := slices.Clone(results)
	slices.SortStableFunc(rs, func(a, b TaskResult) int { return a.Task - b.Task })
	res := &Result{Job: job}
	for _, tr := range rs {
		res.Files = append(res.Files, tr.Files...)
		if tr.Quarantine != nil {
			res.Quarantine = append(res.Quarantine, *tr.Quarantine)
		}
		s := tr.Stats
		res.Stats.FilesRead += s.FilesRead
		res.Stats.BytesRead += s.BytesRead
		res.Stats.RowsIn += s.RowsIn
		res.Stats.RowsOut += s.RowsOut
		res.Stats.BadRecords += s.BadRecords
		res.Stats.BadFiles += s.BadFiles
		res.Stats.Deduped += s.Deduped
		res.Stats.FilesWritten += s.FilesWritten
		res.Stats.BytesWritten += s.BytesWritten
		if tr.Attempts > 1 {
			if res.Retries == nil {
				res.Retries = map[string]int64{}
			}
			res.Retries["tasks"] += int64(tr.Attempts - 1)
		}
	}
	res.Checks = checkResults(job, rs, res.Stats.RowsOut)
	res.Phases = map[string]time.Duration{}
	for _, tr := range rs {
		for name, ns := range tr.PhaseNS {
			res.Phases[name] += time.Duration(ns)
		}
	}
	return res
}

// RunTask runs the task of job whose Index is index, alone, and returns its
// result; the same code as Run's, without the split of a large Parquet
// file into parts (a task run elsewhere is the plan's task, whole). On
// error every upload it started is aborted. o.Parallelism is unused: one
// task uses its fetch concurrency and two cores (decode, process).
func RunTask(ctx context.Context, job *Job, index int, o Options) (*TaskResult, error) {
	if job.Dedupe != nil {
		// Dedupe compares rows across every task of the run: one task
		// alone cannot write its winners.
		return nil, fmt.Errorf("pipeline %s: dedupe needs every row of a run in one process; run it with -executor local", job.Pipeline)
	}
	i := slices.IndexFunc(job.Tasks, func(t Task) bool { return t.Index == index })
	if i < 0 {
		return nil, fmt.Errorf("pipeline %s: run %s has no task %d (it has %d)", job.Pipeline, job.RunID, index, len(job.Tasks))
	}
	r, err := newRunner(job, o)
	if err != nil {
		return nil, err
	}
	tr, err := r.runOne(ctx, job.Tasks[i])
	if err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		r.abortAll(actx)
		return nil, err
	}
	return tr, nil
}

// taskCounts are one task's counters.
type taskCounts struct {
	filesRead, bytesRead, rowsIn, rowsOut, badRecords, badFiles atomic.Int64
	// Nanoseconds spent in each phase (TaskResult.PhaseNS).
	fetchNS, decodeNS, writeNS atomic.Int64
}

// phases are the task's phase timings (TaskResult.PhaseNS).
func (c *taskCounts) phases() map[string]int64 {
	return map[string]int64{"fetch": c.fetchNS.Load(), "decode": c.decodeNS.Load(), "write": c.writeNS.Load()}
}

// stats are the task's counters, with files the files it wrote.
func (c *taskCounts) stats(files []write.File) Stats {
	s := Stats{
		FilesRead: c.filesRead.Load(), BytesRead: c.bytesRead.Load(),
		RowsIn: c.rowsIn.Load(), RowsOut: c.rowsOut.Load(),
		BadRecords: c.badRecords.Load(), BadFiles: c.badFiles.Load(),
	}
	for _, f := range files {
		s.FilesWritten++
		s.BytesWritten += f.Bytes
	}
	return s
}

// fileRead counts one input read (or given up under on_bad_record) by a
// task, and in the run's progress.
func (r *runner) fileRead(c *taskCounts, size int64) {
	c.filesRead.Add(1)
	c.bytesRead.Add(size)
	r.filesDone.Add(1)
	r.bytesDone.Add(size)
}

// rowsRead counts decoded rows.
func (r *runner) rowsRead(c *taskCounts, n int64) {
	c.rowsIn.Add(n)
	r.rowsIn.Add(n)
}
