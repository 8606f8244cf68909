package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// TestDifferential holds Program.Eval to predicate.Eval, the row-at-a-time
// reference, on random batches (nulls, NaN, extremes, empty and non-ASCII
// strings, invalid UTF-8) and random trees of every node kind, on whole
// and on sliced batches (non-zero array offsets).
func TestDifferential(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	ch := randChooser{rng}
	batches := 30
	exprs := 60
	if testing.Short() {
		batches, exprs = 5, 20
	}
	var totals [3]int // rows by reference outcome: false, true, unknown
	defer func() {
		// The generator must not degenerate into trees that are almost
		// always unknown (or constant): each outcome needs a fair share.
		sum := totals[0] + totals[1] + totals[2]
		for k, c := range totals {
			if c*10 < sum {
				t.Errorf("outcome %s in only %d of %d rows: generator is lopsided", predicate.Tri(k), c, sum)
			}
		}
		t.Logf("rows checked: %d false, %d true, %d unknown", totals[0], totals[1], totals[2])
	}()
	for bi := 0; bi < batches; bi++ {
		n := 1 + rng.IntN(200)
		b := genBatch(mem, ch, n)
		g := &exprGen{ch: ch}
		for ei := 0; ei < exprs; ei++ {
			e := g.boolExpr(1 + rng.IntN(4))
			c := checkAgainstReference(t, ctx, e, b)
			for k := range totals {
				totals[k] += c[k]
			}
			if n > 10 {
				off := int64(1 + rng.IntN(9))
				s := b.NewSlice(off, int64(n)-int64(rng.IntN(3)))
				checkAgainstReference(t, ctx, e, s)
				s.Release()
			}
			if t.Failed() {
				b.Release()
				return
			}
		}
		b.Release()
	}
}

// TestDifferentialOverflow holds the vectorised integer arithmetic to the
// reference on rows built to overflow: every operator on every pair of
// boundary values (both orders, column and scalar operands), and random
// trees over them. Overflow is null in both, and the test checks that the
// batches really overflow (a reference null from non-null operands) for
// each of +, -, * and unary minus.
func TestDifferentialOverflow(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	var vals []int64
	vals = append(vals, intPool...)
	// Every pair of pool values, as the rows of i64 and j64.
	var rows []string
	for _, a := range vals {
		for _, b := range vals {
			rows = append(rows, fmt.Sprintf(`{"i64": %d, "j64": %d}`, a, b))
		}
	}
	rows = append(rows, `{"i64": null, "j64": 1}`, `{"i64": 1, "j64": null}`)
	b := batchOf(t, mem, []arrow.Field{
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "j64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, "["+strings.Join(rows, ",")+"]")
	defer b.Release()
	i, j := col("i64", tI64), col("j64", tI64)
	overflowed := map[string]int{}
	for _, op := range []predicate.ArithOp{predicate.Add, predicate.Sub, predicate.Mul, predicate.Mod} {
		exprs := []predicate.Expr{&predicate.Arith{Op: op, L: i, R: j, Typ: tI64}}
		for _, v := range []int64{math.MaxInt64, math.MinInt64, 3037000500, -1, 2} {
			exprs = append(exprs,
				&predicate.Arith{Op: op, L: i, R: lit(v, tI64), Typ: tI64},
				&predicate.Arith{Op: op, L: lit(v, tI64), R: j, Typ: tI64})
		}
		for _, e := range exprs {
			checkAgainstReference(t, ctx, &predicate.IsNull{X: e}, b)
			checkAgainstReference(t, ctx, cmp(predicate.Gt, e, lit(int64(0), tI64)), b)
			overflowed[op.String()] += referenceOverflows(t, e, b)
		}
	}
	neg := &predicate.Neg{X: i}
	checkAgainstReference(t, ctx, &predicate.IsNull{X: neg}, b)
	overflowed["neg"] += referenceOverflows(t, neg, b)
	for _, k := range []string{predicate.Add.String(), predicate.Sub.String(), predicate.Mul.String(), "neg"} {
		if overflowed[k] == 0 {
			t.Errorf("%s never overflowed: the test does not exercise it", k)
		}
	}
	// Random trees over the boundary rows (sums of products of negations...).
	rng := rand.New(rand.NewPCG(7, 8))
	g := &exprGen{ch: randChooser{rng}}
	for range 300 {
		e := &predicate.Arith{Op: []predicate.ArithOp{predicate.Add, predicate.Sub, predicate.Mul}[rng.IntN(3)],
			L: g.intExpr(2), R: g.intExpr(2), Typ: tI64}
		if !usesOnly(e, "i64", "j64") {
			continue
		}
		checkAgainstReference(t, ctx, &predicate.IsNull{X: e}, b)
		checkAgainstReference(t, ctx, cmp(predicate.Le, e, lit(int64(1000), tI64)), b)
	}
	t.Logf("rows overflowing per operator: %v", overflowed)
}

// referenceOverflows counts the rows where the reference gives null for
// e although none of the columns it reads is null: overflow (or, for %,
// a zero divisor).
func referenceOverflows(t *testing.T, e predicate.Expr, b arrow.RecordBatch) int {
	t.Helper()
	n := 0
	for r := 0; r < int(b.NumRows()); r++ {
		if !b.Column(0).IsValid(r) || !b.Column(1).IsValid(r) {
			continue
		}
		v, err := predicate.Eval(e, func(name string) (any, bool) {
			idx := b.Schema().FieldIndices(name)
			if len(idx) == 0 {
				return nil, false
			}
			return rowValue(b.Column(idx[0]), r), true
		})
		if err != nil {
			t.Fatal(err)
		}
		if v == nil {
			n++
		}
	}
	return n
}

// usesOnly reports whether e reads no column but names (the overflow
// batch has only i64 and j64).
func usesOnly(e predicate.Expr, names ...string) bool {
	ok := true
	var walk func(predicate.Expr)
	walk = func(e predicate.Expr) {
		switch x := e.(type) {
		case *predicate.ColumnRef:
			if !slices.Contains(names, x.Name) {
				ok = false
			}
		case *predicate.Arith:
			walk(x.L)
			walk(x.R)
		case *predicate.Neg:
			walk(x.X)
		case *predicate.Cast:
			walk(x.X)
		case *predicate.Call:
			walk(x.Arg)
		case *predicate.Literal:
		default:
			ok = false
		}
	}
	walk(e)
	return ok
}

// TestDifferentialValues holds Value.Eval to the reference on random value
// expressions of every type (the function library, ?:, coalesce), on
// whole and sliced batches: values, nulls and row errors (failed casts
// and parses, with the reference's message) must agree. It checks that
// every function was exercised, and that some rows failed.
func TestDifferentialValues(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(3, 4))
	ch := randChooser{rng}
	batches, exprs := 40, 120
	if testing.Short() {
		batches, exprs = 6, 30
	}
	seen := map[string]int{}
	rowErrs := 0
	for bi := 0; bi < batches; bi++ {
		n := 1 + rng.IntN(150)
		b := genBatch(mem, ch, n)
		g := &exprGen{ch: ch}
		for ei := 0; ei < exprs; ei++ {
			e := g.anyExpr(1 + rng.IntN(3))
			countFuncs(e, seen)
			nerr, _ := checkValueAgainstReference(t, ctx, e, b)
			rowErrs += nerr
			if n > 10 {
				s := b.NewSlice(int64(1+rng.IntN(9)), int64(n))
				checkValueAgainstReference(t, ctx, e, s)
				s.Release()
			}
			if t.Failed() {
				b.Release()
				return
			}
		}
		b.Release()
	}
	if testing.Short() {
		return
	}
	for f := predicate.Trim; f <= predicate.ToTimezone; f++ {
		if seen[f.String()] == 0 {
			t.Errorf("function %s never generated", f)
		}
	}
	for _, k := range []string{"?:", "coalesce", "try"} {
		if seen[k] == 0 {
			t.Errorf("%s never generated", k)
		}
	}
	if rowErrs == 0 {
		t.Error("no row ever failed a cast: the test does not exercise row errors")
	}
	t.Logf("row errors: %d; functions: %v", rowErrs, seen)
}

// countFuncs counts the functions, ?: and coalesce nodes of e.
func countFuncs(e predicate.Expr, seen map[string]int) {
	switch x := e.(type) {
	case *predicate.Apply:
		seen[x.Fn.String()]++
		if x.Try {
			seen["try"]++
		}
	case *predicate.Cond:
		seen["?:"]++
	case *predicate.Coalesce:
		seen["coalesce"]++
	}
	for _, c := range predicate.Children(e) {
		countFuncs(c, seen)
	}
}

// TestDifferentialTimeZones holds parse_timestamp with a timezone and
// to_timezone to the reference on wall times and instants every 15
// minutes across DST transitions (gaps, overlaps, a 30-minute shift, a
// zone without DST), in one batch so that the evaluator's zone cache
// crosses each transition.
func TestDifferentialTimeZones(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	var txt []string
	var ts []int64
	for _, day := range []string{"2026-03-08", "2026-03-29", "2026-04-05", "2026-10-04", "2026-10-25", "2026-11-01"} {
		d, err := time.Parse(time.DateOnly, day)
		if err != nil {
			t.Fatal(err)
		}
		for m := -6 * 60; m < 30*60; m += 15 {
			tm := d.Add(time.Duration(m) * time.Minute)
			txt = append(txt, tm.Format("2006-01-02 15:04:05"))
			ts = append(ts, tm.UnixMicro())
		}
	}
	// Then backwards, so that the cache also meets an overlap coming from
	// the later period.
	for i := len(txt) - 1; i >= 0; i-- {
		txt, ts = append(txt, txt[i]), append(ts, ts[i])
	}
	sb := array.NewStringBuilder(mem)
	sb.AppendValues(txt, nil)
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	for _, v := range ts {
		tb.Append(arrow.Timestamp(v))
	}
	cols := []arrow.Array{sb.NewArray(), tb.NewArray()}
	sb.Release()
	tb.Release()
	s := arrow.NewSchema([]arrow.Field{{Name: "txt", Type: arrow.BinaryTypes.String}, {Name: "ts", Type: cols[1].DataType()}}, nil)
	b := array.NewRecordBatch(s, cols, int64(len(txt)))
	for _, c := range cols {
		c.Release()
	}
	defer b.Release()
	for _, tz := range tzPool {
		for _, e := range []predicate.Expr{
			&predicate.Apply{Fn: predicate.ParseTimestampFn, Args: []predicate.Expr{g0col("txt"), strLit("%Y-%m-%d %H:%M:%S"), strLit(tz)}, Typ: tsType},
			&predicate.Apply{Fn: predicate.ToTimezone, Args: []predicate.Expr{g0col("ts"), strLit(tz)}, Typ: tsType},
		} {
			checkValueAgainstReference(t, ctx, e, b)
		}
	}
}

func g0col(name string) *predicate.ColumnRef {
	c := colByName(name)
	return &predicate.ColumnRef{Name: c.name, ColType: c.typ}
}

// TestDifferentialTimeOverflow holds the time functions to the reference
// at the ends of their ranges: every pair of boundary timestamps (and
// dates) and boundary counts, for every unit. Results that do not fit are
// null in both; the test checks that some did not fit and some did.
func TestDifferentialTimeOverflow(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	s := arrow.NewSchema([]arrow.Field{
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}, nil)
	bld := array.NewRecordBuilder(mem, s)
	counts := append(append([]int64{}, intPool...), smallInts...)
	for k, v := range tsPool {
		for _, n := range counts {
			bld.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(v))
			bld.Field(1).(*array.Int64Builder).Append(n)
			bld.Field(2).(*array.Date32Builder).Append(arrow.Date32(datePool[k%len(datePool)]))
		}
	}
	b := bld.NewRecordBatch()
	bld.Release()
	defer b.Release()
	ts, n, d := g0col("ts"), g0col("i64"), g0col("d")
	var exprs []predicate.Expr
	for _, part := range partPool {
		exprs = append(exprs,
			&predicate.Apply{Fn: predicate.DateAdd, Args: []predicate.Expr{ts, n, strLit(part)}, Typ: tsType},
			&predicate.Apply{Fn: predicate.Trunc, Args: []predicate.Expr{ts, strLit(part)}, Typ: tsType},
			&predicate.Apply{Fn: predicate.DateDiff, Args: []predicate.Expr{ts, &predicate.Apply{Fn: predicate.FromUnixtime, Args: []predicate.Expr{n}, Typ: tsType}, strLit(part)}, Typ: schema.Int64Type})
	}
	for _, part := range partPool[:3] {
		exprs = append(exprs,
			&predicate.Apply{Fn: predicate.DateAdd, Args: []predicate.Expr{d, n, strLit(part)}, Typ: schema.DateType},
			&predicate.Apply{Fn: predicate.Trunc, Args: []predicate.Expr{d, strLit(part)}, Typ: schema.DateType})
	}
	exprs = append(exprs,
		&predicate.Apply{Fn: predicate.FromUnixtime, Args: []predicate.Expr{n}, Typ: tsType},
		&predicate.Apply{Fn: predicate.FromUnixtimeMs, Args: []predicate.Expr{n}, Typ: tsType},
		&predicate.Apply{Fn: predicate.ToTimezone, Args: []predicate.Expr{ts, strLit("Pacific/Chatham")}, Typ: tsType},
		&predicate.Apply{Fn: predicate.ToDate, Args: []predicate.Expr{ts}, Typ: schema.DateType},
		&predicate.Apply{Fn: predicate.ToTimestamp, Args: []predicate.Expr{d}, Typ: tsType, Try: true})
	nulls, values := 0, 0
	for _, e := range exprs {
		checkValueAgainstReference(t, ctx, e, b)
		v, err := CompileValue(e, b.Schema())
		if err != nil {
			t.Fatal(err)
		}
		arr, _, err := v.Eval(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		nulls += arr.NullN()
		values += arr.Len() - arr.NullN()
		arr.Release()
	}
	if nulls == 0 || values == 0 {
		t.Errorf("%d nulls and %d values: the boundaries are not exercised", nulls, values)
	}
}
