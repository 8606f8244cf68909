package planner

import (
	"context"
	"fmt"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// Rule is one logical rewrite. Apply returns the (new) tree and whether it
// changed anything; it never edits the tree it was given.
type Rule struct {
	Name  string
	Apply func(rc *RuleContext, n Node) (Node, bool, error)
	// Data marks a rule that consults the listing, the bookmarks or the
	// footers: it chooses the inputs, their row groups or the tasks, never
	// a setting that lowering reads (sources, sinks, schemas, where,
	// checks). Expect runs only the other rules.
	Data bool
}

// Rules is the optimizer, in the order the rules run. Order matters:
// predicates must be split before projection (which reads their columns)
// and before pruning; selection needs the pruned listing; row-group
// pruning needs the chosen inputs; packing needs the final sizes.
func Rules() []Rule {
	return []Rule{
		{Name: "split_predicate", Apply: splitPredicate},
		{Name: "projection_pushdown", Apply: projectionPushdown},
		{Name: "nested_projection", Apply: nestedProjection},
		{Name: "partition_pruning", Apply: partitionPruning},
		{Name: "bounded_selection", Apply: boundedSelection, Data: true},
		{Name: "row_group_pruning", Apply: rowGroupPruning, Data: true},
		{Name: "task_packing", Apply: taskPacking, Data: true},
	}
}

// RuleContext is what rules may consult: the pipeline, its source store,
// the bookmarks and the footer reader. Rules record what they did in Trace.
type RuleContext struct {
	Ctx       context.Context
	Pipeline  *spec.Pipeline
	Store     objstore.Store // the source's store
	Prefix    string         // the source's prefix in Store ("" or ending in "/")
	Processed func() (ProcessedIterator, error)
	Footers   FooterReader // nil: no row-group pruning
	OpenCost  int64        // bytes charged per file when packing; 0: DefaultOpenCost
	PageSize  int
	// OnListed reports listing progress (pipeline, files listed so far).
	OnListed func(pipeline string, files int64)
	Trace    []Fired
}

// Fired records one rule that changed the plan.
type Fired struct {
	Rule   string `json:"rule"`
	Detail string `json:"detail"`
}

func (rc *RuleContext) fired(rule, format string, args ...any) {
	rc.Trace = append(rc.Trace, Fired{Rule: rule, Detail: fmt.Sprintf(format, args...)})
}

// Optimize applies rules in order, each once, recording which fired.
func Optimize(rc *RuleContext, n Node, rules []Rule) (Node, error) {
	for _, r := range rules {
		out, _, err := r.Apply(rc, n)
		if err != nil {
			return nil, err
		}
		n = out
	}
	return n, nil
}

// withScan applies fn to the plan's Scan, rebuilding the path above it.
func withScan(n Node, fn func(*Scan) (*Scan, bool, error)) (Node, bool, error) {
	return Transform(n, func(x Node) (Node, bool, error) {
		s, ok := x.(*Scan)
		if !ok {
			return x, false, nil
		}
		r, changed, err := fn(s)
		if err != nil || !changed {
			return x, false, err
		}
		return r, true, nil
	})
}
