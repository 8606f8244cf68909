package predicate

import (
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/spec/schema"
)

// rowOf serves values from a map; a missing name is unknown to the row.
func rowOf(m map[string]any) func(string) (any, bool) {
	return func(name string) (any, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// Hand-built boolean leaves for the truth tables: a bool column b whose
// value is true, false or null.
func boolCol(name string) *ColumnRef { return &ColumnRef{Name: name, ColType: schema.BoolType} }

func triValue(t Tri) any {
	switch t {
	case True:
		return true
	case False:
		return false
	}
	return nil
}

var tris = []Tri{False, True, Unknown}

func TestKleeneAndOr(t *testing.T) {
	// The Kleene tables, written out rather than computed.
	and := map[[2]Tri]Tri{
		{False, False}: False, {False, True}: False, {False, Unknown}: False,
		{True, False}: False, {True, True}: True, {True, Unknown}: Unknown,
		{Unknown, False}: False, {Unknown, True}: Unknown, {Unknown, Unknown}: Unknown,
	}
	or := map[[2]Tri]Tri{
		{False, False}: False, {False, True}: True, {False, Unknown}: Unknown,
		{True, False}: True, {True, True}: True, {True, Unknown}: True,
		{Unknown, False}: Unknown, {Unknown, True}: True, {Unknown, Unknown}: Unknown,
	}
	a, b := boolCol("a"), boolCol("b")
	for _, x := range tris {
		for _, y := range tris {
			row := rowOf(map[string]any{"a": triValue(x), "b": triValue(y)})
			if got := EvalBool(&And{Args: []Expr{a, b}}, row); got != and[[2]Tri{x, y}] {
				t.Errorf("%s AND %s = %s, want %s", x, y, got, and[[2]Tri{x, y}])
			}
			if got := EvalBool(&Or{Args: []Expr{a, b}}, row); got != or[[2]Tri{x, y}] {
				t.Errorf("%s OR %s = %s, want %s", x, y, got, or[[2]Tri{x, y}])
			}
		}
	}
	// n-ary: false dominates unknown in AND wherever it appears.
	row := rowOf(map[string]any{"a": nil, "b": true, "c": false})
	if got := EvalBool(&And{Args: []Expr{boolCol("a"), boolCol("b"), boolCol("c")}}, row); got != False {
		t.Errorf("unknown AND true AND false = %s", got)
	}
	if got := EvalBool(&Or{Args: []Expr{boolCol("c"), boolCol("a"), boolCol("b")}}, row); got != True {
		t.Errorf("false OR unknown OR true = %s", got)
	}
	if got := EvalBool(&And{}, row); got != True {
		t.Errorf("empty AND = %s", got)
	}
	if got := EvalBool(&Or{}, row); got != False {
		t.Errorf("empty OR = %s", got)
	}
}

func TestKleeneNotIsNull(t *testing.T) {
	not := map[Tri]Tri{False: True, True: False, Unknown: Unknown}
	isNull := map[Tri]Tri{False: False, True: False, Unknown: True}
	for _, x := range tris {
		row := rowOf(map[string]any{"a": triValue(x)})
		if got := EvalBool(&Not{X: boolCol("a")}, row); got != not[x] {
			t.Errorf("NOT %s = %s, want %s", x, got, not[x])
		}
		if got := EvalBool(&IsNull{X: boolCol("a")}, row); got != isNull[x] {
			t.Errorf("%s IS NULL = %s, want %s", x, got, isNull[x])
		}
		if got := EvalBool(&IsNull{X: boolCol("a"), Negated: true}, row); got != not[isNull[x]] {
			t.Errorf("%s IS NOT NULL = %s", x, got)
		}
	}
}

func TestEvalCompiled(t *testing.T) {
	env := testEnv()
	base := map[string]any{
		"order_id": "o-123", "customer_id": int64(7), "qty": int64(3),
		"amount": big.NewInt(1250), // 12.50
		"price":  2.5, "weight": 1.5, "paid": true, "blob": "a\x00b",
		"day":   int32(20454),            // 2026-01-01
		"ts":    int64(1767261600000000), // 2026-01-01T10:00:00Z
		"ts_ms": int64(0), "dt": int32(20454), "region": "eu",
	}
	null := func(names ...string) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for _, n := range names {
			m[n] = nil
		}
		return m
	}
	tests := []struct {
		src  string
		row  map[string]any
		want Tri
	}{
		{"dt >= '2026-01-01' && region in ['eu', 'us'] && amount > 0", base, True},
		{"dt > '2026-01-01'", base, False},
		{"amount == 12.5", base, True},
		{"amount > '12.49' && amount < 12.51", base, True},
		{"amount in [1, 12.50]", base, True},
		{"qty > 2 && qty < 4", base, True},
		{"qty in [1, 2]", base, False},
		{"qty not in [1, 2]", base, True},
		{"qty in [1, 2]", null("qty"), Unknown},
		{"qty not in [1, 2]", null("qty"), Unknown},
		{"qty in []", base, False},
		{"qty > 1", null("qty"), Unknown},
		{"qty == nil", null("qty"), True},
		{"qty != nil", null("qty"), False},
		{"qty == nil", base, False},
		{"qty > 100 && qty == nil", null("qty"), Unknown},
		{"qty > 100 && qty != nil", null("qty"), False},
		{"qty > 100 || qty == nil", null("qty"), True},
		{"!(qty > 1)", null("qty"), Unknown},
		{"qty / 2 == 1.5", base, True},
		{"customer_id % 4 == 3", base, True},
		{"customer_id / 0 == nil", base, True},  // division by zero is null
		{"customer_id % 0 == nil", base, True},  // so is modulo by zero
		{"price / 0 > 1 || true", base, True},   // and float division too
		{"price / 0 > 1", base, Unknown},        //
		{"qty - customer_id == -4", base, True}, //
		{"-qty * 2 + 1 == -5", base, True},      //
		{"qty * price == 7.5", base, True},      // int * float → float
		{"weight == 1.5 && weight > qty / 3", base, True},
		{"order_id startsWith 'o-' && order_id endsWith '23' && order_id contains '-1'", base, True},
		{"order_id startsWith 'O-'", base, False},
		{"order_id startsWith 'o'", null("order_id"), Unknown},
		{"upper(order_id) == 'O-123' && lower('ÀB') == 'àb'", base, True},
		{"len(order_id) == 5 && len('日本語') == 3", base, True},
		{"len(order_id) > 1", null("order_id"), Unknown},
		{"day == '2026-01-01' && day < '2026-01-02' && day > '2025-12-31'", base, True},
		{"ts == '2026-01-01 10:00:00' && ts == '2026-01-01T11:00:00+01:00'", base, True},
		{"ts > '2026-01-01'", base, True},
		{"ts_ms == '1970-01-01 01:00:00'", base, True}, // Paris local time = epoch
		{"paid && region == 'eu'", base, True},
		{"paid != false", base, True},
		{"blob == 'a\\x00b'", base, True},
		{"region == 'EU'", base, False},
		{"qty < 1 < 2", base, False}, // chained: qty < 1 && 1 < 2
	}
	for _, tt := range tests {
		p, errs := Compile(tt.src, env)
		if len(errs) > 0 {
			t.Errorf("Compile(%q): %v", tt.src, errs)
			continue
		}
		if got := EvalBool(p.Root, rowOf(tt.row)); got != tt.want {
			v, err := Eval(p.Root, rowOf(tt.row))
			t.Errorf("%q = %s (%v, %v), want %s", tt.src, got, v, err, tt.want)
		}
		// Conjuncts are the root: their AND gives the same answer.
		var cj []Expr
		for _, c := range p.Conjuncts {
			cj = append(cj, c.Expr)
		}
		if got := EvalBool(&And{Args: cj}, rowOf(tt.row)); got != tt.want {
			t.Errorf("%q: AND of conjuncts = %s, want %s", tt.src, got, tt.want)
		}
	}
}

func TestEvalValues(t *testing.T) {
	row := rowOf(map[string]any{"i": int64(7), "f": 2.0, "s": "Straße", "n": nil})
	i := &ColumnRef{Name: "i", ColType: schema.Int64Type}
	f := &ColumnRef{Name: "f", ColType: schema.Float64Type}
	s := &ColumnRef{Name: "s", ColType: schema.StringType}
	n := &ColumnRef{Name: "n", ColType: schema.Int64Type}
	lit := func(v int64) *Literal { return &Literal{Value: v, Typ: schema.Int64Type} }
	tests := []struct {
		e    Expr
		want any
	}{
		{&Arith{Op: Add, L: i, R: lit(1), Typ: schema.Int64Type}, int64(8)},
		{&Arith{Op: Sub, L: i, R: lit(10), Typ: schema.Int64Type}, int64(-3)},
		{&Arith{Op: Mul, L: i, R: lit(3), Typ: schema.Int64Type}, int64(21)},
		{&Arith{Op: Mod, L: i, R: lit(-4), Typ: schema.Int64Type}, int64(3)},
		{&Arith{Op: Mod, L: &Neg{X: i}, R: lit(4), Typ: schema.Int64Type}, int64(-3)},
		{&Arith{Op: Div, L: &Cast{X: i, Typ: schema.Float64Type}, R: f, Typ: schema.Float64Type}, 3.5},
		{&Arith{Op: Add, L: n, R: lit(1), Typ: schema.Int64Type}, nil},
		// Integer overflow is null (it used to wrap to MinInt64).
		{&Arith{Op: Add, L: &Literal{Value: int64(math.MaxInt64), Typ: schema.Int64Type}, R: lit(1), Typ: schema.Int64Type}, nil},
		{&Arith{Op: Sub, L: &Literal{Value: int64(math.MinInt64), Typ: schema.Int64Type}, R: lit(1), Typ: schema.Int64Type}, nil},
		{&Arith{Op: Mul, L: &Literal{Value: int64(math.MaxInt64 / 2), Typ: schema.Int64Type}, R: lit(3), Typ: schema.Int64Type}, nil},
		{&Arith{Op: Mul, L: &Literal{Value: int64(math.MinInt64), Typ: schema.Int64Type}, R: lit(-1), Typ: schema.Int64Type}, nil},
		{&Arith{Op: Mul, L: &Literal{Value: int64(math.MinInt64 / 2), Typ: schema.Int64Type}, R: lit(2), Typ: schema.Int64Type}, int64(math.MinInt64)},
		{&Arith{Op: Add, L: &Literal{Value: int64(math.MaxInt64), Typ: schema.Int64Type}, R: lit(-1), Typ: schema.Int64Type}, int64(math.MaxInt64 - 1)},
		{&Arith{Op: Mod, L: &Literal{Value: int64(math.MinInt64), Typ: schema.Int64Type}, R: lit(-1), Typ: schema.Int64Type}, int64(0)},
		{&Neg{X: &Literal{Value: int64(math.MinInt64), Typ: schema.Int64Type}}, nil},
		{&Neg{X: n}, nil},
		{&Cast{X: i, Typ: schema.Float64Type}, 7.0},
		{&Cast{X: n, Typ: schema.Float64Type}, nil},
		{&Call{Fn: Upper, Arg: s}, "STRAßE"}, // per-rune mapping, no special casing
		{&Call{Fn: Lower, Arg: s}, "straße"},
		{&Call{Fn: Len, Arg: s}, int64(6)},
		{&Compare{Op: Lt, L: &Literal{Value: math.NaN(), Typ: schema.Float64Type}, R: f}, false},
		{&Compare{Op: Ne, L: &Literal{Value: math.NaN(), Typ: schema.Float64Type}, R: f}, true},
		{&Compare{Op: Eq, L: n, R: n}, nil},
	}
	for _, tt := range tests {
		got, err := Eval(tt.e, row)
		if err != nil {
			t.Errorf("Eval(%s): %v", tt.e, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Eval(%s) = %#v, want %#v", tt.e, got, tt.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	p := mustCompile(t, "qty > 1 && region == 'eu'")
	// A name the row does not know is an error from Eval, Unknown from EvalBool.
	row := rowOf(map[string]any{"qty": int64(2)})
	if _, err := Eval(p.Root, row); err == nil || !strings.Contains(err.Error(), `"region"`) {
		t.Errorf("missing column: err = %v", err)
	}
	if got := EvalBool(p.Root, row); got != Unknown {
		t.Errorf("missing column: EvalBool = %s", got)
	}
	// A value of the wrong Go type names the column.
	row = rowOf(map[string]any{"qty": "two", "region": "eu"})
	if _, err := Eval(p.Root, row); err == nil || !strings.Contains(err.Error(), `column "qty"`) {
		t.Errorf("bad value: err = %v", err)
	}
	// Narrower Go types are accepted for convenience.
	row = rowOf(map[string]any{"qty": int32(2), "region": []byte("eu")})
	if got := EvalBool(p.Root, row); got != True {
		t.Errorf("int32/[]byte row values: %s", got)
	}
}

func TestParsePartitionValue(t *testing.T) {
	mt := schema.MustParseType
	tests := []struct {
		raw  string
		typ  schema.Type
		want any
		err  string
	}{
		{"eu", schema.StringType, "eu", ""},
		{"a%2Fb%3Dc%25", schema.StringType, "a/b=c%", ""},
		{"a+b", schema.StringType, "a+b", ""},
		{hive.DefaultPartition, schema.StringType, nil, ""},
		{hive.DefaultPartition, schema.DateType, nil, ""},
		{"2026-01-01", schema.DateType, int32(20454), ""},
		{"1969-12-31", schema.DateType, int32(-1), ""},
		{"2026-1-1", schema.DateType, nil, "invalid date"},
		{"42", schema.Int32Type, int64(42), ""},
		{"-42", schema.Int64Type, int64(-42), ""},
		{"3000000000", schema.Int32Type, nil, "invalid int32"},
		{"1.5", schema.Float64Type, 1.5, ""},
		{"true", schema.BoolType, true, ""},
		{"yes", schema.BoolType, nil, "invalid bool"},
		{"2026-01-01 10%3A00%3A00", mt("timestamp(ms)"), int64(1767261600000), ""},
		{"2026-01-01T10:00:00Z", mt("timestamp(us)"), int64(1767261600000000), ""},
		{"2026-01-01", mt("timestamp(ms, UTC)"), int64(1767225600000), ""},
		{"12.5", mt("decimal(5, 2)"), big.NewInt(1250), ""},
		// Unescaping is lenient (hive.Unescape): a '%' that starts no
		// escape is text, as Hive and Spark read it; only the type can fail.
		{"%zz", schema.StringType, "%zz", ""},
		{"50%off", schema.StringType, "50%off", ""},
		{"50%25off", schema.StringType, "50%off", ""},
		{"50%", schema.StringType, "50%", ""},
		{"4%2", schema.Int64Type, nil, "invalid int64"},
		{"x", mt("list(string)"), nil, "cannot be parsed"},
	}
	for _, tt := range tests {
		got, err := ParsePartitionValue(tt.raw, tt.typ)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParsePartitionValue(%q, %s) error = %v, want %q", tt.raw, tt.typ, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePartitionValue(%q, %s): %v", tt.raw, tt.typ, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParsePartitionValue(%q, %s) = %#v, want %#v", tt.raw, tt.typ, got, tt.want)
		}
	}
}

// TestPrunePartitions is the planner's use: evaluate the partition-only
// conjuncts on values parsed from a path.
func TestPrunePartitions(t *testing.T) {
	p := mustCompile(t, "dt >= '2026-01-02' && region in ['eu', 'us'] && amount > 0")
	paths := map[string]bool{
		"dt=2026-01-01/region=eu":                         false,
		"dt=2026-01-02/region=eu":                         true,
		"dt=2026-01-03/region=apac":                       false,
		"dt=2026-01-03/region=us":                         true,
		"dt=__HIVE_DEFAULT_PARTITION__/region=us":         false,
		"dt=2026-01-03/region=__HIVE_DEFAULT_PARTITION__": false,
	}
	types := map[string]schema.Type{"dt": schema.DateType, "region": schema.StringType}
	for path, keep := range paths {
		vals := map[string]any{}
		for _, seg := range strings.Split(path, "/") {
			k, raw, _ := strings.Cut(seg, "=")
			v, err := ParsePartitionValue(raw, types[k])
			if err != nil {
				t.Fatal(err)
			}
			vals[k] = v
		}
		got := true
		for _, c := range p.Conjuncts {
			if c.PartitionOnly && EvalBool(c.Expr, rowOf(vals)) != True {
				got = false
			}
		}
		if got != keep {
			t.Errorf("%s: keep = %v, want %v", path, got, keep)
		}
	}
}

func TestValueHelpers(t *testing.T) {
	d := schema.DecimalOf(10, 3)
	for _, tt := range []struct {
		in, want string
	}{
		{"1", "1.000"}, {"-1.5", "-1.500"}, {"+0.25", "0.250"}, {".5", "0.500"}, {"5.", "5.000"},
		{"0", "0.000"}, {"-0.001", "-0.001"}, {"1234567.000000", "1234567.000"},
	} {
		v, err := ParseDecimal(tt.in, d)
		if err != nil {
			t.Errorf("ParseDecimal(%q): %v", tt.in, err)
			continue
		}
		if got := FormatDecimal(v, d.Scale); got != tt.want {
			t.Errorf("ParseDecimal(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", ".", "-", "1.2.3", "1e3", "abc", "1.0001", "12345678"} {
		if _, err := ParseDecimal(bad, d); err == nil {
			t.Errorf("ParseDecimal(%q) accepted", bad)
		}
	}
	for _, days := range []int32{-1, 0, 20454, -719162} {
		got, err := ParseDate(FormatDate(days))
		if err != nil || got != days {
			t.Errorf("date round trip %d: %d, %v", days, got, err)
		}
	}
	for _, u := range []schema.TimeUnit{schema.Millisecond, schema.Microsecond, schema.Nanosecond} {
		for _, v := range []int64{0, -1, 1, 1767261600123} {
			got, err := ParseTimestamp(FormatTimestamp(v, u), schema.TimestampOf(u, ""))
			if err != nil || got != v {
				t.Errorf("timestamp round trip %d %s: %d, %v", v, u, got, err)
			}
		}
	}
	if _, err := ParseTimestamp("3000-01-01", schema.TimestampOf(schema.Nanosecond, "")); err == nil {
		t.Error("year 3000 in ns accepted")
	}
}

func TestTriString(t *testing.T) {
	if False.String() != "false" || True.String() != "true" || Unknown.String() != "unknown" || Tri(9).String() != "Tri(9)" {
		t.Error("Tri.String")
	}
}
