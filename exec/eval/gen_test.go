package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// This file generates random batches and random, well-typed IR trees (the
// shapes spec/predicate's type checker produces) for the differential and
// fuzz tests.

// chooser is the source of random choices: math/rand for the differential
// test, the fuzzer's bytes for FuzzEval.
type chooser interface {
	IntN(n int) int
}

type randChooser struct{ r *rand.Rand }

func (c randChooser) IntN(n int) int { return c.r.IntN(n) }

// byteChooser draws choices from fuzz input; once it runs out every choice
// is 0, which always leads to a leaf, so generation terminates.
type byteChooser struct {
	data []byte
	pos  int
}

func (c *byteChooser) IntN(n int) int {
	if n <= 1 || c.pos >= len(c.data) {
		return 0
	}
	v := int(c.data[c.pos])
	c.pos++
	if n > 256 && c.pos < len(c.data) {
		v = v<<8 | int(c.data[c.pos])
		c.pos++
	}
	return v % n
}

// genColumn is one column of the generated schema.
type genColumn struct {
	name string
	typ  schema.Type
	dt   arrow.DataType
}

var (
	tsType  = schema.TimestampOf(schema.Microsecond, "")
	decType = schema.DecimalOf(10, 2)
)

var genColumns = []genColumn{
	{"b", schema.BoolType, arrow.FixedWidthTypes.Boolean},
	{"i32", schema.Type{Kind: schema.Int32}, arrow.PrimitiveTypes.Int32},
	{"i64", schema.Int64Type, arrow.PrimitiveTypes.Int64},
	{"j64", schema.Int64Type, arrow.PrimitiveTypes.Int64},
	{"f32", schema.Type{Kind: schema.Float32}, arrow.PrimitiveTypes.Float32},
	{"f64", schema.Float64Type, arrow.PrimitiveTypes.Float64},
	{"s", schema.StringType, arrow.BinaryTypes.String},
	{"ls", schema.StringType, arrow.BinaryTypes.LargeString},
	{"bin", schema.Type{Kind: schema.Binary}, arrow.BinaryTypes.Binary},
	{"d", schema.Type{Kind: schema.Date}, arrow.FixedWidthTypes.Date32},
	{"ts", tsType, &arrow.TimestampType{Unit: arrow.Microsecond}},
	{"ts2", tsType, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{"dec", decType, &arrow.Decimal128Type{Precision: 10, Scale: 2}},
	{"dec2", decType, &arrow.Decimal128Type{Precision: 12, Scale: 2}},
	// A struct read by path (st.a, st.in.x, st.s): nulls at each level.
	{"st", stType, arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "in", Type: arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true}), Nullable: true},
	)},
	{"txt", schema.StringType, arrow.BinaryTypes.String},
	{"tsms", schema.TimestampOf(schema.Millisecond, "Europe/Paris"), &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "Europe/Paris"}},
}

var stType = schema.MustParseType("struct(a int64, s string, in struct(x int64))")

func genSchema() *arrow.Schema {
	fs := make([]arrow.Field, len(genColumns))
	for i, c := range genColumns {
		fs[i] = arrow.Field{Name: c.name, Type: c.dt, Nullable: true}
	}
	return arrow.NewSchema(fs, nil)
}

func colByName(name string) genColumn {
	for _, c := range genColumns {
		if c.name == name {
			return c
		}
	}
	panic("no column " + name)
}

var (
	intPool = []int64{0, 1, -1, 2, 3, 7, 10, 100, -100, math.MaxInt64, math.MinInt64, math.MaxInt32, math.MinInt32,
		// around the overflow boundaries of +, - and * (3037000500² > MaxInt64 > 3037000499²)
		math.MaxInt64 - 1, math.MinInt64 + 1, math.MaxInt64 / 2, math.MinInt64 / 2, 1 << 32, -(1 << 32), 3037000499, 3037000500, -3037000500}
	floatPool = []float64{0, math.Copysign(0, -1), 0.5, 1, -1, 2.5, 10, 1e300, -1e300, math.Inf(1), math.Inf(-1), math.NaN(), 0.1, float64(float32(0.1))}
	strPool   = []string{"", "a", "A", "o-1", "o-2", "eu", "us", "EU", "ß", "straße", "İstanbul", "ǅ", "日本", "x\xffy", "\xc3", "o-", "abcabc", "ABC"}
	datePool  = []int32{0, 1, -1, 20454, 20455, math.MaxInt32, math.MinInt32}
	tsPool    = []int64{0, 1, -1, 1767225600000000, math.MaxInt64, math.MinInt64,
		1774747800000000, 1774744200000001, 1792891800000000, 1709208000000000, -86400000001, 1767225599999999, 253402300799999999}
	decPool = []int64{0, 1, -1, 1050, 99999999, -99999999, 250}
)

// genBatch builds n random rows (about a fifth null) of genSchema.
func genBatch(mem memory.Allocator, ch chooser, n int) arrow.RecordBatch {
	bld := array.NewRecordBuilder(mem, genSchema())
	defer bld.Release()
	nullRate := ch.IntN(4) // 0: no nulls at all, exercising the fast paths
	for r := 0; r < n; r++ {
		for i, c := range genColumns {
			fb := bld.Field(i)
			if nullRate > 0 && ch.IntN(10) < nullRate {
				fb.AppendNull()
				continue
			}
			appendGen(fb, ch, nullRate, c.name)
		}
	}
	return bld.NewRecordBatch()
}

// appendGen appends one random non-null value to b, of column name (a
// struct's fields may be null at nullRate).
func appendGen(fb array.Builder, ch chooser, nullRate int, name string) {
	switch b := fb.(type) {
	case *array.StructBuilder:
		b.Append(true)
		for j := 0; j < b.NumField(); j++ {
			if nullRate > 0 && ch.IntN(10) < nullRate {
				b.FieldBuilder(j).AppendNull()
				continue
			}
			appendGen(b.FieldBuilder(j), ch, nullRate, name+"."+b.Type().(*arrow.StructType).Field(j).Name)
		}
	case *array.BooleanBuilder:
		b.Append(ch.IntN(2) == 1)
	case *array.Int32Builder:
		b.Append(int32(pickInt(ch)))
	case *array.Int64Builder:
		b.Append(pickInt(ch))
	case *array.Float32Builder:
		b.Append(float32(pickFloat(ch)))
	case *array.Float64Builder:
		b.Append(pickFloat(ch))
	case *array.StringBuilder:
		if name == "txt" {
			b.Append(txtPool[ch.IntN(len(txtPool))])
		} else {
			b.Append(pickStr(ch))
		}
	case *array.LargeStringBuilder:
		b.Append(pickStr(ch))
	case *array.BinaryBuilder:
		b.Append([]byte(pickStr(ch)))
	case *array.Date32Builder:
		b.Append(arrow.Date32(datePool[ch.IntN(len(datePool))]))
	case *array.TimestampBuilder:
		v := tsPool[ch.IntN(len(tsPool))]
		if name == "tsms" {
			v /= 1000
		}
		b.Append(arrow.Timestamp(v))
	case *array.Decimal128Builder:
		b.Append(decimal128.FromI64(decPool[ch.IntN(len(decPool))]))
	default:
		panic(fmt.Sprintf("unhandled builder %T", fb))
	}
}

func pickInt(ch chooser) int64 {
	if ch.IntN(3) == 0 {
		return int64(ch.IntN(2001) - 1000)
	}
	return intPool[ch.IntN(len(intPool))]
}

func pickFloat(ch chooser) float64 {
	if ch.IntN(3) == 0 {
		return float64(ch.IntN(2001)-1000) / 4
	}
	return floatPool[ch.IntN(len(floatPool))]
}

func pickStr(ch chooser) string { return strPool[ch.IntN(len(strPool))] }

// rowValue reads row i of column a in the representation predicate.Eval
// expects (nil for null).
func rowValue(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Boolean:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Float32:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Binary:
		return string(a.Value(i))
	case *array.Date32:
		return int32(a.Value(i))
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.Decimal128:
		return a.Value(i).BigInt()
	case *array.Struct:
		m := map[string]any{}
		for j, f := range a.DataType().(*arrow.StructType).Fields() {
			m[f.Name] = rowValue(a.Field(j), i)
		}
		return m
	}
	panic("rowValue: unhandled " + a.DataType().String())
}

// exprGen builds random well-typed IR.
type exprGen struct {
	ch chooser
}

func (g *exprGen) col(name string) *predicate.ColumnRef {
	c := colByName(name)
	return &predicate.ColumnRef{Name: c.name, ColType: c.typ}
}

func (g *exprGen) pickName(names ...string) string { return names[g.ch.IntN(len(names))] }

func nullLit(t schema.Type) *predicate.Literal { return &predicate.Literal{Typ: t} }

// intExpr is an Int64-typed expression.
func (g *exprGen) intExpr(depth int) predicate.Expr {
	k := g.ch.IntN(10)
	if depth <= 0 {
		k %= 3
	}
	switch k {
	case 0:
		if g.ch.IntN(5) == 0 {
			if g.ch.IntN(2) == 0 {
				return &predicate.ColumnRef{Name: "st", Path: []string{"a"}, ColType: schema.Int64Type}
			}
			return &predicate.ColumnRef{Name: "st", Path: []string{"in", "x"}, ColType: schema.Int64Type}
		}
		return g.col(g.pickName("i64", "j64"))
	case 1:
		if g.ch.IntN(12) == 0 {
			return nullLit(schema.Int64Type)
		}
		return &predicate.Literal{Value: pickInt(g.ch), Typ: schema.Int64Type}
	case 2:
		return &predicate.Cast{X: g.col("i32"), Typ: schema.Int64Type}
	case 3, 4:
		ops := []predicate.ArithOp{predicate.Add, predicate.Sub, predicate.Mul, predicate.Mod}
		return &predicate.Arith{Op: ops[g.ch.IntN(len(ops))], L: g.intExpr(depth - 1), R: g.intExpr(depth - 1), Typ: schema.Int64Type}
	case 5:
		return &predicate.Neg{X: g.intExpr(depth - 1)}
	case 6:
		return &predicate.Call{Fn: predicate.Len, Arg: g.strExpr(depth - 1)}
	case 8:
		return g.funcInt(depth)
	default:
		return &predicate.Neg{X: g.col("i32")}
	}
}

// floatExpr is a Float64-typed expression.
func (g *exprGen) floatExpr(depth int) predicate.Expr {
	k := g.ch.IntN(8)
	if depth <= 0 {
		k %= 3
	}
	switch k {
	case 0:
		return g.col("f64")
	case 1:
		if g.ch.IntN(12) == 0 {
			return nullLit(schema.Float64Type)
		}
		return &predicate.Literal{Value: pickFloat(g.ch), Typ: schema.Float64Type}
	case 2:
		return &predicate.Cast{X: g.col("f32"), Typ: schema.Float64Type}
	case 3:
		return &predicate.Cast{X: g.intExpr(depth - 1), Typ: schema.Float64Type}
	case 4, 5:
		ops := []predicate.ArithOp{predicate.Add, predicate.Sub, predicate.Mul, predicate.Div}
		return &predicate.Arith{Op: ops[g.ch.IntN(len(ops))], L: g.floatExpr(depth - 1), R: g.floatExpr(depth - 1), Typ: schema.Float64Type}
	case 7:
		return g.funcFloat(depth)
	default:
		return &predicate.Neg{X: g.floatExpr(depth - 1)}
	}
}

// strExpr is a String-typed expression.
func (g *exprGen) strExpr(depth int) predicate.Expr {
	k := g.ch.IntN(6)
	if depth <= 0 {
		k %= 2
	}
	switch k {
	case 0:
		if g.ch.IntN(5) == 0 {
			return &predicate.ColumnRef{Name: "st", Path: []string{"s"}, ColType: schema.StringType}
		}
		return g.col(g.pickName("s", "ls"))
	case 1:
		if g.ch.IntN(15) == 0 {
			return nullLit(schema.StringType)
		}
		return &predicate.Literal{Value: pickStr(g.ch), Typ: schema.StringType}
	case 2:
		return &predicate.Call{Fn: predicate.Lower, Arg: g.strExpr(depth - 1)}
	case 4, 5:
		return g.funcStr(depth)
	default:
		return &predicate.Call{Fn: predicate.Upper, Arg: g.strExpr(depth - 1)}
	}
}

func (g *exprGen) cmpOp() predicate.CmpOp { return predicate.CmpOp(1 + g.ch.IntN(6)) }

// boolExpr is a Bool-typed expression over every node kind.
func (g *exprGen) boolExpr(depth int) predicate.Expr {
	k := g.ch.IntN(22)
	if depth <= 0 {
		k %= 10 // leaves and shallow comparisons only
	}
	switch k {
	case 0:
		return g.col("b")
	case 1:
		return &predicate.Compare{Op: g.cmpOp(), L: g.intExpr(depth - 1), R: g.intExpr(depth - 1)}
	case 2:
		return &predicate.Compare{Op: g.cmpOp(), L: g.floatExpr(depth - 1), R: g.floatExpr(depth - 1)}
	case 3:
		return &predicate.Compare{Op: g.cmpOp(), L: g.strExpr(depth - 1), R: g.strExpr(depth - 1)}
	case 4:
		// An int32 column against an int32-typed literal (the checker adapts
		// integer literals to int32 columns).
		lit := &predicate.Literal{Value: int64(int32(pickInt(g.ch))), Typ: schema.Type{Kind: schema.Int32}}
		var l, r predicate.Expr = g.col("i32"), lit
		if g.ch.IntN(2) == 0 {
			l, r = r, l
		}
		if g.ch.IntN(4) == 0 {
			r = g.col("i32")
		}
		return &predicate.Compare{Op: g.cmpOp(), L: l, R: r}
	case 5:
		var r predicate.Expr = &predicate.Literal{Value: datePool[g.ch.IntN(len(datePool))], Typ: schema.Type{Kind: schema.Date}}
		if g.ch.IntN(3) == 0 {
			r = g.col("d")
		}
		return &predicate.Compare{Op: g.cmpOp(), L: g.col("d"), R: r}
	case 6:
		var r predicate.Expr = &predicate.Literal{Value: tsPool[g.ch.IntN(len(tsPool))], Typ: tsType}
		if g.ch.IntN(3) == 0 {
			r = g.col(g.pickName("ts", "ts2"))
		}
		return &predicate.Compare{Op: g.cmpOp(), L: g.col(g.pickName("ts", "ts2")), R: r}
	case 7:
		var r predicate.Expr = &predicate.Literal{Value: big.NewInt(decPool[g.ch.IntN(len(decPool))]), Typ: decType}
		if g.ch.IntN(3) == 0 {
			r = g.col(g.pickName("dec", "dec2"))
		}
		return &predicate.Compare{Op: g.cmpOp(), L: g.col("dec"), R: r}
	case 8:
		ops := []predicate.CmpOp{predicate.Eq, predicate.Ne}
		var r predicate.Expr = &predicate.Literal{Value: g.ch.IntN(2) == 1, Typ: schema.BoolType}
		if g.ch.IntN(3) == 0 {
			r = g.boolExpr(depth - 1)
		}
		return &predicate.Compare{Op: ops[g.ch.IntN(2)], L: g.col("b"), R: r}
	case 9:
		if g.ch.IntN(4) == 0 {
			return nullLit(schema.BoolType)
		}
		return &predicate.Literal{Value: g.ch.IntN(2) == 1, Typ: schema.BoolType}
	case 10, 11:
		args := make([]predicate.Expr, 1+g.ch.IntN(4))
		for i := range args {
			args[i] = g.boolExpr(depth - 1)
		}
		if k == 10 {
			return &predicate.And{Args: args}
		}
		return &predicate.Or{Args: args}
	case 12:
		return &predicate.Not{X: g.boolExpr(depth - 1)}
	case 13:
		return g.inExpr(depth)
	case 14:
		var x predicate.Expr
		switch g.ch.IntN(5) {
		case 0:
			x = g.intExpr(depth - 1)
		case 1:
			x = g.floatExpr(depth - 1)
		case 2:
			x = g.strExpr(depth - 1)
		case 3:
			x = g.boolExpr(depth - 1)
		default:
			x = g.col(genColumns[g.ch.IntN(len(genColumns))].name)
		}
		return &predicate.IsNull{X: x, Negated: g.ch.IntN(2) == 1}
	case 15, 16:
		var p predicate.Expr = &predicate.Literal{Value: pickStr(g.ch), Typ: schema.StringType}
		if g.ch.IntN(4) == 0 {
			p = g.strExpr(depth - 1)
		}
		return &predicate.StringMatch{Op: predicate.MatchOp(1 + g.ch.IntN(3)), X: g.strExpr(depth - 1), Pattern: p}
	case 19, 20:
		return g.funcBool(depth)
	case 17:
		// binary column compared with a binary literal
		return &predicate.Compare{Op: g.cmpOp(), L: g.col("bin"), R: &predicate.Literal{Value: pickStr(g.ch), Typ: schema.Type{Kind: schema.Binary}}}
	default:
		return &predicate.Compare{Op: g.cmpOp(), L: g.floatExpr(depth - 1), R: &predicate.Cast{X: g.intExpr(depth - 1), Typ: schema.Float64Type}}
	}
}

func (g *exprGen) inExpr(depth int) predicate.Expr {
	n := 1 + g.ch.IntN(12) // both the linear and the hashed set
	in := &predicate.In{Negated: g.ch.IntN(2) == 1}
	switch g.ch.IntN(6) {
	case 0:
		in.X = g.intExpr(depth - 1)
		for range n {
			in.List = append(in.List, &predicate.Literal{Value: pickInt(g.ch), Typ: schema.Int64Type})
		}
	case 1:
		in.X = g.col("i32")
		for range n {
			in.List = append(in.List, &predicate.Literal{Value: int64(int32(pickInt(g.ch))), Typ: schema.Type{Kind: schema.Int32}})
		}
	case 2:
		in.X = g.floatExpr(depth - 1)
		for range n {
			in.List = append(in.List, &predicate.Literal{Value: pickFloat(g.ch), Typ: schema.Float64Type})
		}
	case 3:
		in.X = g.col("d")
		for range n {
			in.List = append(in.List, &predicate.Literal{Value: datePool[g.ch.IntN(len(datePool))], Typ: schema.Type{Kind: schema.Date}})
		}
	case 4:
		in.X = g.col("dec")
		for range n {
			in.List = append(in.List, &predicate.Literal{Value: big.NewInt(decPool[g.ch.IntN(len(decPool))]), Typ: decType})
		}
	default:
		in.X = g.strExpr(depth - 1)
		for range n {
			in.List = append(in.List, &predicate.Literal{Value: pickStr(g.ch), Typ: schema.StringType})
		}
	}
	return in
}

// checkAgainstReference evaluates e on b with the Program and row by row
// with predicate.Eval, and reports every row where they differ.
func checkAgainstReference(t testing.TB, ctx context.Context, e predicate.Expr, b arrow.RecordBatch) (counts [3]int) {
	t.Helper()
	p, err := Compile(e, b.Schema())
	if err != nil {
		t.Fatalf("Compile(%s): %v", e, err)
	}
	// The value API first: values and row errors, row by row.
	nerr, vcounts := checkValueAgainstReference(t, ctx, e, b)
	if nerr > 0 {
		// A predicate cannot decide a row whose cast failed: the batch fails.
		_, err := p.Eval(ctx, b)
		var bad *BadRowsError
		if !errors.As(err, &bad) || len(bad.Rows) != nerr {
			t.Errorf("Eval(%s): %v, want a BadRowsError for %d rows", e, err, nerr)
		}
		return vcounts
	}
	got, err := p.Eval(ctx, b)
	if err != nil {
		t.Fatalf("Eval(%s): %v", e, err)
	}
	defer got.Release()
	if got.Len() != int(b.NumRows()) {
		t.Fatalf("Eval(%s): %d values for %d rows", e, got.Len(), b.NumRows())
	}
	names := map[string]int{}
	for i, f := range b.Schema().Fields() {
		names[f.Name] = i
	}
	bad := 0
	for r := 0; r < int(b.NumRows()); r++ {
		row := func(name string) (any, bool) {
			i, ok := names[name]
			if !ok {
				return nil, false
			}
			return rowValue(b.Column(i), r), true
		}
		v, err := predicate.Eval(e, row)
		if err != nil {
			t.Fatalf("reference Eval(%s) row %d: %v (generator built an ill-typed tree)", e, r, err)
		}
		want := predicate.TriOf(v)
		counts[want]++
		have := predicate.Unknown
		if got.IsValid(r) {
			have = predicate.False
			if got.Value(r) {
				have = predicate.True
			}
		}
		if have != want {
			bad++
			if bad <= 5 {
				t.Errorf("%s\n row %d: got %s, reference %s; row: %s", e, r, have, want, rowString(b, r))
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d rows differ in all", e, bad)
	}
	return counts
}

func rowString(b arrow.RecordBatch, r int) string {
	out := ""
	for i, f := range b.Schema().Fields() {
		if i > 0 {
			out += " "
		}
		out += f.Name + "=" + b.Column(i).ValueStr(r)
	}
	return out
}

// checkedCtx returns a checked allocator and a context carrying it.
func checkedCtx(t testing.TB) (*memory.CheckedAllocator, context.Context) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	return mem, compute.WithAllocator(context.Background(), mem)
}
