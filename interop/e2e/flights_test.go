package e2e

import (
	"os"
	"path/filepath"
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
	cols := []duck.Column{
		{Name: "date", SQLType: "TIMESTAMP"},
		{Name: "delay", SQLType: "BIGINT"},
		{Name: "distance", SQLType: "BIGINT"},
		{Name: "origin", SQLType: "VARCHAR"},
		{Name: "destination", SQLType: "VARCHAR"},
	}
	db := openDuck(t)
	expected := duck.Select(duck.ReadParquet(src), cols, "origin IN ('SFO', 'LAX', 'ORD', 'ATL') AND delay > 15")
	rows := compareOutput(t, db, expected, out, cols, "origin")
	t.Logf("%d of 3,000,000 flights match", rows)
}
