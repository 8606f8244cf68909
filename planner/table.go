package planner

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
	"github.com/sluicedata/sluice/tables"
)

// TablePlan is the table an iceberg sink commits to: what apply needs to
// open it again (the catalog's settings, never its secrets) and what plan
// saw of it (through package tables, which opens a sql catalog read-only
// for plan). apply checks the table again when it prepares it, under the
// pipeline's lock: what plan saw is for people.
type TablePlan struct {
	Catalog      tables.CatalogConfig  `json:"catalog"`
	Table        string                `json:"table"`
	Partitioning []spec.PartitionField `json:"partitioning,omitempty"`
	// Inspected: plan read the table (false when planned without catalog
	// access; the rest is then unknown).
	Inspected  bool   `json:"inspected"`
	Exists     bool   `json:"exists"`
	Location   string `json:"location,omitempty"`
	SnapshotID int64  `json:"snapshot_id,omitempty"`
	Snapshots  int    `json:"snapshots,omitempty"`
	// AddColumns are the columns apply adds to the table, SkipColumns the
	// output columns it does not write (on_schema_change = "ignore").
	AddColumns  []string `json:"add_columns,omitempty"`
	SkipColumns []string `json:"skip_columns,omitempty"`
}

// Want is what the pipeline writes into the table, for lake.
func (p *PipelinePlan) Want() tables.Want {
	return tables.Want{Table: p.Table.Table, Columns: p.OutputSchema, Partitioning: p.Table.Partitioning, OnSchemaChange: p.Source.OnSchemaChange}
}

// planTable describes the iceberg sink's table and, with an inspector,
// reads it: whether it exists, its current snapshot, the schema change the
// run makes. A table the output cannot be written into as configured (a
// changed type, another partitioning) fails the plan.
func planTable(ctx context.Context, cfg *spec.Config, p *spec.Pipeline, pp *PipelinePlan, opener *tables.Opener) error {
	c := cfg.Catalog(p.Sink.Catalog)
	if c == nil {
		return fmt.Errorf("sink %s: no catalog %q", p.Sink.Name, p.Sink.Catalog)
	}
	recorded, _ := tables.ConfigOf(c)
	pp.Table = &TablePlan{Catalog: recorded, Table: p.Sink.Table, Partitioning: p.Sink.Partitioning}
	if recorded.Experimental() {
		pp.Summary.Warnings = append(pp.Summary.Warnings, fmt.Sprintf("catalog %s is a %s catalog, which is experimental: it has not been tested end to end against a real server", c.Name, c.Type))
	}
	if !isRemote(cfg.State.URL) && isRemote(c.Warehouse) {
		pp.Summary.Warnings = append(pp.Summary.Warnings, fmt.Sprintf("state is local (%s) but the table's warehouse is remote (%s): runs from another machine will not see these bookmarks", cfg.State.URL, c.Warehouse))
	}
	for _, col := range pp.OutputSchema {
		if hasNanos(col.Type) {
			pp.Summary.Warnings = append(pp.Summary.Warnings, fmt.Sprintf("column %s is %s; Iceberg tables (format version 2) store microseconds, so its sub-microsecond digits are dropped", col.Name, col.Type))
		}
	}
	if opener == nil {
		return nil
	}
	in, err := opener.Inspect(ctx, recorded, pp.Want())
	if err != nil {
		return fmt.Errorf("sink %s: %w", p.Sink.Name, err)
	}
	t := pp.Table
	t.Inspected, t.Exists, t.Location, t.SnapshotID, t.Snapshots = true, in.Exists, in.Location, in.SnapshotID, in.Snapshots
	for _, col := range in.Change.Add {
		t.AddColumns = append(t.AddColumns, col.Name+" "+col.Type.String())
	}
	t.SkipColumns = in.Change.Skip
	return nil
}

func hasNanos(t schema.Type) bool {
	switch t.Kind {
	case schema.Timestamp:
		return t.Unit == schema.Nanosecond
	case schema.List:
		return t.Elem != nil && hasNanos(*t.Elem)
	case schema.Map:
		return t.Key != nil && hasNanos(*t.Key) || t.Elem != nil && hasNanos(*t.Elem)
	case schema.Struct:
		for _, f := range t.Fields {
			if hasNanos(f.Type) {
				return true
			}
		}
	}
	return false
}

// Describe is the table line of plan: its name, whether apply creates it,
// its current snapshot and the schema change.
func (t *TablePlan) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s in catalog %s (%s)", t.Table, t.Catalog.Name, t.Catalog.Type)
	switch {
	case !t.Inspected:
		b.WriteString(", not inspected")
		return b.String()
	case !t.Exists:
		b.WriteString(", will be created")
		if t.Location != "" {
			b.WriteString(" at " + t.Location)
		}
	case t.SnapshotID == 0:
		b.WriteString(", exists, no snapshot yet")
	default:
		fmt.Fprintf(&b, ", current snapshot %d (%s)", t.SnapshotID, plural(int64(t.Snapshots), "snapshot"))
	}
	var ch []string
	for _, c := range t.AddColumns {
		ch = append(ch, "add column "+c)
	}
	for _, c := range t.SkipColumns {
		ch = append(ch, "column "+c+" not written (on_schema_change = \"ignore\")")
	}
	if len(ch) == 0 {
		ch = []string{"none"}
	}
	b.WriteString("; schema change: " + strings.Join(ch, ", "))
	return b.String()
}
