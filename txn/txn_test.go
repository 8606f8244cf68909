package txn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

func openTest(ctx context.Context, url string) (objstore.Location, error) {
	return objstore.Open(ctx, url)
}

func TestRecoverRollsBackWriting(t *testing.T) {
	ctx := context.Background()
	l, res, st, run := txnFixture(t)
	j := run.j
	// The process dies here: pending uploads, journal WRITING.
	rec, err := Recover(ctx, st, openTest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec) != 1 || rec[0].Action != "rolled back" || rec[0].RunID != j.RunID {
		t.Fatalf("recovered: %v", rec)
	}
	if ups, _ := l.out.Store.ListUploads(ctx, ""); len(ups) != 0 {
		t.Fatalf("uploads left: %v", ups)
	}
	if got := l.readOutput(); len(got) != 0 {
		t.Fatalf("visible after rollback: %v", got)
	}
	back, _ := st.ReadJournal(ctx, j.RunID)
	if back.Phase != state.PhaseAborted {
		t.Fatalf("phase %s", back.Phase)
	}
	if h, _, _ := st.Head(ctx); h.Version != 0 {
		t.Fatalf("state moved: %+v", h)
	}
	// Completing the rolled-back uploads is impossible now.
	if _, err := l.out.Store.CompleteUpload(ctx, res.Files[0].Upload); err == nil {
		t.Fatal("a rolled-back upload could still be completed")
	}
	if again, err := Recover(ctx, st, openTest, nil); err != nil || len(again) != 0 {
		t.Fatalf("second recovery: %v %v", again, err)
	}
}

func TestRecoverRollsForwardCommitting(t *testing.T) {
	ctx := context.Background()
	l, res, st, run := txnFixture(t)
	j := run.j
	// Journal COMMITTING as Commit does, then "crash" after publishing
	// only the first output.
	var pending []objstore.PendingUpload
	for _, f := range res.Files {
		pending = append(pending, f.Upload)
	}
	seg, err := st.WriteSegment(ctx, j.RunID, slices.Values(res.Inputs))
	if err != nil {
		t.Fatal(err)
	}
	j.Uploads, j.Segment, j.Phase = pending, seg, state.PhaseCommitting
	j.ManifestKey, j.Manifest = ManifestKey("", j.RunID), []byte(`{"run_id":"`+j.RunID+`"}`)
	if err := st.WriteJournal(ctx, j); err != nil {
		t.Fatal(err)
	}
	if _, err := l.out.Store.CompleteUpload(ctx, pending[0]); err != nil {
		t.Fatal(err)
	}
	if got := l.readOutput(); len(got) != 1 {
		t.Fatalf("partial publish: %v", got)
	}
	rec, err := Recover(ctx, st, openTest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec) != 1 || rec[0].Action != "rolled forward" {
		t.Fatalf("recovered: %v", rec)
	}
	if got := l.readOutput(); strings.Join(got, ",") != "2026-01-01|a1|5,2026-01-02|b1|7" {
		t.Fatalf("after roll-forward: %v", got)
	}
	if _, err := l.out.Store.Head(ctx, ManifestKey("", j.RunID)); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	h, _, err := st.Head(ctx)
	if err != nil || h.RunID != j.RunID || h.Version != 1 {
		t.Fatalf("HEAD: %+v %v", h, err)
	}
	es, _ := st.AllEntries(ctx, h)
	if len(es) != 2 {
		t.Fatalf("entries: %v", es)
	}
	// Running the same journal again changes nothing (every step is
	// idempotent), as when a roll-forward itself crashed after its swap.
	j.Phase = state.PhaseCommitting
	if err := finish(ctx, st, j, l.out, nil); err != nil {
		t.Fatal(err)
	}
	if h2, _, _ := st.Head(ctx); h2.Version != 1 {
		t.Fatalf("HEAD moved on a repeated roll-forward: %+v", h2)
	}
}

func TestCommitJournalsAndRefusesMovedHead(t *testing.T) {
	ctx := context.Background()
	l, res, st, run := txnFixture(t)
	j := run.j
	_, err := run.Commit(ctx, res, CommitOptions{HeadETag: "not-the-etag"})
	if !errors.Is(err, objstore.ErrPrecondition) {
		t.Fatalf("want ErrPrecondition, got %v", err)
	}
	if got := l.readOutput(); len(got) != 0 {
		t.Fatalf("visible after a refused commit: %v", got)
	}
	if j.Phase != state.PhaseWriting {
		t.Fatalf("phase %s", j.Phase)
	}
	m, err := run.Commit(ctx, res, CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	back, _ := st.ReadJournal(ctx, j.RunID)
	if back.Phase != state.PhaseDone || len(back.Uploads) != 2 || back.ManifestKey != ManifestKey("", m.RunID) {
		t.Fatalf("journal after commit: %+v", back)
	}
}

func TestCompactKeepsEntriesAndRunIDs(t *testing.T) {
	ctx := context.Background()
	st := state.New(objstore.NewLocal(t.TempDir()), "", "p", "s")
	for i := 0; i < 5; i++ {
		run := fmt.Sprintf("2026010%dT000000Z-aaaaaa", i+1)
		es := []state.Entry{{Key: fmt.Sprintf("k%d", i), ETag: "e", Size: 1}, {Key: "shared", ETag: run, Size: 2}}
		seg, err := st.WriteSegment(ctx, run, slices.Values(es))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.SwapHead(ctx, run, seg, nil); err != nil {
			t.Fatal(err)
		}
	}
	before, _, _ := st.Head(ctx)
	want, _ := st.AllEntries(ctx, before)
	if did, err := (&Session{bm: st}).Compact(ctx, "20260109T000000Z-cccccc", 10); err != nil || did {
		t.Fatalf("compacted under the threshold: %v %v", did, err)
	}
	did, err := (&Session{bm: st}).Compact(ctx, "20260109T000000Z-cccccc", 3)
	if err != nil || !did {
		t.Fatalf("compact: %v %v", did, err)
	}
	after, _, _ := st.Head(ctx)
	if len(after.Segments) != 1 {
		t.Fatalf("segments after compaction: %v", after.Segments)
	}
	got, err := st.AllEntries(ctx, after)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("entries changed:\n got %v\nwant %v", got, want)
	}
	for _, seg := range before.Segments {
		if _, err := st.Store().Head(ctx, st.Dir()+seg); !errors.Is(err, objstore.ErrNotExist) {
			t.Errorf("old segment %s kept: %v", seg, err)
		}
	}
}

// TestRollForwardForgetAll: a journaled "forget everything" (an empty
// segment list) read back from its JSON must empty HEAD, not keep the old
// segments while dropping their objects.
func TestRollForwardForgetAll(t *testing.T) {
	ctx := context.Background()
	st := state.New(objstore.NewLocal(t.TempDir()), "", "p", "s")
	seg, _ := st.WriteSegment(ctx, "r1", slices.Values([]state.Entry{{Key: "a", ETag: "e", Size: 1}}))
	if _, err := st.SwapHead(ctx, "r1", seg, nil); err != nil {
		t.Fatal(err)
	}
	j := &state.Journal{RunID: "r2", Kind: "forget", Phase: state.PhaseCommitting, ReplaceSegments: true, DropSegments: []string{seg}}
	if err := st.WriteJournal(ctx, j); err != nil {
		t.Fatal(err)
	}
	if _, err := Recover(ctx, st, openTest, nil); err != nil {
		t.Fatal(err)
	}
	h, _, err := st.Head(ctx)
	if err != nil || len(h.Segments) != 0 || h.RunID != "r2" {
		t.Fatalf("HEAD after forgetting everything: %+v %v", h, err)
	}
	if es, err := st.AllEntries(ctx, h); err != nil || len(es) != 0 {
		t.Fatalf("entries: %v %v", es, err)
	}
}
