package duck

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// Open starts an in-memory DuckDB using at most threads threads (0: DuckDB's
// default, all cores). Extensions are neither installed nor loaded
// automatically; DuckDB's built-in Parquet, JSON and CSV readers need none.
func Open(threads int) (*sql.DB, error) {
	dsn := "?autoinstall_known_extensions=false&autoload_known_extensions=false"
	if threads > 0 {
		dsn += "&threads=" + strconv.Itoa(threads)
	}
	c, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, fmt.Errorf("duckdb: open: %w", err)
	}
	db := sql.OpenDB(c)
	// One connection: an in-memory database is per connector, and settings
	// made with SET must apply to every later statement.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("SET TimeZone = 'UTC'"); err != nil {
		// Without the ICU extension DuckDB works in UTC already; the
		// setting only exists when ICU is built in.
		if !strings.Contains(err.Error(), "TimeZone") && !strings.Contains(err.Error(), "ICU") {
			db.Close()
			return nil, fmt.Errorf("duckdb: set time zone: %w", err)
		}
	}
	return db, nil
}

// Quote returns s as an SQL string literal.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Ident returns s as a quoted SQL identifier.
func Ident(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// Column is one column of a compared relation: a name and the DuckDB type
// both sides are cast to, so that a decimal written by one engine and a
// double read by the other compare by value.
type Column struct {
	Name    string
	SQLType string
}

// numeric reports whether the column's sum is a meaningful checksum.
func (c Column) numeric() bool {
	t := strings.ToUpper(c.SQLType)
	for _, p := range []string{"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "FLOAT", "REAL", "DECIMAL"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// float reports whether the column is floating-point.
func (c Column) float() bool {
	t := strings.ToUpper(c.SQLType)
	return strings.HasPrefix(t, "DOUBLE") || strings.HasPrefix(t, "FLOAT") || strings.HasPrefix(t, "REAL")
}

// Select wraps a relation (a table function call, a table name or a
// parenthesised query) in a SELECT of cols cast to their types, in order,
// with an optional WHERE condition in SQL.
func Select(from string, cols []Column, where string) string {
	var sb strings.Builder
	sb.WriteString("(SELECT ")
	for i, c := range cols {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "CAST(%s AS %s) AS %s", Ident(c.Name), c.SQLType, Ident(c.Name))
	}
	sb.WriteString(" FROM ")
	sb.WriteString(from)
	if where != "" {
		sb.WriteString(" WHERE ")
		sb.WriteString(where)
	}
	sb.WriteString(")")
	return sb.String()
}

// Summary is what Compare checks first: cheap aggregates whose mismatch
// explains itself better than a list of differing rows.
type Summary struct {
	Rows          int64
	Sums          map[string]string  // integer and decimal column -> exact sum, rendered by DuckDB
	FloatSums     map[string]float64 // floating-point column -> sum
	PartitionRows map[string]int64   // partition value (rendered) -> rows; nil without a partition column
}

// Summarize computes the Summary of rel (a relation as Select returns).
// partition names the column to count rows by ("" for none).
func Summarize(ctx context.Context, db *sql.DB, rel string, cols []Column, partition string) (Summary, error) {
	s := Summary{Sums: map[string]string{}, FloatSums: map[string]float64{}}
	exprs := []string{"count(*)"}
	var numeric []Column
	for _, c := range cols {
		if c.numeric() {
			numeric = append(numeric, c)
			// Integer and decimal sums are exact and compared as text;
			// floating-point sums depend on summation order, so they are
			// compared with a relative tolerance (Compare).
			if c.float() {
				exprs = append(exprs, fmt.Sprintf("coalesce(sum(%s), 0)::DOUBLE", Ident(c.Name)))
			} else {
				exprs = append(exprs, fmt.Sprintf("coalesce(CAST(sum(%s) AS VARCHAR), 'null')", Ident(c.Name)))
			}
		}
	}
	q := "SELECT " + strings.Join(exprs, ", ") + " FROM " + rel + " AS t"
	dest := make([]any, len(exprs))
	dest[0] = &s.Rows
	vals := make([]string, len(numeric))
	fvals := make([]float64, len(numeric))
	for i, c := range numeric {
		if c.float() {
			dest[i+1] = &fvals[i]
		} else {
			dest[i+1] = &vals[i]
		}
	}
	if err := db.QueryRowContext(ctx, q).Scan(dest...); err != nil {
		return s, fmt.Errorf("duckdb: summarize: %w\n%s", err, q)
	}
	for i, c := range numeric {
		if c.float() {
			s.FloatSums[c.Name] = fvals[i]
		} else {
			s.Sums[c.Name] = vals[i]
		}
	}
	if partition == "" {
		return s, nil
	}
	s.PartitionRows = map[string]int64{}
	q = fmt.Sprintf("SELECT coalesce(CAST(%[1]s AS VARCHAR), 'NULL'), count(*) FROM %[2]s AS t GROUP BY 1", Ident(partition), rel)
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return s, fmt.Errorf("duckdb: partition counts: %w\n%s", err, q)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return s, err
		}
		s.PartitionRows[k] = n
	}
	return s, rows.Err()
}

// ExceptAll counts the rows of a that b lacks, as a multiset (a row present
// twice in a and once in b counts once).
func ExceptAll(ctx context.Context, db *sql.DB, a, b string) (int64, error) {
	var n int64
	q := fmt.Sprintf("SELECT count(*) FROM (SELECT * FROM %s AS a EXCEPT ALL SELECT * FROM %s AS b)", a, b)
	if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("duckdb: except all: %w\n%s", err, q)
	}
	return n, nil
}

// maxPartitionDiffs bounds the partitions a Compare error lists.
const maxPartitionDiffs = 10

// Compare checks that relations expected and actual (both from Select with
// the same cols) hold the same rows: count, sums of numeric columns,
// per-partition counts and the full multiset, EXCEPT ALL both ways. It
// returns the expected Summary, and an error listing every difference.
func Compare(ctx context.Context, db *sql.DB, expected, actual string, cols []Column, partition string) (Summary, error) {
	want, err := Summarize(ctx, db, expected, cols, partition)
	if err != nil {
		return want, fmt.Errorf("expected side: %w", err)
	}
	got, err := Summarize(ctx, db, actual, cols, partition)
	if err != nil {
		return want, fmt.Errorf("actual side: %w", err)
	}
	var diffs []string
	if got.Rows != want.Rows {
		diffs = append(diffs, fmt.Sprintf("rows: got %d, want %d", got.Rows, want.Rows))
	}
	for _, c := range cols {
		if w, ok := want.Sums[c.Name]; ok && got.Sums[c.Name] != w {
			diffs = append(diffs, fmt.Sprintf("sum(%s): got %s, want %s", c.Name, got.Sums[c.Name], w))
		}
		if w, ok := want.FloatSums[c.Name]; ok && !closeEnough(got.FloatSums[c.Name], w) {
			diffs = append(diffs, fmt.Sprintf("sum(%s): got %.17g, want %.17g", c.Name, got.FloatSums[c.Name], w))
		}
	}
	var parts []string
	for k, w := range want.PartitionRows {
		if g := got.PartitionRows[k]; g != w {
			parts = append(parts, fmt.Sprintf("rows in %s=%s: got %d, want %d", partition, k, g, w))
		}
	}
	for k, g := range got.PartitionRows {
		if _, ok := want.PartitionRows[k]; !ok {
			parts = append(parts, fmt.Sprintf("rows in %s=%s: got %d, want none", partition, k, g))
		}
	}
	sort.Strings(parts)
	if len(parts) > maxPartitionDiffs {
		parts = append(parts[:maxPartitionDiffs], fmt.Sprintf("... and %d more partitions differ", len(parts)-maxPartitionDiffs))
	}
	diffs = append(diffs, parts...)
	missing, err := ExceptAll(ctx, db, expected, actual)
	if err != nil {
		return want, err
	}
	extra, err := ExceptAll(ctx, db, actual, expected)
	if err != nil {
		return want, err
	}
	if missing != 0 {
		diffs = append(diffs, fmt.Sprintf("%d expected rows missing from the output", missing))
	}
	if extra != 0 {
		diffs = append(diffs, fmt.Sprintf("%d output rows not expected", extra))
	}
	if len(diffs) > 0 {
		return want, errors.New("relations differ:\n  " + strings.Join(diffs, "\n  "))
	}
	return want, nil
}

// closeEnough compares floating-point sums: 1e-9 relative covers any
// summation order over millions of rows, far below a missing or changed row.
func closeEnough(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}
