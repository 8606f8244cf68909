package planner

import (
	"slices"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// withOutput gives the fixture's pipeline an output block (compiled as
// spec.Load compiles it), a dedupe and a partition_by over a derived column.
func withOutput(t *testing.T) func(*spec.Pipeline) {
	return func(p *spec.Pipeline) {
		p.Source.Where = compileWhere(t, "dt >= '2026-01-01'", ordersSchema, p.Source.Partitions)
		o := &spec.Output{Rest: spec.RestDrop, Columns: []*spec.OutputColumn{
			{Name: "id", ExprText: "order_id"},
			{Name: "region"},
			{Name: "amount_x2", ExprText: "amount * 2"},
			{Name: "customer", ExprText: "customer_id", Declared: schema.Float64Type},
			{Name: "day", ExprText: "dt"},
		}}
		co, diags := spec.CompileOutput(o, p.Source.Shape())
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		p.Output = co
		p.Dedupe = &spec.Dedupe{Key: []string{"id"}, OrderBy: "amount_x2", Keep: spec.KeepLast}
		p.Sink.PartitionBy = []string{"day"}
	}
}

func TestGoldenOutput(t *testing.T) {
	f := newFixture(t, goldenTree, withOutput(t))
	p := buildPlan(t, f)
	pp := p.Pipelines[0]
	// Decoded: what where and the output expressions read; note is not
	// read, and dt and region come from the path.
	var files []string
	for _, c := range pp.FileSchema {
		files = append(files, c.Name)
	}
	if got := strings.Join(files, ","); got != "order_id,customer_id,amount" {
		t.Errorf("file schema %s", got)
	}
	var outs []string
	for _, c := range pp.OutputSchema {
		outs = append(outs, c.Name+":"+c.Type.String())
	}
	if got, want := strings.Join(outs, ","), "id:string,region:string,amount_x2:float64,customer:float64,day:date"; got != want {
		t.Errorf("output schema\n got %s\nwant %s", got, want)
	}
	if !slices.Equal(pp.OutputExprs, []string{"order_id", "region", "amount * 2", "customer_id", "dt"}) {
		t.Errorf("output exprs %q", pp.OutputExprs)
	}
	if pp.Dedupe == nil || pp.Dedupe.Keep != spec.KeepLast || pp.Dedupe.OrderBy != "amount_x2" {
		t.Errorf("dedupe %+v", pp.Dedupe)
	}
	// Partition pruning on the source key still fires.
	if pp.Summary.Pruned.Partitions == 0 {
		t.Errorf("no partition pruned: %+v", pp.Summary)
	}
	renderBoth(t, f, "output", p)
}
