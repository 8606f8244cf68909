package planner

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicedata/sluice/spec"
)

// The planner over a configuration decoded by spec.Load (not built by
// hand): the defaults and compiled predicates spec fills in must be what
// the planner expects.
func TestBuildFromLoadedConfig(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, filepath.Join(dir, "lake", "raw"), goldenTree)
	files := map[string]string{
		"schemas/orders.hcl": `schema "orders" {
  column "order_id"    { type = "string" }
  column "customer_id" { type = "int64" }
  column "amount"      { type = "float64" }
  column "dt"          { type = "date" }
}
`,
		"conf/main.hcl": `state {
  url = "../state"
}

pipeline "orders_curated" {
  source "orders" {
    url        = "../lake/raw/"
    format     = "json"
    schema     = schema_file("../schemas/orders.hcl")
    partitions = ["dt", "region"]
    where      = "dt >= '2026-01-01' && region in ['eu', 'us'] && amount > 0"
    select     = ["order_id", "amount", "dt", "region"]
    exclude    = ["**/*.tmp"]
    bounded {
      files = 3
    }
  }
  sink "curated" {
    url          = "../lake/curated/"
    format       = "parquet"
    partition_by = ["dt"]
  }
}
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, diags := spec.Load(filepath.Join(dir, "conf"), spec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("load: %v", diags)
	}
	p, err := Build(context.Background(), cfg, Options{RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	pp := p.Pipelines[0]
	s := pp.Summary
	if s.Inputs.Files != 3 || s.Backlog.Files != 2 || s.Pruned.Partitions != 2 || s.Pruned.Files != 1 {
		t.Fatalf("summary %+v", s)
	}
	if p.ConfigDigest == "" || p.ConfigDigest != cfg.Digest {
		t.Fatalf("digest %q", p.ConfigDigest)
	}
	if len(pp.FileSchema) != 2 || len(pp.OutputSchema) != 4 || pp.Where == "" || len(pp.Tasks) != 1 {
		t.Fatalf("file schema %v, output %v, where %q, tasks %d", pp.FileSchema, pp.OutputSchema, pp.Where, len(pp.Tasks))
	}
}
