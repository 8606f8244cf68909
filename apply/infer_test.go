package apply

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
)

// A corrupt Parquet object that sorts first in a schemaless source with
// on_bad_record = "quarantine": plan warns and takes the schema from the
// next file, and the run quarantines the corrupt one and writes the rest
// (every plan and apply used to exit 1 inferring the schema from it).
func TestCorruptFirstParquetDoesNotWedgeInference(t *testing.T) {
	root := t.TempDir()
	l := &lake{t: t, root: root}
	l.put("raw/a.parquet", "PAR1 this is not parquet PAR1")
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.AppendValues([]int64{1, 2, 3}, nil)
	col := b.NewArray()
	rec := array.NewRecordBatch(sc, []arrow.Array{col}, 3)
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	col.Release()
	b.Release()
	l.put("raw/b.parquet", buf.String())
	l.put("conf/main.hcl", `
state { url = "../state" }
pipeline "p" {
  source "s" {
    url           = "../raw"
    format        = "parquet"
    on_bad_record = "quarantine"
  }
  sink "k" {
    url    = "../out"
    format = "json"
  }
}
`)
	cfg, diags := spec.Load(filepath.Join(root, "conf"), spec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plan, err := planner.Build(context.Background(), cfg, planner.Options{Footers: exec.Footers{}})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if w := strings.Join(plan.Pipelines[0].Summary.Warnings, "\n"); !strings.Contains(w, "a.parquet, before it in key order, has an unreadable footer") {
		t.Errorf("warnings: %s", w)
	}
	r := only(t, Run(context.Background(), plan, Options{Exec: exec.Options{Parallelism: 2}}))
	if r.Outcome != Done || r.Stats.RowsOut != 3 || r.Stats.BadFiles != 1 || len(r.Manifest.Quarantine) != 1 {
		t.Fatalf("apply: %v %v %+v", r.Outcome, r.Err, r.Stats)
	}
	if _, err := os.Stat(filepath.Join(root, "out")); err != nil {
		t.Fatal(err)
	}
}
