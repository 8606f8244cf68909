package planner

import (
	"slices"
)

// projectionPushdown sets the columns the Scan decodes: the columns the
// Project keeps, the columns the Filter's predicate and the checks read,
// and the sink's partition_by columns, minus the source's hive partition
// keys (their values come from the object path, not the file).
//
// Why it is safe: no operator above the Scan reads any other column:
// Filter reads the predicate's columns, Check the checks', Project the
// selection, Write the selection and partition_by. It would be wrong if a
// later rule added an operator reading more columns without rerunning it.
func projectionPushdown(rc *RuleContext, n Node) (Node, bool, error) {
	ns := nodesOf(n)
	src := rc.Pipeline.Source
	if src.Select == nil && src.Schema == nil {
		// No schema and no select: every column of the files (known from
		// the footers only), so nothing to push down.
		return n, false, nil
	}
	need := map[string]bool{}
	if ns.project != nil {
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
	if ns.check != nil {
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
	if ns.write != nil {
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
