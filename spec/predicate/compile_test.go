package predicate

import (
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/spec/schema"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func testEnv() Env {
	mt := schema.MustParseType
	return Env{
		Columns: []schema.Column{
			{Name: "order_id", Type: schema.StringType},
			{Name: "customer_id", Type: schema.Int64Type},
			{Name: "qty", Type: schema.Int32Type},
			{Name: "amount", Type: mt("decimal(10, 2)")},
			{Name: "price", Type: schema.Float64Type},
			{Name: "weight", Type: schema.Float32Type},
			{Name: "paid", Type: schema.BoolType},
			{Name: "blob", Type: schema.BinaryType},
			{Name: "day", Type: schema.DateType},
			{Name: "ts", Type: mt("timestamp(us)")},
			{Name: "ts_ms", Type: mt("timestamp(ms, Europe/Paris)")},
			{Name: "tags", Type: mt("list(string)")},
			{Name: "attrs", Type: mt("map(string, string)")},
			{Name: "dt", Type: schema.DateType}, // types the partition key dt
		},
		Partitions: []string{"dt", "region"},
	}
}

func mustCompile(t *testing.T, src string) *Predicate {
	t.Helper()
	p, errs := Compile(src, testEnv())
	if len(errs) > 0 {
		t.Fatalf("Compile(%q): %v", src, errs)
	}
	return p
}

func TestCompileCanonical(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"order_id != nil", "order_id != nil"},
		{"nil == order_id", "order_id == nil"},
		{"qty > 1 and price < 2.5 or not paid", "qty > 1 && price < 2.5 || !paid"},
		{"(qty > 1 && price < 2) && paid", "qty > 1 && price < 2.0 && paid"},
		{"qty > 1 && (price < 2 || paid)", "qty > 1 && (price < 2.0 || paid)"},
		{"!(qty > 1)", "!(qty > 1)"},
		{"!!paid", "!(!paid)"},
		{"region in ['eu', \"us\"]", "region in ['eu', 'us']"},
		{"region not in ['eu']", "region not in ['eu']"},
		{"!(region in ['eu'])", "region not in ['eu']"},
		{"qty in []", "qty in []"},
		{"customer_id % 10 == 3", "customer_id % 10 == 3"},
		{"qty - (customer_id - 1) > -5", "qty - (customer_id - 1) > -5"},
		{"(qty - customer_id) - 1 > 0", "qty - customer_id - 1 > 0"},
		{"-(qty + 1) < 0", "-(qty + 1) < 0"},
		{"-qty < +3", "-qty < 3"},
		{"qty / 2 > 1", "qty / 2.0 > 1.0"},
		{"(price + 1) * 2 >= 10", "(price + 1.0) * 2.0 >= 10.0"},
		{"order_id startsWith 'o-' && order_id endsWith \"x\" && order_id contains 'é'",
			"order_id startsWith 'o-' && order_id endsWith 'x' && order_id contains 'é'"},
		{"order_id not startsWith 'o-'", "!(order_id startsWith 'o-')"},
		{"lower(order_id) == 'a' || upper(order_id) == 'B' || len(order_id) > 3",
			"lower(order_id) == 'a' || upper(order_id) == 'B' || len(order_id) > 3"},
		{"day >= '2026-01-01'", "day >= '2026-01-01'"},
		{"ts < '2026-01-01 10:00:00.5'", "ts < '2026-01-01T10:00:00.5Z'"},
		{"ts < '2026-01-01T10:00:00+02:00'", "ts < '2026-01-01T08:00:00Z'"},
		{"ts_ms >= '2026-07-01'", "ts_ms >= '2026-06-30T22:00:00Z'"},
		{"amount > 0", "amount > '0.00'"},
		{"amount in [1.5, '-2.25', 3]", "amount in ['1.50', '-2.25', '3.00']"},
		{"blob == 'x'", "blob == 'x'"},
		{"paid == true", "paid == true"},
		{"true", "true"},
		{"qty < 1 < 2", "qty < 1 && 1 < 2"},
		{"order_id == 'it\\'s\\n'", `order_id == 'it\'s\n'`},
		{"(paid == false) == (qty > 1)", "(paid == false) == (qty > 1)"},
		{"weight > 0.5", "weight > 0.5"},
		{"dt == '2026-01-01' && region == 'eu'", "dt == '2026-01-01' && region == 'eu'"},
		{"price > 1e3", "price > 1000.0"},
		{"order_id in ['a'] == true", "(order_id in ['a']) == true"},
	}
	for _, tt := range tests {
		p, errs := Compile(tt.src, testEnv())
		if len(errs) > 0 {
			t.Errorf("Compile(%q): %v", tt.src, errs)
			continue
		}
		if got := p.String(); got != tt.want {
			t.Errorf("Compile(%q).String() = %q, want %q", tt.src, got, tt.want)
		}
		if p.Source != tt.src {
			t.Errorf("Source = %q, want %q", p.Source, tt.src)
		}
		// Idempotence: the canonical text compiles to the same canonical text.
		p2, errs := Compile(p.String(), testEnv())
		if len(errs) > 0 {
			t.Errorf("recompiling %q: %v", p.String(), errs)
			continue
		}
		if p2.String() != p.String() {
			t.Errorf("recompiling %q gives %q", p.String(), p2.String())
		}
		checkSpans(t, tt.src, p.Root)
	}
}

// checkSpans asserts that every node's span lies inside the source and
// inside its parent's span.
func checkSpans(t *testing.T, src string, e Expr) {
	t.Helper()
	var check func(e Expr, outer Span)
	check = func(e Expr, outer Span) {
		s := e.Span()
		if s.Start < outer.Start || s.End > outer.End || s.Start > s.End {
			t.Errorf("%q: span %v of %s is outside %v", src, s, e, outer)
			return
		}
		for _, ch := range Children(e) {
			check(ch, s)
		}
	}
	check(e, Span{0, len(src)})
}

func TestConjuncts(t *testing.T) {
	p := mustCompile(t, "dt >= '2026-01-01' && region in ['eu', 'us'] && (amount > 0 && region != 'x') && (paid || dt == '2026-02-01') && 1 == 1")
	type cj struct {
		text string
		cols []string
		part bool
	}
	want := []cj{
		{"dt >= '2026-01-01'", []string{"dt"}, true},
		{"region in ['eu', 'us']", []string{"region"}, true},
		{"amount > '0.00'", []string{"amount"}, false},
		{"region != 'x'", []string{"region"}, true},
		{"paid || dt == '2026-02-01'", []string{"dt", "paid"}, false},
		{"1 == 1", []string{}, true},
	}
	if len(p.Conjuncts) != len(want) {
		t.Fatalf("got %d conjuncts, want %d: %+v", len(p.Conjuncts), len(want), p.Conjuncts)
	}
	for i, w := range want {
		c := p.Conjuncts[i]
		if c.Expr.String() != w.text || !reflect.DeepEqual(c.Columns, w.cols) || c.PartitionOnly != w.part {
			t.Errorf("conjunct %d = {%s %v %v}, want {%s %v %v}", i, c.Expr, c.Columns, c.PartitionOnly, w.text, w.cols, w.part)
		}
	}
	// Columns are sorted and unique.
	p = mustCompile(t, "qty + qty > customer_id || amount < 1 || qty == 2")
	if got := p.Conjuncts[0].Columns; !reflect.DeepEqual(got, []string{"amount", "customer_id", "qty"}) {
		t.Errorf("columns = %v", got)
	}
	if len(p.Conjuncts) != 1 || p.Root != p.Conjuncts[0].Expr {
		t.Errorf("a non-And root is its only conjunct")
	}
}

func TestCoercions(t *testing.T) {
	tests := []struct {
		src  string
		want string // a Go-syntax-like dump of the IR
	}{
		// int32 column against an int literal: the literal takes int32.
		{"qty > 5", "Compare(>, Col(qty int32), Lit(5 int32))"},
		// ... unless it does not fit: the column is cast to int64.
		{"qty > 5000000000", "Compare(>, Cast(Col(qty int32) int64), Lit(5000000000 int64))"},
		// int32 vs int64 column.
		{"qty == customer_id", "Compare(==, Cast(Col(qty int32) int64), Col(customer_id int64))"},
		// integer vs float: int side becomes float64; literals are converted in place.
		{"customer_id < price", "Compare(<, Cast(Col(customer_id int64) float64), Col(price float64))"},
		{"price < 3", "Compare(<, Col(price float64), Lit(3 float64))"},
		{"weight < 3", "Compare(<, Cast(Col(weight float32) float64), Lit(3 float64))"},
		{"qty < 2.5", "Compare(<, Cast(Col(qty int32) float64), Lit(2.5 float64))"},
		// arithmetic is 64-bit: int32 operands are widened; / is float64.
		{"qty + 1 > 2", "Compare(>, Arith(+, Cast(Col(qty int32) int64), Lit(1 int64) int64), Lit(2 int64))"},
		{"qty / 2 > 1", "Compare(>, Arith(/, Cast(Col(qty int32) float64), Lit(2 float64) float64), Lit(1 float64))"},
		{"-qty > 1", "Compare(>, Neg(Cast(Col(qty int32) int64)), Lit(1 int64))"},
		{"-weight > 1", "Compare(>, Neg(Cast(Col(weight float32) float64)), Lit(1 float64))"},
		// in lists.
		{"qty in [1, 2]", "In(Col(qty int32), [Lit(1 int32) Lit(2 int32)])"},
		{"qty in [1, 2.5]", "In(Cast(Col(qty int32) float64), [Lit(1 float64) Lit(2.5 float64)])"},
		{"qty not in [1, 9999999999]", "NotIn(Cast(Col(qty int32) int64), [Lit(1 int64) Lit(9999999999 int64)])"},
		// strings parsed into temporal and decimal values.
		{"day > '2026-01-02'", "Compare(>, Col(day date), Lit(20455 date))"},
		{"ts >= '1970-01-01T00:00:01Z'", "Compare(>=, Col(ts timestamp(us)), Lit(1000000 timestamp(us)))"},
		{"ts_ms < '1970-01-01 01:00:00'", "Compare(<, Col(ts_ms timestamp(ms, Europe/Paris)), Lit(0 timestamp(ms, Europe/Paris)))"},
		{"amount >= 0.1", "Compare(>=, Col(amount decimal(10, 2)), Lit(10 decimal(10, 2)))"},
		{"-1 < amount", "Compare(<, Lit(-100 decimal(10, 2)), Col(amount decimal(10, 2)))"},
		{"- (1.25) < amount", "Compare(<, Lit(-125 decimal(10, 2)), Col(amount decimal(10, 2)))"},
		{"region == 'eu'", "Compare(==, Part(region string), Lit(eu string))"},
		{"dt == '1970-01-03'", "Compare(==, Part(dt date), Lit(2 date))"},
	}
	for _, tt := range tests {
		p := mustCompile(t, tt.src)
		if got := dump(p.Root); got != tt.want {
			t.Errorf("Compile(%q)\n got  %s\n want %s", tt.src, got, tt.want)
		}
	}
}

func dump(e Expr) string {
	switch e := e.(type) {
	case *ColumnRef:
		if e.Partition {
			return fmt.Sprintf("Part(%s %s)", e.Name, e.ColType)
		}
		return fmt.Sprintf("Col(%s %s)", e.Name, e.ColType)
	case *Literal:
		if b, ok := e.Value.(*big.Int); ok {
			return fmt.Sprintf("Lit(%s %s)", b, e.Typ)
		}
		return fmt.Sprintf("Lit(%v %s)", e.Value, e.Typ)
	case *Compare:
		return fmt.Sprintf("Compare(%s, %s, %s)", e.Op, dump(e.L), dump(e.R))
	case *Arith:
		return fmt.Sprintf("Arith(%s, %s, %s %s)", e.Op, dump(e.L), dump(e.R), e.Typ)
	case *Cast:
		return fmt.Sprintf("Cast(%s %s)", dump(e.X), e.Typ)
	case *Neg:
		return fmt.Sprintf("Neg(%s)", dump(e.X))
	case *In:
		var parts []string
		for _, l := range e.List {
			parts = append(parts, dump(l))
		}
		name := "In"
		if e.Negated {
			name = "NotIn"
		}
		return fmt.Sprintf("%s(%s, [%s])", name, dump(e.X), strings.Join(parts, " "))
	}
	return e.String()
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src     string
		at      string // the exact text the error span must cover
		start   int    // byte offset of at; -1: the first occurrence
		summary string // substring of Summary
		detail  string // substring of Detail
	}{
		{"amout > 0", "amout", -1, `unknown column "amout"`, `Did you mean "amount"?`},
		{"qty > 1 && regoin == 'eu'", "regoin", -1, `unknown column "regoin"`, `Did you mean "region"?`},
		{"zzz == 1", "zzz", -1, `unknown column "zzz"`, "Known columns and partition keys: amount, attrs, blob"},
		{"amount > \"x\"", `"x"`, -1, `invalid decimal "x"`, "read as a decimal"},
		{"qty > 'x'", "'x'", -1, "mismatched types int32 and string", "same type"},
		{"order_id == 1", "1", 25 - 13, "mismatched types string and int64", ""},
		{"region == 1", "1", -1, "mismatched types string and int64", `Partition key "region" is a string unless a column`},
		{"day == ts", "==", -1, "mismatched types date and timestamp(us)", ""},
		{"ts == ts_ms", "==", -1, "mismatched types timestamp(us) and timestamp(ms, Europe/Paris)", ""},
		{"day > '2026-13-01'", "'2026-13-01'", -1, `invalid date "2026-13-01"`, "read as a date"},
		{"ts > 'yesterday'", "'yesterday'", -1, `invalid timestamp "yesterday"`, ""},
		{"ts_ms > '2026-01-01T00:00:00.0001Z'", "'2026-01-01T00:00:00.0001Z'", -1, "finer than the column's unit (ms)", ""},
		{"amount > 0.001", "0.001", -1, "more than 2 digits after the point", ""},
		{"amount > 123456789", "123456789", -1, "does not fit decimal(10, 2)", ""},
		{"qty > nil", "nil", -1, "cannot compare with nil using >", "x == nil"},
		{"nil == nil", "nil == nil", -1, "comparing nil with nil", ""},
		{"qty + nil > 1", "nil", -1, "nil is only allowed in == nil, != nil, ?: and coalesce", "== nil"},
		{"region in ['eu', nil]", "nil", -1, "nil is not allowed in an in list", "x == nil ||"},
		{"region in ['eu', order_id]", "order_id", -1, "in list element is not a literal", ""},
		{"region in order_id", "order_id", 10, "in needs a list", ""},
		{"qty in [1, 'a']", "'a'", -1, "mismatched types int32 and string", ""},
		{"order_id matches '(o'", "'(o'", -1, "invalid regular expression", "RE2"},
		{"order_id matches order_id", "order_id", 17, "the regular expression of matches() must be a string literal", ""},
		{"qty matches 'o'", "qty", -1, "matches needs a string, not int32", ""},
		{"abs(qty) > 1", "abs", -1, "function abs() is not supported", "docs/language.md"},
		{"lowr(order_id) == 'a'", "lowr", -1, "function lowr() is not supported", `Did you mean "lower"?`},
		{"foo(qty) > 1", "foo", -1, "function foo() is not supported", ""},
		{"len(qty) > 1", "qty", -1, "len() needs a string, not int32", ""},
		{"len(order_id, 1) > 1", "len(order_id, 1)", -1, "len() takes 1 argument, got 2", ""},
		{"order_id | lower() == 'a'", "|", -1, "pipes (|) are not supported", ""},
		{"attrs.x == 'a'", "attrs.x", -1, "member access", ""},
		{"order_id[0] == 'a'", "order_id[0]", -1, "member access", ""},
		{"order_id[0:2] == 'a'", "order_id[0:2]", -1, "slices", ""},
		{"qty ? 1 : 2", "qty", -1, "condition is int32, not bool", ""},
		{"(paid ? qty : order_id) == 1", "order_id", -1, "?: operand is string, the others int64", ""},
		{"coalesce(nil, nil) == 1", "nil, nil", -1, "every operand of coalesce is nil", ""},
		{"let x = 1; x > 0", "let", -1, "variables (let) are not supported", ""},
		{"all(tags, # == 'a')", "all", -1, "function all() is not supported", ""},
		{"tags | all(# == 'a')", "|", -1, "pipes (|) are not supported", ""},
		{"tags == nil", "tags", -1, `column "tags" has nested type list(string)`, "cannot be used in predicates"},
		{"qty ** 2 > 1", "**", -1, "exponentiation", ""},
		{"qty in 1..3", "1..3", -1, "in needs a list [...] on its right", "region in ['eu', 'us']"},
		{"1..3 == nil", "..", -1, "ranges (..) are not supported", ""},
		{"(qty ?? 1) > 0", "??", -1, "coalesce", ""},
		{"{'a': 1} == nil", "{'a': 1}", -1, "maps", ""},
		{"[1, 2] == nil", "[1, 2]", -1, "a list is not allowed here", ""},
		{"qty + 1", "qty + 1", -1, "predicate is int64, not bool", ""},
		{"((qty + 1))", "((qty + 1))", -1, "predicate is int64, not bool", ""},
		{"len((qty)) > 1", "qty", -1, "len() needs a string, not int32", ""},
		{"lower(qty) > 1", "qty", -1, "lower() needs a string, not int32", ""},
		{"order_id", "order_id", -1, "predicate is string, not bool", ""},
		{"qty && paid", "qty", -1, "left operand of && is int32, not bool", ""},
		{"!qty", "qty", -1, "cannot negate int32", ""},
		{"-order_id == 'a'", "-", -1, "cannot apply unary - to string", ""},
		{"order_id + 'x' == 'y'", "+", -1, "string concatenation", ""},
		{"qty + 'x' == 'y'", "'x'", -1, "cannot apply + to string", ""},
		{"amount * 2 > 1", "amount", -1, "arithmetic on decimal values is not supported", ""},
		{"price % 2 == 0", "%", -1, "cannot apply % to float64 and int64", ""},
		{"paid < true", "<", -1, "cannot order bool values", ""},
		{"qty startsWith 'a'", "qty", -1, "startsWith needs string operands, not int32", ""},
		{"b'x' == blob", "b'x'", -1, "byte string literals", ""},
		{"qty > 1; qty < 2", "qty > 1; qty < 2", -1, "sequences", ""},
		// Syntax errors point at the offending token.
		{"qty > > 1", ">", 6, "syntax error: unexpected token Operator(\">\")", "Expressions support"},
		{"(qty > 1", "1", -1, "syntax error: unexpected end of expression", ""},
		{"order_id == 'abc", "c", 15, "syntax error: literal not terminated", ""},
		{"qty @ 1", "@", -1, "syntax error: unrecognized character", ""},
		{"", "", 0, "syntax error", ""},
		{"qty > 99999999999999999999 && paid", "99999999999999999999", -1, "invalid integer literal", ""},
		{"qty > 99999999999999999999", "99999999999999999999", -1, "invalid integer literal", ""},
		{"price > 1e999 || paid", "1e999", -1, "float literal", ""},
		{"order_id == '日\\q'", "q", -1, "invalid char escape", ""},
		// Multi-byte characters before the error: spans are byte offsets.
		{"order_id == 'héllo wörld' && naem > 1", "naem", -1, `unknown column "naem"`, ""},
		{"'日本語' == order_id && qty > 'x'", "'x'", -1, "mismatched types", ""},
		{"order_id == '🙂' && qty ** 2 > 1", "**", -1, "exponentiation", ""},
		{"order_id == '日本' @", "@", -1, "unrecognized character", ""},
		{"order_id == '日本' &&", "&", 22, "unexpected end of expression", ""},
		{"é == 1", "é", 0, `unknown column "é"`, "Known columns"},
	}
	for _, tt := range tests {
		_, errs := Compile(tt.src, testEnv())
		if len(errs) == 0 {
			t.Errorf("Compile(%q): no error, want %q", tt.src, tt.summary)
			continue
		}
		e := errs[0]
		start := tt.start
		if start < 0 {
			start = strings.Index(tt.src, tt.at)
		}
		want := Span{start, start + len(tt.at)}
		if e.Span != want {
			got := "<out of range>"
			if e.Span.Start >= 0 && e.Span.End <= len(tt.src) && e.Span.Start <= e.Span.End {
				got = tt.src[e.Span.Start:e.Span.End]
			}
			t.Errorf("Compile(%q): span %v (%q), want %v (%q); error %s", tt.src, e.Span, got, want, tt.at, e)
		}
		if !strings.Contains(e.Summary, tt.summary) {
			t.Errorf("Compile(%q): summary %q, want it to contain %q", tt.src, e.Summary, tt.summary)
		}
		if !strings.Contains(e.Detail, tt.detail) {
			t.Errorf("Compile(%q): detail %q, want it to contain %q", tt.src, e.Detail, tt.detail)
		}
	}
}

func TestCompileReportsEveryError(t *testing.T) {
	_, errs := Compile("amout > 1 && regoin == 'x' && order_id == 'y'", testEnv())
	if len(errs) != 2 || errs[0].Span != (Span{0, 5}) || errs[1].Span != (Span{13, 19}) {
		t.Errorf("errors = %v, want two, at amout and regoin", errs)
	}
}

func TestCheckSyntax(t *testing.T) {
	ok := []string{
		"anything > 1 && other == 'x'",
		"a in ['x', 'y'] || b not in [1, 2]",
		"lower(name) startsWith 'a' && len(x) > 3",
		"d >= '2026-01-01' && x != nil",
		"-a + b * c % 2 / 3 > 0",
	}
	for _, src := range ok {
		if errs := CheckSyntax(src); len(errs) > 0 {
			t.Errorf("CheckSyntax(%q) = %v", src, errs)
		}
	}
	bad := []struct{ src, at string }{
		{"a matches b", "b"},
		{"foo(a)", "foo"},
		{"a.b > 1", "a.b"},
		{"a > nil", "nil"},
		{"a in [b]", "b"},
		{"a > ", ">"},
		{"a > 1 && (", "("},
		{"'x' + 1 > 0", "'x'"}, // typed literals are still checked
		{"1 + 2", "1 + 2"},
	}
	for _, tt := range bad {
		errs := CheckSyntax(tt.src)
		if len(errs) == 0 {
			t.Errorf("CheckSyntax(%q): no error", tt.src)
			continue
		}
		i := strings.Index(tt.src, tt.at)
		if errs[0].Span != (Span{i, i + len(tt.at)}) {
			t.Errorf("CheckSyntax(%q): span %v, want %q at %d (%s)", tt.src, errs[0].Span, tt.at, i, errs[0])
		}
	}
}

// TestGolden renders the outcome of every line of testdata/compile.txt:
// the canonical text and conjuncts, or the errors with a caret line
// under the span. Run with -update to rewrite testdata/compile.golden.
func TestGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "compile.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, line := range strings.Split(strings.TrimRight(string(in), "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fmt.Fprintf(&out, "> %s\n", line)
		p, errs := Compile(line, testEnv())
		for _, e := range errs {
			fmt.Fprintf(&out, "  %s\n  %s\n  error: %s\n", line, caret(line, e.Span), e.Summary)
			if e.Detail != "" {
				fmt.Fprintf(&out, "  detail: %s\n", e.Detail)
			}
		}
		if p != nil {
			fmt.Fprintf(&out, "  = %s\n", p)
			for _, c := range p.Conjuncts {
				where := "row"
				if c.PartitionOnly {
					where = "partition"
				}
				fmt.Fprintf(&out, "  conjunct [%s] %v: %s\n", where, c.Columns, c.Expr)
			}
		}
	}
	golden := filepath.Join("testdata", "compile.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if out.String() != string(want) {
		t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", golden, out.String())
	}
}

// caret draws ^ under the span, counting characters (not bytes) so that
// the marks line up in a terminal.
func caret(src string, s Span) string {
	pad := len([]rune(src[:s.Start]))
	n := max(1, len([]rune(src[s.Start:s.End])))
	return strings.Repeat(" ", pad) + strings.Repeat("^", n)
}

// TestDeepNesting guards against quadratic (or worse) span and type
// computations on long chains: these used to take seconds.
func TestDeepNesting(t *testing.T) {
	tests := []struct{ src, want string }{
		{strings.Repeat("-", 301) + "qty > 1", "-qty > 1"},
		{strings.Repeat("-", 300) + "qty > 1", "qty > 1"},
		{strings.Repeat("lower(", 200) + "order_id" + strings.Repeat(")", 200) + " == 'a'",
			strings.Repeat("lower(", 200) + "order_id" + strings.Repeat(")", 200) + " == 'a'"},
		{strings.Repeat("(", 300) + "qty > 1" + strings.Repeat(")", 300), "qty > 1"},
	}
	for _, tt := range tests {
		p := mustCompile(t, tt.src)
		if got := p.String(); got != tt.want {
			t.Errorf("Compile(%.40q...) = %.80q, want %.80q", tt.src, got, tt.want)
		}
		checkSpans(t, tt.src, p.Root)
	}
	// The lower() chain's outer call spans the whole call text.
	src := "lower(lower(order_id)) == 'a'"
	p := mustCompile(t, src)
	call := p.Root.(*Compare).L
	if got := src[call.Span().Start:call.Span().End]; got != "lower(lower(order_id))" {
		t.Errorf("call span = %q", got)
	}
}

// TestNodeSpans asserts the exact source text of every node's span.
func TestNodeSpans(t *testing.T) {
	src := "-(qty + 1) < len(order_id) && (order_id startsWith 'a' || region not in ['x', \"y\"]) && order_id != nil && !paid && day > '2026-01-01' && qty in [1, -2]"
	p := mustCompile(t, src)
	var got []string
	walk(p.Root, func(e Expr) {
		got = append(got, fmt.Sprintf("%T %s", e, src[e.Span().Start:e.Span().End]))
	})
	want := []string{
		"*predicate.And " + src,
		"*predicate.Compare -(qty + 1) < len(order_id)",
		"*predicate.Neg -(qty + 1)",
		"*predicate.Arith (qty + 1)",
		"*predicate.Cast qty",
		"*predicate.ColumnRef qty",
		"*predicate.Literal 1",
		"*predicate.Call len(order_id)",
		"*predicate.ColumnRef order_id",
		"*predicate.Or (order_id startsWith 'a' || region not in ['x', \"y\"])",
		"*predicate.StringMatch order_id startsWith 'a'",
		"*predicate.ColumnRef order_id",
		"*predicate.Literal 'a'",
		"*predicate.In region not in ['x', \"y\"]",
		"*predicate.ColumnRef region",
		"*predicate.Literal 'x'",
		"*predicate.Literal \"y\"",
		"*predicate.IsNull order_id != nil",
		"*predicate.ColumnRef order_id",
		"*predicate.Not !paid",
		"*predicate.ColumnRef paid",
		"*predicate.Compare day > '2026-01-01'",
		"*predicate.ColumnRef day",
		"*predicate.Literal '2026-01-01'",
		"*predicate.In qty in [1, -2]",
		"*predicate.ColumnRef qty",
		"*predicate.Literal 1",
		"*predicate.Literal -2",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spans:\n got  %q\n want %q", got, want)
	}
}
