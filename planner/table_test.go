package planner

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
	"github.com/sluicedata/sluice/tables"
)

// icebergFixture is the golden tree's pipeline writing an Iceberg table of
// a sql catalog under the fixture's root.
func icebergFixture(t *testing.T, mod func(*spec.Pipeline)) *fixture {
	f := newFixture(t, goldenTree, func(p *spec.Pipeline) {
		p.Source.Exclude = []string{"**/*.tmp"}
		p.Source.OnSchemaChange = spec.SchemaChangeAddColumns
		p.Sink.URL, p.Sink.Format = "", spec.FormatIceberg
		p.Sink.Catalog, p.Sink.Table = "lake", "analytics.orders"
		p.Sink.PartitionBy = []string{"dt", "bucket(4, customer_id)"}
		p.Sink.Partitioning = []spec.PartitionField{{Column: "dt", Transform: spec.TransformIdentity}, {Column: "customer_id", Transform: spec.TransformBucket, Param: 4}}
		if mod != nil {
			mod(p)
		}
	})
	f.cfg.Catalogs = []*spec.Catalog{{Name: "lake", Type: spec.CatalogSQL, URI: filepath.Join(f.root, "lake", "catalog.db"), Warehouse: filepath.Join(f.root, "lake", "wh")}}
	return f
}

func planWith(t *testing.T, f *fixture, opener *tables.Opener) *Plan {
	t.Helper()
	p, err := Build(context.Background(), f.cfg, Options{RunID: "20261121T232147Z-a1b2c3", Now: func() time.Time { return testNow }, Tables: opener})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGoldenIceberg: the first plan of an iceberg sink says the table will
// be created (and creates nothing); once the table exists with fewer
// columns, plan shows its snapshot and the column apply will add.
func TestGoldenIceberg(t *testing.T) {
	f := icebergFixture(t, nil)
	p := planWith(t, f, &tables.Opener{})
	pp := p.Pipelines[0]
	if pp.Table == nil || !pp.Table.Inspected || pp.Table.Exists || !strings.HasSuffix(pp.Table.Location, "/lake/wh/analytics.db/orders") {
		t.Fatalf("table %+v", pp.Table)
	}
	if !strings.Contains(pp.Commit, "one snapshot") {
		t.Fatalf("commit sentence %q", pp.Commit)
	}
	renderBoth(t, f, "iceberg_create", p)

	// A table made by an earlier version of the pipeline, without note.
	ctx := context.Background()
	cfg, _ := tables.ConfigOf(f.cfg.Catalogs[0])
	c, err := (&tables.Opener{}).Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var old []schema.Column
	for _, col := range pp.OutputSchema {
		if col.Name != "note" {
			old = append(old, col)
		}
	}
	tbl, err := c.Prepare(ctx, tables.Want{Table: "analytics.orders", Columns: old, Partitioning: pp.Table.Partitioning})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Commit(ctx, tables.Commit{RunID: "run-0", Mode: spec.ModeAppend}, tables.CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	p = planWith(t, f, &tables.Opener{})
	tp := p.Pipelines[0].Table
	if !tp.Exists || tp.SnapshotID != tbl.SnapshotID() || len(tp.AddColumns) != 1 || tp.AddColumns[0] != "note string" {
		t.Fatalf("existing table %+v", tp)
	}
	// The snapshot id is random: golden files hold a stand-in.
	tp.SnapshotID = 1234
	renderBoth(t, f, "iceberg_evolve", p)

	// Under on_schema_change = "fail" the new column fails the plan.
	f.pipeline().Source.OnSchemaChange = spec.SchemaChangeFail
	if _, err := Build(ctx, f.cfg, Options{Tables: &tables.Opener{}}); err == nil || !strings.Contains(err.Error(), `no column "note"`) {
		t.Fatalf("plan with a missing column under fail: %v", err)
	}
	// Without catalog access the table is described, not inspected.
	if tp := planWith(t, f, nil).Pipelines[0].Table; tp.Inspected || !strings.Contains(tp.Describe(), "not inspected") {
		t.Fatalf("uninspected %+v", tp)
	}
}
