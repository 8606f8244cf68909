package exec

import (
	"context"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/exec/arrowtype"
	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/exec/eval"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
)

// Provenance columns. With an output block or a dedupe, every decoded row
// carries where it came from, through the coalescer and the filter, as two
// hidden int64 columns after the partition columns: the input (its plan
// index × 65,536 + its part, for a Parquet file split between tasks) and
// the row's position among the rows that input handed on (from 0). They
// name the object and row of a failed cast (a bad record), and give the
// total input order that dedupe breaks ties with, whatever the packing of
// inputs into tasks. They are never written.
const (
	provInput = "__sluice_input"
	provRow   = "__sluice_row"
	maxParts  = 1 << 16
)

func provenanceFields() []arrow.Field {
	return []arrow.Field{
		{Name: provInput, Type: arrow.PrimitiveTypes.Int64},
		{Name: provRow, Type: arrow.PrimitiveTypes.Int64},
	}
}

// inputCode is an input's provenance code.
func inputCode(in Input) int64 { return int64(in.Seq)*maxParts + int64(in.Part) }

// provRun is a run of consecutive rows from one input.
type provRun struct {
	code  int64
	first int64 // the position of the run's first row in its input
	rows  int64
}

// withProvenance returns b with the provenance columns of runs (which
// cover b's rows in order) appended; b is not consumed.
func withProvenance(alloc memory.Allocator, b arrow.RecordBatch, runs []provRun) arrow.RecordBatch {
	n := int(b.NumRows())
	ib, rb := array.NewInt64Builder(alloc), array.NewInt64Builder(alloc)
	defer ib.Release()
	defer rb.Release()
	ib.Reserve(n)
	rb.Reserve(n)
	for _, r := range runs {
		for i := int64(0); i < r.rows; i++ {
			ib.UnsafeAppend(r.code)
			rb.UnsafeAppend(r.first + i)
		}
	}
	ia, ra := ib.NewArray(), rb.NewArray()
	defer ia.Release()
	defer ra.Release()
	cols := append(append([]arrow.Array(nil), b.Columns()...), ia, ra)
	fields := append(append([]arrow.Field(nil), b.Schema().Fields()...), provenanceFields()...)
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
}

// provenance tracks the rows a task hands on per input, for
// withProvenance.
type provenance struct {
	next map[int64]int64 // code → rows handed on so far
}

// take returns the run of the next rows rows of in.
func (p *provenance) take(in Input, rows int64) provRun {
	if p.next == nil {
		p.next = map[int64]int64{}
	}
	c := inputCode(in)
	first := p.next[c]
	p.next[c] = first + rows
	return provRun{code: c, first: first, rows: rows}
}

// splitRuns cuts the first n rows off runs.
func splitRuns(runs []provRun, n int64) (head, tail []provRun) {
	for len(runs) > 0 && n > 0 {
		r := runs[0]
		if r.rows <= n {
			head = append(head, r)
			n -= r.rows
			runs = runs[1:]
			continue
		}
		head = append(head, provRun{code: r.code, first: r.first, rows: n})
		runs[0] = provRun{code: r.code, first: r.first + n, rows: r.rows - n}
		n = 0
	}
	return head, runs
}

// projection computes the output columns from a filtered batch.
type projection struct {
	cols []projCol
	// out is the schema of the batches it returns: the output columns,
	// then (for dedupe) the provenance columns.
	out  *arrow.Schema
	prov []int // the provenance columns in the input batch; nil: none
}

type projCol struct {
	name  string
	field arrow.Field
	pass  int         // the input column it passes through unchanged, or -1
	val   *eval.Value // else its compiled expression
	reads []string    // the input columns val reads
}

// newProjection compiles the output columns against in (the filtered
// batches' schema). Without an output block the output columns are input
// columns, by name.
func newProjection(job *Job, in *arrow.Schema, keepProv bool) (*projection, error) {
	p := &projection{}
	var fields []arrow.Field
	if job.Output == nil {
		for _, name := range job.Sink.Columns {
			idx := in.FieldIndices(name)
			if len(idx) == 0 {
				return nil, fmt.Errorf("output column %q is neither decoded nor a partition key", name)
			}
			f := in.Field(idx[0])
			p.cols = append(p.cols, projCol{name: name, field: f, pass: idx[0]})
			fields = append(fields, f)
		}
	} else {
		for _, o := range job.Output {
			f := arrow.Field{Name: o.Name, Type: arrowtype.ToArrow(o.Type), Nullable: true}
			c := projCol{name: o.Name, field: f, pass: -1}
			if ref, ok := o.Expr.(*predicate.ColumnRef); ok {
				if idx := in.FieldIndices(ref.Name); len(idx) > 0 && arrow.TypeEqual(in.Field(idx[0]).Type, f.Type) {
					c.pass = idx[0]
					f.Nullable = in.Field(idx[0]).Nullable
					c.field = f
				}
			}
			if c.pass < 0 {
				v, err := eval.CompileValue(o.Expr, in)
				if err != nil {
					return nil, fmt.Errorf("output column %s: %w", o.Name, err)
				}
				c.val = v
				c.reads = refColumns(o.Expr)
			}
			p.cols = append(p.cols, c)
			fields = append(fields, f)
		}
	}
	if keepProv {
		for _, name := range []string{provInput, provRow} {
			idx := in.FieldIndices(name)
			if len(idx) == 0 {
				return nil, fmt.Errorf("internal: no provenance column %s", name)
			}
			p.prov = append(p.prov, idx[0])
			fields = append(fields, in.Field(idx[0]))
		}
	}
	p.out = arrow.NewSchema(fields, nil)
	return p, nil
}

// exprColumns are the input columns the derived output columns read.
func (p *projection) exprColumns() []string {
	var out []string
	for _, c := range p.cols {
		out = append(out, c.reads...)
	}
	return out
}

// badRow is one row whose cast failed, with the first column that did.
type badRow struct {
	column, msg string
}

// apply projects b. Rows whose non-try cast or parse failed are bad
// records: onBad (on_bad_record) decides, given the object and row that
// key names (from the provenance columns); skipped rows are left out. b is
// not consumed.
func (p *projection) apply(ctx context.Context, b arrow.RecordBatch, where func(row int) (key string, pos int64), onBad func(decode.BadRecord) error) (arrow.RecordBatch, error) {
	n := b.NumRows()
	cols := make([]arrow.Array, 0, len(p.out.Fields()))
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	var bad map[int]badRow
	for _, c := range p.cols {
		if c.pass >= 0 {
			// Dictionary columns are made plain now that only the rows
			// kept remain (late materialisation; decode.Options.Dictionaries).
			col, err := decode.Dense(compute.GetAllocator(ctx), b.Column(c.pass))
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", c.name, err)
			}
			cols = append(cols, col)
			continue
		}
		arr, rowErrs, err := c.val.Eval(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("output column %s: %w", c.name, err)
		}
		if !arrow.TypeEqual(arr.DataType(), c.field.Type) {
			// The evaluator's type for a value of the column's type (a
			// dictionary-decoded key, a widened literal): same values.
			cast, err := compute.CastArray(ctx, arr, compute.SafeCastOptions(c.field.Type))
			arr.Release()
			if err != nil {
				return nil, fmt.Errorf("output column %s: %w", c.name, err)
			}
			arr = cast
		}
		cols = append(cols, arr)
		for _, re := range rowErrs {
			if bad == nil {
				bad = map[int]badRow{}
			}
			if _, ok := bad[re.Row]; !ok {
				bad[re.Row] = badRow{column: c.name, msg: re.Msg}
			}
		}
	}
	for _, idx := range p.prov {
		col := b.Column(idx)
		col.Retain()
		cols = append(cols, col)
	}
	out := array.NewRecordBatch(p.out, cols, n)
	if len(bad) == 0 {
		return out, nil
	}
	defer out.Release()
	rows := make([]int, 0, len(bad))
	for r := range bad {
		rows = append(rows, r)
	}
	sort.Ints(rows)
	keep := make([]bool, n)
	for i := range keep {
		keep[i] = true
	}
	for _, r := range rows {
		keep[r] = false
		key, pos := where(r)
		br := bad[r]
		if err := onBad(decode.BadRecord{Key: key, Row: pos + 1, Column: br.column, Reason: br.msg}); err != nil {
			return nil, fmt.Errorf("on_bad_record = %q: %w", spec.BadRecordFail, err)
		}
	}
	mb := array.NewBooleanBuilder(compute.GetAllocator(ctx))
	defer mb.Release()
	mb.AppendValues(keep, nil)
	mask := mb.NewBooleanArray()
	defer mask.Release()
	return compute.FilterRecordBatch(ctx, out, mask, compute.DefaultFilterOptions())
}

// refColumns are the columns an expression reads.
func refColumns(e predicate.Expr) []string {
	var out []string
	if ref, ok := e.(*predicate.ColumnRef); ok {
		out = append(out, ref.Name)
	}
	for _, c := range predicate.Children(e) {
		out = append(out, refColumns(c)...)
	}
	return out
}
