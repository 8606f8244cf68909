package dist

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
)

// RecordVersion is the format version of task records.
const RecordVersion = 1

// Record is one task's result as its winning attempt wrote it.
type Record struct {
	FormatVersion int    `json:"format_version"`
	RunID         string `json:"run_id"`
	Pipeline      string `json:"pipeline"`
	Task          int    `json:"task"`
	// Attempt identifies the attempt that wrote it (unique per attempt:
	// host, pid and a random nonce, plus the scheduler's attempt number),
	// so that an attempt recognises its own write after an ambiguous
	// retry of the PUT.
	Attempt string          `json:"attempt"`
	Written time.Time       `json:"written"`
	Elapsed time.Duration   `json:"elapsed_ns"`
	Result  exec.TaskResult `json:"result"`
}

// Failure is a task's permanent failure, recorded for a coordinator that
// only watches objects (External).
type Failure struct {
	Task    int    `json:"task"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Attempt string `json:"attempt"`
	// Input is the changed input of a KindInputChanged failure.
	Input *exec.InputChangedError `json:"input,omitempty"`
}

// NewAttempt returns an attempt id: who runs it and a random nonce.
func NewAttempt(scheduler string) string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s@%s/%d/%s", scheduler, host, os.Getpid(), hex.EncodeToString(b[:]))
}

// TaskOptions tune RunTask.
type TaskOptions struct {
	Exec exec.Options
	// Open opens store URLs (nil: objstore.Open).
	Open exec.OpenFunc
	// Attempt identifies this attempt (NewAttempt).
	Attempt string
}

func (o TaskOptions) open() exec.OpenFunc {
	if o.Open != nil {
		return o.Open
	}
	return func(ctx context.Context, url string) (objstore.Location, error) { return objstore.Open(ctx, url) }
}

// RunTask runs task index of run r and records its result create-only. It
// returns the record that counts, which is another attempt's when that
// one recorded first (won is then false, and this attempt's uploads are
// aborted). A task already recorded is not run again. Failures that no
// retry mends are *Error (Classify).
func RunTask(ctx context.Context, r Run, index int, o TaskOptions) (rec *Record, won bool, err error) {
	if rec, err := ReadRecord(ctx, r, index); err == nil {
		return rec, false, nil // an earlier attempt's completion was lost
	} else if !errors.Is(err, objstore.ErrNotExist) {
		return nil, false, err
	}
	if err := checkLive(ctx, r); err != nil {
		return nil, false, err
	}
	job, err := LoadJob(ctx, r, o.open())
	if err != nil {
		return nil, false, err
	}
	start := time.Now()
	tr, err := exec.RunTask(ctx, job, index, o.Exec)
	if err != nil {
		return nil, false, err
	}
	testDelay(ctx)
	mine := &Record{FormatVersion: RecordVersion, RunID: r.RunID, Pipeline: job.Pipeline, Task: index,
		Attempt: o.Attempt, Written: time.Now().UTC(), Elapsed: time.Since(start), Result: *tr}
	// Not cancelled by ctx from here: a cancelled attempt still either
	// records (winning) or aborts what it wrote.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if err := ctx.Err(); err != nil {
		// Told to stop (the attempt is stale, or the run ended) before
		// recording: give up rather than race a newer attempt.
		return nil, false, errors.Join(err, tr.Abort(dctx, job.Sink.Loc.Store))
	}
	body, err := json.Marshal(mine)
	if err != nil {
		return nil, false, errors.Join(err, tr.Abort(dctx, job.Sink.Loc.Store))
	}
	_, perr := r.Dir.Store.Put(dctx, r.TaskKey(index), body, objstore.PutOptions{IfNoneMatch: true, Object: objstore.ObjectOptions{ContentType: "application/json"}})
	if perr == nil {
		slog.InfoContext(ctx, "task recorded", "run", r.RunID, "task", index, "attempt", o.Attempt, "files", len(tr.Files))
		return mine, true, nil
	}
	if !errors.Is(perr, objstore.ErrPrecondition) {
		// Unknown whether the record landed: read it back below.
		slog.WarnContext(ctx, "task record write failed; reading it back", "run", r.RunID, "task", index, "err", perr)
	}
	winner, err := ReadRecord(dctx, r, index)
	if err != nil {
		// Nothing recorded, or unreadable: abort this attempt's uploads
		// (a retry runs the task again).
		return nil, false, errors.Join(fmt.Errorf("recording task %d of run %s: %w", index, r.RunID, perr), err, tr.Abort(dctx, job.Sink.Loc.Store))
	}
	if winner.Attempt == o.Attempt {
		return winner, true, nil // our own write, answered ambiguously
	}
	slog.InfoContext(ctx, "task lost to another attempt; aborting its uploads", "run", r.RunID, "task", index, "attempt", o.Attempt, "winner", winner.Attempt)
	if err := tr.Abort(dctx, job.Sink.Loc.Store); err != nil {
		return nil, false, err
	}
	return winner, false, nil
}

// ReadRecord reads task index's record (objstore.ErrNotExist: none yet).
func ReadRecord(ctx context.Context, r Run, index int) (*Record, error) {
	var rec Record
	if err := readJSON(ctx, r.Dir.Store, r.TaskKey(index), &rec); err != nil {
		return nil, err
	}
	if rec.FormatVersion > RecordVersion {
		return nil, fmt.Errorf("%s: task record format version %d is newer than %d; upgrade sluice", r.TaskKey(index), rec.FormatVersion, RecordVersion)
	}
	if rec.RunID != r.RunID || rec.Task != index {
		return nil, fmt.Errorf("%s: the record is of run %s task %d", r.TaskKey(index), rec.RunID, rec.Task)
	}
	return &rec, nil
}

// RecordFailure writes task index's permanent failure (last writer wins:
// any of them fails the run).
func RecordFailure(ctx context.Context, r Run, f Failure) error {
	body, err := json.Marshal(f)
	if err != nil {
		return err
	}
	_, err = r.Dir.Store.Put(ctx, r.FailedKey(f.Task), body, objstore.PutOptions{Object: objstore.ObjectOptions{ContentType: "application/json"}})
	return err
}

func readJSON(ctx context.Context, store objstore.Store, key string, v any) error {
	rc, _, err := store.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("reading %s: %w", key, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: corrupt record: %w", key, err)
	}
	return nil
}

// testDelay holds a task between writing its outputs (pending uploads)
// and recording them for SLUICE_TEST_TASK_DELAY (a duration), so that
// end-to-end tests can kill, freeze or cut off a worker while tasks are
// under way. Unset in production.
func testDelay(ctx context.Context) {
	d, err := time.ParseDuration(os.Getenv("SLUICE_TEST_TASK_DELAY"))
	if err != nil || d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
