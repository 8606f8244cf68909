package planner

import (
	"github.com/sluicedata/sluice/spec/predicate"
)

// tri is the planner's view of a three-valued result: only "definitely
// false" ever prunes; unknown keeps, so pruning is conservative.
type tri int

const (
	triUnknown tri = iota
	triTrue
	triFalse
)

// evalOnPartition evaluates a partition-only conjunct with the partition
// keys known so far (row reports false for keys not yet known).
func evalOnPartition(e predicate.Expr, row func(name string) (any, bool)) tri {
	switch predicate.EvalBool(e, row) {
	case predicate.True:
		return triTrue
	case predicate.False:
		return triFalse
	default:
		return triUnknown
	}
}
