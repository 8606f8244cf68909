package spec

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadIcebergSink(t *testing.T) {
	dir := t.TempDir()
	conf := `catalog "lake" {
  uri       = "lake/catalog.db"
  warehouse = "lake/warehouse/"
}
catalog "s3lake" {
  type      = "sql"
  uri       = "/abs/catalog.db"
  warehouse = "s3://bucket/wh"
}
pipeline "p" {
  source "s" {
    url        = "in/"
    format     = "json"
    partitions = ["dt"]
    column "id" {
      type = "int64"
    }
    column "ts" {
      type = "timestamp(us)"
    }
  }
  sink "t" {
    format       = "iceberg"
    catalog      = "lake"
    table        = "analytics.events"
    partition_by = ["dt", "day(ts)", "bucket(16, id)", "truncate(10, id)"]
    mode         = "append"
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := Load(dir, LoadOptions{})
	if diags.HasErrors() || len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	if len(cfg.Catalogs) != 2 || cfg.Catalogs[0].Name != "lake" {
		t.Fatalf("catalogs %+v", cfg.Catalogs)
	}
	c := cfg.Catalog("lake")
	if c.Type != CatalogSQL || c.URI != filepath.Join(dir, "lake", "catalog.db") || c.Warehouse != filepath.Join(dir, "lake", "warehouse") {
		t.Fatalf("catalog %+v", c)
	}
	if w := cfg.Catalog("s3lake").Warehouse; w != "s3://bucket/wh" {
		t.Fatalf("s3 warehouse %q", w)
	}
	sk := cfg.Pipelines[0].Sink
	if sk.Format != FormatIceberg || sk.URL != "" || sk.Catalog != "lake" || sk.Table != "analytics.events" || sk.Compression != CompressionSnappy {
		t.Fatalf("sink %+v", sk)
	}
	var names []string
	for _, f := range sk.Partitioning {
		names = append(names, f.Name()+"="+f.String())
	}
	if got := filepath.Join(names...); got != "dt=dt/ts_day=day(ts)/id_bucket=bucket(16, id)/id_trunc=truncate(10, id)" {
		t.Fatalf("partitioning %s", got)
	}
}

func TestParsePartitionField(t *testing.T) {
	for in, want := range map[string]PartitionField{
		"dt":                {Column: "dt", Transform: TransformIdentity},
		"year(ts)":          {Column: "ts", Transform: TransformYear},
		" month( ts ) ":     {Column: "ts", Transform: TransformMonth},
		"hour(ts)":          {Column: "ts", Transform: TransformHour},
		"bucket(16,id)":     {Column: "id", Transform: TransformBucket, Param: 16},
		"truncate(4, name)": {Column: "name", Transform: TransformTruncate, Param: 4},
	} {
		got, msg := ParsePartitionField(in)
		if msg != "" || got != want {
			t.Errorf("%q: %+v %q", in, got, msg)
		}
	}
	for _, bad := range []string{"", "day(", "day(a, b)", "bucket(0, id)", "bucket(id)", "day(3, ts)", "weeks(ts)", "a.b"} {
		if _, msg := ParsePartitionField(bad); msg == "" {
			t.Errorf("%q accepted", bad)
		}
	}
	for in, ok := range map[string]bool{"a.b": true, "a.b.c": true, "a": false, "a..b": false, "a.b-c": false, ".a": false} {
		if _, _, got := SplitTable(in); got != ok {
			t.Errorf("SplitTable(%q) ok=%v", in, got)
		}
	}
}
