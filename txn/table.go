package txn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/tables"
)

// tablePublisher publishes a run as one snapshot of an Apache Iceberg
// table. The data files are written as pending uploads under the table's
// data location and completed before the table commit (unreferenced files
// are invisible to every table reader); the commit's snapshot carries the
// run id in its summary, which is how recovery tells a committed run
// (roll forward: swap HEAD) from one that never reached the table (roll
// back: delete its data files, keep its inputs unprocessed).
type tablePublisher struct {
	cfg    tables.CatalogConfig
	name   string
	want   *tables.Want // nil when reopened from a journal
	opener *tables.Opener
	open   OpenFunc

	cat *tables.Catalog
	tbl *tables.Table
	loc objstore.Location // the table's data location

	// beforeCommit, in tests, runs before each catalog commit attempt.
	beforeCommit func()
}

// tableRecord is what a journal holds of a table run (state.Journal.Table):
// in WRITING, the catalog and the table; in COMMITTING, also the commit.
type tableRecord struct {
	Catalog tables.CatalogConfig `json:"catalog"`
	Table   string               `json:"table"`
	Mode    string               `json:"mode,omitempty"`
	Files   []tables.DataFile    `json:"files,omitempty"`
	Replace [][]*string          `json:"replace,omitempty"`
	Props   map[string]string    `json:"props,omitempty"`
	// Snapshot is the committed snapshot, recorded with DONE.
	Snapshot int64 `json:"snapshot,omitempty"`
}

func (p *tablePublisher) catalog(ctx context.Context) (*tables.Catalog, error) {
	if p.cat == nil {
		c, err := p.opener.Open(ctx, p.cfg)
		if err != nil {
			return nil, err
		}
		p.cat = c
	}
	return p.cat, nil
}

// table loads the table (again: recovery must see the catalog's current
// state, not a copy from before a crash).
func (p *tablePublisher) table(ctx context.Context) (*tables.Table, error) {
	if p.tbl != nil {
		return p.tbl, p.tbl.Reload(ctx)
	}
	c, err := p.catalog(ctx)
	if err != nil {
		return nil, err
	}
	t, err := c.Load(ctx, p.name)
	if err != nil {
		return nil, err
	}
	p.tbl = t
	return t, nil
}

// Prepare creates the table or adds the columns it lacks (catalog commits
// of their own, harmless if the run is rolled back) and returns its data
// location and the files' field ids.
func (p *tablePublisher) Prepare(ctx context.Context) (Target, error) {
	if p.want == nil {
		return Target{}, errors.New("a table publisher reopened from a journal cannot prepare")
	}
	c, err := p.catalog(ctx)
	if err != nil {
		return Target{}, err
	}
	t, err := c.Prepare(ctx, *p.want)
	if err != nil {
		return Target{}, err
	}
	p.tbl = t
	ws, err := t.WriteSpec(p.want.Columns)
	if err != nil {
		return Target{}, err
	}
	if p.loc, err = p.open(ctx, t.DataLocation()); err != nil {
		return Target{}, fmt.Errorf("table %s data location %s: %w", p.name, t.DataLocation(), err)
	}
	return Target{Loc: p.loc, Table: &ws}, nil
}

func (p *tablePublisher) Describe(j *state.Journal) {
	if p.tbl != nil {
		j.SinkURL = p.tbl.DataLocation()
	}
	j.Table, _ = json.Marshal(tableRecord{Catalog: p.cfg, Table: p.name})
}

// Stage records the table commit: every data file with its location,
// rows, bytes and partition values, the mode, the partitions an
// overwrite_partitions run replaces and the snapshot's summary properties.
// What an overwrite deletes is decided by the commit itself, on the table
// state it commits on.
func (p *tablePublisher) Stage(ctx context.Context, out *Outputs, j *state.Journal) (*Manifest, error) {
	base := p.tbl.DataLocation()
	rec := tableRecord{Catalog: p.cfg, Table: p.name, Mode: out.Mode, Replace: out.ReplaceValues, Props: map[string]string{
		"sluice.pipeline": out.Pipeline,
	}}
	var pending []objstore.PendingUpload
	for _, f := range out.Files {
		rel, ok := strings.CutPrefix(f.Upload.Key, p.loc.Prefix)
		if !ok {
			return nil, fmt.Errorf("output %s is not under the table's data location %s", f.Upload.Key, p.loc)
		}
		rec.Files = append(rec.Files, tables.DataFile{Path: tables.FileURI(base, rel), Rows: f.Rows, Bytes: f.Bytes, Partition: f.Values})
		pending = append(pending, f.Upload)
	}
	pending = append(pending, out.Quarantine...)
	m, _, err := manifestOf(out, nil)
	if err != nil {
		return nil, err
	}
	rec.Props["sluice.input-files"] = strconv.FormatInt(m.Inputs.Files, 10)
	rec.Props["sluice.inputs-digest"] = m.Inputs.Digest
	if j.Table, err = json.Marshal(rec); err != nil {
		return nil, err
	}
	j.Uploads = pending
	return m, nil
}

func recordOf(j *state.Journal) (tableRecord, error) {
	var rec tableRecord
	if err := json.Unmarshal(j.Table, &rec); err != nil {
		return rec, fmt.Errorf("journal %s: table record: %w", j.RunID, err)
	}
	return rec, nil
}

// Publish completes the data files, then commits them as one snapshot
// carrying the run id (nothing when the run id is already in the table's
// history: a roll-forward), retrying a bounded number of times when other
// writers commit first.
func (p *tablePublisher) Publish(ctx context.Context, j *state.Journal) error {
	rec, err := recordOf(j)
	if err != nil {
		return err
	}
	if err := objstore.CompleteAll(ctx, p.loc.Store, j.Uploads, func(objstore.PendingUpload) { KillPoint("after-complete") }); err != nil {
		return err
	}
	if err := abortRunUploads(ctx, p.loc, j.RunID); err != nil {
		return err
	}
	KillPoint("after-completes")
	t, err := p.table(ctx)
	if err != nil {
		return err
	}
	mode := spec.ModeAppend
	switch rec.Mode {
	case spec.ModeOverwrite.String():
		mode = spec.ModeOverwrite
	case spec.ModeOverwritePartitions.String():
		mode = spec.ModeOverwritePartitions
	}
	id, err := t.Commit(ctx, tables.Commit{RunID: j.RunID, Mode: mode, Files: rec.Files, Replace: rec.Replace, Props: rec.Props}, tables.CommitOptions{
		Before: func() {
			if p.beforeCommit != nil {
				p.beforeCommit()
			}
			KillPoint("before-table-commit")
		},
		After: func() { KillPoint("after-table-commit") },
	})
	if errors.Is(err, tables.ErrNotCommitted) {
		return fmt.Errorf("%w: %w", ErrNotPublished, err)
	}
	if err != nil {
		return err
	}
	rec.Snapshot = id
	j.Table, _ = json.Marshal(rec)
	return nil
}

// Published looks for the run id in the ancestry of the table's current
// snapshot. A table that no longer exists holds nothing of the run.
func (p *tablePublisher) Published(ctx context.Context, j *state.Journal) (bool, error) {
	t, err := p.table(ctx)
	if err != nil {
		if tables.Missing(err) {
			return false, nil
		}
		return false, err
	}
	_, ok := t.FindRun(j.RunID)
	return ok, nil
}

// Discard aborts the run's pending uploads under the data location and
// deletes its completed data files — unless some snapshot in the table's
// metadata carries the run id (one that was committed and later rolled
// back still lets readers travel to it; orphan removal takes the files
// once that snapshot expires).
func (p *tablePublisher) Discard(ctx context.Context, j *state.Journal) error {
	if p.loc.Store == nil {
		return nil
	}
	if err := abortRunUploads(ctx, p.loc, j.RunID); err != nil {
		return err
	}
	if len(j.Uploads) == 0 {
		return nil
	}
	t, err := p.table(ctx)
	switch {
	case err != nil && !tables.Missing(err):
		return err
	case err == nil && t.Mentions(j.RunID):
		return nil
	}
	for _, u := range j.Uploads {
		if err := p.loc.Store.Delete(ctx, u.Key); err != nil {
			return fmt.Errorf("deleting %s of the rolled-back run %s: %w", u.Key, j.RunID, err)
		}
	}
	return nil
}

func (p *tablePublisher) Close() error { return p.cat.Close() }

// Snapshot is the table snapshot the run committed (0: none, or not a
// table run).
func (r *Run) Snapshot() int64 {
	if len(r.j.Table) == 0 {
		return 0
	}
	rec, err := recordOf(r.j)
	if err != nil {
		return 0
	}
	return rec.Snapshot
}
