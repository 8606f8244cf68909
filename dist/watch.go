package dist

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
)

// Watcher is the coordinator's view of a distributed run's records: it
// reads each task's record once, as it appears, and reports it as a
// task_done progress event.
type Watcher struct {
	r        Run
	job      *exec.Job
	progress func(exec.Progress)
	records  map[int]*Record
	want     map[int]bool
	total    exec.Progress
}

// NewWatcher watches the records of job's tasks under r; progress may be nil.
func NewWatcher(r Run, job *exec.Job, progress func(exec.Progress)) *Watcher {
	w := &Watcher{r: r, job: job, progress: progress, records: map[int]*Record{}, want: map[int]bool{}}
	w.total.Pipeline = job.Pipeline
	for _, t := range job.Tasks {
		w.want[t.Index] = true
		files, bytes := job.TaskSize(t)
		w.total.FilesTotal += int64(files)
		w.total.BytesTotal += bytes
	}
	return w
}

// Done reports whether every task's record has been read.
func (w *Watcher) Done() bool { return len(w.records) == len(w.want) }

// Poll lists the run's records and reads the new ones.
func (w *Watcher) Poll(ctx context.Context) error {
	if w.Done() {
		return nil
	}
	prefix := w.r.key("tasks/")
	return listKeys(ctx, w.r.Dir.Store, prefix, func(key string) error {
		i, ok := indexOf(strings.TrimPrefix(key, prefix))
		if !ok || !w.want[i] || w.records[i] != nil {
			return nil
		}
		rec, err := ReadRecord(ctx, w.r, i)
		if err != nil {
			return err
		}
		w.add(rec)
		return nil
	})
}

func (w *Watcher) add(rec *Record) {
	w.records[rec.Task] = rec
	s := rec.Result.Stats
	w.total.FilesDone += s.FilesRead
	w.total.BytesDone += s.BytesRead
	w.total.RowsIn += s.RowsIn
	w.total.RowsOut += s.RowsOut
	if w.progress != nil {
		p := w.total
		p.Event, p.Task = "task_done", rec.Task
		w.progress(p)
	}
}

// Finish reads every record still unread (the scheduler said all tasks
// are done) and fails if one is missing.
func (w *Watcher) Finish(ctx context.Context) error {
	if err := w.Poll(ctx); err != nil {
		return err
	}
	for i := range w.want {
		if w.records[i] != nil {
			continue
		}
		rec, err := ReadRecord(ctx, w.r, i)
		if err != nil {
			return fmt.Errorf("run %s: task %d reported done without a record: %w", w.r.RunID, i, err)
		}
		w.add(rec)
	}
	return nil
}

// Result merges the records into the run's result (exec.Merge, as the
// local executor does).
func (w *Watcher) Result(start time.Time) *exec.Result {
	var trs []exec.TaskResult
	for _, rec := range w.records {
		trs = append(trs, rec.Result)
	}
	res := exec.Merge(w.job, trs)
	res.Elapsed = time.Since(start)
	return res
}

// Failed reads the run's failure records, returning the first as an error
// (an *exec.InputChangedError for a changed input, so that apply reports
// the run as stale), or nil.
func Failed(ctx context.Context, r Run) error {
	prefix := r.key("failed/")
	var first error
	err := listKeys(ctx, r.Dir.Store, prefix, func(key string) error {
		if first != nil {
			return nil
		}
		var f Failure
		if err := readJSON(ctx, r.Dir.Store, key, &f); err != nil {
			return err
		}
		first = f.Err()
		return nil
	})
	return errors.Join(err, first)
}

func listKeys(ctx context.Context, store objstore.Store, prefix string, fn func(key string) error) error {
	in := objstore.ListInput{Prefix: prefix}
	for {
		page, err := store.List(ctx, in)
		if err != nil {
			return fmt.Errorf("listing %s: %w", prefix, err)
		}
		for _, o := range page.Objects {
			if err := fn(o.Key); err != nil {
				return err
			}
		}
		if page.NextToken == "" {
			return nil
		}
		in.Token = page.NextToken
	}
}

// indexOf reads "<i>.json".
func indexOf(name string) (int, bool) {
	s, ok := strings.CutSuffix(name, ".json")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	return i, err == nil && i >= 0
}
