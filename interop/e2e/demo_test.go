package e2e

import (
	"path/filepath"
	"testing"

	"github.com/sluicedata/sluice/internal/lakegen"
)

// The example pipelines (pipelines/, what make demo runs) drain the demo
// lake, and DuckDB finds in the clicks output no 'NULL' string where the
// CSV meant a null: its quoted "NULL" referrers are null (null_values
// match quoted fields too, as DuckDB reads them), and the output holds the
// rows DuckDB reads from the raw CSV with the same filter.
func TestDemoPipelinesNullsAreNull(t *testing.T) {
	root := repoRoot(t)
	lake := t.TempDir()
	if _, err := lakegen.Demo(lake); err != nil {
		t.Fatal(err)
	}
	// The catalog file is a variable of its own (a SQLite file is always
	// local, the lake need not be): without it the run would register its
	// table in the repository's demo-lake/catalog.db.
	vars := []string{"-var", "lake=" + lake, "-var", "catalog_file=" + filepath.Join(lake, "catalog.db")}
	for run := 1; ; run++ {
		out, code := runSluice(t, nil, append([]string{"apply", "-auto-approve", filepath.Join(root, "pipelines")}, vars...)...)
		if code != 0 {
			t.Fatalf("apply run %d: exit %d\n%s", run, code, out)
		}
		if saidNothingToDo(out) {
			break
		}
		if run > 10 {
			t.Fatal("the demo backlog did not drain in 10 runs")
		}
	}
	db := openDuck(t)
	clicks := filepath.Join(lake, "curated", "clicks", "**", "*.parquet")
	var nullText, nulls, rows int64
	if err := db.QueryRow(`SELECT count(*) FILTER (WHERE referrer = 'NULL'), count(*) FILTER (WHERE referrer IS NULL), count(*)
		FROM read_parquet('`+clicks+`')`).Scan(&nullText, &nulls, &rows); err != nil {
		t.Fatal(err)
	}
	if nullText != 0 || nulls == 0 {
		t.Fatalf("clicks output: %d 'NULL' strings and %d nulls in %d rows; want no 'NULL' string", nullText, nulls, rows)
	}
	var want int64
	raw := filepath.Join(lake, "raw", "clicks", "*", "*.csv.gz")
	if err := db.QueryRow(`SELECT count(*) FROM read_csv('` + raw + `', header=true, nullstr=['', 'NULL'])
		WHERE NOT is_bot AND duration_ms >= 0`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if rows != want {
		t.Fatalf("clicks output holds %d rows, DuckDB reads %d from the raw CSV", rows, want)
	}
}
