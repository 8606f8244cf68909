package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/interop/duck"
	"github.com/sluicedata/sluice/interop/icebergcheck"
)

// The Iceberg sink, checked from outside: after every apply, the table's
// metadata and manifests are read by icebergcheck (node + avsc, no code
// shared with iceberg-go) and the data files its current snapshot lists are
// read by DuckDB; both must agree with the source, partition by partition,
// and the table must hold one snapshot per run carrying the run id.

// icebergLake is a configuration directory whose pipelines write tables of
// one sql catalog, and the NDJSON inputs they read.
type icebergLake struct {
	t    *testing.T
	root string
	node string
	// rows by input key (relative to raw/), for the expected counts.
	rows map[string][]orderRow
}

type orderRow struct {
	ID         string
	CustomerID int64
	Cents      int64
	TS         time.Time
	DT, Region string
}

func newIcebergLake(t *testing.T, pipelines string) *icebergLake {
	t.Helper()
	node, err := icebergcheck.NodePath()
	if err != nil {
		t.Fatal(err)
	}
	l := &icebergLake{t: t, root: t.TempDir(), node: node, rows: map[string][]orderRow{}}
	conf := `state {
  url = "../state"
}

catalog "lake" {
  uri       = "../lake/catalog.db"
  warehouse = "../lake/wh"
}
` + pipelines
	must(t, os.MkdirAll(filepath.Join(l.root, "conf"), 0o755))
	must(t, os.WriteFile(filepath.Join(l.root, "conf", "main.hcl"), []byte(conf), 0o644))
	return l
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// source is the pipeline source every scenario uses: orders by day and
// region, with a decimal and a timestamp.
func source(dir, extra string) string {
	return fmt.Sprintf(`  source "raw" {
    url        = "../raw/%s/"
    format     = "json"
    partitions = ["dt", "region"]
    column "id" {
      type     = "string"
      nullable = false
    }
    column "customer_id" {
      type = "int64"
    }
    column "amount" {
      type = "decimal(12, 2)"
    }
    column "ts" {
      type = "timestamp(ms)"
    }
%s  }
`, dir, extra)
}

// addFile writes one input of n rows under raw/<dir>/dt=<dt>/region=<region>/.
func (l *icebergLake) addFile(dir, dt, region, name string, n int) {
	l.t.Helper()
	key := fmt.Sprintf("%s/dt=%s/region=%s/%s", dir, dt, region, name)
	var b strings.Builder
	day, _ := time.Parse("2006-01-02", dt)
	for i := 0; i < n; i++ {
		r := orderRow{ID: fmt.Sprintf("%s/%d", key, i), CustomerID: int64(len(l.rows)*7+i) % 11, Cents: int64(100*i + len(name)),
			// Late in the evening, some rows fall on the next UTC day.
			TS: day.Add(time.Duration(20+i%6) * time.Hour).Add(time.Duration(i) * time.Minute), DT: dt, Region: region}
		fmt.Fprintf(&b, `{"id":%q,"customer_id":%d,"amount":%d.%02d,"ts":%q}`+"\n", r.ID, r.CustomerID, r.Cents/100, r.Cents%100, r.TS.Format(time.RFC3339))
		l.rows[key] = append(l.rows[key], r)
	}
	p := filepath.Join(l.root, "raw", filepath.FromSlash(key))
	must(l.t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(l.t, os.WriteFile(p, []byte(b.String()), 0o644))
}

// apply runs `sluice apply -json` and returns the run id each pipeline
// committed.
func (l *icebergLake) apply() map[string]string {
	l.t.Helper()
	out, code := runSluice(l.t, nil, "apply", "-auto-approve", "-json", filepath.Join(l.root, "conf"))
	if code != 0 {
		l.t.Fatalf("apply: exit %d\n%s", code, out)
	}
	runs := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var ev struct {
			Type, Pipeline, Table string
			RunID                 string `json:"run_id"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Type == "committed" {
			if ev.Table == "" {
				l.t.Fatalf("committed event without table: %s", sc.Text())
			}
			runs[ev.Pipeline] = ev.RunID
		}
	}
	return runs
}

// read reads a table with the independent reader.
func (l *icebergLake) read(table string) *icebergcheck.Table {
	l.t.Helper()
	ctx := context.Background()
	ns, name, _ := strings.Cut(table, ".")
	meta, err := icebergcheck.MetadataLocation(ctx, filepath.Join(l.root, "lake", "catalog.db"), ns, name)
	must(l.t, err)
	tbl, err := icebergcheck.Read(ctx, l.node, meta)
	must(l.t, err)
	return tbl
}

// checkHistory: one snapshot per run, in run order, each carrying its run
// id, each the parent of the next, the last one current.
func checkHistory(t *testing.T, tbl *icebergcheck.Table, runs []string) []icebergcheck.Snapshot {
	t.Helper()
	h, err := tbl.History()
	must(t, err)
	var got []string
	for _, s := range h {
		got = append(got, s.RunID)
	}
	if !slices.Equal(got, runs) || len(tbl.Snapshots) != len(runs) {
		t.Fatalf("snapshots carry runs %v (%d snapshots), want one per run %v", got, len(tbl.Snapshots), runs)
	}
	return h
}

// rowsByPartition counts the rows of the given inputs per partition key.
func (l *icebergLake) rowsByPartition(keys []string, key func(orderRow) string) map[string]int64 {
	out := map[string]int64{}
	for _, k := range keys {
		for _, r := range l.rows[k] {
			out[key(r)]++
		}
	}
	return out
}

// duckCounts counts, with DuckDB, the rows of the live files per partition
// (computed by sql from the data) and checks each file's record count
// against the manifest's.
func duckCounts(t *testing.T, db *sql.DB, tbl *icebergcheck.Table, keySQL string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, f := range tbl.Files {
		q := fmt.Sprintf("SELECT %s AS k, count(*) FROM read_parquet(%s, hive_partitioning=false) GROUP BY k", keySQL, duck.Quote(f.LocalPath))
		rows, err := db.Query(q)
		must(t, err)
		var n int64
		for rows.Next() {
			var k string
			var c int64
			must(t, rows.Scan(&k, &c))
			out[k] += c
			n += c
			// Every row of a file is in the file's partition.
			if want := icebergcheck.PartitionKey(f.Partition); k != want {
				t.Errorf("%s: a row in partition %s, the manifest says %s", f.Path, k, want)
			}
		}
		must(t, rows.Err())
		rows.Close()
		if n != f.RecordCount {
			t.Errorf("%s: DuckDB reads %d rows, the manifest says %d", f.Path, n, f.RecordCount)
		}
	}
	return out
}

func sameCounts(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if got[k] != want[k] {
			t.Errorf("%s: partition %s has %d rows, want %d", what, k, got[k], want[k])
		}
	}
}

// manifestCounts are the manifests' record counts per partition.
func manifestCounts(tbl *icebergcheck.Table) map[string]int64 {
	out := map[string]int64{}
	for _, f := range tbl.Files {
		out[icebergcheck.PartitionKey(f.Partition)] += f.RecordCount
	}
	return out
}

// TestIcebergBoundedAppend drains a bounded backlog into a table
// partitioned by region and day(ts) over several applies; after each, the
// manifests (avsc) and the data (DuckDB) agree with the inputs processed so
// far, per partition; DuckDB recomputes day(ts) from the data, so the
// transform's values are checked too. At the end DuckDB finds every
// source row exactly once, with its values.
func TestIcebergBoundedAppend(t *testing.T) {
	l := newIcebergLake(t, `
pipeline "orders" {
`+source("orders", "    bounded {\n      files = 5\n    }\n")+`
  sink "t" {
    format       = "iceberg"
    catalog      = "lake"
    table        = "interop.orders"
    partition_by = ["region", "day(ts)"]
  }
}
`)
	var keys []string
	for _, dt := range []string{"2026-01-01", "2026-01-02", "2026-01-03"} {
		for _, region := range []string{"eu", "us"} {
			for i := 0; i < 2; i++ {
				name := fmt.Sprintf("f%02d.json", i)
				l.addFile("orders", dt, region, name, 5+i)
				keys = append(keys, fmt.Sprintf("orders/dt=%s/region=%s/%s", dt, region, name))
			}
		}
	}
	sort.Strings(keys) // sluice reads inputs in key order
	db, err := duck.Open(2)
	must(t, err)
	defer db.Close()
	key := func(r orderRow) string {
		return fmt.Sprintf("region=%s/ts_day=%d", r.Region, r.TS.UTC().Unix()/86400)
	}
	keySQL := `'region=' || region || '/ts_day=' || CAST(date_diff('day', DATE '1970-01-01', CAST(ts AS DATE)) AS VARCHAR)`
	var runs []string
	for done := 0; done < len(keys); done += 5 {
		r := l.apply()
		runs = append(runs, r["orders"])
		tbl := l.read("interop.orders")
		checkHistory(t, tbl, runs)
		want := l.rowsByPartition(keys[:min(done+5, len(keys))], key)
		sameCounts(t, "manifests", manifestCounts(tbl), want)
		sameCounts(t, "DuckDB", duckCounts(t, db, tbl, keySQL), want)
	}
	if len(runs) < 3 {
		t.Fatalf("only %d runs", len(runs))
	}
	if r := l.apply(); len(r) != 0 {
		t.Fatalf("a run after the backlog drained: %v", r)
	}
	// Every source row exactly once, with its values, as DuckDB reads the
	// source and the table's live files.
	tbl := l.read("interop.orders")
	var paths []string
	for _, f := range tbl.Files {
		paths = append(paths, duck.Quote(f.LocalPath))
	}
	table := fmt.Sprintf("(SELECT id, customer_id, CAST(amount AS DECIMAL(12,2)) AS amount, CAST(ts AS TIMESTAMPTZ) AS ts FROM read_parquet([%s], hive_partitioning=false))", strings.Join(paths, ", "))
	src := fmt.Sprintf("(SELECT id, customer_id, CAST(amount AS DECIMAL(12,2)) AS amount, CAST(ts AS TIMESTAMPTZ) AS ts FROM read_json(%s, columns={id: 'VARCHAR', customer_id: 'BIGINT', amount: 'DECIMAL(12,2)', ts: 'TIMESTAMPTZ'}))",
		duck.Quote(filepath.Join(l.root, "raw", "orders", "**", "*.json")))
	for _, pair := range [][2]string{{src, table}, {table, src}} {
		n, err := duck.ExceptAll(context.Background(), db, pair[0], pair[1])
		must(t, err)
		if n != 0 {
			t.Errorf("%d rows of one side are not in the other", n)
		}
	}
}

// TestIcebergOverwritePartitions: a late file replaces its day in the
// table as one overwrite snapshot; the day's live files are exactly the
// new snapshot's, the other days keep theirs, and the counts are the
// source's, per partition, in the manifests and in DuckDB.
func TestIcebergOverwritePartitions(t *testing.T) {
	l := newIcebergLake(t, `
pipeline "days" {
`+source("days", "")+`
  sink "t" {
    format       = "iceberg"
    catalog      = "lake"
    table        = "interop.days"
    partition_by = ["dt"]
    mode         = "overwrite_partitions"
  }
}
`)
	var keys []string
	for _, dt := range []string{"2026-01-01", "2026-01-02", "2026-01-03"} {
		for _, region := range []string{"eu", "us"} {
			l.addFile("days", dt, region, "a.json", 4)
			keys = append(keys, fmt.Sprintf("days/dt=%s/region=%s/a.json", dt, region))
		}
	}
	db, err := duck.Open(2)
	must(t, err)
	defer db.Close()
	key := func(r orderRow) string { return "dt=" + r.DT }
	keySQL := `'dt=' || dt`
	first := l.apply()["days"]
	tbl := l.read("interop.days")
	checkHistory(t, tbl, []string{first})
	l.addFile("days", "2026-01-02", "us", "late.json", 3)
	keys = append(keys, "days/dt=2026-01-02/region=us/late.json")
	second := l.apply()["days"]
	tbl = l.read("interop.days")
	h := checkHistory(t, tbl, []string{first, second})
	if h[1].Operation != "overwrite" {
		t.Errorf("the late run's snapshot is %q, want overwrite", h[1].Operation)
	}
	for _, f := range tbl.Files {
		day := fmt.Sprint(f.Partition["dt"])
		added := map[bool]string{true: second, false: first}[day == "2026-01-02"]
		if f.SnapshotID != idOf(h, added) {
			t.Errorf("live file %s of %s was added by snapshot %s, want the run %s's", f.Path, day, f.SnapshotID, added)
		}
	}
	want := l.rowsByPartition(keys, key)
	sameCounts(t, "manifests", manifestCounts(tbl), want)
	sameCounts(t, "DuckDB", duckCounts(t, db, tbl, keySQL), want)
}

// TestIcebergOverwrite: mode overwrite replaces the whole table: the live
// files of its snapshot are exactly the ones it added.
func TestIcebergOverwrite(t *testing.T) {
	l := newIcebergLake(t, `
pipeline "all" {
`+source("all", "")+`
  sink "t" {
    format       = "iceberg"
    catalog      = "lake"
    table        = "interop.everything"
    partition_by = ["region"]
    mode         = "overwrite"
  }
}
`)
	var keys []string
	for _, region := range []string{"eu", "us"} {
		l.addFile("all", "2026-01-01", region, "a.json", 6)
		keys = append(keys, fmt.Sprintf("all/dt=2026-01-01/region=%s/a.json", region))
	}
	db, err := duck.Open(2)
	must(t, err)
	defer db.Close()
	first := l.apply()["all"]
	l.addFile("all", "2026-01-02", "eu", "b.json", 2)
	keys = append(keys, "all/dt=2026-01-02/region=eu/b.json")
	second := l.apply()["all"]
	tbl := l.read("interop.everything")
	h := checkHistory(t, tbl, []string{first, second})
	if h[1].Operation != "overwrite" {
		t.Errorf("the second snapshot is %q, want overwrite", h[1].Operation)
	}
	for _, f := range tbl.Files {
		if f.SnapshotID != h[1].ID || f.Status != "ADDED" {
			t.Errorf("live file %s: %s by snapshot %s, want added by the overwrite %s", f.Path, f.Status, f.SnapshotID, h[1].ID)
		}
	}
	want := l.rowsByPartition(keys, func(r orderRow) string { return "region=" + r.Region })
	sameCounts(t, "manifests", manifestCounts(tbl), want)
	sameCounts(t, "DuckDB", duckCounts(t, db, tbl, `'region=' || region`), want)
}

func idOf(h []icebergcheck.Snapshot, run string) string {
	for _, s := range h {
		if s.RunID == run {
			return s.ID
		}
	}
	return ""
}
