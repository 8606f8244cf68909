package dist_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicedata/sluice/apply"
	"github.com/sluicedata/sluice/dist"
	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/internal/disttest"
	"github.com/sluicedata/sluice/state"
)

// jobs stands in for a Kubernetes Indexed Job: every task runs as two
// racing attempts (`sluice task`), as a retried pod and a slow one would.
func jobs(t *testing.T, wg *sync.WaitGroup, won *[]string, mu *sync.Mutex) func(*exec.Job, string, int) {
	return func(job *exec.Job, planURL string, n int) {
		for i := 0; i < n; i++ {
			for a := 0; a < 2; a++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					attempt := fmt.Sprintf("test/%d/%d", i, a)
					rec, w, err := dist.RunJob(context.Background(), planURL, i, dist.TaskOptions{Attempt: attempt})
					if err != nil {
						mu.Lock()
						*won = append(*won, "error: "+err.Error())
						mu.Unlock()
						return
					}
					if w {
						mu.Lock()
						*won = append(*won, rec.Attempt)
						mu.Unlock()
					}
				}()
			}
		}
	}
}

// The external executor saves the plan, the tasks run elsewhere as racing
// attempts, exactly one record per task wins, the losers leave no upload,
// and the run commits what the local executor would: the same rows and
// the same checks.
func TestExternalRunCommitsOneRecordPerTask(t *testing.T) {
	l := disttest.NewLake(t, 4)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []string
	ex := &dist.External{Poll: 20e6, Timeout: 20 * time.Second, Announce: jobs(t, &wg, &won, &mu)}
	plan := l.Plan()
	if n := len(plan.Pipelines[0].Tasks); n != 4 {
		t.Fatalf("%d tasks", n)
	}
	res := apply.Run(context.Background(), plan, apply.Options{Executor: ex})
	r := res[len(res)-1]
	wg.Wait()
	if r.Outcome != apply.Done {
		t.Fatalf("outcome %v: %v (attempts: %q)", r.Outcome, r.Err, won)
	}
	if len(won) != 4 {
		t.Fatalf("winning attempts %v, want one per task", won)
	}
	if r.Stats.RowsOut != 8 || r.Stats.FilesRead != 4 || l.Outputs() != 4 {
		t.Fatalf("stats %+v, %d outputs", r.Stats, l.Outputs())
	}
	if c := r.Checks[0]; c.Passed || c.Failing != 4 || c.Message != "4 of 8 output rows fail amount != nil" || len(c.Examples) != 3 {
		t.Fatalf("check %+v", c)
	}
	if ups := l.PendingUploads(); len(ups) != 0 {
		t.Fatalf("pending uploads left: %v", ups)
	}
	bm := l.Bookmarks()
	j, err := bm.ReadJournal(context.Background(), r.RunID)
	if err != nil || j.Phase != state.PhaseDone || j.Executor != "external" {
		t.Fatalf("journal %+v %v", j, err)
	}

	// A task started after its run ended does nothing.
	rr, err := dist.OpenRun(context.Background(), "file://"+filepath.Join(l.Root, "state", "orders", "raw"), r.RunID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(l.Root, "state", "orders", "raw", "runs", r.RunID, "tasks", "0.json")); err != nil {
		t.Fatal(err)
	}
	_, _, err = dist.RunTask(context.Background(), rr, 0, dist.TaskOptions{Attempt: "late"})
	if dist.Classify(err) != dist.KindRunOver {
		t.Fatalf("a late task: %v", err)
	}
}

// An input that changed since the plan fails its task permanently; the
// coordinator reads the failure record and the run ends stale (exit 5),
// with nothing committed and no upload left.
func TestExternalInputChangedIsStale(t *testing.T) {
	l := disttest.NewLake(t, 2)
	plan := l.Plan()
	l.Put("raw/dt=2026-01-02/f.json", `{"id":"changed","amount":1}`+"\n")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []string
	ex := &dist.External{Poll: 20e6, Timeout: 20 * time.Second, Announce: jobs(t, &wg, &won, &mu)}
	res := apply.Run(context.Background(), plan, apply.Options{Executor: ex})
	r := res[len(res)-1]
	wg.Wait()
	if r.Outcome != apply.Stale || !strings.Contains(r.Err.Error(), "changed since the plan") {
		t.Fatalf("outcome %v: %v", r.Outcome, r.Err)
	}
	if l.Outputs() != 0 {
		t.Fatalf("%d outputs visible", l.Outputs())
	}
	if ups := l.PendingUploads(); len(ups) != 0 {
		t.Fatalf("pending uploads left: %v", ups)
	}
}

func TestParsePlanURL(t *testing.T) {
	dir, id, err := dist.ParsePlanURL("s3://b/state/p/s/runs/20260101T000000.000Z-abcdef/plan.sluiceplan")
	if err != nil || dir != "s3://b/state/p/s/" || id != "20260101T000000.000Z-abcdef" {
		t.Fatalf("%q %q %v", dir, id, err)
	}
	for _, bad := range []string{"s3://b/state/p/s/plan.sluiceplan", "s3://b/runs//plan.sluiceplan", "s3://b/runs/x/y/plan.sluiceplan", "s3://b/runs/x/plan"} {
		if _, _, err := dist.ParsePlanURL(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
