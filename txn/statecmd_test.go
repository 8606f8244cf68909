package txn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// fakeRun records a committed run the way Commit leaves it: an output, a
// manifest, a journal and a segment swapped into HEAD.
func fakeRun(t *testing.T, st *state.Bookmarks, sink objstore.Location, runID string, started time.Time, keys map[string]string) {
	t.Helper()
	ctx := context.Background()
	out := "dt=x/part-" + runID + "-00000-00001.parquet"
	if _, err := sink.Store.Put(ctx, sink.Prefix+out, []byte("data"), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	m, _ := json.Marshal(Manifest{RunID: runID, Pipeline: "p", CommittedAt: started.Add(time.Second), Files: []ManifestFile{{Key: out, Rows: 1, Bytes: 4}}})
	if _, err := sink.Store.Put(ctx, ManifestKey(sink.Prefix, runID), m, objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteJournal(ctx, &state.Journal{RunID: runID, Kind: "apply", Phase: state.PhaseDone, Started: started}); err != nil {
		t.Fatal(err)
	}
	var es []state.Entry
	for k, etag := range keys {
		es = append(es, state.Entry{Key: k, ETag: etag, Size: 1})
	}
	slices.SortFunc(es, func(a, b state.Entry) int {
		if a.Key < b.Key {
			return -1
		}
		return 1
	})
	seg, err := st.WriteSegment(ctx, runID, slices.Values(es))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SwapHead(ctx, runID, seg, nil); err != nil {
		t.Fatal(err)
	}
}

func entryMap(t *testing.T, st *state.Bookmarks) map[string]string {
	t.Helper()
	ctx := context.Background()
	h, _, err := st.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	es, err := st.AllEntries(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range es {
		out[e.Key] = e.ETag + "@" + e.RunID
	}
	return out
}

func TestRewindForgetMarkGC(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	st := state.New(objstore.NewLocal(root+"/state"), "", "p", "s")
	sink := objstore.Location{Store: objstore.NewLocal(root + "/out")}
	src := objstore.Location{Store: objstore.NewLocal(root + "/raw")}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Three runs in the same second: their ids do not sort by time
	// ("…-ffffff" started first), their journals do.
	r1, r2, r3 := "20260101T000000Z-ffffff", "20260101T000000Z-000000", "20260101T000000Z-888888"
	fakeRun(t, st, sink, r1, t0, map[string]string{"a": "e1", "b": "e1"})
	fakeRun(t, st, sink, r2, t0.Add(time.Millisecond), map[string]string{"b": "e2", "c": "e2"}) // b processed again
	fakeRun(t, st, sink, r3, t0.Add(2*time.Millisecond), map[string]string{"d": "e3"})

	if _, err := (&Session{bm: st}).Rewind(ctx, sink, "p", "rw0", "nosuchrun"); err == nil {
		t.Fatal("rewind to an unknown run succeeded")
	}
	ch, err := (&Session{bm: st}).Rewind(ctx, sink, "p", "20260101T000001Z-aaaaaa", r1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Runs, []string{r2, r3}) {
		t.Errorf("undone runs %v, want %v", ch.Runs, []string{r2, r3})
	}
	// b gets back the bookmark r1 gave it; c and d are forgotten.
	got := entryMap(t, st)
	want := map[string]string{"a": "e1@" + r1, "b": "e1@" + r1}
	if len(got) != len(want) || got["a"] != want["a"] || got["b"] != want["b"] {
		t.Errorf("entries after rewind %v, want %v", got, want)
	}
	refs, _ := ListManifests(ctx, sink)
	if len(refs) != 1 || refs[0].RunID != r1 {
		t.Errorf("manifests after rewind: %v", refs)
	}
	for _, r := range []string{r2, r3} {
		if _, err := sink.Store.Head(ctx, "dt=x/part-"+r+"-00000-00001.parquet"); !errors.Is(err, objstore.ErrNotExist) {
			t.Errorf("output of undone run %s kept: %v", r, err)
		}
	}
	if _, err := sink.Store.Head(ctx, "dt=x/part-"+r1+"-00000-00001.parquet"); err != nil {
		t.Errorf("output of kept run removed: %v", err)
	}

	if ch, err := (&Session{bm: st}).Forget(ctx, "20260101T000002Z-aaaaaa", "a"); err != nil || ch.Keys != 1 {
		t.Fatalf("forget: %+v %v", ch, err)
	}
	if got := entryMap(t, st); len(got) != 1 || got["b"] == "" {
		t.Errorf("after forget: %v", got)
	}
	for _, k := range []string{"a", "b", "_hidden/x", "sub/z"} {
		if _, err := src.Store.Put(ctx, k, []byte(k), objstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ch, err = (&Session{bm: st}).MarkProcessed(ctx, src, "20260101T000003Z-aaaaaa", "*")
	if err != nil {
		t.Fatal(err)
	}
	// a is new, b's ETag differs from the bookmark (e1): both recorded;
	// sub/z does not match "*", _hidden is never an input.
	if got := entryMap(t, st); ch.Keys != 2 || len(got) != 2 || got["a"] == "" || got["b"] == "e1@"+r1 {
		t.Errorf("mark-processed %+v: %v", ch, got)
	}
	js, _ := st.ListJournals(ctx)
	for _, je := range js {
		if j, _ := st.ReadJournal(ctx, je.RunID); !j.Phase.Finished() {
			t.Errorf("journal %s left %s", j.RunID, j.Phase)
		}
	}

	res, err := (&Session{bm: st}).GC(ctx, sink, "p", time.Hour, time.Now())
	if err != nil || res.Journals != 0 || res.Manifests != 0 {
		t.Fatalf("gc with a long retention removed %+v (%v)", res, err)
	}
	res, err = (&Session{bm: st}).GC(ctx, sink, "p", 0, time.Now().Add(time.Second))
	if err != nil || res.Journals != len(js) || res.Manifests != 0 {
		t.Fatalf("gc: %+v (%v), journals %d; the newest manifest must stay", res, err, len(js))
	}
}

// mark-processed merges the listing and the bookmarks as two sorted
// streams: over several listing pages, with bookmarks before, between and
// after the objects, it gives exactly what a map of both would.
func TestMarkProcessedMergesPagesAndBookmarks(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	src := objstore.Location{Store: objstore.NewLocal(root + "/src"), Prefix: "in/"}
	st := state.New(objstore.NewLocal(root+"/state"), "", "p", "s")
	want := map[string]string{}
	// Bookmarks: every third object (half of them with the object's
	// current ETag, half stale), and keys with no object at all.
	bookmarks := map[string]string{"000-gone": "g", "dt=1/zzz-gone": "g", "~after": "g"}
	for k, v := range bookmarks {
		want[k] = v + "@r1"
	}
	for i := 0; i < 2600; i++ {
		key := fmt.Sprintf("dt=%d/f-%05d.json", i%3, i)
		info, err := src.Store.Put(ctx, "in/"+key, []byte(key), objstore.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case i%6 == 0:
			bookmarks[key] = info.ETag
			want[key] = info.ETag + "@r1"
		case i%6 == 3:
			bookmarks[key] = "stale"
			want[key] = info.ETag + "@r2"
		default:
			want[key] = info.ETag + "@r2"
		}
	}
	for _, k := range []string{"in/_sluice/x", "in/.hidden"} {
		if _, err := src.Store.Put(ctx, k, []byte("x"), objstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var es []state.Entry
	for k, etag := range bookmarks {
		es = append(es, state.Entry{Key: k, ETag: etag, Size: 1})
	}
	slices.SortFunc(es, func(a, b state.Entry) int { return strings.Compare(a.Key, b.Key) })
	seg, err := st.WriteSegment(ctx, "r1", slices.Values(es))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SwapHead(ctx, "r1", seg, nil); err != nil {
		t.Fatal(err)
	}
	ch, err := (&Session{bm: st}).MarkProcessed(ctx, src, "r2", "**")
	if err != nil {
		t.Fatal(err)
	}
	if wantChanged := 2600 - 2600/6 - 1; ch.Keys != wantChanged { // i%6==0 kept: 434 of 2600
		t.Errorf("changed %d, want %d", ch.Keys, wantChanged)
	}
	if got := entryMap(t, st); !maps.Equal(got, want) {
		t.Errorf("bookmarks after mark-processed: %d entries, want %d", len(got), len(want))
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %q, want %q", k, got[k], v)
				break
			}
		}
	}
}
