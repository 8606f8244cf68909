package planner

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/spec"
)

// renderTree prints a logical plan one node per line, for comparing plans
// as text.
func renderTree(n Node) string {
	var b strings.Builder
	var rec func(n Node, depth int)
	rec = func(n Node, depth int) {
		fmt.Fprintf(&b, "%s%s %s\n", strings.Repeat("  ", depth), n.Kind(), n.Detail())
		for _, c := range n.Children() {
			rec(c, depth+1)
		}
	}
	rec(n, 0)
	return b.String()
}

func applyRule(t *testing.T, rc *RuleContext, name string, n Node) (Node, bool) {
	t.Helper()
	for _, r := range Rules() {
		if r.Name == name {
			out, changed, err := r.Apply(rc, n)
			if err != nil {
				t.Fatal(err)
			}
			return out, changed
		}
	}
	t.Fatalf("no rule %s", name)
	return nil, false
}

func TestRuleOrder(t *testing.T) {
	var names []string
	for _, r := range Rules() {
		names = append(names, r.Name)
	}
	want := "split_predicate projection_pushdown nested_projection partition_pruning bounded_selection row_group_pruning task_packing"
	if strings.Join(names, " ") != want {
		t.Fatalf("rule order %v", names)
	}
}

func TestRuleSplitPredicateAndPruningLeaveTreeIntact(t *testing.T) {
	f := newFixture(t, nil, func(p *spec.Pipeline) {
		p.Source.Where = compileWhere(t, "dt >= '2026-01-01' && (amount > 10 || amount < -10) && len(order_id) > 3 && region == 'eu'", ordersSchema, p.Source.Partitions)
	})
	rc := &RuleContext{Ctx: context.Background(), Pipeline: f.pipeline()}
	orig := LogicalPlan(f.pipeline())
	before := renderTree(orig)
	n, changed := applyRule(t, rc, "split_predicate", orig)
	if !changed {
		t.Fatal("split_predicate did not fire")
	}
	if renderTree(orig) != before {
		t.Fatal("rule mutated its input tree")
	}
	s := FindScan(n)
	if conjText(s.PartitionConjuncts) != "dt >= '2026-01-01' && region == 'eu'" {
		t.Errorf("partition conjuncts: %s", conjText(s.PartitionConjuncts))
	}
	if len(s.StatsConjuncts) != 1 || !strings.Contains(s.StatsConjuncts[0].Expr.String(), "amount > 10") {
		t.Errorf("stats conjuncts: %s", conjText(s.StatsConjuncts))
	}
	// The Filter still holds the whole predicate.
	if !strings.Contains(renderTree(n), "Filter dt >= '2026-01-01' && (amount > 10 || amount < -10) && len(order_id) > 3 && region == 'eu'") {
		t.Errorf("filter changed:\n%s", renderTree(n))
	}
	n2, changed := applyRule(t, rc, "partition_pruning", n)
	if !changed || !FindScan(n2).PruneListing || FindScan(n).PruneListing {
		t.Fatal("partition_pruning did not fire on a fresh copy")
	}
	if _, again := applyRule(t, rc, "partition_pruning", n2); again {
		t.Fatal("partition_pruning fired twice")
	}
	if len(rc.Trace) != 2 || rc.Trace[0].Rule != "split_predicate" || rc.Trace[1].Rule != "partition_pruning" {
		t.Fatalf("trace %v", rc.Trace)
	}
}

func TestRuleProjectionPushdown(t *testing.T) {
	f := newFixture(t, nil, func(p *spec.Pipeline) {
		p.Source.Select = []string{"order_id", "dt"}
		p.Source.Where = compileWhere(t, "amount > 0 && region == 'eu'", ordersSchema, p.Source.Partitions)
		p.Checks = []*spec.Check{{Name: "c", Expr: compileWhere(t, "customer_id != nil", ordersSchema, nil), Severity: spec.SeverityWarn}}
	})
	rc := &RuleContext{Ctx: context.Background(), Pipeline: f.pipeline()}
	n, changed := applyRule(t, rc, "projection_pushdown", LogicalPlan(f.pipeline()))
	s := FindScan(n)
	if !changed || strings.Join(s.Columns, ",") != "order_id,customer_id,amount" || s.AllColumns != 5 {
		t.Fatalf("columns %v of %d (changed %v)", s.Columns, s.AllColumns, changed)
	}
	if !strings.Contains(s.Detail(), "columns read 3 of 5") {
		t.Fatalf("detail %q", s.Detail())
	}
}

func TestPackTasks(t *testing.T) {
	in := NewInputs("", nil)
	const mib = 1 << 20
	sizes := []int64{100 * mib, 10 * mib, 200 * mib, 1 * mib, 20 * mib, 5 * mib}
	for i, s := range sizes {
		in.Add(fmt.Sprintf("f%d", i), s, "e")
	}
	tasks := PackTasks(in, 128*mib, 4*mib)
	var got []string
	seen := map[int32]bool{}
	for _, task := range tasks {
		got = append(got, fmt.Sprint(task.Inputs))
		for _, i := range task.Inputs {
			if seen[i] {
				t.Fatalf("input %d in two tasks", i)
			}
			seen[i] = true
		}
	}
	// f0 (104) + f1 (14) = 118; f2 alone (over target); f3 (5) fits in
	// task 0 (123); f4 (24) does not, so it opens task 2; f5 (9) goes to
	// the first task with room: task 2, since task 0 has 5 MiB left < 9.
	if strings.Join(got, " ") != "[0 1 3] [2] [4 5]" {
		t.Fatalf("tasks %v", got)
	}
	if len(seen) != len(sizes) {
		t.Fatal("an input was lost")
	}
	// 50,000 files of 10 KB become a handful of tasks, not 50,000.
	small := NewInputs("", nil)
	for i := 0; i < 50_000; i++ {
		small.Add(fmt.Sprintf("k%06d", i), 10_000, "e")
	}
	if n := len(PackTasks(small, 128*mib, 4*mib)); n != 50_000/31+1 {
		t.Fatalf("50,000 small files → %d tasks", n)
	}
}

func TestStatsEval(t *testing.T) {
	rg := &RowGroupStats{Rows: 100, Columns: []ColumnStats{
		{Name: "amount", HasMinMax: true, Min: 10.0, Max: 20.0, HasNullCount: true, NullCount: 0},
		{Name: "customer_id", HasMinMax: true, Min: int64(100), Max: int64(200), HasNullCount: true, NullCount: 100},
		{Name: "order_id", HasMinMax: true, Min: "o-100", Max: "o-199"},
	}}
	cases := map[string]tri{
		"amount > 20":                       triFalse,
		"amount >= 20":                      triUnknown,
		"amount < 10":                       triFalse,
		"10 > amount":                       triFalse,
		"amount == 15":                      triUnknown,
		"amount == 25":                      triFalse,
		"amount == nil":                     triFalse, // no nulls
		"customer_id != nil":                triFalse, // all null
		"customer_id in [1, 2, 300]":        triFalse,
		"customer_id in [1, 150]":           triUnknown,
		"order_id < 'o-1'":                  triFalse,
		"order_id startsWith 'x'":           triUnknown, // not a min/max form
		"amount > 30 || order_id > 'o-200'": triFalse,
		"amount > 30 || order_id > 'o-150'": triUnknown,
		"note == 'x'":                       triUnknown, // no stats for note
	}
	for src, want := range cases {
		p := compileWhere(t, src, ordersSchema, nil)
		if got := statsEval(p.Root, rg); got != want {
			t.Errorf("%s: got %v, want %v", src, got, want)
		}
	}
	if c, ok := compareValues(big.NewInt(5), big.NewInt(7)); !ok || c != -1 {
		t.Error("decimal compare")
	}
	if _, ok := compareValues("a", int64(1)); ok {
		t.Error("string vs int compared")
	}
}
