package exec

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/txn"
)

// commit publishes res through the real protocol (txn), as apply does,
// with the lake's state unless st is given. Executor tests commit to read
// back what a run makes visible; the protocol's own tests are txn's and
// apply's. The description of the run mirrors apply.OutputsOf (apply
// imports exec, so exec's tests cannot call it).
func commit(t *testing.T, l *lake, res *Result, st *state.Bookmarks) *txn.Manifest {
	t.Helper()
	ctx := context.Background()
	if st == nil {
		st = state.New(objstore.NewLocal(filepath.Join(l.root, "state")), "", "p", "s")
	}
	_, etag, err := st.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	job := res.Job
	sess, _, err := txn.Acquire(ctx, st, state.LockOptions{RunID: job.RunID, Command: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Release(ctx)
	run, err := sess.Begin(ctx, job.RunID, job.Sink.Loc, job.Sink.Committer == spec.CommitterDirect)
	if err != nil {
		t.Fatal(err)
	}
	out := &txn.Outputs{
		RunID: job.RunID, Pipeline: job.Pipeline, Source: job.Source.Name, SinkName: job.Sink.Name,
		Sink: job.Sink.Loc, Mode: job.Sink.Mode.String(), Quarantine: res.Quarantine,
		Metrics: res.Stats, Checks: res.Checks, Elapsed: res.Elapsed,
	}
	for _, f := range res.Files {
		out.Files = append(out.Files, txn.File{Upload: f.Upload, Rows: f.Rows, Bytes: f.Bytes, Partition: f.Partition})
	}
	out.Replace.All = job.Sink.Mode == spec.ModeOverwrite
	if job.Sink.Mode == spec.ModeOverwritePartitions {
		out.Replace.Partitions = job.OutputPartitions()
	}
	for _, task := range job.Tasks {
		for _, in := range task.Inputs {
			out.Inputs = append(out.Inputs, state.Entry{Key: strings.TrimPrefix(in.Key, job.Source.Loc.Prefix), ETag: in.ETag, Size: in.Size, RunID: job.RunID})
		}
	}
	slices.SortFunc(out.Inputs, func(a, b state.Entry) int { return strings.Compare(a.Key, b.Key) })
	out.Inputs = slices.CompactFunc(out.Inputs, func(a, b state.Entry) bool { return a.Key == b.Key })
	m, err := run.Commit(ctx, out, txn.CommitOptions{HeadETag: etag})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// metrics decodes a manifest's run figures.
func metrics(t *testing.T, m *txn.Manifest) Stats {
	t.Helper()
	var s Stats
	if err := json.Unmarshal(m.Metrics, &s); err != nil {
		t.Fatal(err)
	}
	return s
}
