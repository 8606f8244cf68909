package exec

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
)

// Workers are capped at the number of tasks: -parallelism 1000000 over one
// task started a million goroutines (2.7 GB) to move 100 rows.
func TestParallelismCappedAtTasks(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	a := l.put("dt=x/a.json", `{"id":"a","amount":5}`+"\n", false)
	a.Partition = []any{"x"}
	b := l.put("dt=x/b.json", `{"id":"b","amount":6}`+"\n", false)
	b.Partition = []any{"x"}
	job := orderJob(t, l, "", []Task{{Index: 0, Inputs: []Input{a}}, {Index: 1, Inputs: []Input{b}}})
	before := runtime.NumGoroutine()
	var peak atomic.Int64
	res, err := Run(ctx, job, Options{Alloc: checked(t), Parallelism: 1 << 20, Progress: func(p Progress) {
		if n := int64(runtime.NumGoroutine()); n > peak.Load() {
			peak.Store(n)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.RowsOut != 2 {
		t.Fatalf("rows out %d", res.Stats.RowsOut)
	}
	if extra := peak.Load() - int64(before); extra > 200 {
		t.Errorf("%d goroutines more than before the run for 2 tasks", extra)
	}
	if err := AbortResult(ctx, res); err != nil {
		t.Fatal(err)
	}
}
