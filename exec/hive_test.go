package exec

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// A '%' in a hive value that starts no escape (dt=50%off) is text, as Hive
// and Spark read it: plan keeps the input without a warning, the executor
// types it as "50%off" (it used to fail the whole run with "bad
// percent-escape"), and the writer names its partition dt=50%25off, the
// directory DuckDB and Spark write for that value, which reads back as the
// same value. overwrite_partitions names the partitions it replaces the
// same way: a second run replaces dt=50%25off/ whole.
func TestPercentInPartitionValueFromPlan(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	l.put("dt=50%off/a.json", `{"id":"a1","amount":1}`+"\n", false)
	l.put("dt=50%25off/b.json", `{"id":"b1","amount":2}`+"\n", false)
	l.put("dt=%zz/c.json", `{"id":"c1","amount":3}`+"\n", false)
	cfg := &spec.Config{Dir: l.root, State: &spec.State{URL: filepath.Join(l.root, "state")}, Digest: "d", Pipelines: []*spec.Pipeline{{
		Name: "p",
		Source: &spec.Source{Name: "s", URL: filepath.Join(l.root, "raw"), Format: spec.FormatJSON, Compression: spec.CompressionAuto,
			Schema: &schema.Schema{Name: "orders", Columns: orderCols}, Partitions: []string{"dt"},
			OnBadRecord: spec.BadRecordSkip, OnChange: spec.ChangeIgnore, OnSchemaChange: spec.SchemaChangeFail, TaskBytes: 128 << 20},
		Sink: &spec.Sink{Name: "k", URL: filepath.Join(l.root, "out"), Format: spec.FormatParquet, Compression: spec.CompressionSnappy,
			PartitionBy: []string{"dt"}, Mode: spec.ModeOverwritePartitions, Committer: spec.CommitterAtomic,
			TargetFileSize: 128 << 20, RowGroupSize: 64 << 20},
	}}}
	open := func(ctx context.Context, url string) (objstore.Location, error) { return objstore.Open(ctx, url) }
	run := func(runID string) {
		t.Helper()
		plan, err := planner.Build(ctx, cfg, planner.Options{RunID: runID})
		if err != nil {
			t.Fatal(err)
		}
		pp := plan.Pipelines[0]
		for _, w := range pp.Summary.Warnings {
			t.Errorf("plan warns: %s", w)
		}
		job, err := JobFromPlan(ctx, plan.RunID, pp, open)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]any{}
		for _, task := range job.Tasks {
			for _, in := range task.Inputs {
				got[in.Key] = in.Partition[0]
			}
		}
		for key, want := range map[string]string{"dt=50%off/a.json": "50%off", "dt=50%25off/b.json": "50%off", "dt=%zz/c.json": "%zz", "dt=50%off/d.json": "50%off"} {
			if v, ok := got[key]; ok && v != want {
				t.Errorf("%s: partition value %#v, want %q", key, got[key], want)
			}
		}
		res, err := Run(ctx, job, Options{Alloc: checked(t)})
		if err != nil {
			t.Fatal(err)
		}
		commit(t, l, res, nil)
	}
	run("20260101T000000.000Z-pct001")
	want := "%25zz|c1|3,50%25off|a1|1,50%25off|b1|2"
	if got := strings.Join(l.readOutput(), ","); got != want {
		t.Fatalf("rows %s, want %s", got, want)
	}
	// A late file in dt=50%off/: the partition is replaced, not appended
	// to, and replacing it reads b.json too, whose directory spells the
	// same value dt=50%25off (an output partition is a value, not a path).
	l.put("dt=50%off/d.json", `{"id":"d1","amount":4}`+"\n", false)
	run("20260101T000001.000Z-pct002")
	want = "%25zz|c1|3,50%25off|a1|1,50%25off|b1|2,50%25off|d1|4"
	if got := strings.Join(l.readOutput(), ","); got != want {
		t.Fatalf("after the second run: rows %s, want %s", got, want)
	}
}
