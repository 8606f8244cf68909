package dist_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/sluicedata/sluice/dist"
	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/internal/disttest"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// Two attempts of one task that both finish their outputs before either
// records (held by SLUICE_TEST_TASK_DELAY): exactly one record wins, the
// loser returns the winner's record, and only the winner's uploads are
// still pending.
func TestRacingAttemptsOneWins(t *testing.T) {
	t.Setenv("SLUICE_TEST_TASK_DELAY", "300ms")
	l := disttest.NewLake(t, 1)
	plan := l.Plan()
	pp := plan.Pipelines[0]
	ctx := context.Background()
	open := func(ctx context.Context, url string) (objstore.Location, error) { return objstore.Open(ctx, url) }
	job, err := exec.JobFromPlan(ctx, plan.RunID, pp, open)
	if err != nil {
		t.Fatal(err)
	}
	r, err := dist.RunOf(ctx, job, open)
	if err != nil {
		t.Fatal(err)
	}
	if err := dist.SavePlan(ctx, r, job); err != nil {
		t.Fatal(err)
	}
	bm := l.Bookmarks()
	if err := bm.WriteJournal(ctx, &state.Journal{RunID: plan.RunID, Kind: "apply", Phase: state.PhaseWriting}); err != nil {
		t.Fatal(err)
	}
	type out struct {
		rec *dist.Record
		won bool
		err error
	}
	var wg sync.WaitGroup
	res := make([]out, 2)
	for a := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, won, err := dist.RunTask(ctx, r, 0, dist.TaskOptions{Attempt: fmt.Sprintf("a%d", a)})
			res[a] = out{rec, won, err}
		}()
	}
	wg.Wait()
	for _, o := range res {
		if o.err != nil {
			t.Fatal(o.err)
		}
	}
	if res[0].won == res[1].won || res[0].rec.Attempt != res[1].rec.Attempt {
		t.Fatalf("won %v/%v, records by %s/%s: want one winner both report", res[0].won, res[1].won, res[0].rec.Attempt, res[1].rec.Attempt)
	}
	winner := res[0].rec
	pending := l.PendingUploads()
	if len(pending) != len(winner.Result.Uploads()) {
		t.Fatalf("%d uploads pending, want the winner's %d", len(pending), len(winner.Result.Uploads()))
	}
	ids := map[string]bool{}
	for _, u := range winner.Result.Uploads() {
		ids[u.UploadID] = true
	}
	for _, u := range pending {
		if !ids[u.UploadID] {
			t.Fatalf("a loser's upload is pending: %+v", u)
		}
	}
}

// Failures no retry mends are classified; others are not.
func TestClassify(t *testing.T) {
	for err, want := range map[error]string{
		&exec.InputChangedError{Key: "k"}:                            dist.KindInputChanged,
		fmt.Errorf("task: %w", &decode.BadRecordError{}):             dist.KindBadInput,
		fmt.Errorf("x: %w", &decode.SchemaMismatchError{Key: "k"}):   dist.KindBadInput,
		fmt.Errorf("vanished: %w", objstore.ErrNotExist):             dist.KindBadInput,
		&dist.Error{Kind: dist.KindRunOver, Err: fmt.Errorf("over")}: dist.KindRunOver,
		fmt.Errorf("503 SlowDown"):                                   "",
		context.Canceled:                                             "",
	} {
		if got := dist.Classify(err); got != want {
			t.Errorf("Classify(%v) = %q, want %q", err, got, want)
		}
	}
}
