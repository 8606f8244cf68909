package predicate

import (
	"math"
	"math/big"
	"testing"

	"github.com/sluicedata/sluice/spec/schema"
)

// TestQuoteRoundTrip: every string survives Quote and expr-lang's lexer.
func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "it's", `back\slash`, "tab\tnew\nline\rret", "\x00\x01\x7f", "é日本🙂", "\u200b\u2028", "'\"`"} {
		src := "order_id == " + Quote(s)
		p, errs := Compile(src, testEnv())
		if len(errs) > 0 {
			t.Errorf("Quote(%q) = %s does not compile: %v", s, Quote(s), errs)
			continue
		}
		if got := p.Root.(*Compare).R.(*Literal).Value; got != s {
			t.Errorf("Quote(%q) reads back as %q", s, got)
		}
	}
}

// TestStringHandBuilt covers IR a planner rewrite may build but Compile
// never produces, and the enum String methods.
func TestStringHandBuilt(t *testing.T) {
	col := func(n string, k schema.Kind) *ColumnRef { return &ColumnRef{Name: n, ColType: schema.Type{Kind: k}} }
	i, f, b := col("i", schema.Int64), col("f", schema.Float64), col("b", schema.Bool)
	one := &Literal{Value: int64(1), Typ: schema.Int64Type}
	tests := []struct {
		e    Expr
		want string
	}{
		{&Neg{X: &Neg{X: i}}, "-(-i)"},
		{&Neg{X: &Arith{Op: Sub, L: i, R: one}}, "-(i - 1)"},
		{&Arith{Op: Mul, L: i, R: &Arith{Op: Div, L: i, R: one}}, "i * (i / 1)"},
		{&Arith{Op: Sub, L: &Arith{Op: Sub, L: i, R: one}, R: one}, "i - 1 - 1"},
		{&Not{X: &In{X: i, List: []*Literal{one}}}, "!(i in [1])"},
		{&And{Args: []Expr{b, &And{Args: []Expr{b, b}}}}, "b && (b && b)"},
		{&And{Args: []Expr{&Or{Args: []Expr{b, b}}, b}}, "(b || b) && b"},
		{&Or{Args: []Expr{b, &Or{Args: []Expr{b}}}}, "b || b"},
		{&And{}, "true"},
		{&Or{}, "false"},
		{&Compare{Op: Gt, L: f, R: &Literal{Value: math.Inf(1), Typ: schema.Float64Type}}, "f > (1.0 / 0.0)"},
		{&Compare{Op: Lt, L: f, R: &Literal{Value: math.Inf(-1), Typ: schema.Float64Type}}, "f < (-1.0 / 0.0)"},
		{&Compare{Op: Ne, L: f, R: &Literal{Value: math.NaN(), Typ: schema.Float64Type}}, "f != (0.0 / 0.0)"},
		{&Compare{Op: Eq, L: f, R: &Literal{Value: 1e21, Typ: schema.Float64Type}}, "f == 1e+21"},
		{&Literal{Value: big.NewInt(-5), Typ: schema.DecimalOf(5, 3)}, "'-0.005'"},
		{&Literal{Value: int32(-1), Typ: schema.DateType}, "'1969-12-31'"},
		{&Literal{Value: int64(-1), Typ: schema.TimestampOf(schema.Nanosecond, "")}, "'1969-12-31T23:59:59.999999999Z'"},
		{&Literal{Value: nil, Typ: schema.Int64Type}, "nil"},
		{&Call{Fn: Upper, Arg: &Call{Fn: Lower, Arg: col("s", schema.String)}}, "upper(lower(s))"},
		{&StringMatch{Op: EndsWith, X: col("s", schema.String), Pattern: col("t", schema.String)}, "s endsWith t"},
		{&IsNull{X: &Compare{Op: Eq, L: i, R: one}}, "(i == 1) == nil"},
	}
	for _, tt := range tests {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	if CmpOp(0).String() != "CmpOp(0)" || ArithOp(9).String() != "ArithOp(9)" || MatchOp(0).String() != "MatchOp(0)" || Func(0).String() != "Func(0)" {
		t.Error("String of an invalid enum value")
	}
	var nilPred *Predicate
	if nilPred.String() != "" {
		t.Error("nil predicate String")
	}
	e := Error{Span: Span{3, 7}, Summary: "unknown column \"x\"", Detail: "Did you mean \"y\"?"}
	if e.Error() != `3-7: unknown column "x": Did you mean "y"?` {
		t.Errorf("Error() = %q", e.Error())
	}
}
