package exec

import (
	"context"
	"testing"

	"github.com/sluicedata/sluice/planner"
)

// Shared partition tuples are keyed by an encoding no two different
// value lists share.
func TestTupleIDIsUnambiguous(t *testing.T) {
	lists := [][]string{{}, {""}, {"", ""}, {"a/b", "c"}, {"a", "b/c"}, {"a", "bc"}, {"ab", "c"}, {"1:a"}, {"1", "a"}, {"a:", ""}}
	seen := map[string]int{}
	for i, l := range lists {
		id := string(tupleID(nil, l))
		if j, ok := seen[id]; ok {
			t.Fatalf("%q and %q share the id %q", lists[j], l, id)
		}
		seen[id] = i
	}
}

// JobFromPlan leaves each task's inputs unbuilt until the task runs:
// TaskSize counts them from the plan, TaskInputs builds them, and the
// inputs of one partition share one tuple of parsed values.
func TestJobFromPlanBuildsInputsPerTask(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	l.put("dt=2026-01-01/a.json", `{"id":"a1","amount":1}`+"\n", false)
	l.put("dt=2026-01-01/b.json", `{"id":"b1","amount":2}`+"\n", false)
	l.put("dt=2026-01-02/c.json", `{"id":"c1","amount":3}`+"\n", false)
	plan, err := planner.Build(ctx, hiveConfig(l), planner.Options{RunID: "20260101T000000.000Z-lazy01"})
	if err != nil {
		t.Fatal(err)
	}
	job, err := JobFromPlan(ctx, plan.RunID, plan.Pipelines[0], openLocation)
	if err != nil {
		t.Fatal(err)
	}
	var files int
	byDay := map[any][]any{}
	for _, task := range job.Tasks {
		if task.Inputs != nil {
			t.Fatalf("task %d: inputs built before it runs", task.Index)
		}
		n, bytes := job.TaskSize(task)
		ins := job.TaskInputs(task)
		var sum int64
		for _, in := range ins {
			sum += in.Size
			if prev, ok := byDay[in.Partition[0]]; ok && &prev[0] != &in.Partition[0] {
				t.Errorf("%s: its partition's values are not shared", in.Key)
			}
			byDay[in.Partition[0]] = in.Partition
		}
		if n != len(ins) || bytes != sum {
			t.Fatalf("task %d: TaskSize %d files, %d bytes; built %d inputs of %d bytes", task.Index, n, bytes, len(ins), sum)
		}
		files += n
	}
	if files != 3 || len(byDay) != 2 {
		t.Fatalf("%d inputs in %d partitions, want 3 in 2", files, len(byDay))
	}
}
