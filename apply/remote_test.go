package apply

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
)

// fakeRemote runs the tasks in process but says they run elsewhere; fail
// makes Run fail after the journal recorded it.
type fakeRemote struct {
	fail    error
	journal *state.Journal // the journal as Run saw it
	bm      *state.Bookmarks
}

func (f *fakeRemote) Ref(job *exec.Job) (string, string) { return "fake", "wf/" + job.RunID }

func (f *fakeRemote) Run(ctx context.Context, job *exec.Job, o exec.Options) (*exec.Result, error) {
	j, err := f.bm.ReadJournal(ctx, job.RunID)
	if err != nil {
		return nil, err
	}
	f.journal = j
	if f.fail != nil {
		return nil, f.fail
	}
	return exec.Run(ctx, job, o)
}

// A Remote executor's handle is journaled (WRITING) before its Run starts,
// and the run commits as with the local executor.
func TestRemoteExecutorIsJournaledBeforeRun(t *testing.T) {
	l := newLake(t, "")
	ex := &fakeRemote{bm: l.bookmarks()}
	o := l.opts(false)
	o.Executor = ex
	res := Run(context.Background(), l.plan(), o)
	if r := res[len(res)-1]; r.Outcome != Done {
		t.Fatalf("outcome %v: %v", r.Outcome, r.Err)
	}
	j := ex.journal
	if j == nil || j.Phase != state.PhaseWriting || j.Executor != "fake" || j.ExecutorRef != "wf/"+j.RunID {
		t.Fatalf("journal seen by the executor: %+v", j)
	}
	if len(l.outputs()) == 0 {
		t.Fatal("nothing committed")
	}
}

// committer = "direct" is refused with a Remote executor before anything
// is journaled or written.
func TestRemoteExecutorRefusesDirect(t *testing.T) {
	l := newLake(t, "")
	plan := l.plan()
	plan.Pipelines[0].Sink.Committer = spec.CommitterDirect
	o := l.opts(false)
	o.Executor = &fakeRemote{bm: l.bookmarks()}
	res := Run(context.Background(), plan, o)
	r := res[len(res)-1]
	if r.Outcome != Failed || !strings.Contains(r.Err.Error(), `committer = "direct"`) {
		t.Fatalf("outcome %v: %v", r.Outcome, r.Err)
	}
	if js, _ := l.bookmarks().ListJournals(context.Background()); len(js) != 0 {
		t.Fatalf("journals: %v", js)
	}
}

// A run whose coordinator died is rolled back by the next apply, which
// first stops its executor through Options.StopExecutor.
func TestRecoveryStopsTheJournaledExecutor(t *testing.T) {
	l := newLake(t, "")
	bm := l.bookmarks()
	ctx := context.Background()
	// A crashed run: journaled WRITING with an executor, lock left behind
	// by a "dead" holder (an expired lease).
	crashed := &state.Journal{RunID: "20250101T000000Z-dead00", Kind: "apply", Phase: state.PhaseWriting, Executor: "fake", ExecutorRef: "wf/x"}
	if err := bm.WriteJournal(ctx, crashed); err != nil {
		t.Fatal(err)
	}
	var stopped []string
	o := l.opts(false)
	o.StopExecutor = func(ctx context.Context, j *state.Journal) error {
		stopped = append(stopped, j.Executor+":"+j.ExecutorRef)
		return nil
	}
	res := Run(ctx, l.plan(), o)
	if r := res[len(res)-1]; r.Outcome != Done {
		t.Fatalf("outcome %v: %v", r.Outcome, r.Err)
	}
	if len(stopped) != 1 || stopped[0] != "fake:wf/x" {
		t.Fatalf("stopped %v", stopped)
	}
	if j, _ := bm.ReadJournal(ctx, crashed.RunID); j.Phase != state.PhaseAborted {
		t.Fatalf("crashed run %s", j.Phase)
	}

	// A stop that fails stops the recovery: rolling back first would let
	// the tasks write again after the abort.
	crashed2 := &state.Journal{RunID: "20250101T000001Z-dead01", Kind: "apply", Phase: state.PhaseWriting, Executor: "fake", ExecutorRef: "wf/y"}
	if err := bm.WriteJournal(ctx, crashed2); err != nil {
		t.Fatal(err)
	}
	l.put("raw/dt=2026-01-03/c.json", `{"id":"c1","amount":8}`+"\n")
	o.StopExecutor = func(context.Context, *state.Journal) error { return errors.New("server unreachable") }
	res = Run(ctx, l.plan(), o)
	if r := res[len(res)-1]; r.Outcome != Failed || !strings.Contains(r.Err.Error(), "server unreachable") {
		t.Fatalf("outcome %v: %v", r.Outcome, r.Err)
	}
	if j, _ := bm.ReadJournal(ctx, crashed2.RunID); j.Phase != state.PhaseWriting {
		t.Fatalf("run rolled back although its executor could not be stopped: %s", j.Phase)
	}
}
