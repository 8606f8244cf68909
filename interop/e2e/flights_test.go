package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/interop/duck"
)

// flightsFile is vega-datasets' flights-3m.parquet (ZSTD, 3M rows, written
// by another Parquet implementation), fetched by `make testdata`.
func flightsFile(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SLUICE_FLIGHTS")
	if p == "" {
		p = filepath.Join(repoRoot(t), ".tools", "cache", "vega-datasets", "flights-3m.parquet")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("flights-3m.parquet: %v (run make testdata)", err)
	}
	return p
}

// flightsCols are flights-3m's columns, as DuckDB reads them.
var flightsCols = []duck.Column{
	{Name: "date", SQLType: "TIMESTAMP"},
	{Name: "delay", SQLType: "BIGINT"},
	{Name: "distance", SQLType: "BIGINT"},
	{Name: "origin", SQLType: "VARCHAR"},
	{Name: "destination", SQLType: "VARCHAR"},
}

// TestFlights3M filters and rewrites a real third-party Parquet file whose
// schema sluice takes from the footer.
func TestFlights3M(t *testing.T) {
	sluiceBin(t)
	src := flightsFile(t)
	root := t.TempDir()
	conf, out := filepath.Join(root, "conf"), filepath.Join(root, "out")
	writeConfig(t, pipelineConfig{
		StateURL:    filepath.Join(root, "state"),
		SourceURL:   filepath.Dir(src) + "/",
		Format:      "parquet",
		Where:       "origin in ['SFO', 'LAX', 'ORD', 'ATL'] && delay > 15",
		Select:      []string{"date", "delay", "distance", "origin", "destination"},
		SinkURL:     out + "/",
		PartitionBy: []string{"origin"},
	}, conf)
	apply(t, nil, conf)
	cols := flightsCols
	db := openDuck(t)
	expected := duck.Select(duck.ReadParquet(src), cols, "origin IN ('SFO', 'LAX', 'ORD', 'ATL') AND delay > 15")
	rows := compareOutput(t, db, expected, out, cols, "origin")
	t.Logf("%d of 3,000,000 flights match", rows)
}

// TestFlights3MOnS3 reads flights-3m from the S3 gateway with four workers:
// the one file is split by row groups into four tasks, each reading only
// its column chunks with ranged GETs, and together they must write exactly
// DuckDB's rows.
func TestFlights3MOnS3(t *testing.T) {
	sluiceBin(t)
	src := flightsFile(t)
	srv := startS3(t, "raw", "lake")
	client := srv.Client()
	dir := t.TempDir()
	if err := os.Link(src, filepath.Join(dir, "flights-3m.parquet")); err != nil {
		data, rerr := os.ReadFile(src)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if err := os.WriteFile(filepath.Join(dir, "flights-3m.parquet"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	uploadDir(t, client, dir, "raw", "flights")
	root := t.TempDir()
	conf := filepath.Join(root, "conf")
	writeConfig(t, pipelineConfig{
		StateURL: "s3://lake/state/", SourceURL: "s3://raw/flights/", Format: "parquet",
		Where: "delay > 15", SinkURL: "s3://lake/out/",
	}, conf)
	out, code := runSluice(t, srv.Env(), "apply", "-auto-approve", "-parallelism", "4", conf)
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	local := filepath.Join(root, "s3out")
	keys := downloadPrefix(t, client, "lake", "out/", local)
	parts := 0
	for _, k := range keys {
		if strings.HasSuffix(strings.Fields(k)[0], ".parquet") {
			parts++
		}
	}
	if parts != 4 {
		t.Errorf("%d output files, want one per part of the split file (4):\n%s", parts, strings.Join(keys, "\n"))
	}
	cols := flightsCols
	db := openDuck(t)
	expected := duck.Select(duck.ReadParquet(src), cols, "delay > 15")
	rows := compareOutput(t, db, expected, local, cols, "")
	t.Logf("%d of 3,000,000 flights match, written by %d tasks", rows, parts)
}
