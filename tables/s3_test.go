package tables

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicedata/sluice/internal/s3test"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// TestS3Warehouse runs a table whose warehouse is on a real S3 server:
// iceberg-go reads and writes its metadata through storeIO (objstore), and
// orphan planning lists it.
func TestS3Warehouse(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	srv.SetEnv(t)
	ctx := context.Background()
	cfg := CatalogConfig{Name: "lake", Type: TypeSQL, URI: t.TempDir() + "/catalog.db", Warehouse: "s3://lake/wh"}
	c := open(t, cfg)
	tbl, err := c.Prepare(ctx, want(testCols, spec.SchemaChangeFail))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tbl.DataLocation(), "s3://lake/wh/analytics.db/events/data/") {
		t.Fatalf("data location %s", tbl.DataLocation())
	}
	ws, err := tbl.WriteSpec(testCols)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, ws.Schema)
	b.Field(0).(*array.Int64Builder).Append(1)
	b.Field(1).AppendNull()
	b.Field(2).AppendNull()
	b.Field(3).(*array.StringBuilder).Append("2026-01-01")
	rec := b.NewRecordBatch()
	b.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(ws.Schema, &buf, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	loc, err := objstore.Open(ctx, tbl.DataLocation())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loc.Store.Put(ctx, loc.Prefix+"dt=2026-01-01/part-1.parquet", buf.Bytes(), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	dt := "2026-01-01"
	f := DataFile{Path: tbl.DataLocation() + "dt=2026-01-01/part-1.parquet", Rows: 1, Bytes: int64(buf.Len()), Partition: []*string{&dt}}
	if _, err := tbl.Commit(ctx, Commit{RunID: "run-1", Mode: spec.ModeAppend, Files: []DataFile{f}}, CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	c2 := open(t, cfg)
	again, err := c2.Load(ctx, "analytics.events")
	if err != nil {
		t.Fatal(err)
	}
	if got := liveByPartition(t, again); got[dt] != 1 {
		t.Fatalf("live %v", got)
	}
	if _, ok := again.FindRun("run-1"); !ok {
		t.Fatal("run-1 not found")
	}
	orphans, err := again.RemoveOrphans(ctx, 0, true)
	if err != nil || len(orphans) != 0 {
		t.Fatalf("orphans on a clean table: %+v %v", orphans, err)
	}
}
