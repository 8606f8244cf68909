package planner

import (
	"slices"

	"github.com/sluicedata/sluice/spec/predicate"
)

// projectionPushdown sets the columns the Scan decodes: the columns the
// Project keeps, the columns the Filter's predicate and the checks read,
// and the sink's partition_by columns, minus the source's hive partition
// keys (their values come from the object path, not the file). With an
// output block, the Project reads exactly the source columns its
// expressions name, and the checks, partition_by and dedupe name output
// columns, which the Project computes: they add nothing.
//
// Why it is safe: no operator above the Scan reads any other column:
// Filter reads the predicate's columns, Check the checks', Project the
// selection (or its expressions' columns), Write the selection and
// partition_by. It would be wrong if a later rule added an operator
// reading more columns without rerunning it.
func projectionPushdown(rc *RuleContext, n Node) (Node, bool, error) {
	ns := nodesOf(n)
	src := rc.Pipeline.Source
	output := ns.project != nil && ns.project.Output != nil
	if src.Select == nil && src.Schema == nil && !(output && ns.project.Output.Items != nil) {
		// No schema and no select: every column of the files (known from
		// the footers only), so nothing to push down.
		return n, false, nil
	}
	need := map[string]bool{}
	switch {
	case output:
		for _, it := range ns.project.Output.Items {
			for _, c := range exprColumns(it.Expr) {
				need[c] = true
			}
		}
	case ns.project != nil:
		for _, c := range ns.project.Columns {
			need[c] = true
		}
	}
	if ns.filter != nil && ns.filter.Predicate != nil {
		for _, cj := range ns.filter.Predicate.Conjuncts {
			for _, c := range cj.Columns {
				need[c] = true
			}
		}
	}
	if ns.check != nil && !output {
		for _, ch := range ns.check.Checks {
			if ch.Expr != nil {
				for _, cj := range ch.Expr.Conjuncts {
					for _, c := range cj.Columns {
						need[c] = true
					}
				}
			}
		}
	}
	if ns.write != nil && !output {
		for _, c := range ns.write.PartitionBy {
			need[c] = true
		}
	}
	for _, k := range src.Partitions {
		delete(need, k)
	}
	var cols []string
	total := 0
	if src.Schema != nil {
		total = len(src.Schema.Columns)
		for _, c := range src.Schema.Columns {
			if need[c.Name] {
				cols = append(cols, c.Name)
				delete(need, c.Name)
			}
		}
	}
	for c := range need {
		cols = append(cols, c) // not declared: parquet, schema from footers
	}
	slices.Sort(cols[len(cols)-len(need):])
	return withScan(n, func(s *Scan) (*Scan, bool, error) {
		c := *s
		c.Columns = cols
		if cols == nil {
			c.Columns = []string{}
		}
		c.AllColumns = total
		rc.fired("projection_pushdown", "columns read %d of %d", len(cols), total)
		return &c, total == 0 || len(cols) < total, nil
	})
}

// exprColumns are the source columns an expression reads.
func exprColumns(e predicate.Expr) []string {
	var out []string
	var walk func(predicate.Expr)
	walk = func(e predicate.Expr) {
		if ref, ok := e.(*predicate.ColumnRef); ok {
			out = append(out, ref.Name)
		}
		for _, c := range predicate.Children(e) {
			walk(c)
		}
	}
	walk(e)
	return out
}
