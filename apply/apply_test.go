package apply

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/txn"
)

// lake is a configuration directory with one pipeline over a local source.
type lake struct {
	t    *testing.T
	root string
	cfg  *spec.Config
}

func newLake(t *testing.T, extra string) *lake {
	return newLakeWith(t, "", extra)
}

// newLakeWith puts srcExtra in the source block and extra in the pipeline.
func newLakeWith(t *testing.T, srcExtra, extra string) *lake {
	t.Helper()
	root := t.TempDir()
	l := &lake{t: t, root: root}
	l.put("raw/dt=2026-01-01/a.json", `{"id":"a1","amount":5}`+"\n"+`{"id":"a2","amount":6}`+"\n")
	l.put("raw/dt=2026-01-02/b.json", `{"id":"b1","amount":7}`+"\n")
	// URLs are relative to the configuration file.
	l.put("conf/main.hcl", `
state { url = "../state" }
pipeline "orders" {
  source "raw" {
    url        = "../raw"
    format     = "json"
    partitions = ["dt"]
    column "id" { type = "string" }
    column "amount" { type = "int64" }
    `+srcExtra+`
  }
  `+extra+`
  sink "out" {
    url          = "../out"
    format       = "json"
    partition_by = ["dt"]
  }
}
`)
	cfg, diags := spec.Load(filepath.Join(root, "conf"), spec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	l.cfg = cfg
	return l
}

func (l *lake) put(rel, body string) {
	l.t.Helper()
	p := filepath.Join(l.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

func (l *lake) plan() *planner.Plan {
	l.t.Helper()
	p, err := planner.Build(context.Background(), l.cfg, planner.Options{Footers: exec.Footers{}})
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

// opts are a saved plan's options (no re-planning), or apply DIR's.
func (l *lake) opts(replan bool) Options {
	o := Options{Exec: exec.Options{Parallelism: 2}}
	if replan {
		o.Replan = func(ctx context.Context, name string) (*planner.Plan, error) {
			return planner.Build(ctx, l.cfg, planner.Options{Footers: exec.Footers{}, Pipelines: []string{name}})
		}
	}
	return o
}

// outputs lists the visible output objects, relative to the sink.
func (l *lake) outputs() []string {
	l.t.Helper()
	var out []string
	root := filepath.Join(l.root, "out")
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if !strings.HasPrefix(rel, "_") && !strings.HasPrefix(rel, ".") {
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func (l *lake) bookmarks() *state.Bookmarks {
	return state.New(objstore.NewLocal(filepath.Join(l.root, "state")), "", "orders", "raw")
}

func only(t *testing.T, rs []Result) Result {
	t.Helper()
	if len(rs) != 1 {
		t.Fatalf("results: %+v", rs)
	}
	return rs[0]
}

func TestDoneThenNothingToDo(t *testing.T) {
	l := newLake(t, "")
	var recorded []string
	o := l.opts(false)
	o.Hooks.Progress = func(p exec.Progress) {
		if p.Event == "task_done" {
			recorded = append(recorded, p.Event)
		}
	}
	r := only(t, Run(context.Background(), l.plan(), o))
	if r.Outcome != Done || r.Err != nil || r.Manifest == nil || r.Stats.RowsOut != 3 {
		t.Fatalf("first apply: %v %v %+v", r.Outcome, r.Err, r.Stats)
	}
	if len(l.outputs()) != 2 || len(recorded) == 0 {
		t.Fatalf("outputs %v, task events %v", l.outputs(), recorded)
	}
	if !strings.HasSuffix(r.ManifestKey, "_sluice/commits/"+r.RunID+".manifest") {
		t.Fatalf("manifest key %q", r.ManifestKey)
	}
	r = only(t, Run(context.Background(), l.plan(), o))
	if r.Outcome != NothingToDo {
		t.Fatalf("second apply: %v %v", r.Outcome, r.Err)
	}
}

// A saved plan whose bookmarks moved is stale (nothing runs); apply DIR
// plans again under the lock and reports it through Replanned.
func TestStaleSavedPlanAndReplan(t *testing.T) {
	l := newLake(t, "")
	saved := l.plan()
	l.put("raw/dt=2026-01-03/c.json", `{"id":"c1","amount":1}`+"\n")
	first := l.plan()
	if r := only(t, Run(context.Background(), first, l.opts(false))); r.Outcome != Done {
		t.Fatalf("first: %v %v", r.Outcome, r.Err)
	}
	r := only(t, Run(context.Background(), saved, l.opts(false)))
	if r.Outcome != Stale || !strings.Contains(r.Err.Error(), "the plan is stale: the bookmarks changed") {
		t.Fatalf("saved plan after another run: %v %v", r.Outcome, r.Err)
	}
	l.put("raw/dt=2026-01-04/d.json", `{"id":"d1","amount":1}`+"\n")
	o := l.opts(true)
	var why string
	o.Hooks.Replanned = func(np *planner.Plan, w string) bool { why = w; return true }
	stalePlan := l.plan()
	l.put("raw/dt=2026-01-05/e.json", `{"id":"e1","amount":1}`+"\n")
	if r := only(t, Run(context.Background(), l.plan(), l.opts(true))); r.Outcome != Done {
		t.Fatalf("interleaved: %v %v", r.Outcome, r.Err)
	}
	r = only(t, Run(context.Background(), stalePlan, o))
	if r.Outcome != NothingToDo || why == "" {
		t.Fatalf("re-planned apply: %v %v (why %q)", r.Outcome, r.Err, why)
	}
}

func TestLockedByAnotherRun(t *testing.T) {
	l := newLake(t, "")
	ctx := context.Background()
	lock, err := l.bookmarks().Acquire(ctx, state.LockOptions{RunID: "other", Command: "apply", Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release(ctx)
	r := only(t, Run(ctx, l.plan(), l.opts(false)))
	var held *state.LockHeldError
	if r.Outcome != Locked || !errors.As(r.Err, &held) || held.Holder.RunID != "other" {
		t.Fatalf("locked: %v %v", r.Outcome, r.Err)
	}
}

func TestChecksFailedCommitsNothing(t *testing.T) {
	l := newLake(t, `check "small" { expr = "amount < 6" }`)
	var checks []exec.CheckResult
	o := l.opts(false)
	o.Hooks.Check = func(_ string, c exec.CheckResult) { checks = append(checks, c) }
	r := only(t, Run(context.Background(), l.plan(), o))
	if r.Outcome != ChecksFailed || len(checks) != 1 || checks[0].Passed {
		t.Fatalf("checks: %v %v %+v", r.Outcome, r.Err, checks)
	}
	if out := l.outputs(); len(out) != 0 {
		t.Fatalf("visible after a failed check: %v", out)
	}
	j, err := l.bookmarks().ReadJournal(context.Background(), r.RunID)
	if err != nil || j.Phase != state.PhaseAborted {
		t.Fatalf("journal: %+v %v", j, err)
	}
}

func TestDeclinedAndInterrupted(t *testing.T) {
	l := newLake(t, "")
	o := l.opts(false)
	o.Hooks.Confirm = func() bool { return false }
	rs := Run(context.Background(), l.plan(), o)
	if r := rs[len(rs)-1]; r.Outcome != Declined {
		t.Fatalf("declined: %v %v", r.Outcome, r.Err)
	}
	if _, _, err := l.bookmarks().ReadLock(context.Background()); !errors.Is(err, objstore.ErrNotExist) {
		t.Fatalf("a declined apply took the lock: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := only(t, Run(ctx, l.plan(), l.opts(false))); r.Outcome != Interrupted {
		t.Fatalf("cancelled: %v %v", r.Outcome, r.Err)
	}
}

// failing is an executor that writes a pending upload carrying the run id
// and then fails, as a task dying after writing part of its output would.
type failing struct{ calls int }

func (f *failing) Run(ctx context.Context, job *exec.Job, o exec.Options) (*exec.Result, error) {
	f.calls++
	up, err := job.Sink.Loc.Store.NewUpload(ctx, job.Sink.Loc.Prefix+"dt=x/part-"+job.RunID+"-00000-00001.json", objstore.ObjectOptions{})
	if err != nil {
		return nil, err
	}
	if _, err := up.Write([]byte("{}\n")); err != nil {
		return nil, err
	}
	if _, err := up.Finish(ctx); err != nil {
		return nil, err
	}
	return nil, errors.New("worker lost")
}

// The executor is an interface: apply hands it the job, and a failed run
// is rolled back whatever the executor left (the upload carrying the run
// id), journaled ABORTED, with nothing recorded.
func TestExecutorFailureRollsBack(t *testing.T) {
	l := newLake(t, "")
	ex := &failing{}
	o := l.opts(false)
	o.Executor = ex
	r := only(t, Run(context.Background(), l.plan(), o))
	if r.Outcome != Failed || ex.calls != 1 || !strings.Contains(r.Err.Error(), "worker lost") {
		t.Fatalf("failed executor: %v %v (calls %d)", r.Outcome, r.Err, ex.calls)
	}
	ctx := context.Background()
	if ups, err := objstore.NewLocal(filepath.Join(l.root, "out")).ListUploads(ctx, ""); err != nil || len(ups) != 0 {
		t.Fatalf("uploads left: %v %v", ups, err)
	}
	bm := l.bookmarks()
	if j, err := bm.ReadJournal(ctx, r.RunID); err != nil || j.Phase != state.PhaseAborted || !strings.Contains(j.Error, "worker lost") {
		t.Fatalf("journal: %+v %v", j, err)
	}
	if h, _, _ := bm.Head(ctx); h.Version != 0 {
		t.Fatalf("bookmarks moved: %+v", h)
	}
	// The next apply, with the local executor, runs everything.
	r = only(t, Run(ctx, l.plan(), l.opts(false)))
	if r.Outcome != Done || r.Stats.RowsOut != 3 {
		t.Fatalf("next apply: %v %v", r.Outcome, r.Err)
	}
	if _, err := txn.ReadManifest(ctx, objstore.NewLocal(filepath.Join(l.root, "out")), txn.ManifestKey("", r.RunID)); err != nil {
		t.Fatal(err)
	}
}

// The manifest records the run's metrics: the executor's totals under
// their old names, rows filtered, each phase's time, the peak memory and
// the backlog left with the age of its oldest object; the result adds the
// commit's duration.
func TestMetricsInManifest(t *testing.T) {
	l := newLakeWith(t, `where = "amount > 5"
    bounded { files = 1 }`, "")
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(l.root, "raw/dt=2026-01-02/b.json"), old, old); err != nil {
		t.Fatal(err)
	}
	r := only(t, Run(context.Background(), l.plan(), l.opts(false)))
	if r.Outcome != Done {
		t.Fatalf("%v %v", r.Outcome, r.Err)
	}
	var m Metrics
	if err := json.Unmarshal(r.Manifest.Metrics, &m); err != nil {
		t.Fatal(err)
	}
	if m.RowsIn != 2 || m.RowsOut != 1 || m.RowsFiltered != 1 || m.FilesRead != 1 {
		t.Errorf("rows: %+v", m)
	}
	for _, phase := range []string{"list", "plan", "run", "fetch", "decode", "write"} {
		if _, ok := m.PhasesMS[phase]; !ok {
			t.Errorf("phase %s missing: %v", phase, m.PhasesMS)
		}
	}
	if m.Backlog.Files != 1 || m.Backlog.Oldest == nil || m.Backlog.OldestAgeSeconds < 7000 || m.PeakRSSBytes <= 0 {
		t.Errorf("backlog %+v, peak RSS %d", m.Backlog, m.PeakRSSBytes)
	}
	if _, ok := r.Metrics.PhasesMS["commit"]; !ok {
		t.Errorf("result metrics lack the commit: %v", r.Metrics.PhasesMS)
	}
}
