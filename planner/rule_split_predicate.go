package planner

import (
	"github.com/sluicedata/sluice/spec/predicate"
)

// splitPredicate copies the conjuncts of the Filter's predicate (the
// source's where, unless a rule rewrote it) to the Scan, classified:
// partition-only conjuncts (decidable on a listing prefix) and statistics
// conjuncts (decidable, conservatively, on a row group's min/max/null
// count). The Filter keeps the whole predicate.
//
// Why it is safe: a conjunct of an AND must hold for every kept row, so a
// container (prefix, row group) on which one conjunct is false for every
// row holds no kept row. Classification only enables such proofs; it
// removes nothing from the residual Filter, so rows are still filtered
// exactly (a prefix whose value did not parse, or a NULL partition, is
// kept as unknown and filtered per row). It would be wrong to drop the
// partition conjuncts from the Filter when pruning can return unknown.
func splitPredicate(rc *RuleContext, n Node) (Node, bool, error) {
	f := nodesOf(n).filter
	if f == nil || f.Predicate == nil || len(f.Predicate.Conjuncts) == 0 {
		return n, false, nil
	}
	where := f.Predicate
	return withScan(n, func(s *Scan) (*Scan, bool, error) {
		c := *s
		c.PartitionConjuncts, c.StatsConjuncts = nil, nil
		for _, cj := range where.Conjuncts {
			switch {
			case cj.PartitionOnly:
				c.PartitionConjuncts = append(c.PartitionConjuncts, cj)
			case statsUsable(cj.Expr):
				c.StatsConjuncts = append(c.StatsConjuncts, cj)
			}
		}
		rc.fired("split_predicate", "%d partition and %d statistics conjuncts of %d (the row filter keeps all)",
			len(c.PartitionConjuncts), len(c.StatsConjuncts), len(where.Conjuncts))
		return &c, true, nil
	})
}

// statsUsable reports whether statsEval can ever prove e false: a
// comparison of a column with a literal, IN, IS [NOT] NULL, or AND/OR of
// those. Anything else (arithmetic, functions, column vs column) is left
// to the row filter.
func statsUsable(e predicate.Expr) bool {
	switch x := e.(type) {
	case *predicate.Compare:
		_, _, ok := colLit(x)
		return ok
	case *predicate.In:
		_, ok := unwrapCol(x.X)
		return ok && !x.Negated
	case *predicate.IsNull:
		_, ok := unwrapCol(x.X)
		return ok
	case *predicate.And:
		for _, a := range x.Args {
			if statsUsable(a) {
				return true
			}
		}
	case *predicate.Or:
		for _, a := range x.Args {
			if !statsUsable(a) {
				return false
			}
		}
		return len(x.Args) > 0
	}
	return false
}
