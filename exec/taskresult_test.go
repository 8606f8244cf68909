package exec

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/spec"
)

// Running each task alone (RunTask), sending its result through JSON as a
// distributed executor's record does, and merging the records in any order
// gives the run Run gives: the same counters, the same checks (failing
// rows, examples and messages), the same files in the same order.
func TestRunTaskMergeEqualsRun(t *testing.T) {
	ctx := context.Background()
	withChecks := func(job *Job) {
		job.Checks = []CheckSpec{
			{Name: "amount_present", Expr: mustCompile(t, "amount != nil", job), Severity: spec.SeverityError, MinRows: -1},
			{Name: "enough", MinRows: 5, Severity: spec.SeverityWarn},
		}
	}
	lRun, jobRun := checkLake(t)
	withChecks(jobRun)
	want, err := Run(ctx, jobRun, Options{Alloc: checked(t), Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	_ = lRun

	_, job := checkLake(t)
	withChecks(job)
	var records []TaskResult
	for i := len(job.Tasks) - 1; i >= 0; i-- { // the last task reports first
		tr, err := RunTask(ctx, job, job.Tasks[i].Index, Options{Alloc: checked(t)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(tr)
		if err != nil {
			t.Fatal(err)
		}
		var back TaskResult
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&back, tr) {
			t.Fatalf("a task result does not survive JSON:\n%+v\n%+v", tr, back)
		}
		records = append(records, back)
	}
	got := Merge(job, records)
	if got.Stats != want.Stats {
		t.Fatalf("stats %+v, want %+v", got.Stats, want.Stats)
	}
	if !reflect.DeepEqual(got.Checks, want.Checks) {
		t.Fatalf("checks\n%+v\nwant\n%+v", got.Checks, want.Checks)
	}
	if len(got.Files) != len(want.Files) {
		t.Fatalf("%d files, want %d", len(got.Files), len(want.Files))
	}
	for i := range got.Files {
		g, w := got.Files[i], want.Files[i]
		if g.Key != w.Key || g.Rows != w.Rows || !reflect.DeepEqual(g.Partition, w.Partition) {
			t.Fatalf("file %d: %+v, want %+v", i, g, w)
		}
	}
	// Examples come in task order, so they are the same on every run.
	if ex := strings.Join(got.Checks[0].Examples, " "); ex != "{id: n3, amount: null, dt: d} {id: n6, amount: null, dt: d}" {
		t.Fatalf("examples %q", ex)
	}
	if err := AbortResult(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := AbortResult(ctx, want); err != nil {
		t.Fatal(err)
	}
}

// A task that fails leaves no upload behind, and an unknown index is an
// error naming the run.
func TestRunTaskFailureAbortsItsUploads(t *testing.T) {
	ctx := context.Background()
	l, job := checkLake(t)
	job.Tasks[1].Inputs[0].ETag = "\"not-the-etag\""
	_, err := RunTask(ctx, job, 1, Options{Alloc: checked(t)})
	var ic *InputChangedError
	if !errors.As(err, &ic) {
		t.Fatalf("want an InputChangedError, got %v", err)
	}
	if ups, _ := l.out.Store.ListUploads(ctx, ""); len(ups) != 0 {
		t.Fatalf("uploads after a failed task: %v", ups)
	}
	if _, err := RunTask(ctx, job, 7, Options{}); err == nil || !strings.Contains(err.Error(), "no task 7") {
		t.Fatalf("unknown task: %v", err)
	}
}
