package planner

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
)

var selTree = map[string]string{
	"dt=2026-01-01/region=eu/a.json": "aaaa",
	"dt=2026-01-01/region=us/a.json": "bbbbbbbb",
	"dt=2026-01-02/region=eu/a.json": "cc",
	"dt=2026-01-02/region=us/a.json": "dddddd",
	"dt=2026-01-03/region=eu/a.json": "e",
	"dt=2026-01-03/region=us/a.json": "ffffffffff",
}

// markProcessed records rel keys as processed with their current ETag, or
// a stale one when stale is true.
func markProcessed(t *testing.T, store objstore.Store, st *state.Bookmarks, rels []string, stale map[string]bool) {
	t.Helper()
	ctx := context.Background()
	slices.Sort(rels)
	var es []state.Entry
	for _, r := range rels {
		info, err := store.Head(ctx, r)
		if errors.Is(err, objstore.ErrNotExist) {
			info = objstore.ObjectInfo{ETag: "gone"}
		} else if err != nil {
			t.Fatal(err)
		}
		etag := info.ETag
		if stale[r] {
			etag = "stale-etag"
		}
		es = append(es, state.Entry{Key: r, ETag: etag, Size: info.Size})
	}
	seg, err := st.WriteSegment(ctx, NewRunID(testNow), slices.Values(es))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SwapHead(ctx, NewRunID(testNow), seg, nil); err != nil {
		t.Fatal(err)
	}
}

func runSelect(t *testing.T, store objstore.Store, st *state.Bookmarks, ss SelectSpec) (*Selection, error) {
	t.Helper()
	ctx := context.Background()
	parts := []string{"dt", "region"}
	open := func() (*Lister, error) { return NewLister(ListSpec{Store: store, Partitions: parts}) }
	head, _, err := st.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	processed := func() (ProcessedIterator, error) {
		it, err := st.Entries(ctx, head)
		return stateIter{it}, err
	}
	ss.Partitions, ss.Open, ss.Processed = parts, open, processed
	return Select(ctx, ss)
}

func inputKeys(in *Inputs) []string {
	var out []string
	for i := 0; i < in.Len(); i++ {
		out = append(out, in.At(i).Key)
	}
	return out
}

func TestSelectAppendAndOnChange(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, selTree)
	store := objstore.NewLocal(root)
	st := state.New(store, "_state/", "p", "s")
	markProcessed(t, store, st, []string{"dt=2026-01-01/region=eu/a.json", "dt=2026-01-01/region=us/a.json", "gone/x.json"},
		map[string]bool{"dt=2026-01-01/region=us/a.json": true})

	sel, err := runSelect(t, store, st, SelectSpec{Mode: spec.ModeAppend, OnChange: spec.ChangeIgnore})
	if err != nil {
		t.Fatal(err)
	}
	if got := inputKeys(sel.Inputs); len(got) != 4 || got[0] != "dt=2026-01-02/region=eu/a.json" {
		t.Fatalf("append inputs = %v", got)
	}
	if sel.New.Files != 4 || sel.Changed.Files != 1 || sel.Processed.Files != 1 || sel.Deleted != 1 {
		t.Fatalf("classes: new %d changed %d processed %d deleted %d", sel.New.Files, sel.Changed.Files, sel.Processed.Files, sel.Deleted)
	}
	if sel.Selected.Bytes != 2+6+1+10 || !sel.Pending() {
		t.Fatalf("selected %+v pending %v", sel.Selected, sel.Pending())
	}

	sel, err = runSelect(t, store, st, SelectSpec{Mode: spec.ModeAppend, OnChange: spec.ChangeReprocess})
	if err != nil {
		t.Fatal(err)
	}
	if got := inputKeys(sel.Inputs); len(got) != 5 || got[0] != "dt=2026-01-01/region=us/a.json" {
		t.Fatalf("reprocess inputs = %v", got)
	}

	_, err = runSelect(t, store, st, SelectSpec{Mode: spec.ModeAppend, OnChange: spec.ChangeError})
	var ce *ChangedError
	if !errors.As(err, &ce) || ce.Key != "dt=2026-01-01/region=us/a.json" || ce.Old != "stale-etag" {
		t.Fatalf("on_change error: %v", err)
	}
}

func TestSelectBounds(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, selTree)
	store := objstore.NewLocal(root)
	st := state.New(store, "_state/", "p", "s")
	cases := []struct {
		name        string
		b           spec.Bounds
		wantFiles   int64
		wantBytes   int64
		backlogFile int64
	}{
		{"files", spec.Bounds{Files: 2}, 2, 12, 4},
		{"bytes", spec.Bounds{Bytes: 14}, 3, 14, 3},
		// The first file (4 bytes) is over the bound: it forms its own run.
		{"first file too big", spec.Bounds{Bytes: 3}, 1, 4, 5},
		{"both, files first", spec.Bounds{Files: 1, Bytes: 100}, 1, 4, 5},
		// 4+8 = 12 fits, +2 = 14 does not: the run stops there even though
		// a later file (1 byte) would fit; inputs are taken in key order.
		{"stops at first miss", spec.Bounds{Bytes: 13}, 2, 12, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sel, err := runSelect(t, store, st, SelectSpec{Mode: spec.ModeAppend, OnChange: spec.ChangeIgnore, Bounds: &c.b})
			if err != nil {
				t.Fatal(err)
			}
			if sel.Selected.Files != c.wantFiles || sel.Selected.Bytes != c.wantBytes || sel.Backlog.Files != c.backlogFile {
				t.Fatalf("selected %+v backlog %+v", sel.Selected, sel.Backlog)
			}
			if sel.Selected.Files+sel.Backlog.Files != 6 || sel.Selected.Bytes+sel.Backlog.Bytes != 31 {
				t.Fatalf("selected + backlog must be everything: %+v + %+v", sel.Selected, sel.Backlog)
			}
		})
	}
}

func TestSelectOverwrite(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, selTree)
	store := objstore.NewLocal(root)
	st := state.New(store, "_state/", "p", "s")
	var all []string
	for k := range selTree {
		all = append(all, k)
	}
	markProcessed(t, store, st, all, nil)
	sel, err := runSelect(t, store, st, SelectSpec{Mode: spec.ModeOverwrite, OnChange: spec.ChangeIgnore})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Inputs.Len() != 6 || sel.Pending() {
		t.Fatalf("overwrite with nothing new: %d inputs, pending %v (%+v)", sel.Inputs.Len(), sel.Pending(), sel)
	}
	writeTree(t, root, map[string]string{"dt=2026-01-04/region=eu/a.json": "new"})
	sel, err = runSelect(t, store, st, SelectSpec{Mode: spec.ModeOverwrite, OnChange: spec.ChangeIgnore})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Inputs.Len() != 7 || !sel.Pending() {
		t.Fatalf("overwrite with a new file: %d inputs, pending %v", sel.Inputs.Len(), sel.Pending())
	}
	if _, err := runSelect(t, store, st, SelectSpec{Mode: spec.ModeOverwrite, Bounds: &spec.Bounds{Files: 1}}); err == nil {
		t.Fatal("bounded overwrite accepted")
	}
}

// partition_by = [region] is not a prefix of [dt, region]: the files of one
// output partition are scattered through the key order.
func TestSelectOverwritePartitions(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, selTree)
	store := objstore.NewLocal(root)
	st := state.New(store, "_state/", "p", "s")
	var all []string
	for k := range selTree {
		all = append(all, k)
	}
	markProcessed(t, store, st, all, nil)
	// A late file in an old dt for region us.
	writeTree(t, root, map[string]string{"dt=2026-01-01/region=us/late.json": "late"})
	sel, err := runSelect(t, store, st, SelectSpec{Mode: spec.ModeOverwritePartitions, OnChange: spec.ChangeIgnore, PartitionBy: []string{"region"}})
	if err != nil {
		t.Fatal(err)
	}
	got := inputKeys(sel.Inputs)
	want := []string{"dt=2026-01-01/region=us/a.json", "dt=2026-01-01/region=us/late.json", "dt=2026-01-02/region=us/a.json", "dt=2026-01-03/region=us/a.json"}
	if !slices.Equal(got, want) {
		t.Fatalf("overwrite_partitions inputs =\n%s", strings.Join(got, "\n"))
	}
	if sel.AffectedPartitions != 1 || sel.ChosenPartitions != 1 {
		t.Fatalf("partitions affected %d chosen %d", sel.AffectedPartitions, sel.ChosenPartitions)
	}

	// Two affected partitions (eu: 4 files, us: 4 files) and a bound of 4
	// files: one whole partition fits, the other waits.
	writeTree(t, root, map[string]string{"dt=2026-01-02/region=eu/late.json": "x"})
	sel, err = runSelect(t, store, st, SelectSpec{Mode: spec.ModeOverwritePartitions, OnChange: spec.ChangeIgnore,
		PartitionBy: []string{"region"}, Bounds: &spec.Bounds{Files: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if sel.AffectedPartitions != 2 || sel.ChosenPartitions != 1 || sel.Backlog.Files != 4 {
		t.Fatalf("bounded: affected %d chosen %d backlog %+v inputs %v", sel.AffectedPartitions, sel.ChosenPartitions, sel.Backlog, inputKeys(sel.Inputs))
	}
	// The chosen partition is the one whose first file comes first: eu
	// (dt=2026-01-01/region=eu/a.json sorts before any us file).
	for _, k := range inputKeys(sel.Inputs) {
		if !strings.Contains(k, "region=eu/") {
			t.Fatalf("bounded run took %s", k)
		}
	}
	if _, err := runSelect(t, store, st, SelectSpec{Mode: spec.ModeOverwritePartitions, PartitionBy: []string{"country"}}); err == nil {
		t.Fatal("partition_by outside the source partitions accepted")
	}
}
