package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/interop/duck"
)

// TestRescuedDataAgainstDuckDB: with rescued_data_column, every field the
// schema lacks and every amount that is not a number lands in _rescued,
// the row kept, the amount null. DuckDB reads the raw lines as JSON and
// computes, per row, the amount and the rescued fields; it reads
// sluice's _rescued with its JSON functions, and the two agree.
func TestRescuedDataAgainstDuckDB(t *testing.T) {
	sluiceBin(t)
	root := t.TempDir()
	raw := filepath.Join(root, "raw")
	if err := os.MkdirAll(raw, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var b strings.Builder
	for id := 1; id <= 2000; id++ {
		amount := fmt.Sprintf("%d.5", rng.IntN(100))
		switch rng.IntN(6) {
		case 0:
			amount = fmt.Sprintf(`"%d,5"`, rng.IntN(100)) // not a number
		case 1:
			amount = `{"v":1}`
		}
		extra := ""
		if rng.IntN(3) == 0 {
			extra = fmt.Sprintf(`,"coupon":{"code":"C%d","pct":%d}`, rng.IntN(9), rng.IntN(50))
		}
		if rng.IntN(4) == 0 {
			extra += fmt.Sprintf(`,"note":"n%d"`, id)
		}
		fmt.Fprintf(&b, `{"id":%d,"amount":%s%s}`+"\n", id, amount, extra)
	}
	if err := os.WriteFile(filepath.Join(raw, "a.json"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(root, "conf")
	out := filepath.Join(root, "out")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`pipeline "rescue" {
  source "raw" {
    url                 = %q
    format              = "json"
    rescued_data_column = "_rescued"
    column "id" {
      type     = "int64"
      nullable = false
    }
    column "amount" {
      type = "float64"
    }
  }
  sink "out" {
    url    = %q
    format = "parquet"
  }
}
`, raw, out)
	if err := os.WriteFile(filepath.Join(conf, "main.hcl"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	apply(t, nil, conf)
	db := openDuck(t)
	cols := []duck.Column{
		{Name: "id", SQLType: "BIGINT"},
		{Name: "amount", SQLType: "DOUBLE"},
		{Name: "bad_amount", SQLType: "VARCHAR"},
		{Name: "coupon", SQLType: "VARCHAR"},
		{Name: "note", SQLType: "VARCHAR"},
		{Name: "rescued_null", SQLType: "BOOLEAN"},
	}
	expected := duck.Select(fmt.Sprintf(`(SELECT CAST(json->>'id' AS BIGINT) AS id,
		CASE WHEN json_type(json, '$.amount') IN ('DOUBLE', 'BIGINT', 'UBIGINT') THEN CAST(json->>'amount' AS DOUBLE) END AS amount,
		CASE WHEN json_type(json, '$.amount') NOT IN ('DOUBLE', 'BIGINT', 'UBIGINT') THEN CAST(json->'amount' AS VARCHAR) END AS bad_amount,
		CAST(json->'coupon' AS VARCHAR) AS coupon, json->>'note' AS note,
		json_type(json, '$.amount') IN ('DOUBLE', 'BIGINT', 'UBIGINT') AND json_extract(json, '$.coupon') IS NULL AND json_extract(json, '$.note') IS NULL AS rescued_null
		FROM read_ndjson_objects(%s))`, duck.Quote(filepath.Join(raw, "*.json"))), cols, "")
	got := duck.Select(fmt.Sprintf(`(SELECT id, amount,
		CAST(CAST(_rescued AS JSON)->'amount' AS VARCHAR) AS bad_amount,
		CAST(CAST(_rescued AS JSON)->'coupon' AS VARCHAR) AS coupon, CAST(_rescued AS JSON)->>'note' AS note,
		_rescued IS NULL AS rescued_null
		FROM %s)`, duck.ReadParquet(filepath.Join(out, "*.parquet"))), cols, "")
	sum, err := duck.Compare(context.Background(), db, expected, got, cols, "")
	if err != nil {
		t.Fatalf("rescued data differs from DuckDB's reading of the raw JSON: %v", err)
	}
	if sum.Rows != 2000 {
		t.Fatalf("%d rows, want all 2000 kept", sum.Rows)
	}
	t.Logf("%d rows agree with DuckDB", sum.Rows)
}
