package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/txn"
)

// checkLake writes two objects of 4 rows each (ids n1..n8; amounts 1..8,
// null for n3 and n6) read by two tasks in parallel.
func checkLake(t *testing.T) (*lake, *Job) {
	l := newLake(t)
	var tasks []Task
	for f := 0; f < 2; f++ {
		var sb strings.Builder
		for i := 1; i <= 4; i++ {
			n := f*4 + i
			if n%3 == 0 {
				fmt.Fprintf(&sb, `{"id":"n%d","amount":null}`+"\n", n)
			} else {
				fmt.Fprintf(&sb, `{"id":"n%d","amount":%d}`+"\n", n, n)
			}
		}
		in := l.put(fmt.Sprintf("dt=d/%d.json", f), sb.String(), false)
		in.Partition = []any{"d"}
		tasks = append(tasks, Task{Index: f, Inputs: []Input{in}})
	}
	return l, orderJob(t, l, "", tasks)
}

// An error-severity check that fails: the result names the check, counts
// the failing rows across tasks, shows examples, and AbortResult leaves
// nothing behind (no output, no upload, no bookmark).
func TestCheckErrorAbortsWithNothingCommitted(t *testing.T) {
	ctx := context.Background()
	l, job := checkLake(t)
	job.Checks = []CheckSpec{
		{Name: "amount_present", Expr: mustCompile(t, "amount != nil", job), Severity: spec.SeverityError, MinRows: -1},
		{Name: "small", Expr: mustCompile(t, "amount < 100", job), Severity: spec.SeverityError, MinRows: -1},
	}
	res, err := Run(ctx, job, Options{Alloc: checked(t), Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !res.ChecksFailed() {
		t.Fatalf("checks passed: %+v", res.Checks)
	}
	c := res.Checks[0]
	if c.Name != "amount_present" || c.Passed || c.Severity != "error" || c.Failing != 2 ||
		c.Message != "2 of 8 output rows fail amount != nil" {
		t.Fatalf("check result %+v", c)
	}
	// Tasks run in parallel, so the examples come in either order.
	got := strings.Join(c.Examples, " ")
	if len(c.Examples) != 2 || !strings.Contains(got, "{id: n3, amount: null, dt: d}") || !strings.Contains(got, "{id: n6, amount: null, dt: d}") {
		t.Fatalf("examples %q", c.Examples)
	}
	// A null amount makes "amount < 100" unknown, which is not true: it fails too.
	if s := res.Checks[1]; s.Passed || s.Failing != 2 {
		t.Fatalf("null comparison must fail the check: %+v", s)
	}
	if err := AbortResult(ctx, res); err != nil {
		t.Fatal(err)
	}
	if rows := l.readOutput(); len(rows) != 0 {
		t.Fatalf("rows after abort: %v", rows)
	}
	if ups, _ := l.out.Store.ListUploads(ctx, ""); len(ups) != 0 {
		t.Fatalf("uploads after abort: %v", ups)
	}
	if _, err := l.out.Store.Head(ctx, txn.ManifestKey("", job.RunID)); err == nil {
		t.Fatal("a manifest was written")
	}
}

// Examples are capped at maxCheckExamples however many rows fail.
func TestCheckExamplesCapped(t *testing.T) {
	l, job := checkLake(t)
	_ = l
	job.Checks = []CheckSpec{{Name: "never", Expr: mustCompile(t, "amount > 1000", job), Severity: spec.SeverityError, MinRows: -1}}
	res, err := Run(context.Background(), job, Options{Alloc: checked(t), Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Checks[0]; c.Failing != 8 || len(c.Examples) != maxCheckExamples {
		t.Fatalf("%+v", c)
	}
	if err := AbortResult(context.Background(), res); err != nil {
		t.Fatal(err)
	}
}

// A warn-severity check reports and does not block: the run commits and
// the manifest records the check.
func TestCheckWarnReportsAndCommits(t *testing.T) {
	ctx := context.Background()
	l, job := checkLake(t)
	job.Checks = []CheckSpec{{Name: "amount_present", Expr: mustCompile(t, "amount != nil", job), Severity: spec.SeverityWarn, MinRows: -1}}
	res, err := Run(ctx, job, Options{Alloc: checked(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.ChecksFailed() || res.Checks[0].Passed || res.Checks[0].Failing != 2 {
		t.Fatalf("%+v", res.Checks)
	}
	m := commit(t, l, res, nil)
	var checks []CheckResult
	if err := json.Unmarshal(m.Checks, &checks); err != nil {
		t.Fatal(err)
	}
	if len(checks) != 1 || checks[0].Name != "amount_present" || checks[0].Passed {
		t.Fatalf("manifest checks %+v", checks)
	}
	if rows := l.readOutput(); len(rows) != 8 {
		t.Fatalf("rows %v", rows)
	}
}

// min_rows counts output rows (after where), at the boundary.
func TestCheckMinRows(t *testing.T) {
	for _, tc := range []struct {
		min    int64
		where  string
		passed bool
		msg    string
	}{
		{8, "", true, "8 output rows (at least 8)"},
		{9, "", false, "8 output rows, expected at least 9"},
		{1, "amount > 100", false, "0 output rows, expected at least 1"},
		{0, "amount > 100", true, "0 output rows (at least 0)"},
	} {
		t.Run(fmt.Sprintf("%d/%s", tc.min, tc.where), func(t *testing.T) {
			l, job := checkLake(t)
			j2 := orderJob(t, l, tc.where, job.Tasks)
			j2.Checks = []CheckSpec{{Name: "enough", MinRows: tc.min, Severity: spec.SeverityError}}
			res, err := Run(context.Background(), j2, Options{Alloc: checked(t)})
			if err != nil {
				t.Fatal(err)
			}
			c := res.Checks[0]
			if c.Passed != tc.passed || c.Message != tc.msg || res.ChecksFailed() == tc.passed {
				t.Fatalf("%+v", c)
			}
			if err := AbortResult(context.Background(), res); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// An input that vanishes after the run started: under fail a clear error
// naming the key and nothing committed; under skip and quarantine it is
// counted, and marked processed at commit so it is not retried forever.
func TestVanishedInput(t *testing.T) {
	ctx := context.Background()
	for _, policy := range []spec.BadRecordPolicy{spec.BadRecordFail, spec.BadRecordSkip, spec.BadRecordQuarantine} {
		t.Run(policy.String(), func(t *testing.T) {
			l := newLake(t)
			a := l.put("dt=d/a.json", `{"id":"a1","amount":1}`+"\n", false)
			gone := l.put("dt=d/gone.json", `{"id":"g1","amount":2}`+"\n", false)
			a.Partition, gone.Partition = []any{"d"}, []any{"d"}
			if err := l.src.Store.Delete(ctx, gone.Key); err != nil {
				t.Fatal(err)
			}
			job := orderJob(t, l, "", []Task{{Inputs: []Input{a, gone}}})
			job.Source.OnBadRecord = policy
			st := state.New(objstore.NewLocal(filepath.Join(l.root, "state")), "", "p", "s")
			res, err := Run(ctx, job, Options{Alloc: checked(t)})
			if policy == spec.BadRecordFail {
				if err == nil || !strings.HasPrefix(err.Error(), `dt=d/gone.json: the input vanished after the run started (on_bad_record = "fail")`) {
					t.Fatalf("error %v", err)
				}
				if ups, _ := l.out.Store.ListUploads(ctx, ""); len(ups) != 0 || len(l.readOutput()) != 0 {
					t.Fatalf("left behind: uploads %v", ups)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Stats.BadFiles != 1 || res.Stats.RowsOut != 1 {
				t.Fatalf("stats %+v", res.Stats)
			}
			m := commit(t, l, res, st)
			if got := strings.Join(l.readOutput(), ","); got != "d|a1|1" {
				t.Fatalf("rows %s", got)
			}
			head, _, err := st.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			entries, err := st.AllEntries(ctx, head)
			if err != nil || len(entries) != 2 || entries[1].Key != "dt=d/gone.json" {
				t.Fatalf("processed %v %v", entries, err)
			}
			if policy == spec.BadRecordQuarantine {
				rc, _, err := l.out.Store.Get(ctx, m.Quarantine[0])
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(rc)
				rc.Close()
				if !strings.HasPrefix(string(data), `{"key":"dt=d/gone.json","reason":"whole object unreadable: `) {
					t.Fatalf("quarantine %s", data)
				}
			}
		})
	}
}
