package duck

import (
	"fmt"
	"strings"
)

// structOf renders cols as DuckDB's columns={name: 'TYPE', ...} argument.
func structOf(cols []Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("%s: %s", Quote(c.Name), Quote(c.SQLType))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// ReadJSON is a read_json call over newline-delimited JSON files matching
// glob, with explicit column types (no detection, so both engines are held
// to the declared schema) and hive partition columns from the path.
func ReadJSON(glob string, cols []Column) string {
	return fmt.Sprintf("read_json(%s, format='newline_delimited', columns=%s, hive_partitioning=true)", Quote(glob), structOf(cols))
}

// ReadCSV is a read_csv call over CSV files (compression by extension)
// with a header row, explicit column types, an empty field as null, and
// hive partition columns from the path.
func ReadCSV(glob string, cols []Column) string {
	return fmt.Sprintf("read_csv(%s, header=true, columns=%s, nullstr='', hive_partitioning=true)", Quote(glob), structOf(cols))
}

// ReadParquet is a read_parquet call over files matching glob with hive
// partition columns from the path. DuckDB skips nothing by name, so callers
// pass a glob that excludes sluice's own _sluice/ objects (they are not
// Parquet), e.g. "out/**/*.parquet".
func ReadParquet(glob string) string {
	return fmt.Sprintf("read_parquet(%s, hive_partitioning=true)", Quote(glob))
}
