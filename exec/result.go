package exec

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicedata/sluice/exec/write"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

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
	// Deduped are the output rows a dedupe left out.
	Deduped int64 `json:"deduped,omitempty"`
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
	// Phases are the time spent fetching, decoding and writing, each
	// summed over the tasks that ran in parallel (so each may exceed
	// Elapsed).
	Phases map[string]time.Duration
	// Retries counts what was tried again, by kind.
	Retries map[string]int64
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
