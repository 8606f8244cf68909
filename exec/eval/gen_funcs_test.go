package eval

import (
	"context"
	"errors"
	"math"
	"math/big"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// Random trees of the function library (?:, coalesce, string functions,
// casts, time functions) for the differential and fuzz tests. Literal
// arguments (patterns, formats, timezones, units) come from fixed pools of
// valid values, as the type checker guarantees.

var (
	// txtPool feeds the casts and parse_timestamp: text that converts, text
	// that almost does, and text at the edges of each type.
	txtPool = []string{"12", " -4 ", "+7", "0", "1e3", "2.5", "-0.5", "NaN", "inf", "x7", "", " ", "9223372036854775807",
		"9223372036854775808", "-9223372036854775808", "1e400", "true", "FALSE", "1", "t", "12.345", "-99999999.995",
		"2026-01-31", "2026-02-30", "2024-02-29", "0001-01-01", "2026-1-5", "2026-03-29 02:30:00", "2026-10-25 02:30:00",
		"2026-03-29T01:30:00Z", "2026-01-01T10:00:00.123456+02:00", "2026-01-01 10:00:00.1234567",
		"31/Dec/2025:23:59:59 +0100", "2026-06-30 24:00:00", "\u00a012\u2003", "١٢", "x\xffy", "2026-12-31T23:59:59.999999Z",
		"2026-02-29 10:00:00", "0000-01-01T00:00:00", "2024-02-29T23:59:59Z", "2026-01-01t10:00:00Z", "2026-01-01 10:00:60"}
	formatPool = []string{"%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%FT%TZ", "%d/%b/%Y:%H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S.%f", "%Y%m%d", "%%%Y"}
	tzPool     = []string{"UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham"}
	patPool    = []string{"o-([0-9]+)", "^a", "(a)(b)?", "b+", "ß|日", "^$", "(?i)EU", "."}
	partPool   = []string{"year", "month", "day", "hour", "minute", "second"}
	smallInts  = []int64{-3, -2, -1, 0, 1, 2, 3, 4, 7, 100, math.MaxInt64, math.MinInt64}
)

func strLit(s string) *predicate.Literal { return &predicate.Literal{Value: s, Typ: schema.StringType} }
func intLit(v int64) *predicate.Literal  { return &predicate.Literal{Value: v, Typ: schema.Int64Type} }

func pickOf[T any](g *exprGen, pool []T) T { return pool[g.ch.IntN(len(pool))] }

// txtExpr is a string expression that casts and parses often accept.
func (g *exprGen) txtExpr(depth int) predicate.Expr {
	switch g.ch.IntN(5) {
	case 0:
		return strLit(pickOf(g, txtPool))
	case 1:
		if depth > 0 {
			return g.strExpr(depth - 1)
		}
	case 2:
		if depth > 0 {
			return &predicate.Apply{Fn: predicate.ToString, Args: []predicate.Expr{g.anyExpr(depth - 1)}, Typ: schema.StringType}
		}
	}
	return g.col("txt")
}

func (g *exprGen) smallInt(depth int) predicate.Expr {
	if depth > 0 && g.ch.IntN(3) == 0 {
		return g.intExpr(depth - 1)
	}
	return intLit(pickOf(g, smallInts))
}

// funcStr is a string-typed function application.
func (g *exprGen) funcStr(depth int) predicate.Expr {
	s := func() predicate.Expr { return g.strExpr(depth - 1) }
	str := schema.StringType
	switch g.ch.IntN(10) {
	case 0:
		fns := []predicate.Func{predicate.Trim, predicate.LTrim, predicate.RTrim}
		return &predicate.Apply{Fn: pickOf(g, fns), Args: []predicate.Expr{g.txtExpr(depth - 1)}, Typ: str}
	case 1:
		args := []predicate.Expr{s(), g.smallInt(depth - 1)}
		if g.ch.IntN(3) > 0 {
			args = append(args, g.smallInt(depth-1))
		}
		return &predicate.Apply{Fn: predicate.Substring, Args: args, Typ: str}
	case 2:
		old := strLit(pickOf(g, []string{"", "a", "o-", "ß", "\xff", "abc"}))
		var o predicate.Expr = old
		if g.ch.IntN(4) == 0 {
			o = s()
		}
		return &predicate.Apply{Fn: predicate.Replace, Args: []predicate.Expr{s(), o, strLit(pickOf(g, []string{"", "X", "日本"}))}, Typ: str}
	case 3:
		sep := strLit(pickOf(g, []string{"-", "", "a", "b", " ", "ß"}))
		return &predicate.Apply{Fn: predicate.SplitPart, Args: []predicate.Expr{s(), sep, g.smallInt(depth - 1)}, Typ: str}
	case 4:
		args := make([]predicate.Expr, 1+g.ch.IntN(3))
		for i := range args {
			args[i] = g.anyExpr(depth - 1)
		}
		return &predicate.Apply{Fn: predicate.Concat, Args: args, Typ: str}
	case 5:
		p := pickOf(g, patPool)
		re, _ := predicate.CompileRegexp(p)
		args := []predicate.Expr{s(), strLit(p)}
		if g.ch.IntN(2) == 0 {
			args = append(args, intLit(int64(g.ch.IntN(re.NumSubexp()+1))))
		}
		return &predicate.Apply{Fn: predicate.RegexExtract, Args: args, Typ: str}
	case 6:
		return &predicate.Apply{Fn: predicate.ToString, Args: []predicate.Expr{g.anyExpr(depth - 1)}, Typ: str}
	case 7:
		return &predicate.Cond{If: g.boolExpr(depth - 1), Then: s(), Else: s(), Typ: str}
	case 8:
		return &predicate.Coalesce{Args: []predicate.Expr{s(), s(), nullLit(str)}, Typ: str}
	}
	return &predicate.Cond{If: g.boolExpr(depth - 1), Then: nullLit(str), Else: g.txtExpr(depth - 1), Typ: str}
}

// tryOf randomly picks the try_ form.
func (g *exprGen) tryOf() bool { return g.ch.IntN(3) == 0 }

// funcInt is an int64-typed function application.
func (g *exprGen) funcInt(depth int) predicate.Expr {
	i64 := schema.Int64Type
	switch k := g.ch.IntN(9); k {
	case 0, 1:
		var x predicate.Expr
		switch g.ch.IntN(4) {
		case 0:
			x = g.floatExpr(depth - 1)
		case 1:
			x = g.col("dec")
		case 2:
			x = g.col("b")
		default:
			x = g.txtExpr(depth - 1)
		}
		return &predicate.Apply{Fn: predicate.ToInt, Args: []predicate.Expr{x}, Try: g.tryOf(), Typ: i64}
	case 2, 7, 8: // the calendar fields, often: they are one line each in the reference
		fns := []predicate.Func{predicate.Year, predicate.Month, predicate.Day, predicate.Hour, predicate.Minute, predicate.Second}
		fn := pickOf(g, fns)
		if fn <= predicate.Day && g.ch.IntN(2) == 0 {
			return &predicate.Apply{Fn: fn, Args: []predicate.Expr{g.dateExpr(depth - 1)}, Typ: i64}
		}
		return &predicate.Apply{Fn: fn, Args: []predicate.Expr{g.tsExpr(depth - 1)}, Typ: i64}
	case 3:
		part := strLit(pickOf(g, partPool))
		if g.ch.IntN(2) == 0 {
			return &predicate.Apply{Fn: predicate.DateDiff, Args: []predicate.Expr{g.dateExpr(depth - 1), g.dateExpr(depth - 1), part}, Typ: i64}
		}
		return &predicate.Apply{Fn: predicate.DateDiff, Args: []predicate.Expr{g.tsExpr(depth - 1), g.anyTS(depth - 1), part}, Typ: i64}
	case 4:
		return &predicate.Cond{If: g.boolExpr(depth - 1), Then: g.intExpr(depth - 1), Else: g.intExpr(depth - 1), Typ: i64}
	case 5:
		return &predicate.Coalesce{Args: []predicate.Expr{g.intExpr(depth - 1), g.intExpr(depth - 1)}, Typ: i64}
	}
	return &predicate.Coalesce{Args: []predicate.Expr{nullLit(i64), &predicate.Apply{Fn: predicate.ToInt, Args: []predicate.Expr{g.txtExpr(depth - 1)}, Try: true, Typ: i64}, intLit(-1)}, Typ: i64}
}

// funcFloat is a float64-typed function application.
func (g *exprGen) funcFloat(depth int) predicate.Expr {
	f64 := schema.Float64Type
	var x predicate.Expr
	switch g.ch.IntN(5) {
	case 0:
		x = g.intExpr(depth - 1)
	case 1:
		x = g.col(g.pickName("dec", "dec2"))
	case 2:
		x = g.col("b")
	case 3:
		return &predicate.Cond{If: g.boolExpr(depth - 1), Then: g.floatExpr(depth - 1), Else: nullLit(f64), Typ: f64}
	default:
		x = g.txtExpr(depth - 1)
	}
	return &predicate.Apply{Fn: predicate.ToFloat, Args: []predicate.Expr{x}, Try: g.tryOf(), Typ: f64}
}

// dateExpr is a date-typed expression.
func (g *exprGen) dateExpr(depth int) predicate.Expr {
	dt := schema.DateType
	k := g.ch.IntN(6)
	if depth <= 0 {
		k = 0
	}
	switch k {
	case 0:
		return g.col("d")
	case 1:
		var x predicate.Expr = g.txtExpr(depth - 1)
		if g.ch.IntN(2) == 0 {
			x = g.anyTS(depth - 1)
		}
		return &predicate.Apply{Fn: predicate.ToDate, Args: []predicate.Expr{x}, Try: g.tryOf(), Typ: dt}
	case 2:
		return &predicate.Apply{Fn: predicate.Trunc, Args: []predicate.Expr{g.dateExpr(depth - 1), strLit(pickOf(g, partPool[:3]))}, Typ: dt}
	case 3:
		return &predicate.Apply{Fn: predicate.DateAdd, Args: []predicate.Expr{g.dateExpr(depth - 1), g.smallInt(depth - 1), strLit(pickOf(g, partPool[:3]))}, Typ: dt}
	case 4:
		return &predicate.Coalesce{Args: []predicate.Expr{g.dateExpr(depth - 1), g.dateExpr(depth - 1)}, Typ: dt}
	}
	return &predicate.Cond{If: g.boolExpr(depth - 1), Then: g.dateExpr(depth - 1), Else: g.dateExpr(depth - 1), Typ: dt}
}

// tsExpr is a timestamp(us)-typed expression.
func (g *exprGen) tsExpr(depth int) predicate.Expr {
	k := g.ch.IntN(9)
	if depth <= 0 {
		k %= 2
	}
	switch k {
	case 0:
		return g.col(g.pickName("ts", "ts2"))
	case 1:
		return &predicate.Literal{Value: tsPool[g.ch.IntN(len(tsPool))], Typ: tsType}
	case 2:
		var x predicate.Expr = g.txtExpr(depth - 1)
		if g.ch.IntN(3) == 0 {
			x = g.dateExpr(depth - 1)
		}
		return &predicate.Apply{Fn: predicate.ToTimestamp, Args: []predicate.Expr{x}, Try: g.tryOf(), Typ: tsType}
	case 3:
		args := []predicate.Expr{g.txtExpr(depth - 1), strLit(pickOf(g, formatPool))}
		if g.ch.IntN(2) == 0 {
			if tf, _ := predicate.CompileTimeFormat(args[1].(*predicate.Literal).Value.(string)); !tf.HasZone {
				args = append(args, strLit(pickOf(g, tzPool)))
			}
		}
		return &predicate.Apply{Fn: predicate.ParseTimestampFn, Args: args, Try: g.tryOf(), Typ: tsType}
	case 4:
		fn := pickOf(g, []predicate.Func{predicate.FromUnixtime, predicate.FromUnixtimeMs})
		var x predicate.Expr = g.intExpr(depth - 1)
		if g.ch.IntN(2) == 0 {
			x = g.floatExpr(depth - 1)
		}
		return &predicate.Apply{Fn: fn, Args: []predicate.Expr{x}, Typ: tsType}
	case 5:
		return &predicate.Apply{Fn: predicate.Trunc, Args: []predicate.Expr{g.tsExpr(depth - 1), strLit(pickOf(g, partPool))}, Typ: tsType}
	case 6:
		return &predicate.Apply{Fn: predicate.DateAdd, Args: []predicate.Expr{g.tsExpr(depth - 1), g.smallInt(depth - 1), strLit(pickOf(g, partPool))}, Typ: tsType}
	case 7:
		return &predicate.Apply{Fn: predicate.ToTimezone, Args: []predicate.Expr{g.tsExpr(depth - 1), strLit(pickOf(g, tzPool))}, Typ: tsType}
	}
	return &predicate.Cond{If: g.boolExpr(depth - 1), Then: g.tsExpr(depth - 1), Else: g.tsExpr(depth - 1), Typ: tsType}
}

// anyTS is a timestamp of any unit: the µs expressions and the ms column.
func (g *exprGen) anyTS(depth int) predicate.Expr {
	if g.ch.IntN(4) == 0 {
		return g.col("tsms")
	}
	return g.tsExpr(depth)
}

// decExpr is a decimal cast.
func (g *exprGen) decExpr(depth int) predicate.Expr {
	p := int64(1 + g.ch.IntN(20))
	s := int64(g.ch.IntN(int(p) + 1))
	var x predicate.Expr
	switch g.ch.IntN(4) {
	case 0:
		x = g.intExpr(depth - 1)
	case 1:
		x = g.floatExpr(depth - 1)
	case 2:
		x = g.col("dec")
	default:
		x = g.txtExpr(depth - 1)
	}
	return &predicate.Apply{Fn: predicate.ToDecimal, Args: []predicate.Expr{x, intLit(p), intLit(s)}, Try: g.tryOf(), Typ: schema.DecimalOf(int(p), int(s))}
}

// funcBool is a bool-typed function application.
func (g *exprGen) funcBool(depth int) predicate.Expr {
	switch g.ch.IntN(6) {
	case 0:
		return &predicate.Apply{Fn: predicate.Matches, Args: []predicate.Expr{g.strExpr(depth - 1), strLit(pickOf(g, patPool))}, Typ: schema.BoolType}
	case 1:
		var x predicate.Expr = g.txtExpr(depth - 1)
		if g.ch.IntN(2) == 0 {
			x = g.intExpr(depth - 1)
		}
		return &predicate.Apply{Fn: predicate.ToBool, Args: []predicate.Expr{x}, Try: g.tryOf(), Typ: schema.BoolType}
	case 2:
		return &predicate.Compare{Op: g.cmpOp(), L: g.dateExpr(depth - 1), R: g.dateExpr(depth - 1)}
	case 3:
		return &predicate.Compare{Op: g.cmpOp(), L: g.tsExpr(depth - 1), R: g.tsExpr(depth - 1)}
	case 4:
		return &predicate.Cond{If: g.boolExpr(depth - 1), Then: g.boolExpr(depth - 1), Else: g.boolExpr(depth - 1), Typ: schema.BoolType}
	}
	return &predicate.IsNull{X: g.anyExpr(depth - 1), Negated: g.ch.IntN(2) == 0}
}

// anyExpr is an expression of any type, the new functions included.
func (g *exprGen) anyExpr(depth int) predicate.Expr {
	if depth < 0 {
		depth = 0
	}
	switch g.ch.IntN(10) {
	case 9:
		return g.funcInt(depth + 1)
	case 0:
		return g.intExpr(depth)
	case 1:
		return g.floatExpr(depth)
	case 2:
		return g.strExpr(depth)
	case 3:
		return g.boolExpr(depth)
	case 4:
		return g.dateExpr(depth)
	case 5:
		return g.anyTS(depth)
	case 6:
		return g.decExpr(depth)
	case 7:
		c := genColumns[g.ch.IntN(len(genColumns))]
		if c.typ.IsNested() {
			// Casts and functions take anyExpr's value: a struct is
			// read by path (intExpr, strExpr), not converted.
			return g.intExpr(depth)
		}
		return g.col(c.name)
	}
	return g.txtExpr(depth)
}

// checkValueAgainstReference evaluates e with Value.Eval and row by row
// with predicate.Eval: values must agree, and rows where the reference
// reports a failed cast must be null with the same message as a RowError.
// It returns the number of rows with a row error, and for a boolean e the
// reference's outcomes (a row error counting as unknown).
func checkValueAgainstReference(t testing.TB, ctx context.Context, e predicate.Expr, b arrow.RecordBatch) (int, [3]int) {
	t.Helper()
	v, err := CompileValue(e, b.Schema())
	if err != nil {
		t.Fatalf("CompileValue(%s): %v", e, err)
	}
	got, rerrs, err := v.Eval(ctx, b)
	if err != nil {
		t.Fatalf("Eval(%s): %v", e, err)
	}
	defer got.Release()
	if got.Len() != int(b.NumRows()) || !arrow.TypeEqual(got.DataType(), v.DataType()) {
		t.Fatalf("Eval(%s): %d values of %s for %d rows of %s", e, got.Len(), got.DataType(), b.NumRows(), v.DataType())
	}
	errAt := map[int]string{}
	for _, re := range rerrs {
		errAt[re.Row] = re.Msg
	}
	names := map[string]int{}
	for i, f := range b.Schema().Fields() {
		names[f.Name] = i
	}
	bad, nerr := 0, 0
	var counts [3]int
	report := func(r int, format string, args ...any) {
		bad++
		if bad <= 5 {
			t.Errorf("%s\n row %d: "+format+"; row: %s", append(append([]any{e, r}, args...), rowString(b, r))...)
		}
	}
	for r := 0; r < int(b.NumRows()); r++ {
		want, err := predicate.Eval(e, func(name string) (any, bool) {
			i, ok := names[name]
			if !ok {
				return nil, false
			}
			return rowValue(b.Column(i), r), true
		})
		var ve *predicate.ValueError
		switch {
		case errors.As(err, &ve):
			nerr++
			counts[predicate.Unknown]++
			if msg, ok := errAt[r]; !ok || msg != ve.Error() {
				report(r, "row error %q, reference %q", msg, ve.Error())
			} else if got.IsValid(r) {
				report(r, "row error but value %s", got.ValueStr(r))
			}
			continue
		case err != nil:
			t.Fatalf("reference Eval(%s) row %d: %v (generator built an ill-typed tree)", e, r, err)
		}
		if msg, ok := errAt[r]; ok {
			report(r, "row error %q, reference none (value %v)", msg, want)
			continue
		}
		if _, ok := want.(bool); ok || want == nil {
			counts[predicate.TriOf(want)]++
		}
		var have any
		if got.IsValid(r) {
			have = resultValue(got, r)
		}
		if !sameValue(have, want) {
			report(r, "got %v (%T), reference %v (%T)", have, have, want, want)
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d rows differ in all", e, bad)
	}
	return nerr, counts
}

// resultValue reads a result array in the reference's representation.
func resultValue(a arrow.Array, i int) any {
	switch a := a.(type) {
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Float32:
		return float64(a.Value(i))
	}
	return rowValue(a, i)
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y))
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case map[string]any: // a struct column passed through (st)
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	}
	return a == b
}
