package exec

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/sluicedata/sluice/exec/eval"
)

type checkState struct {
	spec     CheckSpec
	prog     *eval.Program
	mu       sync.Mutex
	failing  int64
	examples []string
}

// observe evaluates an expression check on one output batch.
func (c *checkState) observe(ctx context.Context, b arrow.RecordBatch) error {
	if c.prog == nil {
		return nil
	}
	// A row on which a cast or parse without try_ failed does not pass:
	// its value is null, and its example says why.
	mask, rowErrs, err := c.prog.EvalRows(ctx, b)
	if err != nil {
		return fmt.Errorf("check %s: %w", c.spec.Name, err)
	}
	defer mask.Release()
	var failing int64
	var examples []string
	for i := 0; i < mask.Len(); i++ {
		if mask.IsValid(i) && mask.Value(i) {
			continue
		}
		failing++
		if len(examples) < maxCheckExamples {
			ex := formatRow(b, i)
			if j := sort.Search(len(rowErrs), func(j int) bool { return rowErrs[j].Row >= i }); j < len(rowErrs) && rowErrs[j].Row == i {
				ex += " (" + rowErrs[j].Msg + ")"
			}
			examples = append(examples, ex)
		}
	}
	if failing == 0 {
		return nil
	}
	c.mu.Lock()
	c.failing += failing
	for _, e := range examples {
		if len(c.examples) < maxCheckExamples {
			c.examples = append(c.examples, e)
		}
	}
	c.mu.Unlock()
	return nil
}

// formatRow renders row i as {col: value, ...} for messages.
func formatRow(b arrow.RecordBatch, i int) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for j, f := range b.Schema().Fields() {
		if j > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(f.Name)
		sb.WriteString(": ")
		col := b.Column(j)
		if col.IsNull(i) {
			sb.WriteString("null")
			continue
		}
		v := col.ValueStr(i)
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		sb.WriteString(v)
	}
	sb.WriteByte('}')
	return sb.String()
}

// newChecks returns fresh per-task states of the run's checks (sharing
// their compiled programs, which are safe for concurrent use).
func (r *runner) newChecks() []*checkState {
	out := make([]*checkState, len(r.checks))
	for i, c := range r.checks {
		out[i] = &checkState{spec: c.spec, prog: c.prog}
	}
	return out
}

// taskChecks is what a task's checks observed, for its TaskResult.
func taskChecks(cs []*checkState) []TaskCheck {
	var out []TaskCheck
	for _, c := range cs {
		c.mu.Lock()
		out = append(out, TaskCheck{Name: c.spec.Name, Failing: c.failing, Examples: c.examples})
		c.mu.Unlock()
	}
	return out
}

// checkResults decides each check of job over the whole run: the failing
// rows and examples of every task, added up in task order (so the outcome
// and the examples shown never depend on which task finished first), and
// min_rows against the run's output rows.
func checkResults(job *Job, results []TaskResult, rowsOut int64) []CheckResult {
	var out []CheckResult
	for i, spec := range job.Checks {
		res := CheckResult{Name: spec.Name, Severity: spec.Severity.String(), Passed: true}
		switch {
		case spec.Expr != nil:
			for _, tr := range results {
				if i >= len(tr.Checks) || tr.Checks[i].Name != spec.Name {
					continue // a record without this check observed no row of it
				}
				tc := tr.Checks[i]
				res.Failing += tc.Failing
				for _, e := range tc.Examples {
					if len(res.Examples) < maxCheckExamples {
						res.Examples = append(res.Examples, e)
					}
				}
			}
			if res.Failing > 0 {
				res.Passed = false
				res.Message = fmt.Sprintf("%d of %d output rows fail %s", res.Failing, rowsOut, spec.Expr.Source)
			} else {
				res.Message = fmt.Sprintf("all %d output rows satisfy %s", rowsOut, spec.Expr.Source)
			}
		case spec.MinRows >= 0:
			if rowsOut < spec.MinRows {
				res.Passed = false
				res.Message = fmt.Sprintf("%d output rows, expected at least %d", rowsOut, spec.MinRows)
			} else {
				res.Message = fmt.Sprintf("%d output rows (at least %d)", rowsOut, spec.MinRows)
			}
		}
		out = append(out, res)
	}
	return out
}
