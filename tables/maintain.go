package tables

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/apache/iceberg-go/table"
)

// Snapshot is one snapshot as maintenance reports it.
type Snapshot struct {
	ID        int64     `json:"id"`
	Committed time.Time `json:"committed"`
	Operation string    `json:"operation"`
	RunID     string    `json:"run_id,omitempty"`
}

// ExpireOptions say which snapshots ExpireSnapshots removes.
type ExpireOptions struct {
	// OlderThan: only snapshots committed longer ago than this expire.
	OlderThan time.Duration
	// RetainLast snapshots of the current branch are kept whatever their
	// age (at least 1: the current snapshot never expires).
	RetainLast int
	DryRun     bool
}

// ExpireSnapshots removes old snapshots from the table's metadata and then
// deletes the files only they referenced (manifest lists, manifests, data
// files that an overwrite replaced). With DryRun it only reports what
// would expire. A snapshot's run id is no longer findable once it expired:
// run maintenance under the pipeline's lock, after recovery (the command
// does), never while a run of the table may still need recovering.
func (t *Table) ExpireSnapshots(ctx context.Context, o ExpireOptions) ([]Snapshot, error) {
	if o.RetainLast < 1 {
		o.RetainLast = 1
	}
	var expired []Snapshot
	err := t.retry(ctx, defaultAttempts, func(tbl *table.Table) (bool, error) {
		expired = nil
		txn := tbl.NewTransaction()
		if err := txn.ExpireSnapshots(table.WithRetainLast(o.RetainLast), table.WithOlderThan(o.OlderThan), table.WithPostCommit(true)); err != nil {
			return false, fmt.Errorf("expiring snapshots of %s: %w", t.name, err)
		}
		st, err := txn.StagedTable()
		if err != nil {
			return false, fmt.Errorf("expiring snapshots of %s: %w", t.name, err)
		}
		for _, s := range tbl.Metadata().Snapshots() {
			if st.Metadata().SnapshotByID(s.SnapshotID) == nil {
				expired = append(expired, snapshotOf(s))
			}
		}
		if o.DryRun || len(expired) == 0 {
			return false, nil
		}
		nt, err := txn.Commit(ctx)
		if err != nil {
			return true, fmt.Errorf("expiring snapshots of %s: %w", t.name, err)
		}
		t.tbl = nt
		return false, nil
	})
	return expired, err
}

func snapshotOf(s table.Snapshot) Snapshot {
	out := Snapshot{ID: s.SnapshotID, Committed: time.UnixMilli(s.TimestampMs).UTC()}
	if s.Summary != nil {
		out.Operation = string(s.Summary.Operation)
		out.RunID = s.Summary.Properties[RunIDKey]
	}
	return out
}

// Snapshots lists the table's snapshots, oldest first.
func (t *Table) Snapshots() []Snapshot {
	var out []Snapshot
	for _, s := range t.tbl.Metadata().Snapshots() {
		out = append(out, snapshotOf(s))
	}
	slices.SortStableFunc(out, func(a, b Snapshot) int { return a.Committed.Compare(b.Committed) })
	return out
}

// Orphan is a file under the table's location that no snapshot references.
type Orphan struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

// RemoveOrphans deletes the files under the table's location that no
// snapshot or metadata file references and that are older than olderThan
// (with dryRun, it only lists them). That covers the data files of runs
// that were rolled back without cleaning up and the debris of failed
// commits; it would also cover a run still writing, so the margin must
// exceed the longest run (and the command holds the pipeline's lock, so no
// run of this pipeline is in progress). Hidden paths (a segment starting
// with "." or "_": sluice's quarantine and commit records, a local store's
// pending uploads) are never touched, as Iceberg's own tools skip them.
func (t *Table) RemoveOrphans(ctx context.Context, olderThan time.Duration, dryRun bool) ([]Orphan, error) {
	plan, err := t.tbl.PlanOrphanFiles(ctx, table.WithFilesOlderThan(olderThan))
	if err != nil {
		return nil, fmt.Errorf("listing orphan files of %s: %w", t.name, err)
	}
	base := localForm(t.Location())
	var out []Orphan
	for _, f := range plan.OrphanFiles() {
		rel, ok := strings.CutPrefix(localForm(f.Path), base+"/")
		if !ok || hiddenPath(rel) {
			continue
		}
		out = append(out, Orphan{Path: f.Path, Bytes: f.SizeBytes})
	}
	if dryRun || len(out) == 0 {
		return out, nil
	}
	fs, err := t.tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range out {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := fs.Remove(o.Path); err != nil {
			return nil, fmt.Errorf("removing orphan %s: %w", o.Path, err)
		}
	}
	return out, nil
}

// localForm turns a file:// URI into its path (decoded) and leaves other
// locations as they are, so that a walked local path and the table's
// location compare.
func localForm(p string) string {
	if strings.HasPrefix(p, "file:") {
		if u, err := url.Parse(p); err == nil {
			return strings.TrimSuffix(u.Path, "/")
		}
	}
	return strings.TrimSuffix(p, "/")
}

// hiddenPath reports a relative path with a segment starting with "." or
// "_".
func hiddenPath(rel string) bool {
	for _, seg := range strings.Split(rel, "/") {
		if strings.HasPrefix(seg, ".") || strings.HasPrefix(seg, "_") {
			return true
		}
	}
	return false
}
