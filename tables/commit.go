package tables

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/sluicedata/sluice/spec"
)

// DataFile is one data file of a run, as its commit records it.
type DataFile struct {
	// Path is the file's location as the table records it (a URI).
	Path  string `json:"path"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
	// Partition holds the file's partition values, rendered as the writer
	// named its directories, in the order of the spec's fields; nil is null.
	Partition []*string `json:"partition,omitempty"`
}

// Commit is a run's table commit: one snapshot carrying RunID.
type Commit struct {
	RunID string
	Mode  spec.Mode
	Files []DataFile
	// Replace, for mode overwrite_partitions, are the partition tuples the
	// run replaces whole (rendered values in spec order, nil for null),
	// including those its rows all missed: their live files are deleted.
	Replace [][]*string
	// Props are added to the snapshot summary.
	Props map[string]string
}

// CommitOptions tune Commit.
type CommitOptions struct {
	// Attempts bounds the tries when other writers commit first (0: 5).
	Attempts int
	// Before and After run around each catalog commit call (crash tests
	// kill there).
	Before, After func()
}

// ErrNotCommitted says a table commit did not happen and will not: the
// attempts were lost to concurrent writers, or the change could not be
// built. Any other error from Commit leaves the outcome unknown (the
// catalog may have taken it): look for the run with FindRun.
var ErrNotCommitted = errors.New("the table commit did not happen")

const defaultAttempts = 5

// isConflict reports a commit error that means "another writer committed
// first; nothing of ours was committed": the catalog's compare-and-swap
// lost (table.ErrCommitFailed: SQL, REST 409, Glue), or its requirement
// check failed before anything was written (iceberg-go's sql and glue
// catalogs return those as plain errors), or SQLite stayed busy.
func isConflict(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, table.ErrCommitFailed) {
		return true
	}
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "requirement failed") || strings.Contains(m, "database is locked")
}

// backoff waits before attempt n (n ≥ 2): jittered, growing to about 2s.
func backoff(ctx context.Context, n int) error {
	d := time.Duration(50<<min(n-2, 5)) * time.Millisecond
	d += rand.N(d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retry runs f on the table, and again on a freshly loaded table when f's
// commit lost to another writer, at most attempts times.
func (t *Table) retry(ctx context.Context, attempts int, f func(tbl *table.Table) (commitErr bool, err error)) error {
	for n := 1; ; n++ {
		if n > 1 {
			if err := backoff(ctx, n); err != nil {
				return err
			}
			if err := t.Reload(ctx); err != nil {
				return err
			}
		}
		fromCommit, err := f(t.tbl)
		if err == nil || !fromCommit || !isConflict(err) {
			return err
		}
		if n >= attempts {
			return fmt.Errorf("%w: %d attempts lost to other writers of table %s: %v", ErrNotCommitted, n, t.name, err)
		}
	}
}

// Commit commits c as one snapshot whose summary carries the run id:
// an append, or for overwrite modes an overwrite that deletes the table's
// live files (all of them, or those of the replaced partitions) and adds
// the run's. A run without files commits an empty snapshot, so that every
// run is in the table's history. It is idempotent: when the run id is
// already in the current snapshot's ancestry nothing is committed. When
// another writer commits first, the table is reloaded, the files to delete
// listed again on the new state, and the commit retried, a bounded number
// of times (then ErrNotCommitted).
func (t *Table) Commit(ctx context.Context, c Commit, o CommitOptions) (int64, error) {
	if o.Attempts <= 0 {
		o.Attempts = defaultAttempts
	}
	var id int64
	err := t.retry(ctx, o.Attempts, func(tbl *table.Table) (bool, error) {
		if sid, ok := t.FindRun(c.RunID); ok {
			id = sid
			return false, nil
		}
		txn, err := stage(ctx, tbl, c)
		if err != nil {
			return false, fmt.Errorf("%w: table %s: %v", ErrNotCommitted, t.name, err)
		}
		if o.Before != nil {
			o.Before()
		}
		nt, err := txn.Commit(ctx)
		if err != nil {
			return true, fmt.Errorf("committing to table %s: %w", t.name, err)
		}
		if o.After != nil {
			o.After()
		}
		t.tbl = nt
		sid, ok := t.FindRun(c.RunID)
		if !ok {
			return false, fmt.Errorf("committing to table %s: the new snapshot does not carry run %s", t.name, c.RunID)
		}
		id = sid
		return false, nil
	})
	return id, err
}

// stage builds the transaction of c on tbl.
func stage(ctx context.Context, tbl *table.Table, c Commit) (*table.Transaction, error) {
	ps, sc := tbl.Spec(), tbl.Schema()
	pt := ps.PartitionType(sc)
	adds := make([]iceberg.DataFile, 0, len(c.Files))
	for _, f := range c.Files {
		if len(f.Partition) != ps.NumFields() {
			return nil, fmt.Errorf("%s has %d partition values, the table's spec %d fields", f.Path, len(f.Partition), ps.NumFields())
		}
		vals := make(map[int]any, ps.NumFields())
		for i := 0; i < ps.NumFields(); i++ {
			v, err := typedValue(f.Partition[i], pt.FieldList[i].Type.String())
			if err != nil {
				return nil, fmt.Errorf("%s: partition %s: %w", f.Path, ps.Field(i).Name, err)
			}
			vals[ps.Field(i).FieldID] = v
		}
		b, err := iceberg.NewDataFileBuilder(ps, iceberg.EntryContentData, f.Path, iceberg.ParquetFile, vals, nil, nil, f.Rows, f.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		adds = append(adds, b.Build())
	}
	props := iceberg.Properties{}
	for k, v := range c.Props {
		props[k] = v
	}
	props[RunIDKey] = c.RunID
	var dels []iceberg.DataFile
	var err error
	switch c.Mode {
	case spec.ModeOverwrite:
		dels, err = liveFiles(ctx, tbl, nil)
	case spec.ModeOverwritePartitions:
		want := map[string]bool{}
		for _, p := range c.Replace {
			want[tupleKey(p)] = true
		}
		dels, err = liveFiles(ctx, tbl, func(df iceberg.DataFile) bool {
			return want[tupleKey(partitionOf(ps, df))]
		})
	}
	if err != nil {
		return nil, err
	}
	txn := tbl.NewTransaction()
	switch {
	case len(dels) > 0:
		err = txn.ReplaceDataFilesWithDataFiles(ctx, dels, adds, props)
	case len(adds) > 0:
		err = txn.AddDataFiles(ctx, adds, props)
	default:
		// Nothing to add or delete: an empty append still records the run.
		err = txn.AddFiles(ctx, nil, props, false)
	}
	return txn, err
}

// partitionOf renders a data file's partition tuple in spec order.
func partitionOf(ps iceberg.PartitionSpec, df iceberg.DataFile) []*string {
	p := df.Partition()
	out := make([]*string, ps.NumFields())
	for i := range out {
		out[i] = renderValue(p[ps.Field(i).FieldID])
	}
	return out
}

// liveFiles lists the data files of the current snapshot that keep accepts
// (nil: all).
func liveFiles(ctx context.Context, tbl *table.Table, keep func(iceberg.DataFile) bool) ([]iceberg.DataFile, error) {
	if tbl.CurrentSnapshot() == nil {
		return nil, nil
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the live files: %w", err)
	}
	var out []iceberg.DataFile
	for _, task := range tasks {
		if keep == nil || keep(task.File) {
			out = append(out, task.File)
		}
	}
	return out, nil
}

// LiveFile is a data file of the current snapshot.
type LiveFile struct {
	Path      string
	Rows      int64
	Partition []*string
}

// LiveFiles lists the current snapshot's data files.
func (t *Table) LiveFiles(ctx context.Context) ([]LiveFile, error) {
	dfs, err := liveFiles(ctx, t.tbl, nil)
	if err != nil {
		return nil, err
	}
	ps := t.tbl.Spec()
	out := make([]LiveFile, 0, len(dfs))
	for _, df := range dfs {
		out = append(out, LiveFile{Path: df.FilePath(), Rows: df.Count(), Partition: partitionOf(ps, df)})
	}
	return out, nil
}
