package planner

import (
	"sync"

	"github.com/sluicedata/sluice/spec/schema"
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
						if rc.Ctx.Err() != nil {
							res[k].err = err
						}
						// An unreadable footer keeps the whole file: the
						// executor meets the same error and applies
						// on_bad_record to it, with the key in the message.
						return
					}
					trustStats(&f, rc.Pipeline.Source.Schema)
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
				if r.total == 0 && r.kept == nil {
					continue // footer unreadable: kept whole, counted nowhere
				}
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

// trustStats drops the statistics of columns whose type in the file is not
// the declared one: min/max are in the file's representation (a timestamp
// in the file's unit, say), while predicate literals are converted to the
// declared type, so comparing the two could prune a row group wrongly.
func trustStats(f *Footer, declared *schema.Schema) {
	if declared == nil {
		return // the schema was taken from the footers themselves
	}
	fileType := make(map[string]schema.Type, len(f.Columns))
	for _, c := range f.Columns {
		fileType[c.Name] = c.Type
	}
	for g := range f.RowGroups {
		cols := f.RowGroups[g].Columns[:0:0]
		for _, cs := range f.RowGroups[g].Columns {
			want, ok := declared.Column(cs.Name)
			if got, inFile := fileType[cs.Name]; ok && inFile && got.Equal(want.Type) {
				cols = append(cols, cs)
			}
		}
		f.RowGroups[g].Columns = cols
	}
}
