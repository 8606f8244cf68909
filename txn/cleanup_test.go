package txn

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// clean_source touches only what the run processed: an input replaced
// since (another ETag: a new, unprocessed object) stays; the others move
// to the archive; a second pass (a roll-forward) changes nothing.
func TestCleanSourceMovesOnlyProcessed(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	src := objstore.NewLocal(filepath.Join(root, "raw"))
	arch := objstore.NewLocal(filepath.Join(root, "archive"))
	st := state.New(objstore.NewLocal(filepath.Join(root, "state")), "", "p", "s")
	var es []state.Entry
	for _, k := range []string{"dt=1/a.json", "dt=1/b.json", "dt=2/c.json"} {
		info, err := src.Put(ctx, k, []byte("data of "+k), objstore.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, state.Entry{Key: k, ETag: info.ETag, Size: info.Size, RunID: "r1"})
	}
	seg, err := st.WriteSegment(ctx, "r1", slices.Values(es))
	if err != nil {
		t.Fatal(err)
	}
	// b.json is rewritten after the run processed it.
	if _, err := src.Put(ctx, "dt=1/b.json", []byte("a newer, longer b"), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	j := &state.Journal{RunID: "r1", Segment: seg, CleanSource: &state.SourceCleanup{
		Action: "archive", SourceURL: filepath.Join(root, "raw"), ArchiveURL: filepath.Join(root, "archive")}}
	for pass := 0; pass < 2; pass++ {
		if err := cleanSource(ctx, st, j); err != nil {
			t.Fatalf("pass %d: %v", pass, err)
		}
	}
	for _, k := range []string{"dt=1/a.json", "dt=2/c.json"} {
		if _, err := src.Head(ctx, k); !errors.Is(err, objstore.ErrNotExist) {
			t.Errorf("%s left in the source: %v", k, err)
		}
		if _, err := arch.Head(ctx, k); err != nil {
			t.Errorf("%s not archived: %v", k, err)
		}
	}
	if _, err := src.Head(ctx, "dt=1/b.json"); err != nil {
		t.Errorf("the replaced, unprocessed b.json was removed: %v", err)
	}
	if _, err := arch.Head(ctx, "dt=1/b.json"); !errors.Is(err, objstore.ErrNotExist) {
		t.Errorf("the replaced b.json was archived: %v", err)
	}
}
