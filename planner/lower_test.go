package planner

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// optimizeWith plans the fixture's pipeline with the optimizer's rules
// followed by extra, and lowers the result.
func optimizeWith(t *testing.T, f *fixture, extra ...Rule) (Node, *PipelinePlan) {
	t.Helper()
	p := f.pipeline()
	rc := &RuleContext{Ctx: context.Background(), Pipeline: p, Store: objstore.NewLocal(f.srcDir)}
	root, err := Optimize(rc, logicalPlan(p, ""), append(Rules(), extra...))
	if err != nil {
		t.Fatal(err)
	}
	pp, err := lower(p.Name, root)
	if err != nil {
		t.Fatal(err)
	}
	return root, pp
}

// rewriteRule replaces every node fn rewrites (fn returns nil to leave a
// node alone).
func rewriteRule(fn func(Node) Node) Rule {
	return Rule{Name: "rewrite_for_test", Apply: func(_ *RuleContext, n Node) (Node, bool, error) {
		return Transform(n, func(x Node) (Node, bool, error) {
			if y := fn(x); y != nil {
				return y, true, nil
			}
			return x, false, nil
		})
	}}
}

// The executor runs what lowering reads from the optimized tree, not the
// configuration: a rule that rewrites the Filter's predicate, the
// Project's columns or the Scan's tasks changes the physical plan, and a
// rule that removes the Filter leaves no residual predicate.
func TestLoweringReadsTheOptimizedTree(t *testing.T) {
	f := newFixture(t, goldenTree, func(p *spec.Pipeline) {
		p.Source.Where = compileWhere(t, "dt >= '2026-01-01' && amount > 10", ordersSchema, p.Source.Partitions)
	})
	_, plain := optimizeWith(t, f)
	if plain.Where != "dt >= '2026-01-01' && amount > 10" {
		t.Fatalf("without a rewrite, where = %q", plain.Where)
	}

	rewritten := compileWhere(t, "amount > 20", ordersSchema, f.pipeline().Source.Partitions)
	root, pp := optimizeWith(t, f, rewriteRule(func(n Node) Node {
		switch x := n.(type) {
		case *Filter:
			c := *x
			c.Predicate = rewritten
			return &c
		case *Project:
			c := *x
			c.Columns = []string{"order_id", "dt"}
			return &c
		case *Scan:
			c := *x
			c.Tasks = []Task{{ID: 0, Inputs: []int32{0}, Bytes: 1}}
			return &c
		}
		return nil
	}))
	if pp.Where != "amount > 20" {
		t.Errorf("where = %q, want the rewritten Filter's", pp.Where)
	}
	var names []string
	for _, c := range pp.OutputSchema {
		names = append(names, c.Name+":"+c.Type.String())
	}
	// dt is a partition key typed by the same-named column of the schema.
	if got := strings.Join(names, ","); got != "order_id:string,dt:date" {
		t.Errorf("output schema = %s, want the rewritten Project's columns", got)
	}
	if !reflect.DeepEqual(pp.Tasks, FindScan(root).Tasks) || len(pp.Tasks) != 1 || pp.Tasks[0].Bytes != 1 {
		t.Errorf("tasks = %+v, want the Scan's", pp.Tasks)
	}

	_, pp = optimizeWith(t, f, rewriteRule(func(n Node) Node {
		if x, ok := n.(*Project); ok {
			if _, isFilter := x.Input.(*Filter); isFilter {
				return x.WithChildren(x.Input.Children()[0])
			}
		}
		return nil
	}))
	if pp.Where != "" {
		t.Errorf("with the Filter removed, where = %q", pp.Where)
	}
}

// The partition types, file columns and output columns of a plan come from
// the source's shape, and the plan gives the same shape back to the
// executor.
func TestLoweringShapeRoundTrip(t *testing.T) {
	f := newFixture(t, goldenTree, func(p *spec.Pipeline) {
		p.Source.Select = []string{"order_id", "amount", "dt", "region"}
	})
	root, pp := optimizeWith(t, f)
	want := FindScan(root).Shape
	if got := pp.Source.PartitionTypes; !reflect.DeepEqual(got, []schema.Type{schema.DateType, schema.StringType}) {
		t.Errorf("partition types = %v", got)
	}
	got := pp.Shape()
	if !reflect.DeepEqual(got.Partitions, want.Partitions) || !reflect.DeepEqual(got.OutputNames, want.OutputNames) {
		t.Errorf("plan's shape %+v, planned %+v", got, want)
	}
	// The plan decodes only the columns it needs (projection pushdown):
	// a subset of the shape's file columns, in their order.
	var cols []string
	for _, c := range got.FileColumns {
		cols = append(cols, c.Name)
	}
	if strings.Join(cols, ",") != "order_id,amount" {
		t.Errorf("file columns = %v", cols)
	}
	if !reflect.DeepEqual(pp.OutputSchema, want.Output()) {
		t.Errorf("output schema %v, shape's %v", pp.OutputSchema, want.Output())
	}
}
