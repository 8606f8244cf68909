package planner

import (
	"testing"

	"github.com/sluicedata/sluice/spec/schema"
)

// A column stored in the file with another type than the declared one (here
// timestamps in ns, declared in ms) must not be pruned on: its statistics
// are in the file's unit while literals are in the declared one.
func TestTrustStatsDropsMismatchedTypes(t *testing.T) {
	declared := &schema.Schema{Columns: []schema.Column{
		{Name: "ts", Type: schema.TimestampOf(schema.Millisecond, "")},
		{Name: "n", Type: schema.Type{Kind: schema.Int64}},
	}}
	f := Footer{
		Columns: []schema.Column{
			{Name: "ts", Type: schema.TimestampOf(schema.Nanosecond, "")},
			{Name: "n", Type: schema.Type{Kind: schema.Int64}},
		},
		RowGroups: []RowGroupStats{{Rows: 1, Columns: []ColumnStats{
			{Name: "ts", HasMinMax: true, Min: int64(1), Max: int64(2)},
			{Name: "n", HasMinMax: true, Min: int64(1), Max: int64(2)},
		}}},
	}
	trustStats(&f, declared)
	cols := f.RowGroups[0].Columns
	if len(cols) != 1 || cols[0].Name != "n" {
		t.Fatalf("kept statistics %+v, want only n", cols)
	}
}
