package eval

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// Unit tests per kernel: hand-written batches and IR, expected values
// written out as one letter per row (T true, F false, N null).

var (
	tBool  = schema.BoolType
	tI32   = schema.Type{Kind: schema.Int32}
	tI64   = schema.Int64Type
	tF32   = schema.Type{Kind: schema.Float32}
	tF64   = schema.Float64Type
	tStr   = schema.StringType
	tDate  = schema.Type{Kind: schema.Date}
	tTsMs  = schema.TimestampOf(schema.Millisecond, "")
	tTsUs  = schema.TimestampOf(schema.Microsecond, "")
	tDec2  = schema.DecimalOf(10, 2)
	tDec3  = schema.DecimalOf(10, 3)
	tsMsDT = &arrow.TimestampType{Unit: arrow.Millisecond}
	tsUsDT = &arrow.TimestampType{Unit: arrow.Microsecond}
)

func col(name string, t schema.Type) *predicate.ColumnRef {
	return &predicate.ColumnRef{Name: name, ColType: t}
}

func lit(v any, t schema.Type) *predicate.Literal { return &predicate.Literal{Value: v, Typ: t} }

func cmp(op predicate.CmpOp, l, r predicate.Expr) *predicate.Compare {
	return &predicate.Compare{Op: op, L: l, R: r}
}

// batchOf builds a one-column-per-field batch from JSON rows.
func batchOf(t *testing.T, mem memory.Allocator, fields []arrow.Field, rows string) arrow.RecordBatch {
	t.Helper()
	b, _, err := array.RecordFromJSON(mem, arrow.NewSchema(fields, nil), strings.NewReader(rows))
	if err != nil {
		t.Fatalf("RecordFromJSON: %v", err)
	}
	return b
}

func tri(a *array.Boolean) string {
	var sb strings.Builder
	for i := 0; i < a.Len(); i++ {
		switch {
		case a.IsNull(i):
			sb.WriteByte('N')
		case a.Value(i):
			sb.WriteByte('T')
		default:
			sb.WriteByte('F')
		}
	}
	return sb.String()
}

// expect compiles e against b, evaluates it, and compares the letters; it
// also checks the result against the reference evaluator.
func expect(t *testing.T, ctx context.Context, e predicate.Expr, b arrow.RecordBatch, want string) {
	t.Helper()
	p, err := Compile(e, b.Schema())
	if err != nil {
		t.Fatalf("Compile(%s): %v", e, err)
	}
	got, err := p.Eval(ctx, b)
	if err != nil {
		t.Fatalf("Eval(%s): %v", e, err)
	}
	defer got.Release()
	if s := tri(got); s != want {
		t.Errorf("%s = %s, want %s", e, s, want)
	}
	checkAgainstReference(t, ctx, e, b)
}

func TestCompareColumnScalar(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	b := batchOf(t, mem, []arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}, `[{"i": 1, "i32": -2147483648, "f32": 0.1, "s": "eu", "d": "2026-01-01"},
	     {"i": 5, "i32": 5, "f32": 0.5, "s": "", "d": "2025-12-31"},
	     {"i": null, "i32": null, "f32": null, "s": null, "d": null},
	     {"i": 10, "i32": 2147483647, "f32": -1, "s": "us", "d": "2026-01-02"}]`)
	defer b.Release()
	five := lit(int64(5), tI64)
	expect(t, ctx, cmp(predicate.Gt, col("i", tI64), five), b, "FFNT")
	expect(t, ctx, cmp(predicate.Lt, five, col("i", tI64)), b, "FFNT") // literal on the left: mirrored
	expect(t, ctx, cmp(predicate.Le, col("i", tI64), five), b, "TTNF")
	expect(t, ctx, cmp(predicate.Eq, col("i", tI64), five), b, "FTNF")
	expect(t, ctx, cmp(predicate.Ne, col("i", tI64), five), b, "TFNT")
	expect(t, ctx, cmp(predicate.Ge, col("i32", tI32), lit(int64(5), tI32)), b, "FTNT")
	expect(t, ctx, cmp(predicate.Lt, col("i32", tI32), lit(int64(math.MinInt32+1), tI32)), b, "TFNF")
	// A float32 column holds 0.1 rounded to float32, which is not the
	// float64 literal 0.1: the comparison is in float64, as the reference's.
	expect(t, ctx, cmp(predicate.Eq, col("f32", tF32), lit(0.1, tF32)), b, "FFNF")
	expect(t, ctx, cmp(predicate.Eq, col("f32", tF32), lit(float64(float32(0.1)), tF32)), b, "TFNF")
	expect(t, ctx, cmp(predicate.Gt, col("s", tStr), lit("eu", tStr)), b, "FFNT")
	expect(t, ctx, cmp(predicate.Eq, col("s", tStr), lit("", tStr)), b, "FTNF")
	expect(t, ctx, cmp(predicate.Ge, col("d", tDate), lit(int32(20454), tDate)), b, "TFNT") // 2026-01-01
	// A null literal makes every row unknown.
	expect(t, ctx, cmp(predicate.Eq, col("i", tI64), lit(nil, tI64)), b, "NNNN")
}

func TestCompareFloatsNaN(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	bld := array.NewFloat64Builder(mem)
	bld.AppendValues([]float64{math.NaN(), 1, math.Inf(1), math.Copysign(0, -1)}, nil)
	arr := bld.NewArray()
	bld.Release()
	b := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "f", Type: arrow.PrimitiveTypes.Float64}}, nil), []arrow.Array{arr}, 4)
	arr.Release()
	defer b.Release()
	f := col("f", tF64)
	expect(t, ctx, cmp(predicate.Ne, f, lit(1.0, tF64)), b, "TFTT")
	expect(t, ctx, cmp(predicate.Eq, f, lit(math.NaN(), tF64)), b, "FFFF")
	expect(t, ctx, cmp(predicate.Ne, f, f), b, "TFFF")              // NaN != NaN
	expect(t, ctx, cmp(predicate.Eq, f, lit(0.0, tF64)), b, "FFFT") // -0 == 0
	expect(t, ctx, cmp(predicate.Lt, f, lit(math.Inf(1), tF64)), b, "FTFT")
}

func TestKleeneLogic(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	// Every combination of a and b in {true, false, null}.
	b := batchOf(t, mem, []arrow.Field{
		{Name: "a", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, `[{"a": true, "b": true}, {"a": true, "b": false}, {"a": true, "b": null},
	     {"a": false, "b": true}, {"a": false, "b": false}, {"a": false, "b": null},
	     {"a": null, "b": true}, {"a": null, "b": false}, {"a": null, "b": null}]`)
	defer b.Release()
	a, bb := col("a", tBool), col("b", tBool)
	expect(t, ctx, &predicate.And{Args: []predicate.Expr{a, bb}}, b, "TFNFFFNFN")
	expect(t, ctx, &predicate.Or{Args: []predicate.Expr{a, bb}}, b, "TTTTFNTNN")
	expect(t, ctx, &predicate.Not{X: a}, b, "FFFTTTNNN")
	// Constant operands: true is dropped, null makes "true" impossible,
	// false (for AND) decides every row.
	expect(t, ctx, &predicate.And{Args: []predicate.Expr{a, lit(true, tBool)}}, b, "TTTFFFNNN")
	expect(t, ctx, &predicate.And{Args: []predicate.Expr{a, lit(nil, tBool)}}, b, "NNNFFFNNN")
	expect(t, ctx, &predicate.And{Args: []predicate.Expr{a, lit(false, tBool)}}, b, "FFFFFFFFF")
	expect(t, ctx, &predicate.Or{Args: []predicate.Expr{lit(nil, tBool), bb}}, b, "TNNTNNTNN")
	expect(t, ctx, &predicate.Or{Args: []predicate.Expr{lit(false, tBool), lit(nil, tBool)}}, b, "NNNNNNNNN")
	// Short-circuit: after a and not a every row is decided; the third
	// operand must not change the answer.
	expect(t, ctx, &predicate.Or{Args: []predicate.Expr{a, &predicate.Not{X: a}, bb}}, b, "TTTTTTTNN")
}

func TestIsNullNeverUnknown(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	b := batchOf(t, mem, []arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "j", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, `[{"i": 1, "j": 1}, {"i": null, "j": 2}, {"i": 3, "j": 0}]`)
	defer b.Release()
	i := col("i", tI64)
	expect(t, ctx, &predicate.IsNull{X: i}, b, "FTF")
	expect(t, ctx, &predicate.IsNull{X: i, Negated: true}, b, "TFT")
	expect(t, ctx, &predicate.IsNull{X: col("j", tI64)}, b, "FFF") // no nulls: no bitmap
	expect(t, ctx, &predicate.IsNull{X: col("j", tI64), Negated: true}, b, "TTT")
	// Division by zero is null, so i / j == nil holds on the last row.
	div := &predicate.Arith{Op: predicate.Div, L: &predicate.Cast{X: i, Typ: tF64}, R: &predicate.Cast{X: col("j", tI64), Typ: tF64}, Typ: tF64}
	expect(t, ctx, &predicate.IsNull{X: div}, b, "FTT")
}

func TestIn(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	b := batchOf(t, mem, []arrow.Field{
		{Name: "r", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "lr", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, `[{"r": "eu", "lr": "eu", "i": 1, "f": 1.5},
	     {"r": "us", "lr": "us", "i": 12, "f": 2},
	     {"r": "apac", "lr": "apac", "i": 13, "f": 0},
	     {"r": null, "lr": null, "i": null, "f": null}]`)
	defer b.Release()
	strs := func(vs ...string) []*predicate.Literal {
		out := make([]*predicate.Literal, len(vs))
		for i, v := range vs {
			out[i] = lit(v, tStr)
		}
		return out
	}
	expect(t, ctx, &predicate.In{X: col("r", tStr), List: strs("eu", "us")}, b, "TTFN")
	expect(t, ctx, &predicate.In{X: col("lr", tStr), List: strs("eu", "us"), Negated: true}, b, "FFTN")
	// More than smallSet values: the hashed set.
	many := strs("a", "b", "c", "d", "e", "f", "g", "h", "i", "us")
	expect(t, ctx, &predicate.In{X: col("r", tStr), List: many}, b, "FTFN")
	ints := make([]*predicate.Literal, 0, 12)
	for v := int64(1); v <= 12; v++ {
		ints = append(ints, lit(v, tI32))
	}
	expect(t, ctx, &predicate.In{X: col("i", tI32), List: ints}, b, "TTFN")
	expect(t, ctx, &predicate.In{X: col("i", tI32), List: ints[:2], Negated: true}, b, "FTTN")
	expect(t, ctx, &predicate.In{X: col("f", tF64), List: []*predicate.Literal{lit(2.0, tF64), lit(math.NaN(), tF64)}}, b, "FTFN")
}

func TestStringMatch(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	b := batchOf(t, mem, []arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ls", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "p", Type: arrow.BinaryTypes.String, Nullable: true},
	}, `[{"s": "o-12", "ls": "o-12", "p": "o-"},
	     {"s": "x-o-", "ls": "x-o-", "p": "x"},
	     {"s": "", "ls": "", "p": ""},
	     {"s": "o", "ls": "o", "p": null},
	     {"s": null, "ls": null, "p": "o"}]`)
	defer b.Release()
	m := func(op predicate.MatchOp, x, p predicate.Expr) predicate.Expr {
		return &predicate.StringMatch{Op: op, X: x, Pattern: p}
	}
	for _, name := range []string{"s", "ls"} {
		s := col(name, tStr)
		expect(t, ctx, m(predicate.StartsWith, s, lit("o-", tStr)), b, "TFFFN")
		expect(t, ctx, m(predicate.EndsWith, s, lit("o-", tStr)), b, "FTFFN")
		expect(t, ctx, m(predicate.Contains, s, lit("o-", tStr)), b, "TTFFN")
		expect(t, ctx, m(predicate.StartsWith, s, lit("", tStr)), b, "TTTTN")
		expect(t, ctx, m(predicate.StartsWith, s, col("p", tStr)), b, "TTTNN")
	}
	// A literal subject with a column pattern (the materialising path).
	expect(t, ctx, m(predicate.Contains, lit("xo-", tStr), col("p", tStr)), b, "TTTNT")
	expect(t, ctx, m(predicate.StartsWith, col("s", tStr), lit(nil, tStr)), b, "NNNNN")
}

func TestLowerUpperLen(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	vals := []string{"ABC", "Straße", "İSTANBUL", "x\xffY", "ǅ", "", "日本"}
	for _, large := range []bool{false, true} {
		var arr arrow.Array
		var dt arrow.DataType = arrow.BinaryTypes.String
		if large {
			dt = arrow.BinaryTypes.LargeString
			bld := array.NewLargeStringBuilder(mem)
			bld.AppendValues(vals, nil)
			arr = bld.NewArray()
			bld.Release()
		} else {
			bld := array.NewStringBuilder(mem)
			bld.AppendValues(vals, nil)
			arr = bld.NewArray()
			bld.Release()
		}
		b := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "s", Type: dt}}, nil), []arrow.Array{arr}, int64(len(vals)))
		arr.Release()
		s := col("s", tStr)
		for i, v := range vals {
			for _, fn := range []predicate.Func{predicate.Lower, predicate.Upper} {
				want := strings.ToLower(v)
				if fn == predicate.Upper {
					want = strings.ToUpper(v)
				}
				e := cmp(predicate.Eq, &predicate.Call{Fn: fn, Arg: s}, lit(want, tStr))
				p, err := Compile(e, b.Schema())
				if err != nil {
					t.Fatal(err)
				}
				got, err := p.Eval(ctx, b)
				if err != nil {
					t.Fatal(err)
				}
				if !got.Value(i) {
					t.Errorf("%s: row %d (%q) does not map to %q (large=%v)", e, i, v, want, large)
				}
				got.Release()
				checkAgainstReference(t, ctx, e, b)
			}
		}
		lens := []int64{3, 6, 8, 3, 1, 0, 2}
		for i, n := range lens {
			e := cmp(predicate.Eq, &predicate.Call{Fn: predicate.Len, Arg: s}, lit(n, tI64))
			p, err := Compile(e, b.Schema())
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Eval(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Value(i) {
				t.Errorf("len(%q) != %d", vals[i], n)
			}
			got.Release()
			checkAgainstReference(t, ctx, e, b)
		}
		b.Release()
	}
}

func TestArithmetic(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	b := batchOf(t, mem, []arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "b", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, `[{"a": 7, "b": 2}, {"a": 7, "b": 0}, {"a": -9223372036854775808, "b": -1},
	     {"a": 9223372036854775807, "b": 1}, {"a": null, "b": 1}]`)
	defer b.Release()
	a, bc := col("a", tI64), col("b", tI64)
	f := func(e predicate.Expr) predicate.Expr { return &predicate.Cast{X: e, Typ: tF64} }
	ar := func(op predicate.ArithOp, l, r predicate.Expr, t schema.Type) predicate.Expr {
		return &predicate.Arith{Op: op, L: l, R: r, Typ: t}
	}
	// int / int is float64 (7 / 2 = 3.5), by zero null.
	expect(t, ctx, cmp(predicate.Eq, ar(predicate.Div, f(a), f(bc), tF64), lit(3.5, tF64)), b, "TNFFN")
	// % by zero is null; MinInt64 % -1 is 0 (no panic).
	expect(t, ctx, cmp(predicate.Eq, ar(predicate.Mod, a, bc, tI64), lit(int64(1), tI64)), b, "TNFFN")
	expect(t, ctx, cmp(predicate.Eq, ar(predicate.Mod, a, bc, tI64), lit(int64(0), tI64)), b, "FNTTN")
	// Overflow is null (it used to wrap as in Go: "FFFTN" and "FFTFN").
	expect(t, ctx, cmp(predicate.Lt, ar(predicate.Add, a, bc, tI64), lit(int64(0), tI64)), b, "FFNNN")
	expect(t, ctx, cmp(predicate.Eq, &predicate.Neg{X: a}, a), b, "FFNFN")
	expect(t, ctx, &predicate.IsNull{X: ar(predicate.Sub, a, bc, tI64)}, b, "FFFFT")
	expect(t, ctx, &predicate.IsNull{X: ar(predicate.Mul, a, bc, tI64)}, b, "FFTFT")
	expect(t, ctx, &predicate.IsNull{X: ar(predicate.Mul, a, lit(int64(2), tI64), tI64)}, b, "FFTTT")
	expect(t, ctx, &predicate.IsNull{X: ar(predicate.Add, lit(int64(math.MaxInt64), tI64), a, tI64)}, b, "TTFTT")
	// Scalar on the left of a non-commutative operator.
	// (10 - MinInt64 overflows: null, no longer a wrapped false.)
	expect(t, ctx, cmp(predicate.Eq, ar(predicate.Sub, lit(int64(10), tI64), a, tI64), lit(int64(3), tI64)), b, "TTNFN")
	expect(t, ctx, cmp(predicate.Eq, ar(predicate.Div, lit(14.0, tF64), f(bc), tF64), lit(7.0, tF64)), b, "TNFFF")
	// A literal zero divisor nulls every row.
	expect(t, ctx, &predicate.IsNull{X: ar(predicate.Mod, a, lit(int64(0), tI64), tI64)}, b, "TTTTT")
	// Constant subtrees are folded: (1 + 2) * 3 == 9 is true on every row.
	expect(t, ctx, cmp(predicate.Eq, ar(predicate.Mul, ar(predicate.Add, lit(int64(1), tI64), lit(int64(2), tI64), tI64), lit(int64(3), tI64), tI64), lit(int64(9), tI64)), b, "TTTTT")
}

func TestTimestampAndDecimalAlignment(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	fields := []arrow.Field{
		{Name: "ms", Type: tsMsDT, Nullable: true},
		{Name: "us", Type: tsUsDT, Nullable: true},
		{Name: "d2", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
		{Name: "d3", Type: &arrow.Decimal128Type{Precision: 10, Scale: 3}, Nullable: true},
	}
	b := batchOf(t, mem, fields, `[{"ms": 1, "us": 1000, "d2": "1.50", "d3": "1.500"},
	     {"ms": 1, "us": 1001, "d2": "1.50", "d3": "1.501"},
	     {"ms": 2, "us": 1999, "d2": "-0.01", "d3": "-0.011"},
	     {"ms": null, "us": 1, "d2": null, "d3": "0"}]`)
	defer b.Release()
	// Columns of different units compare as instants (the ms side is
	// converted to us); decimals of different scales as numbers.
	expectOnly(t, ctx, cmp(predicate.Eq, col("ms", tTsMs), col("us", tTsUs)), b, "TFFN")
	expectOnly(t, ctx, cmp(predicate.Lt, col("us", tTsUs), col("ms", tTsMs)), b, "FFTN")
	expectOnly(t, ctx, cmp(predicate.Eq, col("d2", tDec2), col("d3", tDec3)), b, "TFFN")
	expectOnly(t, ctx, cmp(predicate.Gt, col("d2", tDec2), col("d3", tDec3)), b, "FFTN")
	expect(t, ctx, cmp(predicate.Ge, col("d2", tDec2), lit(big.NewInt(150), tDec2)), b, "TTFN")
	expect(t, ctx, &predicate.In{X: col("d3", tDec3), List: []*predicate.Literal{lit(big.NewInt(1501), tDec3)}}, b, "FTFF")
}

// expectOnly is expect without the reference check, for shapes the type
// checker never builds (columns of different units or scales) and the
// reference therefore does not line up.
func expectOnly(t *testing.T, ctx context.Context, e predicate.Expr, b arrow.RecordBatch, want string) {
	t.Helper()
	p, err := Compile(e, b.Schema())
	if err != nil {
		t.Fatalf("Compile(%s): %v", e, err)
	}
	got, err := p.Eval(ctx, b)
	if err != nil {
		t.Fatalf("Eval(%s): %v", e, err)
	}
	defer got.Release()
	if s := tri(got); s != want {
		t.Errorf("%s = %s, want %s", e, s, want)
	}
}

func TestDictionaryColumn(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	bld := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	for _, v := range []string{"eu", "us", "eu", "apac"} {
		if err := bld.AppendString(v); err != nil {
			t.Fatal(err)
		}
	}
	bld.AppendNull()
	arr := bld.NewArray()
	bld.Release()
	b := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "region", Type: dt, Nullable: true}}, nil), []arrow.Array{arr}, 5)
	arr.Release()
	defer b.Release()
	region := &predicate.ColumnRef{Name: "region", ColType: tStr, Partition: true}
	expectOnly(t, ctx, &predicate.In{X: region, List: []*predicate.Literal{lit("eu", tStr), lit("us", tStr)}}, b, "TTTFN")
}

func TestCompileErrors(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
		{Name: "n", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	cases := []struct {
		e    predicate.Expr
		want string
	}{
		{cmp(predicate.Gt, col("amount_usd", tF64), lit(1.0, tF64)), `column "amount_usd" is not in the batch schema`},
		{cmp(predicate.Gt, col("n", tI64), lit(int64(1), tI64)), `column "n": batch type int32 does not hold predicate type int64`},
		{col("amount", tF64), "not bool"},
		{cmp(predicate.Eq, col("amount", tF64), lit("x", tStr)), "cannot compare"},
		{&predicate.StringMatch{Op: predicate.StartsWith, X: col("amount", tF64), Pattern: lit("x", tStr)}, "not strings"},
		{nil, "nil expression"},
	}
	for _, c := range cases {
		_, err := Compile(c.e, s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Compile(%v) error = %v, want it to contain %q", c.e, err, c.want)
		}
	}
}

func TestEvalRejectsOtherSchema(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	p, err := Compile(cmp(predicate.Gt, col("a", tI64), lit(int64(1), tI64)),
		arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	b := batchOf(t, mem, []arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Float64}}, `[{"a": 1}]`)
	defer b.Release()
	if _, err := p.Eval(ctx, b); err == nil || !strings.Contains(err.Error(), `column "a"`) {
		t.Errorf("Eval on a float64 column: error = %v, want one naming column \"a\"", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Eval(cctx, b); err == nil {
		t.Error("Eval with a cancelled context succeeded")
	}
}

func TestFilter(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	b := batchOf(t, mem, []arrow.Field{
		{Name: "amount", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
	}, `[{"amount": 5, "id": "a"}, {"amount": 20, "id": "b"}, {"amount": null, "id": "c"}, {"amount": 30, "id": "d"}]`)
	defer b.Release()
	run := func(e predicate.Expr) arrow.RecordBatch {
		t.Helper()
		p, err := Compile(e, b.Schema())
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Filter(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	amount := col("amount", tI64)

	some := run(cmp(predicate.Gt, amount, lit(int64(10), tI64)))
	ids := some.Column(1).(*array.String)
	if some.NumRows() != 2 || ids.Value(0) != "b" || ids.Value(1) != "d" {
		t.Errorf("amount > 10 kept %d rows %v, want b and d (the null row dropped)", some.NumRows(), ids)
	}
	some.Release()

	all := run(&predicate.IsNull{X: col("id", tStr), Negated: true})
	if all != b {
		t.Error("a predicate true on every row did not return the input batch itself")
	}
	all.Release()

	none := run(cmp(predicate.Gt, amount, lit(int64(100), tI64)))
	if none.NumRows() != 0 || !none.Schema().Equal(b.Schema()) {
		t.Errorf("amount > 100 gave %d rows, schema %s", none.NumRows(), none.Schema())
	}
	none.Release()

	unknown := run(cmp(predicate.Gt, amount, lit(nil, tI64)))
	if unknown.NumRows() != 0 {
		t.Errorf("an unknown predicate kept %d rows", unknown.NumRows())
	}
	unknown.Release()

	empty := b.NewSlice(0, 0)
	p, _ := Compile(cmp(predicate.Gt, amount, lit(int64(1), tI64)), b.Schema())
	out, err := p.Filter(ctx, empty)
	if err != nil || out.NumRows() != 0 {
		t.Errorf("Filter of an empty batch: %v rows, err %v", out.NumRows(), err)
	}
	out.Release()
	empty.Release()
}

func TestTrueCount(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, n := range []int{1, 7, 8, 9, 64, 65, 130} {
		bld := array.NewBooleanBuilder(mem)
		want := 0
		for i := 0; i < n; i++ {
			switch i % 3 {
			case 0:
				bld.Append(true)
				want++
			case 1:
				bld.AppendNull()
			default:
				bld.Append(i%2 == 0)
				if i%2 == 0 {
					want++
				}
			}
		}
		arr := bld.NewBooleanArray()
		bld.Release()
		if got := trueCount(arr); got != want {
			t.Errorf("n=%d: trueCount = %d, want %d", n, got, want)
		}
		if n > 3 {
			sl := array.NewSlice(arr, 3, int64(n)).(*array.Boolean)
			w := 0
			for i := 0; i < sl.Len(); i++ {
				if sl.IsValid(i) && sl.Value(i) {
					w++
				}
			}
			if got := trueCount(sl); got != w {
				t.Errorf("n=%d sliced: trueCount = %d, want %d", n, got, w)
			}
			sl.Release()
		}
		arr.Release()
	}
}

// TestConcurrentEval shares one Program between goroutines (a Program is
// immutable; every evaluation allocates its own buffers).
func TestConcurrentEval(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	batch := ordersBatch(mem, 5000)
	defer batch.Release()
	pred, errs := predicate.Compile(typicalWhere, ordersEnv)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	p, err := Compile(pred.Root, batch.Schema())
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.Eval(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Release()
	errc := make(chan error, 4)
	for range 4 {
		go func() {
			for range 20 {
				got, err := p.Eval(ctx, batch)
				if err != nil {
					errc <- err
					return
				}
				same := tri(got) == tri(want)
				got.Release()
				if !same {
					errc <- fmt.Errorf("concurrent Eval gave a different mask")
					return
				}
			}
			errc <- nil
		}()
	}
	for range 4 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	checkAgainstReference(t, ctx, pred.Root, batch)
}
