package exec

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/txn"
)

// committer = "direct" publishes each task's files as soon as they are
// written (so they are visible before commit), and aborting the run, or
// rolling it back after a crash, deletes them again.
func TestDirectCommitterPublishesEarlyAndRollsBack(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"abort", "recover"} {
		t.Run(how, func(t *testing.T) {
			l := newLake(t)
			a := l.put("dt=1/a.json", `{"id":"x","amount":1}`+"\n", false)
			a.Partition = []any{"1"}
			job := orderJob(t, l, "", []Task{{Inputs: []Input{a}}})
			job.Sink.Committer = spec.CommitterDirect
			st := state.New(objstore.NewLocal(filepath.Join(l.root, "state")), "", "p", "s")
			sess, _, err := txn.Acquire(ctx, st, state.LockOptions{RunID: job.RunID, Command: "test"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Release(ctx)
			run, err := sess.Begin(ctx, job.RunID, l.out, true)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(ctx, job, Options{Alloc: checked(t)})
			if err != nil {
				t.Fatal(err)
			}
			if got := l.readOutput(); len(got) != 1 {
				t.Fatalf("direct outputs before commit: %v, want the one row visible", got)
			}
			switch how {
			case "abort":
				if err := errors.Join(AbortResult(ctx, res), run.Abort(ctx, nil)); err != nil {
					t.Fatal(err)
				}
			case "recover":
				// The process died: the next run finds the WRITING journal.
				open := func(ctx context.Context, url string) (objstore.Location, error) { return l.out, nil }
				if _, err := txn.Recover(ctx, st, open, nil); err != nil {
					t.Fatal(err)
				}
			}
			if got := l.readOutput(); len(got) != 0 {
				t.Fatalf("outputs left after %s: %v", how, got)
			}
			back, err := st.ReadJournal(ctx, job.RunID)
			if err != nil || back.Phase != state.PhaseAborted {
				t.Fatalf("journal after %s: %+v, %v", how, back, err)
			}
		})
	}
}
