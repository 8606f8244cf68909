package planner

import (
	"sync"
)

// footerConcurrency bounds the footer reads in flight: each is a ranged GET
// whose latency, not bandwidth, dominates.
const footerConcurrency = 16

// rowGroupPruning reads the footer of every chosen Parquet input and keeps
// the row groups on which no statistics conjunct is provably false.
//
// Why it is safe: statsEval answers false only when min/max/null count
// prove that no row of the group satisfies the conjunct (SQL semantics:
// a comparison with null is unknown and unknown rows are dropped anyway),
// and a row group without statistics is unknown and kept. An input whose
// every group is pruned is kept with no row groups rather than dropped,
// because it must still be recorded as processed when the run commits.
// It would be unsafe with statistics written by a buggy writer (e.g. the
// old parquet-mr signed/unsigned min/max of binary columns); the
// FooterReader must drop statistics it cannot trust.
func rowGroupPruning(rc *RuleContext, n Node) (Node, bool, error) {
	if rc.Footers == nil || rc.Pipeline.Source.Format.String() != "parquet" {
		return n, false, nil
	}
	return withScan(n, func(s *Scan) (*Scan, bool, error) {
		if len(s.StatsConjuncts) == 0 || s.Selection == nil || s.Selection.Inputs.Len() == 0 {
			return s, false, nil
		}
		c := *s
		in := s.Selection.Inputs
		type result struct {
			kept        []int // nil: all kept
			total, rows int64
			err         error
		}
		var kept, total, rows int64
		pruned := map[int][]int{}
		// Windows of inputs keep the per-input results bounded in memory.
		const window = 256
		for base := 0; base < in.Len(); base += window {
			res := make([]result, min(window, in.Len()-base))
			sem := make(chan struct{}, footerConcurrency)
			var wg sync.WaitGroup
			for k := range res {
				i := base + k
				key, size := rc.Prefix+in.Rel(i), in.Size(i)
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done() }()
					f, err := rc.Footers.ReadFooter(rc.Ctx, rc.Store, key, size)
					if err != nil {
						res[k].err = err
						return
					}
					var rgs []int
					for g := range f.RowGroups {
						keep := true
						for _, cj := range s.StatsConjuncts {
							if statsEval(cj.Expr, &f.RowGroups[g]) == triFalse {
								keep = false
								break
							}
						}
						if keep {
							rgs = append(rgs, g)
							res[k].rows += f.RowGroups[g].Rows
						}
					}
					res[k].total = int64(len(f.RowGroups))
					if len(rgs) < len(f.RowGroups) { // else all kept: nothing stored
						if rgs == nil {
							rgs = []int{}
						}
						res[k].kept = rgs
					}
				}()
			}
			wg.Wait()
			for k, r := range res {
				if r.err != nil {
					return nil, false, r.err
				}
				total += r.total
				rows += r.rows
				if r.kept != nil {
					pruned[base+k] = r.kept
					kept += int64(len(r.kept))
				} else {
					kept += r.total
				}
			}
		}
		c.RowGroups = pruned
		c.RowGroupsKept, c.RowGroupsTotal = kept, total
		c.Est.Rows = rows
		rc.fired("row_group_pruning", "row groups kept %d of %d", kept, total)
		return &c, kept < total, nil
	})
}
