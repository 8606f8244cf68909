package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// nestedProjection narrows the struct columns that the plan reads only
// through their fields (payload.user.id in where) to those fields: the
// Scan records the paths (Scan.Fields) and lowering decodes each such
// column with its type pruned to them (pruneType), so the Parquet reader
// fetches only the leaf column chunks of those fields and the JSON reader
// converts only those subtrees.
//
// Why it is safe: a column is narrowed only when no operator reads it
// whole. The Project's and partition_by's columns are read whole (they are
// written out), as is a column that a predicate, check or output
// expression names without a path; every other reader of the column is
// such an expression whose ColumnPaths are all kept. With an output block,
// checks and partition_by read the Project's output, not the source. It runs after projection_pushdown, whose
// column set it does not change, and it would be wrong if a later rule
// added a reader of the column without running it again.
func nestedProjection(rc *RuleContext, n Node) (Node, bool, error) {
	ns := nodesOf(n)
	if ns.scan == nil {
		return n, false, nil
	}
	read := ns.scan.Columns
	if read == nil { // projection_pushdown left every column to read
		for _, c := range ns.scan.Shape.FileColumns {
			read = append(read, c.Name)
		}
	}
	whole := map[string]bool{}
	paths := map[string][]predicate.ColumnPath{}
	use := func(e predicate.Expr) {
		for _, p := range predicate.ColumnPaths(e) {
			if len(p.Path) == 0 {
				whole[p.Name] = true
			} else {
				paths[p.Name] = append(paths[p.Name], p)
			}
		}
	}
	// With an output block, the Project reads the source through its
	// expressions, and checks and partition_by name output columns.
	output := ns.project != nil && ns.project.Output != nil
	switch {
	case output:
		for _, it := range ns.project.Output.Items {
			use(it.Expr)
		}
	case ns.project != nil:
		for _, c := range ns.project.Columns {
			whole[c] = true
		}
	}
	if ns.write != nil && !output {
		for _, c := range ns.write.PartitionBy {
			whole[c] = true
		}
	}
	if ns.filter != nil && ns.filter.Predicate != nil {
		use(ns.filter.Predicate.Root)
	}
	if ns.check != nil && !output {
		for _, ch := range ns.check.Checks {
			if ch.Expr != nil {
				use(ch.Expr.Root)
			}
		}
	}
	var fields []predicate.ColumnPath
	for _, c := range read {
		col, ok := ns.scan.Shape.Column(c)
		if whole[c] || !ok || col.Type.Kind != schema.Struct {
			continue
		}
		fields = append(fields, paths[c]...)
	}
	if len(fields) == 0 {
		return n, false, nil
	}
	slices.SortFunc(fields, func(a, b predicate.ColumnPath) int { return strings.Compare(a.String(), b.String()) })
	fields = slices.CompactFunc(fields, func(a, b predicate.ColumnPath) bool { return a.String() == b.String() })
	return withScan(n, func(s *Scan) (*Scan, bool, error) {
		c := *s
		c.Fields = fields
		rc.fired("nested_projection", "struct fields read: %s", fieldsText(fields))
		return &c, true, nil
	})
}

func fieldsText(fs []predicate.ColumnPath) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.String()
	}
	return strings.Join(parts, ", ")
}

// pruneType keeps, of struct type t, only the fields on paths (each path
// below t; an empty path keeps t whole), in t's order.
func pruneType(t schema.Type, paths [][]string) schema.Type {
	if t.Kind != schema.Struct || len(paths) == 0 {
		return t
	}
	var out schema.Type
	out.Kind = schema.Struct
	for _, f := range t.Fields {
		var sub [][]string
		keep, all := false, false
		for _, p := range paths {
			if len(p) == 0 {
				return t
			}
			if p[0] == f.Name {
				keep = true
				if len(p) == 1 {
					all = true
				}
				sub = append(sub, p[1:])
			}
		}
		if !keep {
			continue
		}
		ft := f.Type
		if !all {
			ft = pruneType(f.Type, sub)
		}
		out.Fields = append(out.Fields, schema.Field{Name: f.Name, Type: ft})
	}
	return out
}

// prunedColumn is c with its type narrowed to the fields of it in fields,
// when there are any.
func prunedColumn(c schema.Column, fields []predicate.ColumnPath) schema.Column {
	var paths [][]string
	for _, f := range fields {
		if f.Name == c.Name {
			paths = append(paths, f.Path)
		}
	}
	if len(paths) > 0 {
		c.Type = pruneType(c.Type, paths)
	}
	return c
}

// nestedDetail shows an output block's flatten and explode on the Project.
func nestedDetail(o *spec.Output) []string {
	var parts []string
	if len(o.Flatten) > 0 {
		parts = append(parts, "flatten "+strings.Join(o.Flatten, ", "))
	}
	for _, it := range o.Items {
		if it.Exploded {
			parts = append(parts, fmt.Sprintf("explode %s (one row per element, %s)", it.Name, it.Column.Type))
		}
	}
	return parts
}
