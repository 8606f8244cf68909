package tables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

var testCols = []schema.Column{
	{Name: "id", Type: schema.Int64Type, Nullable: false},
	{Name: "note", Type: schema.StringType, Nullable: true},
	{Name: "ts", Type: schema.Type{Kind: schema.Timestamp, Unit: schema.Millisecond}, Nullable: true},
	{Name: "dt", Type: schema.StringType, Nullable: true},
}

func sqlConfig(t *testing.T) CatalogConfig {
	dir := t.TempDir()
	return CatalogConfig{Name: "lake", Type: TypeSQL, URI: filepath.Join(dir, "cat", "catalog.db"), Warehouse: filepath.Join(dir, "wh")}
}

func want(cols []schema.Column, mode spec.SchemaChangePolicy) Want {
	return Want{Table: "analytics.events", Columns: cols, OnSchemaChange: mode,
		Partitioning: []spec.PartitionField{{Column: "dt", Transform: spec.TransformIdentity}}}
}

func open(t *testing.T, cfg CatalogConfig) *Catalog {
	t.Helper()
	c, err := (*Opener)(nil).Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// writeFile writes n rows of partition dt as a Parquet file with the
// table's field ids, under the table's data location; it returns the
// commit's record of it.
func writeFile(t *testing.T, tbl *Table, dt string, first, n int) DataFile {
	t.Helper()
	ws, err := tbl.WriteSpec(testCols)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, ws.Schema)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(first + i))
		b.Field(1).(*array.StringBuilder).Append("x")
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(int64(first+i) * 1e6))
		b.Field(3).(*array.StringBuilder).Append(dt)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(ws.Schema, &buf, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	loc := tbl.DataLocation() + fmt.Sprintf("dt=%s/part-%d.parquet", dt, first)
	p := localForm(loc)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return DataFile{Path: loc, Rows: int64(n), Bytes: int64(buf.Len()), Partition: []*string{&dt}}
}

func liveByPartition(t *testing.T, tbl *Table) map[string]int64 {
	t.Helper()
	fs, err := tbl.LiveFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, f := range fs {
		out[*f.Partition[0]] += f.Rows
	}
	return out
}

func TestInspectPrepareCommit(t *testing.T) {
	ctx := context.Background()
	cfg := sqlConfig(t)
	w := want(testCols, spec.SchemaChangeFail)

	// Plan before anything exists: no SQLite file is created.
	in, err := (*Opener)(nil).Inspect(ctx, cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	if in.Exists || !strings.HasSuffix(in.Location, "/wh/analytics.db/events") {
		t.Fatalf("inspection of a missing table: %+v", in)
	}
	if _, err := os.Stat(cfg.URI); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("plan created the catalog file: %v", err)
	}

	c := open(t, cfg)
	tbl, err := c.Prepare(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := tbl.WriteSpec(testCols)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range ws.Schema.Fields() {
		if id, ok := f.Metadata.GetValue("PARQUET:field_id"); !ok || id != fmt.Sprint(i+1) {
			t.Errorf("field %s: id %q", f.Name, id)
		}
	}
	if ts := ws.Schema.Field(2).Type.(*arrow.TimestampType); ts.Unit != arrow.Microsecond || ts.TimeZone != "UTC" {
		t.Errorf("ts is %s, want timestamp[us, UTC]", ts)
	}
	if len(ws.Partition) != 1 || ws.Partition[0].Name != "dt" || ws.Partition[0].Column != "dt" || ws.Partition[0].Result != "string" {
		t.Errorf("partition %+v", ws.Partition)
	}

	// Two runs append; a repeated commit of run-1 is a no-op.
	f1 := writeFile(t, tbl, "2026-01-01", 0, 3)
	f2 := writeFile(t, tbl, "2026-01-02", 100, 2)
	s1, err := tbl.Commit(ctx, Commit{RunID: "run-1", Mode: spec.ModeAppend, Files: []DataFile{f1, f2}}, CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again, err := tbl.Commit(ctx, Commit{RunID: "run-1", Mode: spec.ModeAppend, Files: []DataFile{f1, f2}}, CommitOptions{}); err != nil || again != s1 {
		t.Fatalf("idempotent commit: %d, %v (first %d)", again, err, s1)
	}
	f3 := writeFile(t, tbl, "2026-01-02", 200, 4)
	if _, err := tbl.Commit(ctx, Commit{RunID: "run-2", Mode: spec.ModeAppend, Files: []DataFile{f3}}, CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := liveByPartition(t, tbl); got["2026-01-01"] != 3 || got["2026-01-02"] != 6 {
		t.Fatalf("after two appends: %v", got)
	}
	if len(tbl.Snapshots()) != 2 {
		t.Fatalf("snapshots %+v", tbl.Snapshots())
	}

	// overwrite_partitions of 2026-01-02 (and the empty 2026-01-03).
	f4 := writeFile(t, tbl, "2026-01-02", 300, 5)
	d2, d3 := "2026-01-02", "2026-01-03"
	if _, err := tbl.Commit(ctx, Commit{RunID: "run-3", Mode: spec.ModeOverwritePartitions, Files: []DataFile{f4}, Replace: [][]*string{{&d2}, {&d3}}}, CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := liveByPartition(t, tbl); got["2026-01-01"] != 3 || got["2026-01-02"] != 5 {
		t.Fatalf("after overwrite_partitions: %v", got)
	}

	// An empty run still records itself.
	if _, err := tbl.Commit(ctx, Commit{RunID: "run-4", Mode: spec.ModeAppend}, CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := tbl.FindRun("run-4"); !ok {
		t.Fatal("an empty run left no snapshot")
	}

	// overwrite replaces everything.
	f5 := writeFile(t, tbl, "2026-02-01", 400, 1)
	if _, err := tbl.Commit(ctx, Commit{RunID: "run-5", Mode: spec.ModeOverwrite, Files: []DataFile{f5}}, CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := liveByPartition(t, tbl); len(got) != 1 || got["2026-02-01"] != 1 {
		t.Fatalf("after overwrite: %v", got)
	}
	var runs []string
	for _, s := range tbl.Snapshots() {
		runs = append(runs, s.RunID)
	}
	if strings.Join(runs, ",") != "run-1,run-2,run-3,run-4,run-5" {
		t.Fatalf("one snapshot per run, in order: %v", runs)
	}
	for _, r := range runs {
		if _, ok := tbl.FindRun(r); !ok {
			t.Errorf("%s not in the ancestry", r)
		}
	}
	if _, ok := tbl.FindRun("run-9"); ok || tbl.Mentions("run-9") {
		t.Error("found a run that never committed")
	}

	// A fresh plan sees the table and no change.
	in, err = (*Opener)(nil).Inspect(ctx, cfg, w)
	if err != nil || !in.Exists || in.SnapshotID == 0 || !in.Change.Empty() || in.Snapshots != 5 {
		t.Fatalf("inspect existing: %+v, %v", in, err)
	}
}

func TestSchemaChanges(t *testing.T) {
	ctx := context.Background()
	cfg := sqlConfig(t)
	c := open(t, cfg)
	if _, err := c.Prepare(ctx, want(testCols, spec.SchemaChangeFail)); err != nil {
		t.Fatal(err)
	}
	extra := append(append([]schema.Column{}, testCols...), schema.Column{Name: "amount", Type: schema.Type{Kind: schema.Decimal, Precision: 12, Scale: 2}, Nullable: true})

	_, err := (*Opener)(nil).Inspect(ctx, cfg, want(extra, spec.SchemaChangeFail))
	var se *SchemaError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), `has no column "amount"`) || !strings.Contains(err.Error(), "add_columns") {
		t.Fatalf("new column under fail: %v", err)
	}
	in, err := (*Opener)(nil).Inspect(ctx, cfg, want(extra, spec.SchemaChangeIgnore))
	if err != nil || len(in.Change.Skip) != 1 {
		t.Fatalf("ignore: %+v %v", in, err)
	}
	in, err = (*Opener)(nil).Inspect(ctx, cfg, want(extra, spec.SchemaChangeAddColumns))
	if err != nil || len(in.Change.Add) != 1 || in.Change.String() != "add column amount decimal(12, 2)" {
		t.Fatalf("add_columns: %+v %v", in, err)
	}
	tbl, err := c.Prepare(ctx, want(extra, spec.SchemaChangeAddColumns))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := tbl.WriteSpec(extra)
	if err != nil {
		t.Fatal(err)
	}
	if f := ws.Schema.Field(4); f.Name != "amount" || f.Metadata.Values()[f.Metadata.FindKey("PARQUET:field_id")] != "5" {
		t.Fatalf("added column: %v", f)
	}

	// A type change is refused, naming both types.
	changed := append([]schema.Column{}, testCols...)
	changed[0].Type = schema.StringType
	_, err = (*Opener)(nil).Inspect(ctx, cfg, want(changed, spec.SchemaChangeAddColumns))
	if !errors.As(err, &se) || !strings.Contains(err.Error(), `column "id" is long in the table but string`) {
		t.Fatalf("type change: %v", err)
	}
	// A widening the table allows is not a change.
	narrow := append([]schema.Column{}, testCols...)
	narrow[0].Type = schema.Int32Type
	if _, err := (*Opener)(nil).Inspect(ctx, cfg, want(narrow, spec.SchemaChangeFail)); err != nil {
		t.Fatalf("int32 into long: %v", err)
	}
	// Another partitioning is refused.
	w := want(testCols, spec.SchemaChangeFail)
	w.Partitioning = []spec.PartitionField{{Column: "ts", Transform: spec.TransformDay}}
	if _, err := (*Opener)(nil).Inspect(ctx, cfg, w); err == nil || !strings.Contains(err.Error(), "partitioned by [dt] but partition_by is [day(ts)]") {
		t.Fatalf("partitioning: %v", err)
	}
}

// TestConcurrentWriters: writers with their own catalog handles (as
// separate processes have) append at once; every run lands exactly once.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	cfg := sqlConfig(t)
	tbl0, err := open(t, cfg).Prepare(ctx, want(testCols, spec.SchemaChangeFail))
	if err != nil {
		t.Fatal(err)
	}
	const writers, runs = 3, 3
	var wg sync.WaitGroup
	errs := make(chan error, writers*runs)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := (*Opener)(nil).Open(ctx, cfg)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			tbl, err := c.Load(ctx, "analytics.events")
			if err != nil {
				errs <- err
				return
			}
			for r := 0; r < runs; r++ {
				f := writeFile(t, tbl0, "2026-01-01", 1000*w+r, 1)
				if _, err := tbl.Commit(ctx, Commit{RunID: fmt.Sprintf("w%d-r%d", w, r), Mode: spec.ModeAppend, Files: []DataFile{f}}, CommitOptions{Attempts: 50}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := tbl0.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := liveByPartition(t, tbl0); got["2026-01-01"] != writers*runs {
		t.Fatalf("rows %v, want %d", got, writers*runs)
	}
	seen := map[string]int{}
	for _, s := range tbl0.Snapshots() {
		seen[s.RunID]++
	}
	for w := 0; w < writers; w++ {
		for r := 0; r < runs; r++ {
			id := fmt.Sprintf("w%d-r%d", w, r)
			if _, ok := tbl0.FindRun(id); !ok || seen[id] != 1 {
				t.Errorf("%s: %d snapshots", id, seen[id])
			}
		}
	}
}

// TestConflictsExhausted: a writer that keeps losing gives up with
// ErrNotCommitted and commits nothing.
func TestConflictsExhausted(t *testing.T) {
	ctx := context.Background()
	cfg := sqlConfig(t)
	c := open(t, cfg)
	tbl, err := c.Prepare(ctx, want(testCols, spec.SchemaChangeFail))
	if err != nil {
		t.Fatal(err)
	}
	other := open(t, cfg)
	rival, err := other.Load(ctx, "analytics.events")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	f := writeFile(t, tbl, "2026-01-01", 0, 1)
	_, err = tbl.Commit(ctx, Commit{RunID: "loser", Mode: spec.ModeAppend, Files: []DataFile{f}}, CommitOptions{
		Attempts: 3,
		Before: func() {
			// Another writer commits between our staging and our commit.
			n++
			if err := rival.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := rival.Commit(ctx, Commit{RunID: fmt.Sprintf("rival-%d", n), Mode: spec.ModeAppend}, CommitOptions{}); err != nil {
				t.Fatal(err)
			}
		},
	})
	if !errors.Is(err, ErrNotCommitted) || n != 3 {
		t.Fatalf("after %d attempts: %v", n, err)
	}
	if err := tbl.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if tbl.Mentions("loser") || len(tbl.Snapshots()) != 3 {
		t.Fatalf("snapshots %+v", tbl.Snapshots())
	}
}

func TestMaintenance(t *testing.T) {
	ctx := context.Background()
	cfg := sqlConfig(t)
	c := open(t, cfg)
	tbl, err := c.Prepare(ctx, want(testCols, spec.SchemaChangeFail))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		f := writeFile(t, tbl, "2026-01-01", i*10, 2)
		mode := spec.ModeAppend
		if i == 2 {
			mode = spec.ModeOverwrite
		}
		if _, err := tbl.Commit(ctx, Commit{RunID: fmt.Sprintf("run-%d", i), Mode: mode, Files: []DataFile{f}}, CommitOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	orphan := writeFile(t, tbl, "2026-01-09", 99, 1) // never committed
	hidden := localForm(tbl.DataLocation()) + "/_sluice/bad/run-x/task-00000.jsonl"
	if err := os.MkdirAll(filepath.Dir(hidden), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hidden, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	exp, err := tbl.ExpireSnapshots(ctx, ExpireOptions{RetainLast: 1, DryRun: true})
	if err != nil || len(exp) != 2 || len(tbl.Snapshots()) != 3 {
		t.Fatalf("dry run: %+v, %v, %d left", exp, err, len(tbl.Snapshots()))
	}
	if exp, err = tbl.ExpireSnapshots(ctx, ExpireOptions{RetainLast: 1}); err != nil || len(exp) != 2 {
		t.Fatalf("expire: %+v, %v", exp, err)
	}
	if s := tbl.Snapshots(); len(s) != 1 || s[0].RunID != "run-2" {
		t.Fatalf("left %+v", s)
	}
	// Expiry deleted the data files only the expired snapshots held.
	if got := liveByPartition(t, tbl); got["2026-01-01"] != 2 {
		t.Fatalf("live %v", got)
	}

	orphans, err := tbl.RemoveOrphans(ctx, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range orphans {
		if strings.Contains(o.Path, "_sluice") {
			t.Errorf("hidden path listed: %s", o.Path)
		}
		found = found || localForm(o.Path) == localForm(orphan.Path)
	}
	if !found {
		t.Fatalf("the uncommitted file is not an orphan: %+v", orphans)
	}
	if _, err := os.Stat(localForm(orphan.Path)); err != nil {
		t.Fatal("dry run removed a file")
	}
	if _, err := tbl.RemoveOrphans(ctx, time.Hour, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(localForm(orphan.Path)); err != nil {
		t.Fatal("a file younger than the margin was removed")
	}
	if _, err := tbl.RemoveOrphans(ctx, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(localForm(orphan.Path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("orphan still there: %v", err)
	}
	if _, err := os.Stat(hidden); err != nil {
		t.Fatalf("hidden file removed: %v", err)
	}
	if got := liveByPartition(t, tbl); got["2026-01-01"] != 2 {
		t.Fatalf("live after orphan removal %v", got)
	}
}
