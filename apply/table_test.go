package apply

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
	"github.com/sluicedata/sluice/tables"
)

// TestApplyIntoTable drains a bounded backlog into an Iceberg table, one
// run per file: each apply commits one snapshot carrying its run id, the
// table's rows grow by the run's, and the bookmarks follow. A new output
// column (on_schema_change = "add_columns") is added to the table before
// the run that writes it.
func TestApplyIntoTable(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	put := func(rel, body string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("raw/dt=2026-01-01/a.json", `{"id":"a1","amount":5}`+"\n"+`{"id":"a2","amount":6}`+"\n")
	put("raw/dt=2026-01-02/b.json", `{"id":"b1","amount":7}`+"\n")
	put("raw/dt=2026-01-03/c.json", `{"id":"c1","amount":8}`+"\n")
	conf := func(extraColumn string) {
		put("conf/main.hcl", `
state { url = "../state" }
catalog "lake" {
  uri       = "../lake/catalog.db"
  warehouse = "../lake/wh"
}
pipeline "orders" {
  source "raw" {
    url        = "../raw"
    format     = "json"
    partitions = ["dt"]
    on_schema_change = "add_columns"
    column "id" { type = "string" }
    column "amount" { type = "int64" }
    `+extraColumn+`
    bounded { files = 1 }
  }
  sink "t" {
    format       = "iceberg"
    catalog      = "lake"
    table        = "sales.orders"
    partition_by = ["dt"]
  }
}
`)
	}
	load := func() *spec.Config {
		cfg, diags := spec.Load(filepath.Join(root, "conf"), spec.LoadOptions{})
		if diags.HasErrors() {
			t.Fatalf("config: %v", diags)
		}
		return cfg
	}
	conf("")
	var runs []string
	for i := 0; ; i++ {
		if i == 2 {
			conf(`column "note" { type = "string" }`)
		}
		cfg := load()
		plan, err := planner.Build(ctx, cfg, planner.Options{Footers: exec.Footers{}, Tables: tables.NewOpener(cfg)})
		if err != nil {
			t.Fatal(err)
		}
		if !HasWork(plan) {
			break
		}
		res := Run(ctx, plan, Options{Catalogs: tables.NewOpener(cfg)})
		if len(res) != 1 || res[0].Outcome != Done {
			t.Fatalf("run %d: %+v", i, res)
		}
		if res[0].Table != "sales.orders" || res[0].Snapshot == 0 || res[0].ManifestKey != "" {
			t.Fatalf("result %+v", res[0])
		}
		runs = append(runs, res[0].RunID)
	}
	if len(runs) != 3 {
		t.Fatalf("%d runs", len(runs))
	}
	cfg := load()
	rc, _ := tables.ConfigOf(cfg.Catalog("lake"))
	c, err := (&tables.Opener{}).Open(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tbl, err := c.Load(ctx, "sales.orders")
	if err != nil {
		t.Fatal(err)
	}
	snaps := tbl.Snapshots()
	if len(snaps) != 3 {
		t.Fatalf("snapshots %+v", snaps)
	}
	for i, s := range snaps {
		if s.RunID != runs[i] || s.Operation != "append" {
			t.Errorf("snapshot %d: %+v, want run %s", i, s, runs[i])
		}
	}
	live, err := tbl.LiveFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int64{}
	for _, f := range live {
		rows[*f.Partition[0]] += f.Rows
	}
	if rows["2026-01-01"] != 2 || rows["2026-01-02"] != 1 || rows["2026-01-03"] != 1 {
		t.Fatalf("rows by partition %v", rows)
	}
	// The third run added note; its field id follows the table's others.
	ws, err := tbl.WriteSpec([]schema.Column{{Name: "note"}})
	if err != nil || ws.Partition[0].Name != "dt" || ws.Schema.Field(0).Metadata.Values()[0] != "4" {
		t.Fatalf("write spec %+v %v", ws, err)
	}
}
