package exec

import (
	"context"
	"fmt"
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
	mask, err := c.prog.Eval(ctx, b)
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
			examples = append(examples, formatRow(b, i))
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

func (r *runner) checkResults(rowsOut int64) []CheckResult {
	var out []CheckResult
	for _, c := range r.checks {
		res := CheckResult{Name: c.spec.Name, Severity: c.spec.Severity.String(), Passed: true}
		switch {
		case c.prog != nil:
			res.Failing = c.failing
			res.Examples = c.examples
			if c.failing > 0 {
				res.Passed = false
				res.Message = fmt.Sprintf("%d of %d output rows fail %s", c.failing, rowsOut, c.spec.Expr.Source)
			} else {
				res.Message = fmt.Sprintf("all %d output rows satisfy %s", rowsOut, c.spec.Expr.Source)
			}
		case c.spec.MinRows >= 0:
			if rowsOut < c.spec.MinRows {
				res.Passed = false
				res.Message = fmt.Sprintf("%d output rows, expected at least %d", rowsOut, c.spec.MinRows)
			} else {
				res.Message = fmt.Sprintf("%d output rows (at least %d)", rowsOut, c.spec.MinRows)
			}
		}
		out = append(out, res)
	}
	return out
}
