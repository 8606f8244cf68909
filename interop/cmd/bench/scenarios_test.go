package main

import (
	"strings"
	"testing"
)

// The DuckDB side of scenario 1 must be the same job as sluice's: the same
// projected columns, the same filter, snappy Parquet partitioned by dt.
func TestCopySQL(t *testing.T) {
	o := options{repo: "/repo", cache: "/cache", runs: 5, threads: 2}
	var sc scenario
	for _, s := range scenarios(o) {
		if s.num == 1 {
			sc = s
		}
	}
	q := copySQL(sc, "/cache/ndjson-2000", "/work/out")
	for _, want := range []string{
		`COPY (SELECT "id", "user_id", "event", "country", "price", "qty", "discount", "is_member", "created_at", "note", "dt" FROM read_json('/cache/ndjson-2000/**/*.json', format='newline_delimited', columns={'id': 'BIGINT', `,
		"hive_partitioning=true) WHERE dt >= DATE '2026-01-04' AND price > 2000.0)",
		"TO '/work/out' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (dt))",
	} {
		if !strings.Contains(q, want) {
			t.Errorf("copy statement lacks %q:\n%s", want, q)
		}
	}
}

func TestScenarioSizes(t *testing.T) {
	def := scenarios(options{repo: "/r", cache: "/c"})
	large := scenarios(options{repo: "/r", cache: "/c", large: true})
	if def[0].data.opts.Files != 2000 || def[0].data.opts.RowsPerFile != 150 {
		t.Errorf("scenario 1 is %+v, want 2,000 files of 150 rows (~50 KB)", def[0].data.opts)
	}
	if def[4].data.opts.Files != 50000 || large[4].data.opts.Files != 500000 {
		t.Errorf("tiny-file scenario sizes: %d and %d", def[4].data.opts.Files, large[4].data.opts.Files)
	}
	if n := len(large[6].planKeys); n != 3 || large[6].planKeys[2] != 1_000_000 {
		t.Errorf("large plan keys = %v, want up to 1M", large[6].planKeys)
	}
	// At most ~1,000 keys per prefix in every data set (DESIGN §5).
	for _, s := range def {
		if o := s.data.opts; o.Files > 0 && o.Files/o.Days > 1000 {
			t.Errorf("%s: %d files per day", s.name, o.Files/o.Days)
		}
	}
}

func TestSelected(t *testing.T) {
	if !selected("", 3) || !selected("1, 3", 3) || selected("1,5", 3) {
		t.Fatal("selected misreads -only")
	}
}

func TestProfileArgs(t *testing.T) {
	dir := t.TempDir()
	o := options{cpuprofile: dir, memprofile: dir}
	got := strings.Join(o.profileArgs("1 ndjson → parquet"), " ")
	want := "-cpuprofile " + dir + "/1-ndjson---parquet.cpu.pprof -memprofile " + dir + "/1-ndjson---parquet.mem.pprof"
	if got != want {
		t.Fatalf("profile args = %q, want %q", got, want)
	}
	if args := (options{}).profileArgs("x"); len(args) != 0 {
		t.Fatalf("no profiling asked, got %v", args)
	}
}

// The new scenarios: nested events keep their structs and lists (DuckDB
// reads them with explicit nested types), and the 200-column tables keep ten.
func TestNestedAndWideScenarios(t *testing.T) {
	o := options{repo: "/repo", cache: "/cache", runs: 5, threads: 2}
	byName := map[string]scenario{}
	for _, s := range scenarios(o) {
		byName[s.name] = s
	}
	ev := byName["7 nested json events"]
	q := copySQL(ev, "/cache/events-200", "/work/out")
	for _, want := range []string{`'payload': 'STRUCT(action VARCHAR`, `commits STRUCT(sha VARCHAR`, `WHERE "type" = 'PushEvent'`, `PARTITION_BY (dt)`} {
		if !strings.Contains(q, want) {
			t.Errorf("events copy lacks %q:\n%s", want, q)
		}
	}
	if ev.selectCols != nil || len(ev.cols) != 9 {
		t.Errorf("events scenario selects %v and compares %d columns, want every column", ev.selectCols, len(ev.cols))
	}
	for _, name := range []string{"8a 200 columns parquet, 10 kept", "8b 200 columns ndjson, 10 kept"} {
		s := byName[name]
		if s.data.many.Columns != 200 || len(s.selectCols) != 11 {
			t.Errorf("%s: %d columns, select %v", name, s.data.many.Columns, s.selectCols)
		}
	}
	large := scenarios(options{repo: "/r", cache: "/c", large: true})
	for _, s := range large {
		if s.name == "3b flights-3m filter+rewrite" && s.data.copies != 10 {
			t.Errorf("large flights: %d copies, want 10", s.data.copies)
		}
	}
}
