package crashtest

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/internal/s3test"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/tables"
	"github.com/sluicedata/sluice/txn"
)

// tableKillPoints are the points a run into an Iceberg table passes, in
// order: the table commit sits between after-completes (the data files
// are complete, unreferenced, invisible to every table reader) and the
// HEAD swap.
var tableKillPoints = []string{
	"after-plan",
	"after-lock",          // the table is prepared right after this
	"after-writing",       // journal WRITING
	"task-done:1",         // data files pending
	"after-run",           // every task done, nothing committed
	"after-segment",       // bookmark segment written, unreferenced
	"after-committing",    // journal COMMITTING: the commit is recorded, not made
	"after-complete:1",    // one data file complete (unreferenced)
	"after-completes",     // every data file complete, no snapshot
	"before-table-commit", // the snapshot is staged, the catalog not called
	"after-table-commit",  // the snapshot is committed, HEAD not swapped
	"after-swap",          // HEAD swapped, journal not DONE
	"after-done",          // journal DONE, lock not released
}

func tableLake(t testing.TB, o lakeOptions) *lake {
	o.table = true
	return smallLake(t, o)
}

// TestTableKillAtEveryPoint kills a run into an Iceberg table at every
// point around its table commit; after the next applies drain the backlog
// every input row is in the table exactly once, every committed run is one
// snapshot carrying its run id, and nothing of a rolled-back run remains.
func TestTableKillAtEveryPoint(t *testing.T) {
	for _, point := range tableKillPoints {
		t.Run(point, func(t *testing.T) {
			l := tableLake(t, lakeOptions{})
			if r := l.apply(txn.KillEnv + "=" + point); r.code != 137 {
				t.Fatalf("apply with %s=%s: want SIGKILL (137), got %s", txn.KillEnv, point, r)
			}
			l.drain(t)
			l.verify(t)
		})
	}
}

// TestTableKillDuringRecovery kills the run that recovers a crashed table
// run: a committed one being rolled forward (after its snapshot landed),
// and one that never reached the table being rolled back.
func TestTableKillDuringRecovery(t *testing.T) {
	for _, c := range []struct{ first, second string }{
		{"after-table-commit", "after-swap"},
		{"after-table-commit", "after-done"},
		{"after-completes", "after-writing"},
		{"before-table-commit", "after-table-commit"},
	} {
		t.Run(c.first+"/"+c.second, func(t *testing.T) {
			l := tableLake(t, lakeOptions{})
			if r := l.apply(txn.KillEnv + "=" + c.first); r.code != 137 {
				t.Fatalf("first apply: %s", r)
			}
			if r := l.apply(txn.KillEnv + "=" + c.second); r.code != 137 {
				t.Fatalf("recovering apply killed at %s: %s", c.second, r)
			}
			l.drain(t)
			l.verify(t)
		})
	}
}

// TestTableKillOverwritePartitions: a late file makes a run replace its
// partition in the table; killed around the commit, the partition ends up
// with the new files only, each row once.
func TestTableKillOverwritePartitions(t *testing.T) {
	for _, point := range []string{"after-completes", "before-table-commit", "after-table-commit"} {
		t.Run(point, func(t *testing.T) {
			l := tableLake(t, lakeOptions{mode: "overwrite_partitions", bounded: -1})
			l.drain(t)
			l.addFile("dt=2026-01-02", "late.json", 3)
			if r := l.apply(txn.KillEnv + "=" + point); r.code != 137 {
				t.Fatalf("apply: %s", r)
			}
			l.drain(t)
			l.verify(t)
		})
	}
}

// TestTableRandomKills kills runs into a table at random times.
func TestTableRandomKills(t *testing.T) {
	randomKills(t, trials(t, 20), func(t *testing.T) *lake { return tableLake(t, lakeOptions{}) })
}

// TestS3TableKillPoints: the same around the table commit with the
// warehouse (data files and metadata) on a real S3 server.
func TestS3TableKillPoints(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	for i, point := range []string{"after-completes", "before-table-commit", "after-table-commit", "after-swap"} {
		t.Run(point, func(t *testing.T) {
			bucket := "table" + itoa(i)
			srv.CreateBucket(t, bucket)
			l := tableLake(t, lakeOptions{srcURL: "s3://" + bucket + "/raw/", stateURL: "s3://" + bucket + "/state/",
				warehouseURL: "s3://" + bucket + "/wh", env: srv.Env()})
			if r := l.apply(txn.KillEnv + "=" + point); r.code != 137 {
				t.Fatalf("apply: want 137, got %s", r)
			}
			l.drain(t)
			l.verify(t)
		})
	}
}

// keyOf is a table file's key in the data location's store.
func (l *lake) keyOf(t testing.TB, path string) string {
	t.Helper()
	if ls, ok := l.sink.Store.(*objstore.LocalStore); ok {
		u, err := url.Parse(path)
		must(t, err)
		return strings.TrimPrefix(u.Path, ls.Root()+"/")
	}
	return strings.TrimPrefix(path, strings.TrimSuffix(l.sink.Store.URL(), "/")+"/")
}

// verifyTable checks the table against exactly-once and returns how many
// times each row id is in the data files of its current snapshot:
// every run whose journal is DONE is one snapshot in the current
// ancestry carrying its run id, no aborted run is, and no data file of a
// run the table does not hold is left under the data location.
func (l *lake) verifyTable(t testing.TB, keys []string, mem memory.Allocator) map[string]int {
	t.Helper()
	ctx := context.Background()
	c, err := (&tables.Opener{}).Open(ctx, *l.table)
	must(t, err)
	defer c.Close()
	tbl, err := c.Load(ctx, "sales.events")
	must(t, err)
	live, err := tbl.LiveFiles(ctx)
	must(t, err)
	seen := map[string]int{}
	isLive := map[string]bool{}
	for _, f := range live {
		k := l.keyOf(t, f.Path)
		isLive[k] = true
		for _, id := range readIDs(t, l.sink.Store, k, mem) {
			seen[id]++
		}
	}
	// Snapshots and journals agree: one snapshot per committed run.
	perRun := map[string]int{}
	for _, s := range tbl.Snapshots() {
		perRun[s.RunID]++
	}
	st := state.New(l.stateAt.Store, l.stateAt.Prefix, "events", "raw")
	js, err := st.ListJournals(ctx)
	must(t, err)
	done := map[string]bool{}
	for _, je := range js {
		j, err := st.ReadJournal(ctx, je.RunID)
		must(t, err)
		if j.Kind != "apply" {
			continue
		}
		_, inTable := tbl.FindRun(j.RunID)
		switch j.Phase {
		case state.PhaseDone:
			done[j.RunID] = true
			if !inTable || perRun[j.RunID] != 1 {
				t.Errorf("run %s is DONE but has %d snapshots (in the current ancestry: %v)", j.RunID, perRun[j.RunID], inTable)
			}
		case state.PhaseAborted:
			if tbl.Mentions(j.RunID) {
				t.Errorf("run %s was rolled back but the table has its snapshot", j.RunID)
			}
		}
	}
	for run, n := range perRun {
		if !done[run] {
			t.Errorf("the table has %d snapshots of run %q, which is not DONE", n, run)
		}
	}
	// Files under the data location: every data file is live (append), or
	// of a run the table holds (an overwrite leaves replaced files until
	// their snapshot expires); nothing of a rolled-back run remains.
	for _, k := range keys {
		rel := strings.TrimPrefix(k, l.sink.Prefix)
		if strings.HasPrefix(rel, "_sluice/") || strings.HasPrefix(rel, ".") {
			continue
		}
		if isLive[k] {
			continue
		}
		base := rel[strings.LastIndex(rel, "/")+1:]
		run := ""
		for r := range perRun {
			if strings.HasPrefix(base, "part-"+r+"-") {
				run = r
			}
		}
		if l.mode == "append" || run == "" {
			t.Errorf("data file %s is not in the table (a rolled-back run's leftover?)", rel)
		}
	}
	return seen
}
