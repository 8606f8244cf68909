package planner

import (
	"testing"

	"github.com/sluicedata/sluice/spec/predicate"
)

// TestFunctionsAreNotPushedBlindly holds the planner's pushdown to
// predicates built from the function library: a function of a column does
// not follow the column's min/max (the string '9' sorts after '10', the
// number before), so such a conjunct must never be
// classified for statistics nor prove a row group empty; on partition
// values it is evaluated with the reference semantics, and a cast that
// fails there keeps the prefix rather than pruning it.
func TestFunctionsAreNotPushedBlindly(t *testing.T) {
	rg := &RowGroupStats{Rows: 100, Columns: []ColumnStats{
		{Name: "amount", HasMinMax: true, Min: 10.0, Max: 20.0, HasNullCount: true, NullCount: 0},
		{Name: "order_id", HasMinMax: true, Min: "o-100", Max: "o-199", HasNullCount: true, NullCount: 0},
	}}
	for _, src := range []string{
		"int(amount) > 30",                        // Cast(Apply) over a column
		"float(order_id) > 1e9",                   // the string's order is not the number's
		"coalesce(amount, 100.0) > 50",            // a null row would pass
		"(amount > 0 ? amount : 100.0) > 50",      // ?:
		"trim(order_id) == 'x'",                   // a string function
		"order_id matches '^x'",                   // a regex
		"substring(order_id, 1, 1) < 'a'",         // would be false by min/max of order_id itself
		"amount == nil || int(order_id) == 1",     // one usable, one not: OR is not usable
		"try_int(order_id) == nil && amount > 30", // AND: the usable conjunct alone decides
	} {
		p := compileWhere(t, src, ordersSchema, nil)
		got := statsEval(p.Root, rg)
		want := triUnknown
		if src == "try_int(order_id) == nil && amount > 30" {
			want = triFalse // amount > 30 alone proves it
		}
		if got != want {
			t.Errorf("statsEval(%s) = %v, want %v", src, got, want)
		}
		for _, cj := range p.Conjuncts {
			if statsUsable(cj.Expr) && hasFunction(cj.Expr) {
				if _, isAnd := cj.Expr.(*predicate.And); !isAnd {
					t.Errorf("%s: conjunct %s with a function classified for statistics", src, cj.Expr)
				}
			}
		}
	}

	// Partition conjuncts with functions: decided where the reference can,
	// kept where a cast fails or a key is not known yet.
	row := func(vals map[string]any) func(string) (any, bool) {
		return func(n string) (any, bool) { v, ok := vals[n]; return v, ok }
	}
	dt2025 := int32(20089) // 2025-01-01
	cases := []struct {
		src  string
		row  map[string]any
		want tri
	}{
		{"year(dt) == 2026", map[string]any{"dt": dt2025}, triFalse},
		{"year(dt) == 2025", map[string]any{"dt": dt2025}, triTrue},
		{"int(region) > 3", map[string]any{"region": "eu"}, triUnknown}, // a failed cast prunes nothing
		{"try_int(region) > 3", map[string]any{"region": "eu"}, triUnknown},
		{"upper(region) == 'EU'", map[string]any{"region": "us"}, triFalse},
		{"year(dt) == 2026", map[string]any{}, triUnknown}, // dt not listed yet
	}
	for _, c := range cases {
		p := compileWhere(t, c.src, ordersSchema, []string{"dt", "region"})
		if len(p.Conjuncts) != 1 || !p.Conjuncts[0].PartitionOnly {
			t.Fatalf("%s: conjuncts %+v", c.src, p.Conjuncts)
		}
		if got := evalOnPartition(p.Conjuncts[0].Expr, row(c.row)); got != c.want {
			t.Errorf("evalOnPartition(%s, %v) = %v, want %v", c.src, c.row, got, c.want)
		}
	}
}

func hasFunction(e predicate.Expr) bool {
	switch e.(type) {
	case *predicate.Apply, *predicate.Cond, *predicate.Coalesce, *predicate.Call:
		return true
	}
	for _, c := range predicate.Children(e) {
		if hasFunction(c) {
			return true
		}
	}
	return false
}
