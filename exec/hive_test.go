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
	cfg := hiveConfig(l)
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
		job, err := JobFromPlan(ctx, plan.RunID, pp, openLocation)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]any{}
		for _, task := range job.Tasks {
			for _, in := range job.TaskInputs(task) {
				got[in.Key] = in.Partition[0]
			}
		}
		if len(got) == 0 {
			t.Fatal("the job has no inputs")
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

// An input whose path value is not of its key's type (dt=2026-1-1 for a
// date key) is kept by plan with a warning; reading it is that object's
// failure, so on_bad_record decides: skip counts it unreadable and the
// rest commits (it used to fail every apply, forever), fail names it.
func TestMistypedPartitionValueIsABadFile(t *testing.T) {
	ctx := context.Background()
	for _, policy := range []spec.BadRecordPolicy{spec.BadRecordSkip, spec.BadRecordFail} {
		t.Run(policy.String(), func(t *testing.T) {
			l := newLake(t)
			l.put("dt=2026-01-01/a.json", `{"id":"a1","amount":1}`+"\n", false)
			l.put("dt=2026-1-1/b.json", `{"id":"b1","amount":2}`+"\n", false)
			cols := append(append([]schema.Column(nil), orderCols...), schema.Column{Name: "dt", Type: schema.Type{Kind: schema.Date}, Nullable: true})
			cfg := &spec.Config{Dir: l.root, State: &spec.State{URL: filepath.Join(l.root, "state")}, Digest: "d", Pipelines: []*spec.Pipeline{{
				Name: "p",
				Source: &spec.Source{Name: "s", URL: filepath.Join(l.root, "raw"), Format: spec.FormatJSON, Compression: spec.CompressionAuto,
					Schema: &schema.Schema{Name: "orders", Columns: cols}, Partitions: []string{"dt"},
					OnBadRecord: policy, OnChange: spec.ChangeIgnore, OnSchemaChange: spec.SchemaChangeFail, TaskBytes: 128 << 20},
				Sink: &spec.Sink{Name: "k", URL: filepath.Join(l.root, "out"), Format: spec.FormatParquet, Compression: spec.CompressionSnappy,
					PartitionBy: []string{"dt"}, Mode: spec.ModeAppend, Committer: spec.CommitterAtomic,
					TargetFileSize: 128 << 20, RowGroupSize: 64 << 20},
			}}}
			plan, err := planner.Build(ctx, cfg, planner.Options{})
			if err != nil {
				t.Fatal(err)
			}
			job, err := JobFromPlan(ctx, plan.RunID, plan.Pipelines[0], openLocation)
			if err != nil {
				t.Fatalf("a mistyped partition value fails the whole job: %v", err)
			}
			res, err := Run(ctx, job, Options{Alloc: checked(t)})
			if policy == spec.BadRecordFail {
				if err == nil || !strings.Contains(err.Error(), "dt=2026-1-1/b.json: partition dt") {
					t.Fatalf("fail: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Stats.BadFiles != 1 || res.Stats.RowsOut != 1 {
				t.Fatalf("stats %+v", res.Stats)
			}
			commit(t, l, res, nil)
			if got := strings.Join(l.readOutput(), ","); got != "2026-01-01|a1|1" {
				t.Fatalf("rows %s", got)
			}
		})
	}
}

// hiveConfig is a pipeline over l's raw/ with dt partitions, written to
// out/ partitioned by dt, replacing partitions.
func hiveConfig(l *lake) *spec.Config {
	return &spec.Config{Dir: l.root, State: &spec.State{URL: filepath.Join(l.root, "state")}, Digest: "d", Pipelines: []*spec.Pipeline{{
		Name: "p",
		Source: &spec.Source{Name: "s", URL: filepath.Join(l.root, "raw"), Format: spec.FormatJSON, Compression: spec.CompressionAuto,
			Schema: &schema.Schema{Name: "orders", Columns: orderCols}, Partitions: []string{"dt"},
			OnBadRecord: spec.BadRecordSkip, OnChange: spec.ChangeIgnore, OnSchemaChange: spec.SchemaChangeFail, TaskBytes: 128 << 20},
		Sink: &spec.Sink{Name: "k", URL: filepath.Join(l.root, "out"), Format: spec.FormatParquet, Compression: spec.CompressionSnappy,
			PartitionBy: []string{"dt"}, Mode: spec.ModeOverwritePartitions, Committer: spec.CommitterAtomic,
			TargetFileSize: 128 << 20, RowGroupSize: 64 << 20},
	}}}
}

// openLocation is JobFromPlan's OpenFunc over the real stores.
func openLocation(ctx context.Context, url string) (objstore.Location, error) {
	return objstore.Open(ctx, url)
}
