package predicate_test

import (
	"fmt"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

func ExampleCompile() {
	env := predicate.Env{
		Columns: []schema.Column{
			{Name: "amount", Type: schema.MustParseType("decimal(12, 2)")},
			{Name: "dt", Type: schema.DateType},
		},
		Partitions: []string{"dt", "region"},
	}
	p, errs := predicate.Compile("dt >= '2026-01-01' && region in ['eu', 'us'] && amount > 0", env)
	if errs != nil {
		fmt.Println(errs)
		return
	}
	for _, c := range p.Conjuncts {
		fmt.Println(c.Expr, c.Columns, c.PartitionOnly)
	}

	_, errs = predicate.Compile("amount > 0 && regoin == 'eu'", env)
	for _, e := range errs {
		fmt.Printf("%d-%d %s. %s\n", e.Span.Start, e.Span.End, e.Summary, e.Detail)
	}
	// Output:
	// dt >= '2026-01-01' [dt] true
	// region in ['eu', 'us'] [region] true
	// amount > '0.00' [amount] false
	// 14-20 unknown column "regoin". Did you mean "region"?
}

func ExampleEvalBool() {
	p, _ := predicate.Compile("qty > 2 || note == nil", predicate.Env{Columns: []schema.Column{
		{Name: "qty", Type: schema.Int64Type}, {Name: "note", Type: schema.StringType},
	}})
	row := map[string]any{"qty": nil, "note": "x"}
	fmt.Println(predicate.EvalBool(p.Root, func(name string) (any, bool) {
		v, ok := row[name]
		return v, ok
	}))
	// Output: unknown
}
