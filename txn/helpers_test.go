package txn

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// lake is a local sink for protocol tests. Its outputs are small text
// objects holding one "dt|id|amount" row each, so a test reads exactly
// which rows are visible without an executor.
type lake struct {
	t    *testing.T
	root string
	out  objstore.Location
}

// readOutput returns the rows of every visible output object, sorted:
// sluice's own objects (_sluice/) and the store's upload area are not
// outputs.
func (l *lake) readOutput() []string {
	l.t.Helper()
	var rows []string
	in := objstore.ListInput{}
	for {
		page, err := l.out.Store.List(context.Background(), in)
		if err != nil {
			l.t.Fatal(err)
		}
		for _, o := range page.Objects {
			if hive.Hidden(o.Key) {
				continue
			}
			rc, _, err := l.out.Store.Get(context.Background(), o.Key)
			if err != nil {
				l.t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				l.t.Fatal(err)
			}
			rows = append(rows, string(data))
		}
		if page.NextToken == "" {
			break
		}
		in.Token = page.NextToken
	}
	slices.Sort(rows)
	return rows
}

// pending writes one output row as a pending upload of runID.
func (l *lake) pending(runID, dt, row string, task int) File {
	l.t.Helper()
	ctx := context.Background()
	key := "dt=" + dt + "/part-" + runID + "-0000" + string(rune('0'+task)) + "-00001.txt"
	up, err := l.out.Store.NewUpload(ctx, key, objstore.ObjectOptions{})
	if err != nil {
		l.t.Fatal(err)
	}
	if _, err := up.Write([]byte(row)); err != nil {
		l.t.Fatal(err)
	}
	pu, err := up.Finish(ctx)
	if err != nil {
		l.t.Fatal(err)
	}
	return File{Upload: pu, Rows: 1, Bytes: pu.Size, Partition: map[string]string{"dt": dt}}
}

// txnFixture leaves a two-output run finished and uncommitted, with its
// journal in WRITING: what a crash after the executor's work looks like.
func txnFixture(t *testing.T) (*lake, *Outputs, *state.Bookmarks, *Run) {
	t.Helper()
	ctx := context.Background()
	root := t.TempDir()
	l := &lake{t: t, root: root, out: objstore.Location{Store: objstore.NewLocal(filepath.Join(root, "out"))}}
	st := state.New(objstore.NewLocal(filepath.Join(root, "state")), "", "p", "s")
	const runID = "20260101T000000Z-abcdef"
	run, err := (&Session{bm: st}).Begin(ctx, runID, objstore.Location{Store: l.out.Store}, false)
	if err != nil {
		t.Fatal(err)
	}
	// The journal names the sink by URL, as a real run's does, so that
	// recovery reopens it.
	run.j.SinkURL = "file://" + filepath.Join(root, "out")
	if err := st.WriteJournal(ctx, run.j); err != nil {
		t.Fatal(err)
	}
	out := &Outputs{
		RunID: runID, Pipeline: "p", Source: "s", SinkName: "k", Sink: l.out, Mode: "append",
		Files: []File{l.pending(runID, "2026-01-01", "2026-01-01|a1|5", 0), l.pending(runID, "2026-01-02", "2026-01-02|b1|7", 1)},
		Inputs: []state.Entry{
			{Key: "dt=2026-01-01/a.json", ETag: "ea", Size: 23, RunID: runID},
			{Key: "dt=2026-01-02/b.json", ETag: "eb", Size: 23, RunID: runID},
		},
	}
	return l, out, st, run
}
