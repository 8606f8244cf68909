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

// writeNestedJSON writes files of NDJSON events with a nested payload and
// a list, with null structs, null fields, empty and null lists and null
// elements, so every null rule of paths, flatten and explode is exercised.
func writeNestedJSON(t *testing.T, dir string, files, rows int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(16, 17))
	countries := []string{"FR", "DE", "US"}
	id := 0
	for f := 0; f < files; f++ {
		var b strings.Builder
		for r := 0; r < rows; r++ {
			id++
			var payload string
			switch k := rng.IntN(10); {
			case k == 0:
				payload = "null"
			case k == 1:
				payload = `{"user":null,"note":"no user"}`
			default:
				country := `"` + countries[rng.IntN(len(countries))] + `"`
				if rng.IntN(15) == 0 {
					country = "null"
				}
				payload = fmt.Sprintf(`{"user":{"id":%d,"country":%s,"bio":"%s"},"note":"n%d"}`, rng.IntN(100), country, strings.Repeat("b", rng.IntN(40)), id)
			}
			var items string
			switch k := rng.IntN(8); {
			case k == 0:
				items = "null"
			case k == 1:
				items = "[]"
			default:
				var el []string
				for e := 0; e < 1+rng.IntN(3); e++ {
					if rng.IntN(10) == 0 {
						el = append(el, "null")
					} else {
						el = append(el, fmt.Sprintf(`"i%d"`, rng.IntN(50)))
					}
				}
				items = "[" + strings.Join(el, ",") + "]"
			}
			fmt.Fprintf(&b, `{"id":%d,"amount":%d,"payload":%s,"items":%s}`+"\n", id, rng.IntN(1000), payload, items)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%03d.json", f)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const nestedSchema = `schema "events" {
  column "id" {
    type = "int64"
  }
  column "amount" {
    type = "int64"
  }
  column "payload" {
    type = "struct(user struct(id int64, country string, bio string), note string)"
  }
  column "items" {
    type = "list(string)"
  }
}
`

// nestedSQLColumns types the JSON for DuckDB as the schema does for sluice.
var nestedSQLColumns = []duck.Column{
	{Name: "id", SQLType: "BIGINT"},
	{Name: "amount", SQLType: "BIGINT"},
	{Name: "payload", SQLType: "STRUCT(\"user\" STRUCT(id BIGINT, country VARCHAR, bio VARCHAR), note VARCHAR)"},
	{Name: "items", SQLType: "VARCHAR[]"},
}

// TestNestedFlattenExplodeAgainstDuckDB: a filter on nested fields, a
// struct flattened into columns and a list exploded into rows, through the
// CLI on JSON input and then on the Parquet that DuckDB writes from the
// same data (nested projection reading only the leaves used), each
// compared with the same transformation in DuckDB SQL.
func TestNestedFlattenExplodeAgainstDuckDB(t *testing.T) {
	sluiceBin(t)
	root := t.TempDir()
	raw := filepath.Join(root, "raw")
	writeNestedJSON(t, raw, 4, 500)
	db := openDuck(t)
	ctx := context.Background()
	rawRel := duck.ReadJSON(filepath.Join(raw, "*.json"), nestedSQLColumns)
	pq := filepath.Join(root, "pq")
	if err := os.MkdirAll(pq, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("COPY (SELECT * FROM %s) TO %s (FORMAT parquet)", rawRel, duck.Quote(filepath.Join(pq, "events.parquet")))); err != nil {
		t.Fatal(err)
	}
	outCols := []duck.Column{
		{Name: "id", SQLType: "BIGINT"},
		{Name: "item", SQLType: "VARCHAR"},
		{Name: "amount", SQLType: "BIGINT"},
		{Name: "payload_user_id", SQLType: "BIGINT"},
		{Name: "payload_user_country", SQLType: "VARCHAR"},
		{Name: "payload_user_bio", SQLType: "VARCHAR"},
	}
	expected := duck.Select(fmt.Sprintf(`(SELECT id, unnest(items) AS item, amount,
		payload."user".id AS payload_user_id, payload."user".country AS payload_user_country, payload."user".bio AS payload_user_bio
		FROM %s WHERE payload."user".country <> 'DE' AND payload."user".id >= 20)`, rawRel), outCols, "")
	// The same with only the filter: which rows the nested predicate keeps.
	filterCols := []duck.Column{{Name: "id", SQLType: "BIGINT"}, {Name: "amount", SQLType: "BIGINT"}}
	filtered := duck.Select(rawRel, filterCols, `payload."user".country IN ('FR', 'US') OR payload.note IS NULL`)

	for _, tc := range []struct{ name, source string }{
		{"json", fmt.Sprintf("url = %q\n    format = \"json\"\n    schema = schema_file(\"schemas/events.hcl\")", raw)},
		{"parquet", fmt.Sprintf("url = %q\n    format = \"parquet\"", pq)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := filepath.Join(root, "conf-"+tc.name)
			out := filepath.Join(root, "out-"+tc.name)
			outFilter := filepath.Join(root, "out-filter-"+tc.name)
			if err := os.MkdirAll(filepath.Join(conf, "schemas"), 0o755); err != nil {
				t.Fatal(err)
			}
			cfg := fmt.Sprintf(`pipeline "shaped" {
  source "raw" {
    %s
    where  = "payload.user.country != 'DE' && payload.user.id >= 20"
  }
  output {
    column "id" {}
    column "item" { expr = "items" }
    column "amount" {}
    flatten = ["payload.user"]
    explode = "item"
  }
  sink "out" {
    url    = %q
    format = "parquet"
  }
}

pipeline "filtered" {
  source "raw" {
    %s
    where  = "payload.user.country in ['FR', 'US'] || payload.note == nil"
    select = ["id", "amount"]
  }
  sink "out" {
    url    = %q
    format = "parquet"
  }
}
`, tc.source, out, tc.source, outFilter)
			if err := os.WriteFile(filepath.Join(conf, "main.hcl"), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(conf, "schemas", "events.hcl"), []byte(nestedSchema), 0o644); err != nil {
				t.Fatal(err)
			}
			plan, code := runSluice(t, nil, "plan", conf)
			if code != 0 && code != 2 {
				t.Fatalf("plan: exit %d\n%s", code, plan)
			}
			for _, want := range []string{"fields read payload.user.bio, payload.user.country, payload.user.id", "flatten payload.user; explode item", "fields read payload.note, payload.user.country"} {
				if !strings.Contains(plan, want) {
					t.Errorf("plan lacks %q:\n%s", want, plan)
				}
			}
			apply(t, nil, conf)
			got := duck.Select(duck.ReadParquet(filepath.Join(out, "*.parquet")), outCols, "")
			sum, err := duck.Compare(ctx, db, expected, got, outCols, "")
			if err != nil {
				t.Fatalf("flatten/explode differs from DuckDB: %v", err)
			}
			if sum.Rows < 500 {
				t.Fatalf("only %d rows: the data or filter is wrong", sum.Rows)
			}
			fsum, err := duck.Compare(ctx, db, filtered, duck.Select(duck.ReadParquet(filepath.Join(outFilter, "*.parquet")), filterCols, ""), filterCols, "")
			if err != nil {
				t.Fatalf("nested filter differs from DuckDB: %v", err)
			}
			t.Logf("%d exploded rows and %d filtered rows agree with DuckDB", sum.Rows, fsum.Rows)
		})
	}
}
