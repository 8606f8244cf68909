package temporal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/sluicedata/sluice/apply"
	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/internal/disttest"
	"github.com/sluicedata/sluice/internal/temporaltest"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/state"

	"github.com/sluicedata/sluice/dist/temporal"
)

// env is a dev server with n in-process workers on a queue of the test's own.
type env struct {
	srv   *temporaltest.Server
	c     client.Client
	queue string
}

func newEnv(t *testing.T, workers int) *env {
	t.Helper()
	srv := temporaltest.Start(t)
	e := &env{srv: srv, c: srv.Client(t), queue: "q-" + strings.ReplaceAll(t.Name(), "/", "-")}
	for i := 0; i < workers; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- temporal.RunWorker(ctx, e.c, e.queue, &temporal.Activities{}, temporal.WorkerOptions{Parallelism: 2})
		}()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	return e
}

func (e *env) executor() *temporal.Executor {
	return &temporal.Executor{Client: e.c, Queue: e.queue, HeartbeatTimeout: time.Second, Poll: 50 * time.Millisecond}
}

// A run's tasks run on the workers, the journal names the workflow, the
// run commits, and the workflow id cannot be started again.
func TestRunOnWorkers(t *testing.T) {
	e := newEnv(t, 2)
	l := disttest.NewLake(t, 5)
	var done []int
	ex := e.executor()
	ex.Batch = 2 // 5 tasks: three child workflows
	plan := l.Plan()
	res := apply.Run(context.Background(), plan, apply.Options{Executor: ex, Hooks: apply.Hooks{Progress: func(p exec.Progress) {
		if p.Event == "task_done" {
			done = append(done, p.Task)
		}
	}}})
	r := res[len(res)-1]
	if r.Outcome != apply.Done {
		t.Fatalf("outcome %v: %v", r.Outcome, r.Err)
	}
	if r.Stats.RowsOut != 10 || r.Stats.FilesRead != 5 || len(done) != 5 {
		t.Fatalf("stats %+v, task_done events %v", r.Stats, done)
	}
	if c := r.Checks[0]; c.Failing != 5 || c.Message != "5 of 10 output rows fail amount != nil" {
		t.Fatalf("check %+v", c)
	}
	if ups := l.PendingUploads(); len(ups) != 0 {
		t.Fatalf("uploads left: %v", ups)
	}
	j, err := l.Bookmarks().ReadJournal(context.Background(), r.RunID)
	wid := "sluice/orders/raw/" + r.RunID
	if err != nil || j.Phase != state.PhaseDone || j.Executor != "temporal" || j.ExecutorRef != wid {
		t.Fatalf("journal %+v %v", j, err)
	}
	ctx := context.Background()
	for _, id := range []string{wid, wid + "/batch-0", wid + "/batch-2"} {
		st, err := workflowStatus(ctx, e.c, id)
		if err != nil || st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Fatalf("workflow %s: %v %v", id, st, err)
		}
	}
	// The same run id again: refused, although the first run is closed.
	job, err := exec.JobFromPlan(ctx, r.RunID, plan.Pipelines[0], open)
	if err == nil {
		_, err = ex.Run(ctx, job, exec.Options{})
	}
	if err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("a second start of %s: %v", wid, err)
	}
}

func open(ctx context.Context, url string) (objstore.Location, error) { return objstore.Open(ctx, url) }

// An input that changed since the plan fails its task without retrying,
// and the run ends stale with nothing committed and no upload left.
func TestInputChangedIsStale(t *testing.T) {
	e := newEnv(t, 1)
	l := disttest.NewLake(t, 3)
	plan := l.Plan()
	l.Put("raw/dt=2026-01-02/f.json", `{"id":"changed","amount":1}`+"\n")
	// As apply DIR does (a saved plan's inputs are checked before the run
	// starts): the change is found by the task that reads the input.
	replan := func(ctx context.Context, name string) (*planner.Plan, error) { return plan, nil }
	res := apply.Run(context.Background(), plan, apply.Options{Executor: e.executor(), Replan: replan})
	r := res[len(res)-1]
	if r.Outcome != apply.Stale || !strings.Contains(r.Err.Error(), "changed since the plan") {
		t.Fatalf("outcome %v: %v", r.Outcome, r.Err)
	}
	if ups := l.PendingUploads(); len(ups) != 0 {
		t.Fatalf("uploads left: %v", ups)
	}
	j, _ := l.Bookmarks().ReadJournal(context.Background(), r.RunID)
	if j == nil || j.Phase != state.PhaseAborted {
		t.Fatalf("journal %+v", j)
	}
}

// An interrupted coordinator terminates its workflow (no worker polls
// here, so the run would wait forever) and the run is aborted.
func TestInterruptTerminatesTheWorkflow(t *testing.T) {
	e := newEnv(t, 0)
	l := disttest.NewLake(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res := apply.Run(ctx, l.Plan(), apply.Options{Executor: e.executor()})
	r := res[len(res)-1]
	if r.Outcome != apply.Interrupted {
		t.Fatalf("outcome %v: %v", r.Outcome, r.Err)
	}
	st, err := workflowStatus(context.Background(), e.c, "sluice/orders/raw/"+r.RunID)
	if err != nil || st != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("workflow: %v %v", st, err)
	}
}

// Recovery's hook terminates the workflow a crashed coordinator's journal
// names (and tolerates one that never started or already closed).
func TestStopTerminatesTheJournaledWorkflow(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	id := "sluice/p/s/20260101T000000.000Z-abcdef"
	if _, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: e.queue,
		Memo: map[string]any{"sluice_heartbeat_timeout_ms": 200}}, temporal.WorkflowName, temporal.RunInput{Tasks: 1}); err != nil {
		t.Fatal(err)
	}
	stop := temporal.Stop(func() (client.Client, error) {
		return client.Dial(client.Options{HostPort: e.srv.Address(), Namespace: temporaltest.Namespace})
	})
	start := time.Now()
	j := &state.Journal{RunID: "20260101T000000.000Z-abcdef", Executor: "temporal", ExecutorRef: id}
	if err := stop(ctx, j); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Fatal("Stop did not wait for the attempts to notice")
	}
	st, err := workflowStatus(ctx, e.c, id)
	if err != nil || st != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("workflow: %v %v", st, err)
	}
	if err := stop(ctx, j); err != nil {
		t.Fatalf("again: %v", err)
	}
	j.ExecutorRef = "sluice/p/s/never-started"
	if err := stop(ctx, j); err != nil {
		t.Fatalf("never started: %v", err)
	}
	if err := stop(ctx, &state.Journal{Executor: "external"}); err != nil {
		t.Fatalf("another executor: %v", err)
	}
}

// workflowStatus is a workflow's status.
func workflowStatus(ctx context.Context, c client.Client, id string) (enumspb.WorkflowExecutionStatus, error) {
	d, err := c.DescribeWorkflow(ctx, id, "")
	if err != nil {
		return 0, err
	}
	return d.RawResponse.GetWorkflowExecutionInfo().GetStatus(), nil
}
