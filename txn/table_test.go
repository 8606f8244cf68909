package txn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/tables"
)

// dataFiles lists the files under a table's data directory (the upload
// area aside).
func dataFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(filepath.Join(root, "wh"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, "/data/") && !strings.Contains(p, ".sluice-uploads") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// A table run that crashed with its data files completed but before its
// table commit is rolled back: its files are deleted (no snapshot names
// them), its inputs stay unprocessed.
func TestTableRollBackDeletesCompletedFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	k := sinkKinds[1]
	r := start(t, k, root, "r1", spec.ModeAppend, "d1|a", "d2|b")
	r.stageCommitting()
	// The uploads complete (after-completes), then the process dies.
	for _, u := range r.run.j.Uploads {
		if _, err := r.tgt.Loc.Store.CompleteUpload(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(dataFiles(t, root)); n != 2 {
		t.Fatalf("%d data files before the crash", n)
	}
	rec, err := Recover(ctx, r.st, nil, nil)
	if err != nil || len(rec) != 1 || rec[0].Action != "rolled back" {
		t.Fatalf("recover: %v %v", rec, err)
	}
	if files := dataFiles(t, root); len(files) != 0 {
		t.Fatalf("data files left: %v", files)
	}
	j, err := r.st.ReadJournal(ctx, "r1")
	if err != nil || j.Phase != state.PhaseAborted || !strings.Contains(j.Error, "table commit") {
		t.Fatalf("journal %+v %v", j, err)
	}
	if keys := recorded(t, r.st); len(keys) != 0 {
		t.Fatalf("recorded %v", keys)
	}
}

// A commit that loses to other writers every time fails cleanly: the run
// is rolled back at once (journal ABORTED, data files deleted, nothing
// recorded) and the error says why.
func TestTableConflictsExhausted(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	k := sinkKinds[1]
	start(t, k, root, "r0", spec.ModeAppend, "d0|x").commit()
	r := start(t, k, root, "r1", spec.ModeAppend, "d1|a")
	rival, err := (&tables.Opener{}).Open(ctx, tableCatalog(root))
	if err != nil {
		t.Fatal(err)
	}
	defer rival.Close()
	n := 0
	r.pub.(*tablePublisher).beforeCommit = func() {
		n++
		tbl, err := rival.Load(ctx, "ns.t")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tbl.Commit(ctx, tables.Commit{RunID: fmt.Sprintf("rival-%d", n), Mode: spec.ModeAppend}, tables.CommitOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, etag, _ := r.st.Head(ctx)
	_, err = r.run.Commit(ctx, r.out, CommitOptions{HeadETag: etag})
	if !errors.Is(err, ErrNotPublished) || !strings.Contains(err.Error(), "lost to other writers") {
		t.Fatalf("commit: %v", err)
	}
	if r.run.Phase() != state.PhaseAborted {
		t.Fatalf("phase %s", r.run.Phase())
	}
	if got := strings.Join(k.visible(t, root), ","); got != "d0|x" {
		t.Fatalf("visible %s", got)
	}
	if keys := recorded(t, r.st); len(keys) != 1 {
		t.Fatalf("recorded %v", keys)
	}
	if files := dataFiles(t, root); len(files) != 1 {
		t.Fatalf("data files %v", files)
	}
	noPending(t, r)
}
