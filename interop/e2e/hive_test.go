package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/interop/duck"
	"github.com/sluicedata/sluice/interop/sluicecfg"
)

// TestPercentInPartitionValues: hive values with a '%' that is not an
// escape (dt=50%off, as a person or a tool that does not escape writes it)
// and with a proper escape (dt=50%25off, as DuckDB and Spark write the
// value 50%off) are both read as the value 50%off, and written back escaped
// the one way Hive, Spark and DuckDB read (dt=50%25off). DuckDB writes the
// second input itself, so the test holds sluice to what DuckDB writes as
// well as to what it reads. A later run has nothing to do.
func TestPercentInPartitionValues(t *testing.T) {
	sluiceBin(t)
	root := t.TempDir()
	raw := filepath.Join(root, "raw")
	write := func(rel, body string) {
		t.Helper()
		p := filepath.Join(raw, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dt=50%off/a.json", `{"id":"a1","n":1}`+"\n"+`{"id":"a2","n":2}`+"\n")
	write("dt=%zz/c.json", `{"id":"c1","n":4}`+"\n")
	write("dt=2026-01-01/d.json", `{"id":"d1","n":5}`+"\n")

	db := openDuck(t)
	// DuckDB's own hive writer names the directory of the value 50%off;
	// the second input goes there.
	byDuck := filepath.Join(root, "byduck")
	if _, err := db.Exec(fmt.Sprintf(`COPY (SELECT 3 AS n, '50%%off' AS dt) TO %s (FORMAT csv, PARTITION_BY (dt))`, duck.Quote(byDuck))); err != nil {
		t.Fatal(err)
	}
	dirs, err := os.ReadDir(byDuck)
	if err != nil || len(dirs) != 1 {
		t.Fatalf("DuckDB wrote %v (%v), want one partition directory", dirs, err)
	}
	if dirs[0].Name() != "dt=50%25off" {
		t.Fatalf("DuckDB names the partition %q, want dt=50%%25off", dirs[0].Name())
	}
	write(dirs[0].Name()+"/b.json", `{"id":"b1","n":3}`+"\n")

	schemaFile := filepath.Join(root, "events.hcl")
	if err := os.WriteFile(schemaFile, []byte(`schema "events" {
  column "id" { type = "string" }
  column "n" { type = "int64" }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "out")
	cfg := sluicecfg.Pipeline{
		StateURL: filepath.Join(root, "state"), SourceURL: raw + "/", Format: "json",
		SchemaFile: schemaFile, Partitions: []string{"dt"}, SinkURL: out + "/", PartitionBy: []string{"dt"},
	}
	text, err := cfg.Render()
	if err != nil {
		t.Fatal(err)
	}
	// The bug this guards against failed the whole run even when bad
	// records are skipped: skip must not be what makes it pass, but it
	// is the policy under which a failure would be least excusable.
	text = strings.Replace(text, `format = "json"`, `format = "json"`+"\n    on_bad_record = \"skip\"", 1)
	conf := filepath.Join(root, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "main.hcl"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("apply:\n%s", apply(t, nil, conf))

	// The output directories: each value escaped once, with Hive's rule.
	checkOutputFiles(t, out)
	var got []string
	ents, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		// _sluice/ and the local store's .sluice-uploads/ are sluice's own.
		if e.IsDir() && !strings.HasPrefix(e.Name(), "_") && !strings.HasPrefix(e.Name(), ".") {
			got = append(got, e.Name())
		}
	}
	sort.Strings(got)
	if want := []string{"dt=%25zz", "dt=2026-01-01", "dt=50%25off"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("output partitions = %q, want %q", got, want)
	}

	// DuckDB reads the values back unescaped.
	rows, err := db.Query(fmt.Sprintf("SELECT id, n, dt FROM %s ORDER BY id", duck.ReadParquet(filepath.Join(out, "**", "*.parquet"))))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, dt string
		var n int64
		if err := rows.Scan(&id, &n, &dt); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%s %d %s", id, n, dt))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"a1 1 50%off", "a2 2 50%off", "b1 3 50%off", "c1 4 %zz", "d1 5 2026-01-01"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("DuckDB reads\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// The inputs were marked processed: a second run has nothing to do.
	if again := apply(t, nil, conf); !saidNothingToDo(again) {
		t.Errorf("second apply did work:\n%s", again)
	}
}
