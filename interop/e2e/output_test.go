package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/interop/duck"
)

// outputLake writes 12 NDJSON objects under root/raw/dt=…/ in key order.
// ids repeat across objects (so dedupe has work across tasks: the objects
// are small, and task_bytes makes several tasks), updated repeats too (ties
// that only the input order decides), and seq is the row's position in
// key order: what the SQL side orders ties by, since DuckDB has no notion
// of sluice's input order.
func outputLake(t *testing.T, root string) {
	t.Helper()
	seq := 0
	for f := 0; f < 12; f++ {
		dt := fmt.Sprintf("2026-01-%02d", 1+f/4)
		var b strings.Builder
		for r := 0; r < 250; r++ {
			id := (seq * 7919) % 401
			updated := (seq / 401) % 3 // ties: an id recurs every 401 rows
			amount := fmt.Sprint((seq*37)%5000 - 100)
			if seq%29 == 0 {
				amount = "null"
			}
			upd := fmt.Sprint(updated)
			if seq%41 == 0 {
				upd = "null"
			}
			// created spreads over 4 days and every hour, in the order
			// the rows come (so the days do not follow the paths' dt).
			created := fmt.Sprintf("2026-02-%02d %02d:%02d:%02d", 1+(seq*13)%4, (seq*7)%24, seq%60, (seq*11)%60)
			fmt.Fprintf(&b, `{"id":%d,"customer":" c%d ","amount_cents":%s,"rate":%g,"updated":%s,"seq":%d,"created":%q}`+"\n",
				id, id%17, amount, 1+float64(seq%7)/10, upd, seq, created)
			seq++
		}
		p := filepath.Join(root, "raw", "dt="+dt, fmt.Sprintf("part-%02d.json", f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const outputSchema = `
    column "id" {
      type = "int64"
    }
    column "customer" {
      type = "string"
    }
    column "amount_cents" {
      type = "int64"
    }
    column "rate" {
      type = "float64"
    }
    column "updated" {
      type = "int64"
    }
    column "seq" {
      type = "int64"
    }
    column "created" {
      type = "string"
    }`

// TestOutputAndDedupeAgreeWithDuckDB: renames, derived values (a
// timestamp parse, a truncation to the day used in partition_by, string
// functions, arithmetic, a coalesce), a partition column derived from the
// data (no day in the source's paths) and dedupe with keep = "first" and
// "last" — across several tasks — give the rows DuckDB computes for the
// same transformation written in SQL.
func TestOutputAndDedupeAgreeWithDuckDB(t *testing.T) {
	sluiceBin(t)
	root := t.TempDir()
	outputLake(t, root)
	db := openDuck(t)
	raw := fmt.Sprintf("read_json(%s, format = 'newline_delimited', hive_partitioning = true, columns = {id: 'BIGINT', customer: 'VARCHAR', amount_cents: 'BIGINT', rate: 'DOUBLE', updated: 'BIGINT', seq: 'BIGINT', created: 'VARCHAR'})",
		duck.Quote(filepath.Join(root, "raw", "*", "*.json")))
	for _, keep := range []string{"first", "last"} {
		t.Run(keep, func(t *testing.T) {
			conf := filepath.Join(root, "conf-"+keep)
			out := filepath.Join(root, "out-"+keep)
			if err := os.MkdirAll(conf, 0o755); err != nil {
				t.Fatal(err)
			}
			hcl := fmt.Sprintf(`state {
  url = %q
}

pipeline "orders" {
  source "raw" {
    url        = %q
    format     = "json"
    partitions = ["dt"]
    task_bytes = "4KiB"
%s
    where = "dt >= '2026-01-02'"
  }

  output {
    column "order_id" { expr = "id" }
    column "customer" { expr = "upper(trim(customer))" }
    column "amount_eur" {
      expr = "coalesce(amount_cents, 0) / 100.0 * rate"
    }
    column "bucket" { expr = "id %% 4" }
    column "created_hour" { expr = "hour(parse_timestamp(created, '%%Y-%%m-%%d %%H:%%M:%%S'))" }
    column "day" { expr = "date(trunc(parse_timestamp(created, '%%Y-%%m-%%d %%H:%%M:%%S'), 'day'))" }
    column "updated" {}
    column "seq" {}
  }

  dedupe {
    key      = ["order_id"]
    order_by = "updated"
    keep     = %q
  }

  sink "curated" {
    url          = %q
    partition_by = ["day"]
  }
}
`, filepath.Join(root, "state-"+keep), filepath.Join(root, "raw")+"/", outputSchema, keep, out+"/")
			if err := os.WriteFile(filepath.Join(conf, "main.hcl"), []byte(hcl), 0o644); err != nil {
				t.Fatal(err)
			}
			text := apply(t, nil, conf)
			if !strings.Contains(text, "Dedupe left out") {
				t.Fatalf("no dedupe in the summary:\n%s", text)
			}
			dir := "ASC NULLS FIRST, seq ASC"
			if keep == "last" {
				dir = "DESC NULLS LAST, seq DESC"
			}
			expected := fmt.Sprintf(`(SELECT * EXCLUDE (rn) FROM (
  SELECT id AS order_id, upper(trim(customer)) AS customer, CAST(coalesce(amount_cents, 0) AS DOUBLE) / 100.0::DOUBLE * rate AS amount_eur,
    id %% 4 AS bucket, hour(strptime(created, '%%Y-%%m-%%d %%H:%%M:%%S')) AS created_hour,
    CAST(date_trunc('day', strptime(created, '%%Y-%%m-%%d %%H:%%M:%%S')) AS DATE) AS day, updated, seq,
    row_number() OVER (PARTITION BY id ORDER BY updated %s) AS rn
  FROM %s WHERE dt >= '2026-01-02') WHERE rn = 1)`, dir, raw)
			cols := []duck.Column{{Name: "order_id", SQLType: "BIGINT"}, {Name: "customer", SQLType: "VARCHAR"},
				{Name: "amount_eur", SQLType: "DOUBLE"}, {Name: "bucket", SQLType: "BIGINT"},
				{Name: "created_hour", SQLType: "BIGINT"}, {Name: "day", SQLType: "DATE"},
				{Name: "updated", SQLType: "BIGINT"}, {Name: "seq", SQLType: "BIGINT"}}
			rows := compareOutput(t, db, duck.Select(expected, cols, ""), out, cols, "day")
			var input int64
			if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM "+raw+" WHERE dt >= '2026-01-02'").Scan(&input); err != nil {
				t.Fatal(err)
			}
			if rows >= input || rows < 100 {
				t.Fatalf("%d rows out of %d: the data does not exercise dedupe", rows, input)
			}
			plan, _ := runSluice(t, nil, "plan", conf)
			if !saidNothingToDo(plan) {
				t.Fatalf("a second plan has work:\n%s", plan)
			}
		})
	}
}
