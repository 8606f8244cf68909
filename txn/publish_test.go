package txn

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/tables"
)

// The Publisher conformance suite: every publisher (files, table) must
// make a run visible whole when it commits, replace what its mode replaces,
// repeat a publication without duplicating it, and leave, after any crash
// and the recovery that follows, either the whole run visible with its
// inputs recorded or nothing of it visible with its inputs unrecorded.
//
// Outputs are small text objects of one "dt|id" row each: a table does not
// look inside its data files, so the suite reads rows without a Parquet
// reader.

// sinkKind is one implementation under the suite.
type sinkKind struct {
	name string
	// sink describes a fresh sink of this kind under root.
	sink func(t *testing.T, root string, mode spec.Mode) Sink
	// visible lists the rows a reader of the sink sees now, sorted.
	visible func(t *testing.T, root string) []string
}

var sinkKinds = []sinkKind{
	{
		name: "files",
		sink: func(t *testing.T, root string, mode spec.Mode) Sink {
			return Sink{URL: filepath.Join(root, "out")}
		},
		visible: func(t *testing.T, root string) []string {
			l := &lake{t: t, root: root, out: objstore.Location{Store: objstore.NewLocal(filepath.Join(root, "out"))}}
			return l.readOutput()
		},
	},
	{
		name: "table",
		sink: func(t *testing.T, root string, mode spec.Mode) Sink {
			return Sink{Table: &TableSink{Catalog: tableCatalog(root), Want: tables.Want{
				Table:        "ns.t",
				Columns:      []schema.Column{{Name: "dt", Type: schema.StringType, Nullable: true}},
				Partitioning: []spec.PartitionField{{Column: "dt", Transform: spec.TransformIdentity}},
			}}}
		},
		visible: func(t *testing.T, root string) []string {
			ctx := context.Background()
			c, err := (&tables.Opener{}).Open(ctx, tableCatalog(root))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tbl, err := c.Load(ctx, "ns.t")
			if tables.Missing(err) {
				return nil
			}
			if err != nil {
				t.Fatal(err)
			}
			live, err := tbl.LiveFiles(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var rows []string
			for _, f := range live {
				loc, err := objstore.Open(ctx, f.Path)
				if err != nil {
					t.Fatal(err)
				}
				dir, base := filepath.Split(strings.TrimSuffix(loc.Store.URL(), "/"))
				rc, _, err := objstore.NewLocal(strings.TrimPrefix(dir, "file://")).Get(ctx, base)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(rc)
				rc.Close()
				rows = append(rows, string(b))
			}
			slices.Sort(rows)
			return rows
		},
	},
}

func tableCatalog(root string) tables.CatalogConfig {
	return tables.CatalogConfig{Name: "c", Type: tables.TypeSQL, URI: filepath.Join(root, "cat.db"), Warehouse: filepath.Join(root, "wh")}
}

// suiteRun is one run of a pipeline under the suite.
type suiteRun struct {
	t    *testing.T
	st   *state.Bookmarks
	sess *Session
	pub  Publisher
	tgt  Target
	run  *Run
	out  *Outputs
}

// start prepares the sink, journals WRITING and writes rows (dt|id) as
// pending uploads, one object each.
func start(t *testing.T, k sinkKind, root, runID string, mode spec.Mode, rows ...string) *suiteRun {
	t.Helper()
	ctx := context.Background()
	st := state.New(objstore.NewLocal(filepath.Join(root, "state")), "", "p", "s")
	sess := &Session{bm: st}
	pub, err := NewPublisher(ctx, k.sink(t, root, mode), nil)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := pub.Prepare(ctx)
	if err != nil {
		t.Fatal(err)
	}
	run, err := sess.BeginPublish(ctx, runID, pub)
	if err != nil {
		t.Fatal(err)
	}
	out := &Outputs{RunID: runID, Pipeline: "p", Source: "s", SinkName: "k", Sink: tgt.Loc, Mode: mode.String()}
	parts := map[string]bool{}
	for i, row := range rows {
		dt, _, _ := strings.Cut(row, "|")
		key := tgt.Loc.Prefix + hive.Dir([]string{"dt"}, []string{dt}) + fmt.Sprintf("part-%s-%05d-00001.txt", runID, i)
		up, err := tgt.Loc.Store.NewUpload(ctx, key, objstore.ObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := up.Write([]byte(row)); err != nil {
			t.Fatal(err)
		}
		pu, err := up.Finish(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v := dt
		out.Files = append(out.Files, File{Upload: pu, Rows: 1, Bytes: pu.Size, Partition: map[string]string{"dt": dt}, Values: []*string{&v}})
		out.Inputs = append(out.Inputs, state.Entry{Key: fmt.Sprintf("dt=%s/%s-%d.json", dt, runID, i), ETag: "e", Size: 1, RunID: runID})
		if mode == spec.ModeOverwritePartitions && !parts[dt] {
			parts[dt] = true
			out.Replace.Partitions = append(out.Replace.Partitions, hive.Dir([]string{"dt"}, []string{dt}))
			out.ReplaceValues = append(out.ReplaceValues, []*string{&v})
		}
	}
	out.Replace.All = mode == spec.ModeOverwrite
	slices.SortFunc(out.Inputs, func(a, b state.Entry) int { return strings.Compare(a.Key, b.Key) })
	return &suiteRun{t: t, st: st, sess: sess, pub: pub, tgt: tgt, run: run, out: out}
}

func (r *suiteRun) commit() {
	r.t.Helper()
	defer r.pub.Close()
	_, etag, err := r.st.Head(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.run.Commit(context.Background(), r.out, CommitOptions{HeadETag: etag}); err != nil {
		r.t.Fatal(err)
	}
}

// stageCommitting does what Commit does up to COMMITTING, and stops: a
// crash right after the journal landed.
func (r *suiteRun) stageCommitting() {
	r.t.Helper()
	ctx := context.Background()
	j := r.run.j
	if _, err := r.pub.Stage(ctx, r.out, j); err != nil {
		r.t.Fatal(err)
	}
	seg, err := r.st.WriteSegment(ctx, j.RunID, slices.Values(r.out.Inputs))
	if err != nil {
		r.t.Fatal(err)
	}
	j.Segment, j.Phase = seg, state.PhaseCommitting
	if err := r.st.WriteJournal(ctx, j); err != nil {
		r.t.Fatal(err)
	}
}

// recorded lists the input keys HEAD records.
func recorded(t *testing.T, st *state.Bookmarks) []string {
	t.Helper()
	h, _, err := st.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	es, err := st.AllEntries(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	return keys
}

// noPending fails if any upload is pending under the run's target.
func noPending(t *testing.T, r *suiteRun) {
	t.Helper()
	ups, err := r.tgt.Loc.Store.ListUploads(context.Background(), r.tgt.Loc.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) > 0 {
		t.Errorf("pending uploads left: %v", ups)
	}
}

func TestPublisherConformance(t *testing.T) {
	for _, k := range sinkKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Run("modes", func(t *testing.T) {
				root := t.TempDir()
				start(t, k, root, "r1", spec.ModeAppend, "d1|a", "d2|b").commit()
				start(t, k, root, "r2", spec.ModeAppend, "d2|c").commit()
				if got := strings.Join(k.visible(t, root), ","); got != "d1|a,d2|b,d2|c" {
					t.Fatalf("after two appends: %s", got)
				}
				// d2 is replaced whole; d1 is kept.
				start(t, k, root, "r3", spec.ModeOverwritePartitions, "d2|e", "d3|f").commit()
				if got := strings.Join(k.visible(t, root), ","); got != "d1|a,d2|e,d3|f" {
					t.Fatalf("after overwrite_partitions: %s", got)
				}
				r := start(t, k, root, "r4", spec.ModeOverwrite, "d9|z")
				r.commit()
				if got := strings.Join(k.visible(t, root), ","); got != "d9|z" {
					t.Fatalf("after overwrite: %s", got)
				}
				if got := len(recorded(t, r.st)); got != 6 {
					t.Fatalf("%d inputs recorded, want 6", got)
				}
				noPending(t, r)
			})
			t.Run("publish twice", func(t *testing.T) {
				root := t.TempDir()
				r := start(t, k, root, "r1", spec.ModeAppend, "d1|a", "d2|b")
				r.stageCommitting()
				ctx := context.Background()
				for i := 0; i < 2; i++ {
					if err := r.pub.Publish(ctx, r.run.j); err != nil {
						t.Fatalf("publish %d: %v", i, err)
					}
				}
				ok, err := r.pub.Published(ctx, r.run.j)
				if err != nil || !ok {
					t.Fatalf("Published after Publish: %v %v", ok, err)
				}
				if got := strings.Join(k.visible(t, root), ","); got != "d1|a,d2|b" {
					t.Fatalf("after two publications: %s", got)
				}
			})
			t.Run("crash in WRITING", func(t *testing.T) {
				root := t.TempDir()
				r := start(t, k, root, "r1", spec.ModeAppend, "d1|a")
				if rec, err := Recover(context.Background(), r.st, nil, nil); err != nil || len(rec) != 1 || rec[0].Action != "rolled back" {
					t.Fatalf("recover: %v %v", rec, err)
				}
				if got := k.visible(t, root); len(got) != 0 || len(recorded(t, r.st)) != 0 {
					t.Fatalf("visible %v, recorded %v", got, recorded(t, r.st))
				}
				noPending(t, r)
			})
			t.Run("crash after COMMITTING", func(t *testing.T) {
				// Whatever the publisher decides, the run is whole or absent,
				// in the sink and in the bookmarks alike.
				root := t.TempDir()
				start(t, k, root, "r0", spec.ModeAppend, "d0|x").commit()
				r := start(t, k, root, "r1", spec.ModeAppend, "d1|a", "d2|b")
				r.stageCommitting()
				rec, err := Recover(context.Background(), r.st, nil, nil)
				if err != nil || len(rec) != 1 {
					t.Fatalf("recover: %v %v", rec, err)
				}
				got, keys := strings.Join(k.visible(t, root), ","), len(recorded(t, r.st))
				switch rec[0].Action {
				case "rolled forward":
					if got != "d0|x,d1|a,d2|b" || keys != 3 {
						t.Fatalf("rolled forward: visible %s, %d recorded", got, keys)
					}
				case "rolled back":
					if got != "d0|x" || keys != 1 {
						t.Fatalf("rolled back: visible %s, %d recorded", got, keys)
					}
				default:
					t.Fatalf("action %q", rec[0].Action)
				}
				noPending(t, r)
			})
			t.Run("crash after publication", func(t *testing.T) {
				root := t.TempDir()
				r := start(t, k, root, "r1", spec.ModeAppend, "d1|a", "d2|b")
				r.stageCommitting()
				if err := r.pub.Publish(context.Background(), r.run.j); err != nil {
					t.Fatal(err)
				}
				// The process dies before the HEAD swap; a publisher reopened
				// from the journal alone must see the publication.
				rec, err := Recover(context.Background(), r.st, nil, nil)
				if err != nil || len(rec) != 1 || rec[0].Action != "rolled forward" {
					t.Fatalf("recover: %v %v", rec, err)
				}
				if got := strings.Join(k.visible(t, root), ","); got != "d1|a,d2|b" || len(recorded(t, r.st)) != 2 {
					t.Fatalf("visible %s, recorded %v", got, recorded(t, r.st))
				}
			})
		})
	}
}
