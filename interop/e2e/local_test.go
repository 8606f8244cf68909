package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/internal/lakegen"
	"github.com/sluicedata/sluice/interop/duck"
)

// formatCase is one input format: the data set, the pipeline's filter in
// the pipeline language and the same filter in DuckDB SQL, and the output
// partitioning.
type formatCase struct {
	name        string
	format      lakegen.WideFormat
	compression string
	withSchema  bool // Parquet may leave the schema to the footers
	where       string
	sqlWhere    string
	partitionBy []string
}

var formatCases = []formatCase{
	{
		name: "json", format: lakegen.WideJSON, withSchema: true,
		where:       "dt >= '2026-01-02' && price > 2500.0 && event != 'refund'",
		sqlWhere:    "dt >= DATE '2026-01-02' AND price > 2500.0 AND event <> 'refund'",
		partitionBy: []string{"dt"},
	},
	{
		name: "csv", format: lakegen.WideCSVGzip, compression: "gzip", withSchema: true,
		where:       "dt != '2026-01-01' && country in ['DE', 'FR', 'US'] && discount != nil && qty >= 5",
		sqlWhere:    "dt <> DATE '2026-01-01' AND country IN ('DE', 'FR', 'US') AND discount IS NOT NULL AND qty >= 5",
		partitionBy: []string{"dt", "event"},
	},
	{
		name: "parquet", format: lakegen.WideParquet,
		where:       "dt <= '2026-01-02' && qty >= 10 && note startsWith 'quick'",
		sqlWhere:    "dt <= DATE '2026-01-02' AND qty >= 10 AND starts_with(note, 'quick')",
		partitionBy: []string{"country"},
	},
	{
		// The function library in a where, against DuckDB's spelling of
		// each function.
		name: "json-functions", format: lakegen.WideJSON, withSchema: true,
		where: "hour(created_at) >= 6 && coalesce(discount, 0.0) < 40.0 && upper(trim(concat(' ', event, ' '))) != 'REFUND' && " +
			"(is_member ? qty : rating) > 1 && tag matches '^(alpha|beta|gamma|delta|eta)$'",
		sqlWhere: "hour(created_at) >= 6 AND coalesce(discount, 0.0) < 40.0 AND upper(trim(concat(' ', event, ' '))) <> 'REFUND' AND " +
			"(CASE WHEN is_member THEN qty ELSE rating END) > 1 AND regexp_matches(tag, '^(alpha|beta|gamma|delta|eta)$')",
		partitionBy: []string{"dt"},
	},
	{
		name: "csv-functions", format: lakegen.WideCSVGzip, compression: "gzip", withSchema: true,
		where: "try_int(substring(session, 3, 2)) != nil && split_part(coalesce(note, 'x y'), ' ', 2) != 'fox' && " +
			"date_diff(timestamp('2026-01-01'), created_at, 'hour') >= 3 && string(qty) != '7' && year(trunc(created_at, 'month')) == 2026",
		sqlWhere: "TRY_CAST(substring(session, 3, 2) AS BIGINT) IS NOT NULL AND split_part(coalesce(note, 'x y'), ' ', 2) <> 'fox' AND " +
			"date_diff('hour', TIMESTAMP '2026-01-01', created_at) >= 3 AND CAST(qty AS VARCHAR) <> '7' AND year(date_trunc('month', created_at)) = 2026",
		partitionBy: []string{"dt"},
	},
	{
		// The same with a declared schema instead of the footers'.
		name: "parquet-schema", format: lakegen.WideParquet, withSchema: true,
		where:       "dt > '2026-01-01' && (is_member || rating == 5) && lat < 0.0",
		sqlWhere:    "dt > DATE '2026-01-01' AND (is_member OR rating = 5) AND lat < 0.0",
		partitionBy: []string{"dt"},
	},
}

// selected is half of the data set's columns plus the partition key.
var selected = []string{"id", "user_id", "event", "country", "price", "qty", "discount", "is_member", "created_at", "note", "dt"}

// selectedCols are the selected columns with the types both sides are
// compared in; dt is a date (DuckDB types the hive value, sluice keeps the
// partition key a string).
func selectedCols() []duck.Column {
	types := map[string]string{"dt": "DATE"}
	for _, c := range lakegen.WideColumns {
		types[c.Name] = c.SQLType
	}
	cols := make([]duck.Column, len(selected))
	for i, n := range selected {
		cols[i] = duck.Column{Name: n, SQLType: types[n]}
	}
	return cols
}

func rawCols() []duck.Column {
	cols := make([]duck.Column, len(lakegen.WideColumns))
	for i, c := range lakegen.WideColumns {
		cols[i] = duck.Column{Name: c.Name, SQLType: c.SQLType}
	}
	return cols
}

// rawRelation is DuckDB's reading of the raw inputs under dir.
func rawRelation(f lakegen.WideFormat, dir string) string {
	glob := filepath.Join(dir, "**", "*"+f.Ext())
	switch f {
	case lakegen.WideJSON:
		return duck.ReadJSON(glob, rawCols())
	case lakegen.WideCSVGzip:
		return duck.ReadCSV(glob, rawCols())
	}
	return duck.ReadParquet(glob)
}

// fixture is a generated data set and a configuration over it, all in one
// temp dir: raw/, schemas/, conf/, state/, out/.
type fixture struct {
	root, raw, conf, out string
	cfg                  pipelineConfig
}

func newFixture(t *testing.T, c formatCase, files int) fixture {
	t.Helper()
	root := t.TempDir()
	fx := fixture{root: root, raw: filepath.Join(root, "raw"), conf: filepath.Join(root, "conf"), out: filepath.Join(root, "out")}
	if _, err := lakegen.Wide(fx.raw, lakegen.WideOptions{Format: c.format, Files: files, Days: 3, RowsPerFile: 150, Seed: 42}); err != nil {
		t.Fatal(err)
	}
	fx.cfg = pipelineConfig{
		StateURL:    filepath.Join(root, "state"),
		SourceURL:   fx.raw + "/",
		Format:      c.format.String(),
		Compression: c.compression,
		Partitions:  []string{"dt"},
		Where:       c.where,
		Select:      selected,
		SinkURL:     fx.out + "/",
		PartitionBy: c.partitionBy,
	}
	if c.withSchema {
		schema := filepath.Join(root, "schemas", "events.hcl")
		if err := os.MkdirAll(filepath.Dir(schema), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(schema, []byte(lakegen.WideSchemaHCL("events")), 0o644); err != nil {
			t.Fatal(err)
		}
		fx.cfg.SchemaFile = schema
	}
	writeConfig(t, fx.cfg, fx.conf)
	return fx
}

// TestFormats runs one pipeline per input format and has DuckDB compare
// the output with the filter applied to the raw files; a second apply must
// then do nothing and leave the output untouched.
func TestFormats(t *testing.T) {
	sluiceBin(t)
	for _, c := range formatCases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, c, 12)
			db := openDuck(t)
			apply(t, nil, fx.conf)
			expected := duck.Select(rawRelation(c.format, fx.raw), selectedCols(), c.sqlWhere)
			rows := compareOutput(t, db, expected, fx.out, selectedCols(), c.partitionBy[0])
			t.Logf("%s: %d rows match", c.name, rows)

			before := snapshot(t, fx.out)
			out := apply(t, nil, fx.conf)
			if !saidNothingToDo(out) {
				t.Errorf("second apply did not say \"nothing to do\":\n%s", out)
			}
			if after := snapshot(t, fx.out); after != before {
				t.Errorf("second apply changed the output:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// TestBoundedDrain drains a backlog four files per run and checks it ends
// where one unbounded run ends: same rows, and the expected number of runs.
func TestBoundedDrain(t *testing.T) {
	sluiceBin(t)
	c := formatCases[0]
	const files, perRun = 10, 4
	bounded := newFixture(t, c, files)
	bounded.cfg.BoundedFiles = perRun
	writeConfig(t, bounded.cfg, bounded.conf)
	whole := newFixture(t, c, files)

	apply(t, nil, whole.conf)
	runs := 0
	for i := 0; i < files+2; i++ {
		out := apply(t, nil, bounded.conf)
		if saidNothingToDo(out) {
			break
		}
		runs++
	}
	// The filter prunes dt=2026-01-01 at listing time; bounds count the
	// files that survive pruning.
	surviving := strings.Count(snapshot(t, bounded.raw), "\n") + 1 - strings.Count(snapshot(t, bounded.raw), "dt=2026-01-01/")
	if want := (surviving + perRun - 1) / perRun; runs != want {
		t.Fatalf("the backlog drained in %d runs, want %d (bounded to %d of %d surviving files)", runs, want, perRun, surviving)
	}
	if out, code := runSluice(t, nil, "plan", "-detailed-exitcode", bounded.conf); code != 0 {
		t.Errorf("plan -detailed-exitcode after draining: exit %d, want 0 (nothing to do)\n%s", code, out)
	}
	db := openDuck(t)
	cols := selectedCols()
	expected := duck.Select(rawRelation(c.format, bounded.raw), cols, c.sqlWhere)
	compareOutput(t, db, expected, bounded.out, cols, "dt")
	unbounded := duck.Select(duck.ReadParquet(filepath.Join(whole.out, "**", "*.parquet")), cols, "")
	compareOutput(t, db, unbounded, bounded.out, cols, "dt")
	if n := strings.Count(snapshot(t, filepath.Join(bounded.out, "_sluice", "commits")), ".manifest"); n != runs {
		t.Errorf("%d commit manifests after %d runs", n, runs)
	}
}
