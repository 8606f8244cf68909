package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/sluicedata/sluice/internal/temporaltest"
)

// The Temporal executor end to end: the S3 gateway, the Temporal dev
// server, two `sluice worker` processes and `sluice apply -executor
// temporal` over a bounded pipeline, one run per fault:
//
//  1. a worker SIGKILLed while it runs tasks (a new one replaces it);
//  2. a worker frozen (SIGSTOP) past its heartbeat timeout, then resumed;
//  3. the Temporal server SIGKILLed mid-run and restarted on its database;
//  4. the coordinator (apply) SIGKILLed after the first task recorded:
//     nothing of its run is visible, and the next apply recovers,
//     terminates the old workflow and commits.
//
// After each, DuckDB reads every input's rows exactly once, no multipart
// upload is left and the run's journal is DONE (ABORTED for the run whose
// coordinator was killed).
func TestTemporalExecutorSurvivesFaults(t *testing.T) {
	bin := sluiceBin(t)
	s3srv := startS3(t, "raw", "lake")
	tsrv := startTemporal(t)
	c := s3srv.Client()
	tc := tsrv.Client(t)

	const perRun, rowsPerFile, runs = 6, 50, 4
	for f := 0; f < perRun*runs; f++ {
		var b strings.Builder
		for r := 0; r < rowsPerFile; r++ {
			fmt.Fprintf(&b, `{"id":"f%02d-%03d","n":%d}`+"\n", f, r, f*1000+r)
		}
		key := fmt.Sprintf("events/dt=2026-01-%02d/f%02d.json", f/perRun+1, f)
		if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("raw"), Key: aws.String(key), Body: strings.NewReader(b.String())}); err != nil {
			t.Fatal(err)
		}
	}
	conf := t.TempDir()
	if err := os.WriteFile(filepath.Join(conf, "main.hcl"), []byte(fmt.Sprintf(`
state { url = "s3://lake/state/" }
pipeline "events" {
  source "raw" {
    url        = "s3://raw/events/"
    format     = "json"
    partitions = ["dt"]
    task_bytes = "1"
    column "id" { type = "string" }
    column "n" { type = "int64" }
    bounded { files = %d }
  }
  sink "out" {
    url          = "s3://lake/out/"
    format       = "parquet"
    partition_by = ["dt"]
  }
}
`, perRun)), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(append(s3srv.Env(), tsrv.Env()...),
		"SLUICE_TASK_QUEUE=e2e",
		// Each task holds its pending outputs this long before recording
		// them, so that every fault below hits tasks under way.
		"SLUICE_TEST_TASK_DELAY=1500ms",
		"AWS_REQUEST_CHECKSUM_CALCULATION=when_required")
	workers := []*exec.Cmd{startWorker(t, bin, env), startWorker(t, bin, env)}
	applyArgs := []string{"apply", "-auto-approve", "-executor", "temporal", "-heartbeat-timeout", "2s", conf}
	e := &temporalE2E{t: t, c: c, tc: tc, perRun: perRun, rowsPerFile: rowsPerFile}

	// 1. SIGKILL a worker while it runs tasks.
	e.run(bin, env, applyArgs, func(runID string) {
		e.waitStartedOn(runID, workers[0].Process.Pid)
		workers[0].Process.Kill()
		workers[0] = startWorker(t, bin, env)
	})
	e.verify(1)
	if !e.retried(e.last) {
		t.Errorf("run %s: no task was recorded by a retry, although a worker running one was killed", e.last)
	}

	// 2. Freeze a worker past its heartbeat timeout, then resume it.
	e.run(bin, env, applyArgs, func(runID string) {
		e.waitStartedOn(runID, workers[1].Process.Pid)
		workers[1].Process.Signal(syscall.SIGSTOP)
		time.Sleep(5 * time.Second)
		workers[1].Process.Signal(syscall.SIGCONT)
	})
	e.verify(2)
	e.retried(e.last)

	// 3. Kill the Temporal server mid-run, restart it on its database.
	e.run(bin, env, applyArgs, func(runID string) {
		e.waitStartedOn(runID, 0)
		tsrv.Kill()
		time.Sleep(2 * time.Second)
		if err := tsrv.Restart(); err != nil {
			t.Fatal(err)
		}
	})
	e.verify(3)
	e.retried(e.last)

	// 4. Kill the coordinator once the first task recorded its result.
	out, code := runSluice(t, append(env, "SLUICE_TEST_KILL_AT=task-done:1"), applyArgs...)
	if code == 0 {
		t.Fatalf("apply with a kill point exited 0:\n%s", out)
	}
	killed := e.newRun()
	e.verifyRows(3) // nothing of the killed run is visible
	out = e.apply(bin, env, applyArgs)
	e.newRun()
	if !strings.Contains(out, "rolled back apply "+killed) {
		t.Errorf("the next apply did not say it rolled back run %s:\n%s", killed, out)
	}
	st, err := workflowStatus(context.Background(), tc, "sluice/events/raw/"+killed)
	if err != nil || st != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Errorf("the killed coordinator's workflow: %v %v", st, err)
	}
	if ph := e.journalPhase(killed); ph != "ABORTED" {
		t.Errorf("the killed run's journal is %s, want ABORTED", ph)
	}
	e.verify(4)
}

type temporalE2E struct {
	t                   *testing.T
	c                   *s3.Client
	tc                  client.Client
	perRun, rowsPerFile int
	seen                map[string]bool
	last                string
}

// run starts apply, calls fault with the new run's id once its plan is
// saved, and requires apply to succeed.
func (e *temporalE2E) run(bin string, env, args []string, fault func(runID string)) {
	e.t.Helper()
	start := time.Now()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	runID := e.waitNewRun(done)
	fault(runID)
	if err := <-done; err != nil {
		e.t.Fatalf("apply: %v\n%s", err, out.String())
	}
	e.t.Logf("run %s took %v", runID, time.Since(start).Round(time.Millisecond))
}

func (e *temporalE2E) apply(bin string, env, args []string) string {
	e.t.Helper()
	out, code := runSluice(e.t, env, args...)
	if code != 0 {
		e.t.Fatalf("apply: exit %d\n%s", code, out)
	}
	return out
}

// runIDs lists the runs that saved a plan under the state.
func (e *temporalE2E) runIDs() []string {
	var ids []string
	page, err := e.c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("lake"), Prefix: aws.String("state/events/raw/runs/"), Delimiter: aws.String("/")})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range page.CommonPrefixes {
		ids = append(ids, strings.TrimSuffix(strings.TrimPrefix(aws.ToString(p.Prefix), "state/events/raw/runs/"), "/"))
	}
	return ids
}

// newRun returns the one run id not seen before.
func (e *temporalE2E) newRun() string {
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	for _, id := range e.runIDs() {
		if !e.seen[id] {
			e.seen[id] = true
			e.last = id
			return id
		}
	}
	return ""
}

func (e *temporalE2E) waitNewRun(done chan error) string {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if id := e.newRun(); id != "" {
			return id
		}
		select {
		case err := <-done:
			e.t.Fatalf("apply ended before its run started: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	e.t.Fatal("no run started")
	return ""
}

// waitStartedOn waits until a task of the run is running on the worker
// with this pid (0: on any worker).
func (e *temporalE2E) waitStartedOn(runID string, pid int) {
	e.t.Helper()
	id := "sluice/events/raw/" + runID
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		d, err := e.tc.DescribeWorkflow(context.Background(), id, "")
		if err == nil {
			for _, a := range d.RawResponse.PendingActivities {
				if a.State == enumspb.PENDING_ACTIVITY_STATE_STARTED && (pid == 0 || strings.HasSuffix(a.LastWorkerIdentity, fmt.Sprintf("/%d", pid))) {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("no task of %s started on worker %d", id, pid)
}

// verify: DuckDB finds the rows of the first runs×perRun inputs exactly
// once, no multipart upload is left, and the last run's journal is DONE.
func (e *temporalE2E) verify(runs int) {
	e.t.Helper()
	e.noUploads()
	e.verifyRows(runs)
	if ph := e.journalPhase(e.last); ph != "DONE" {
		e.t.Fatalf("run %s's journal is %s, want DONE", e.last, ph)
	}
}

// verifyRows: DuckDB finds the rows of the first runs×perRun inputs
// exactly once in the sink.
func (e *temporalE2E) verifyRows(runs int) {
	e.t.Helper()
	dir := e.t.TempDir()
	downloadPrefix(e.t, e.c, "lake", "out/", dir)
	files := runs * e.perRun
	want := files * e.rowsPerFile
	var wantSum int64
	for f := 0; f < files; f++ {
		for r := 0; r < e.rowsPerFile; r++ {
			wantSum += int64(f*1000 + r)
		}
	}
	var n, distinct int64
	var sum int64
	if want > 0 {
		db := openDuck(e.t)
		q := fmt.Sprintf(`SELECT count(*), count(DISTINCT id), coalesce(sum(n), 0) FROM read_parquet(%s, hive_partitioning = true)`, quoteSQL(filepath.Join(dir, "**", "*.parquet")))
		if err := db.QueryRow(q).Scan(&n, &distinct, &sum); err != nil {
			e.t.Fatalf("duckdb: %v", err)
		}
	}
	if n != int64(want) || distinct != n || sum != wantSum {
		e.t.Fatalf("after %d runs DuckDB reads %d rows (%d distinct ids, sum %d), want every one of %d rows exactly once (sum %d)", runs, n, distinct, sum, want, wantSum)
	}
}

// noUploads waits (a few seconds: a stale attempt aborts its uploads when
// it learns it is stale) until no multipart upload is pending in the lake.
func (e *temporalE2E) noUploads() {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := e.c.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String("lake")})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(out.Uploads) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var keys []string
			for _, u := range out.Uploads {
				keys = append(keys, aws.ToString(u.Key))
			}
			e.t.Fatalf("multipart uploads left: %v", keys)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (e *temporalE2E) journalPhase(runID string) string {
	e.t.Helper()
	out, err := e.c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("lake"), Key: aws.String("state/events/raw/journal/" + runID + ".json")})
	if err != nil {
		e.t.Fatalf("journal of %s: %v", runID, err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	var j struct {
		Phase    string `json:"phase"`
		Executor string `json:"executor"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		e.t.Fatal(err)
	}
	if j.Executor != "temporal" {
		e.t.Errorf("run %s's journal names executor %q", runID, j.Executor)
	}
	return j.Phase
}

// retried reports whether a task of the run was recorded by a retry
// (an attempt number above 1), logging who recorded each task.
func (e *temporalE2E) retried(runID string) bool {
	e.t.Helper()
	prefix := "state/events/raw/runs/" + runID + "/tasks/"
	page, err := e.c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("lake"), Prefix: aws.String(prefix)})
	if err != nil {
		e.t.Fatal(err)
	}
	var who []string
	retry := false
	for _, o := range page.Contents {
		out, err := e.c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("lake"), Key: o.Key})
		if err != nil {
			e.t.Fatal(err)
		}
		var rec struct {
			Task    int    `json:"task"`
			Attempt string `json:"attempt"`
		}
		err = json.NewDecoder(out.Body).Decode(&rec)
		out.Body.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		who = append(who, fmt.Sprintf("%d:%s", rec.Task, rec.Attempt))
		if i := strings.LastIndex(rec.Attempt, "#"); i >= 0 && rec.Attempt[i+1:] != "1" {
			retry = true
		}
	}
	e.t.Logf("run %s: records written by %v", runID, who)
	return retry
}

func quoteSQL(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// startTemporal starts the dev server (the CLI from .tools/, like the
// gateway).
func startTemporal(t *testing.T) *temporaltest.Server {
	t.Helper()
	if os.Getenv("SLUICE_TEMPORAL") == "" {
		t.Setenv("SLUICE_TEMPORAL", filepath.Join(repoRoot(t), ".tools", "temporal"))
	}
	return temporaltest.Start(t)
}

// startWorker starts `sluice worker`, SIGKILLed at cleanup.
func startWorker(t *testing.T, bin string, env []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "worker", "-parallelism", "2", "-log-level", "info")
	cmd.Env = append(os.Environ(), env...)
	log, err := os.CreateTemp(t.TempDir(), "worker-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			if len(b) > 8<<10 {
				b = b[len(b)-8<<10:]
			}
			t.Logf("worker %d's log (end):\n%s", cmd.Process.Pid, b)
		}
		log.Close()
	})
	return cmd
}

// workflowStatus is a workflow's status.
func workflowStatus(ctx context.Context, c client.Client, id string) (enumspb.WorkflowExecutionStatus, error) {
	d, err := c.DescribeWorkflow(ctx, id, "")
	if err != nil {
		return 0, err
	}
	return d.RawResponse.GetWorkflowExecutionInfo().GetStatus(), nil
}
