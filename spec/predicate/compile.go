package predicate

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agext/levenshtein"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/parser/lexer"

	"github.com/sluicedata/sluice/spec/schema"
)

// supported is the Detail of every "not supported" error: the whole
// language, so that the user does not have to look it up.
const supported = "Expressions support comparisons (== != < <= > >=), && || ! (and, or, not), " +
	"in / not in [literal, ...], arithmetic (+ - * / %, unary -), cond ? a : b, startsWith, endsWith, contains, " +
	"matches, == nil / != nil, parentheses, literals, and the functions listed in docs/language.md (\"Functions\")."

// Compile parses src (expr-lang syntax), type-checks it against env and
// builds the IR. On failure it returns every error it found (nil
// Predicate); spans are byte offsets into src.
func Compile(src string, env Env) (*Predicate, []Error) {
	return compile(src, &env)
}

// CheckSyntax parses src and checks that it uses only the supported subset,
// without typing identifiers (for Parquet sources whose schema is known
// only at plan time). Errors that need column types (mismatches, bad date
// literals) are left to Compile.
func CheckSyntax(src string) []Error {
	_, errs := compile(src, nil)
	return errs
}

// CompileValue parses and type-checks a value expression (an output
// column's expr): any type, with the diagnostics of Compile. The result is
// the root of the IR.
func CompileValue(src string, env Env) (Expr, []Error) {
	return compileExpr(src, &env)
}

// CheckValueSyntax is CheckSyntax for a value expression.
func CheckValueSyntax(src string) []Error {
	_, errs := compileExpr(src, nil)
	return errs
}

func compileExpr(src string, env *Env) (Expr, []Error) {
	c := newChecker(src, env)
	tree, perr := parse(src)
	if perr != nil {
		return nil, []Error{*perr}
	}
	c.lex()
	root := c.expr(tree.Node)
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	if isErr(root) { // every error path reports; this is a safety net
		return nil, []Error{{Span: Span{0, len(src)}, Summary: "invalid expression", Detail: supported}}
	}
	return root, nil
}

func compile(src string, env *Env) (pred *Predicate, errs []Error) {
	root, errs := compileExpr(src, env)
	if errs != nil {
		return nil, errs
	}
	if t := root.Type(); t.Kind != schema.Bool && t.Kind != schema.Invalid {
		return nil, []Error{{
			Span:    root.Span(),
			Summary: fmt.Sprintf("predicate is %s, not bool", t),
			Detail:  "A where or check expression must be true or false for each row, as in amount > 0.",
		}}
	}
	p := &Predicate{Source: src, Root: root}
	args := []Expr{root}
	if a, ok := root.(*And); ok {
		args = a.Args
	}
	for _, a := range args {
		p.Conjuncts = append(p.Conjuncts, makeConjunct(a))
	}
	return p, nil
}

// parse runs the expr-lang parser, turning its error (and, defensively, a
// panic inside it) into an Error with a byte span.
func parse(src string) (tree *parser.Tree, perr *Error) {
	defer func() {
		if r := recover(); r != nil {
			tree, perr = nil, &Error{Span: Span{0, len(src)}, Summary: "invalid expression", Detail: fmt.Sprint(r)}
		}
	}()
	if !utf8.ValidString(src) {
		i := 0
		for i < len(src) {
			r, n := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, &Error{Span: Span{i, i + 1}, Summary: "invalid UTF-8 in expression"}
	}
	tree, err := parser.Parse(src)
	if err != nil {
		e := &Error{Span: Span{0, len(src)}, Summary: "syntax error", Detail: err.Error()}
		conv := runeOffsets(src)
		var fe *file.Error
		if errors.As(err, &fe) {
			e.Span = conv.span(fe.Location)
			e.Detail = fe.Message
			if e.Span.Start == e.Span.End && e.Span.Start > 0 {
				e.Span.Start-- // point at the last character rather than past the end
			}
		}
		if strings.Contains(fe.Message, "literal") && !strings.Contains(fe.Message, "not terminated") {
			// expr-lang reports a bad number at the token after it.
			e.Span = numberBefore(src, conv, fe.Location, e.Span)
		}
		if strings.Contains(e.Detail, "unexpected token EOF") || strings.Contains(e.Detail, "unexpected end") {
			// Point at the last character written: the expression stops
			// too early there (an operator without operand, an open paren).
			e.Detail = "unexpected end of expression"
			end := len(strings.TrimRightFunc(src, unicode.IsSpace))
			_, n := utf8.DecodeLastRuneInString(src[:end])
			e.Span = Span{end - n, end}
		}
		e.Summary = "syntax error: " + e.Detail
		e.Detail = supported
		if strings.Contains(e.Summary, `Operator("matches")`) && strings.HasPrefix(src[e.Span.Start:], "matches") {
			// matches(s, 're') reads naturally but matches is an operator.
			e.Span = Span{e.Span.Start, e.Span.Start + len("matches")}
			e.Detail = "matches is an operator, as in expr-lang: write s matches 'regex'."
		}
		sqlHabit(src, e)
		return nil, e
	}
	if tree == nil || tree.Node == nil {
		return nil, &Error{Span: Span{0, len(src)}, Summary: "empty expression"}
	}
	return tree, nil
}

// sqlHabit rewrites a syntax error that SQL's spelling of an operator
// caused into a remedy: SQL compares with = and <>, expr-lang with == and
// !=.
func sqlHabit(src string, e *Error) {
	at := e.Span.Start
	if at < 0 || at >= len(src) {
		return
	}
	switch {
	case strings.HasPrefix(src[at:], "<>") || at > 0 && strings.HasPrefix(src[at-1:], "<>"):
		if src[at] == '>' {
			at--
		}
		e.Span = Span{at, at + 2}
		e.Summary = "syntax error: <> is SQL's not-equal"
		e.Detail = "Write != (or !(a == b)): status != 'paid'."
	case src[at] == '=' && (at == 0 || !strings.ContainsRune("=!<>", rune(src[at-1]))) && !strings.HasPrefix(src[at:], "=="):
		e.Span = Span{at, at + 1}
		e.Summary = "syntax error: = is not a comparison"
		e.Detail = "Compare with == (SQL's = is written == here): status == 'paid'."
	}
}

// numberBefore returns the span of the number token that ends at or
// before loc, or def when there is none.
func numberBefore(src string, conv offsets, loc file.Location, def Span) Span {
	toks, err := lexer.Lex(file.NewSource(src))
	if err != nil {
		return def
	}
	var last *lexer.Token
	for i := range toks {
		if t := &toks[i]; t.Kind == lexer.Number && t.From <= loc.From {
			last = t
		}
	}
	if last == nil {
		return def
	}
	return conv.span(last.Location)
}

// offsets maps expr-lang locations, which count runes from 0 (From
// inclusive, To exclusive), to byte offsets in the source.
type offsets []int

func runeOffsets(src string) offsets {
	o := make(offsets, 0, len(src)+1)
	for i := range src {
		o = append(o, i)
	}
	return append(o, len(src))
}

func (o offsets) byteAt(r int) int {
	switch {
	case r < 0:
		return 0
	case r >= len(o):
		return o[len(o)-1]
	}
	return o[r]
}

func (o offsets) span(l file.Location) Span {
	s := Span{o.byteAt(l.From), o.byteAt(l.To)}
	if s.End < s.Start {
		s.End = s.Start
	}
	return s
}

type checker struct {
	src    string
	env    *Env // nil: syntax only
	off    offsets
	tokens []lexer.Token
	tokAt  map[int]int // rune offset of a token's start → index in tokens
	// byte offset of a token's start (end) → index in tokens
	tokStart, tokEnd map[int]int
	cols             map[string]schema.Column
	parts            map[string]bool
	errs             []Error
	spans            map[ast.Node]Span
	depth            int // of the node being typed; 0: the whole expression
}

func newChecker(src string, env *Env) *checker {
	c := &checker{src: src, env: env, off: runeOffsets(src), spans: map[ast.Node]Span{}}
	if env != nil {
		c.cols = map[string]schema.Column{}
		c.parts = map[string]bool{}
		for _, col := range env.Columns {
			c.cols[col.Name] = col
		}
		for _, p := range env.Partitions {
			c.parts[p] = true
		}
	}
	return c
}

// lex keeps the token stream so that spans can reach closing brackets,
// which the AST does not record.
func (c *checker) lex() {
	toks, err := lexer.Lex(file.NewSource(c.src))
	if err != nil {
		return
	}
	c.tokens = toks
	c.tokAt = make(map[int]int, len(toks))
	c.tokStart = make(map[int]int, len(toks))
	c.tokEnd = make(map[int]int, len(toks))
	for i, t := range toks {
		if t.Kind == lexer.EOF {
			continue
		}
		if _, dup := c.tokAt[t.From]; !dup {
			c.tokAt[t.From] = i
		}
		c.tokStart[c.off.byteAt(t.From)] = i
		c.tokEnd[c.off.byteAt(t.To)] = i
	}
}

func (c *checker) errorf(sp Span, detail, format string, args ...any) {
	c.errs = append(c.errs, Error{Span: sp, Summary: fmt.Sprintf(format, args...), Detail: detail})
}

// loc is the byte span of the token a node was created at.
func (c *checker) loc(n ast.Node) Span { return c.off.span(n.Location()) }

// closeAfter returns the end (bytes) of the bracket matching the token
// that starts at rune offset from, or -1.
func (c *checker) closeAfter(from int) int {
	i, ok := c.tokAt[from]
	if !ok {
		return -1
	}
	depth := 0
	for ; i < len(c.tokens); i++ {
		t := c.tokens[i]
		if t.Kind != lexer.Bracket {
			continue
		}
		switch t.Value {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth == 0 {
				return c.off.byteAt(t.To)
			}
		}
	}
	return -1
}

// nextToken returns the token after the one starting at rune offset from.
func (c *checker) nextToken(from int) (lexer.Token, bool) {
	i, ok := c.tokAt[from]
	if !ok || i+1 >= len(c.tokens) {
		return lexer.Token{}, false
	}
	return c.tokens[i+1], true
}

func (c *checker) prevToken(from int) (lexer.Token, bool) {
	i, ok := c.tokAt[from]
	if !ok || i == 0 {
		return lexer.Token{}, false
	}
	return c.tokens[i-1], true
}

func union(a, b Span) Span {
	if b.Start < a.Start {
		a.Start = b.Start
	}
	if b.End > a.End {
		a.End = b.End
	}
	return a
}

// span is the byte range of the whole source text of n (without the
// parentheses around it, which the AST does not keep).
func (c *checker) span(n ast.Node) Span {
	if n == nil {
		return Span{}
	}
	// Memoised: errors and nodes ask for the spans of subtrees again at
	// every level, which is cubic on deeply nested input without it.
	if s, ok := c.spans[n]; ok {
		return s
	}
	s := c.withParens(c.spanOf(n))
	c.spans[n] = s
	return s
}

// withParens widens s over grouping parentheses around it, so that the
// span of (a + b) covers the parentheses. The parentheses of a call are
// not grouping: lower(x) keeps x's span to x. Since s is balanced, a "("
// just before it and a ")" just after it always match each other.
func (c *checker) withParens(s Span) Span {
	for {
		i, ok1 := c.tokStart[s.Start]
		j, ok2 := c.tokEnd[s.End]
		if !ok1 || !ok2 || i == 0 || j+1 >= len(c.tokens) {
			return s
		}
		open, close := c.tokens[i-1], c.tokens[j+1]
		if !open.Is(lexer.Bracket, "(") || !close.Is(lexer.Bracket, ")") {
			return s
		}
		if i >= 2 && c.tokens[i-2].Kind == lexer.Identifier {
			return s // a call's argument list
		}
		s = Span{c.off.byteAt(open.From), c.off.byteAt(close.To)}
	}
}

func (c *checker) spanOf(n ast.Node) Span {
	s := c.loc(n)
	switch n := n.(type) {
	case *ast.BinaryNode:
		s = union(s, union(c.span(n.Left), c.span(n.Right)))
	case *ast.UnaryNode:
		s = union(s, c.span(n.Node))
	case *ast.BuiltinNode:
		s = c.callSpan(n, n.Arguments)
	case *ast.CallNode:
		s = union(c.span(n.Callee), c.callSpan(n, n.Arguments))
	case *ast.ArrayNode, *ast.MapNode:
		if end := c.closeAfter(n.Location().From); end > s.Start {
			s.End = end
		}
	case *ast.MemberNode:
		s = union(s, c.span(n.Node))
		s = union(s, c.span(n.Property))
		if t, ok := c.nextToken(n.Property.Location().From); ok && t.Is(lexer.Bracket, "]") {
			s.End = max(s.End, c.off.byteAt(t.To))
		}
	case *ast.ChainNode:
		s = union(s, c.span(n.Node))
	case *ast.SliceNode:
		s = union(s, c.span(n.Node))
		if end := c.closeAfter(n.Location().From); end > s.Start {
			s.End = max(s.End, end)
		}
	case *ast.ConditionalNode:
		s = union(c.span(n.Cond), union(c.span(n.Exp1), c.span(n.Exp2)))
		if !n.Ternary {
			// if/else nodes carry no location: widen to the "if" keyword
			// and the closing brace around the else branch.
			if i, ok := c.tokStart[s.Start]; ok && i > 0 && c.tokens[i-1].Is(lexer.Operator, "if") {
				s.Start = c.off.byteAt(c.tokens[i-1].From)
			}
			if i, ok := c.tokEnd[s.End]; ok && i+1 < len(c.tokens) && c.tokens[i+1].Is(lexer.Bracket, "}") {
				s.End = c.off.byteAt(c.tokens[i+1].To)
			}
		}
	case *ast.SequenceNode:
		for _, x := range n.Nodes {
			s = union(s, c.span(x))
		}
	case *ast.VariableDeclaratorNode:
		s = union(s, union(c.span(n.Value), c.span(n.Expr)))
		if prev, ok := c.prevToken(n.Location().From); ok && prev.Is(lexer.Operator, "let") {
			s.Start = c.off.byteAt(prev.From)
		}
	case *ast.PredicateNode:
		s = union(s, c.span(n.Node))
	}
	return s
}

func (c *checker) callSpan(n ast.Node, args []ast.Node) Span {
	s := c.loc(n)
	for _, a := range args {
		if a != nil {
			s = union(s, c.span(a))
		}
	}
	if t, ok := c.nextToken(n.Location().From); ok && t.Is(lexer.Bracket, "(") {
		if end := c.closeAfter(t.From); end > s.End {
			s.End = end
		}
	}
	return s
}

// invalid reports whether e's type is unknown: in syntax-only mode every
// column is untyped, and checks that need types are skipped.
func invalid(e Expr) bool { return e.Type().Kind == schema.Invalid }

func (c *checker) expr(n ast.Node) Expr {
	if n == nil {
		c.errorf(Span{0, len(c.src)}, supported, "invalid expression")
		return errExpr
	}
	// A column (or struct field) of a nested type may be the whole of an
	// expression: an output column passes it through. Inside an operator
	// it has no meaning.
	whole := c.depth == 0
	c.depth++
	defer func() { c.depth-- }()
	switch n := n.(type) {
	case *ast.IdentifierNode:
		return c.ident(n, whole)
	case *ast.IntegerNode:
		return &Literal{Value: int64(n.Value), Typ: schema.Int64Type, At: c.loc(n)}
	case *ast.FloatNode:
		return &Literal{Value: n.Value, Typ: schema.Float64Type, At: c.loc(n)}
	case *ast.StringNode:
		return &Literal{Value: n.Value, Typ: schema.StringType, At: c.loc(n)}
	case *ast.BoolNode:
		return &Literal{Value: n.Value, Typ: schema.BoolType, At: c.loc(n)}
	case *ast.NilNode:
		c.errorf(c.loc(n), "Use x == nil to test for null (IS NULL) or x != nil (IS NOT NULL); nil may also be a branch of ?: or an argument of coalesce.",
			"nil is only allowed in == nil, != nil, ?: and coalesce")
		return errExpr
	case *ast.UnaryNode:
		return c.unary(n)
	case *ast.BinaryNode:
		return c.binary(n)
	case *ast.BuiltinNode:
		return c.builtin(n)
	case *ast.CallNode:
		return c.call(n)
	case *ast.MemberNode:
		return c.member(n, whole)
	case *ast.ChainNode:
		c.errorf(c.span(n), "Write a.b: a field of a null struct is null already. "+supported, "optional chaining (?.) is not supported")
	case *ast.SliceNode:
		c.errorf(c.span(n), supported, "slices (a[i:j]) are not supported")
	case *ast.ConditionalNode:
		return c.cond(n)
	case *ast.VariableDeclaratorNode:
		at := c.loc(n)
		if prev, ok := c.prevToken(n.Location().From); ok && prev.Is(lexer.Operator, "let") {
			at = c.off.span(prev.Location)
		}
		c.errorf(at, supported, "variables (let) are not supported")
	case *ast.SequenceNode:
		c.errorf(c.span(n), "A predicate is one expression; combine conditions with &&.", "sequences (;) are not supported")
	case *ast.ArrayNode:
		c.errorf(c.span(n), "A list of literals may only follow in or not in, as in region in ['eu', 'us'].", "a list is not allowed here")
	case *ast.MapNode:
		c.errorf(c.span(n), supported, "maps ({...}) are not supported")
	case *ast.BytesNode:
		c.errorf(c.loc(n), "Use a plain string literal.", "byte string literals (b'...') are not supported")
	case *ast.PredicateNode, *ast.PointerNode:
		c.errorf(c.span(n), supported, "closures (#, .field) are not supported")
	default:
		c.errorf(c.span(n), supported, "this construct is not supported")
	}
	return errExpr
}

// errExpr stands for a subexpression that already has an error; its
// Invalid type suppresses follow-on type errors.
var errExpr = &Literal{Typ: schema.Type{}}

func isErr(e Expr) bool { return e == Expr(errExpr) }

func (c *checker) names() []string {
	var ns []string
	if c.env != nil {
		for _, col := range c.env.Columns {
			ns = append(ns, col.Name)
		}
		for _, p := range c.env.Partitions {
			if _, ok := c.cols[p]; !ok {
				ns = append(ns, p)
			}
		}
	}
	return ns
}

// ident types a column reference; nested is true when a nested type is
// allowed: a field of it is read (payload.user), or it is the whole
// expression.
func (c *checker) ident(n *ast.IdentifierNode, nested bool) Expr {
	at := c.loc(n)
	name := n.Value
	if c.env == nil {
		return &ColumnRef{Name: name, At: at}
	}
	col, isCol := c.cols[name]
	if c.parts[name] {
		t := schema.StringType
		if isCol {
			t = col.Type
		}
		if t.IsNested() {
			c.errorf(at, "Partition keys must have a scalar type.", "partition key %q has nested type %s", name, t)
			return errExpr
		}
		return &ColumnRef{Name: name, ColType: t, Partition: true, At: at}
	}
	if !isCol {
		c.errorf(at, c.unknownDetail(name), "unknown column %q", name)
		return errExpr
	}
	if col.Type.IsNested() && !nested {
		c.errorf(at, "Columns of type list, struct and map pass through a pipeline but cannot be used in predicates; read a scalar field of a struct as payload.user.id.",
			"column %q has nested type %s", name, col.Type)
		return errExpr
	}
	return &ColumnRef{Name: name, ColType: col.Type, At: at}
}

func (c *checker) unknownDetail(name string) string {
	ns := c.names()
	if s := suggest(name, ns); s != "" {
		return s
	}
	if len(ns) == 0 {
		return "The source declares no columns or partition keys."
	}
	sort.Strings(ns)
	if len(ns) > 12 {
		ns = append(ns[:12], "…")
	}
	return "Known columns and partition keys: " + strings.Join(ns, ", ") + "."
}

// suggest returns `Did you mean "x"?` for the candidates closest to name.
func suggest(name string, cands []string) string {
	best, bestD := []string(nil), math.MaxInt
	for _, cand := range cands {
		d := levenshtein.Distance(strings.ToLower(name), strings.ToLower(cand), nil)
		// A transposition costs 2, so allow 2 edits for names of four
		// characters or more, 1 below; never suggest a name that shares
		// nothing with the typo (every character replaced).
		limit := 1 + utf8.RuneCountInString(name)/4
		if d > limit || d >= utf8.RuneCountInString(cand) {
			continue
		}
		switch {
		case d < bestD:
			best, bestD = []string{cand}, d
		case d == bestD:
			best = append(best, cand)
		}
	}
	switch len(best) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("Did you mean %q?", best[0])
	}
	sort.Strings(best)
	return fmt.Sprintf("Did you mean %q or %q?", best[0], best[1])
}

func (c *checker) unary(n *ast.UnaryNode) Expr {
	opAt := c.loc(n)
	switch n.Operator {
	case "!", "not":
		if b, ok := n.Node.(*ast.BinaryNode); ok && b.Operator == "in" {
			return c.in(b, true, c.span(n))
		}
		x := c.expr(n.Node)
		if isErr(x) {
			return errExpr
		}
		if !invalid(x) && x.Type().Kind != schema.Bool {
			c.errorf(x.Span(), "! (not) needs a bool operand.", "cannot negate %s with %s", x.Type(), n.Operator)
			return errExpr
		}
		return &Not{X: x, At: c.span(n)}
	case "-", "+":
		x := c.expr(n.Node)
		if isErr(x) {
			return errExpr
		}
		at := c.span(n)
		if !invalid(x) && !isArithType(x.Type()) {
			c.errorf(opAt, "Unary "+n.Operator+" needs a numeric (integer or float) operand.", "cannot apply unary %s to %s", n.Operator, x.Type())
			return errExpr
		}
		if n.Operator == "+" {
			return x
		}
		if lit, ok := x.(*Literal); ok {
			switch v := lit.Value.(type) {
			case int64:
				if v != math.MinInt64 { // -MinInt64 overflows: null, at run time
					return &Literal{Value: -v, Typ: lit.Typ, At: at}
				}
			case float64:
				return &Literal{Value: -v, Typ: lit.Typ, At: at}
			}
		}
		if inner, ok := x.(*Neg); ok {
			// --x is x, exactly, the minimum integer included (its -x
			// alone would overflow to null: the fold gives the exact
			// result instead); folding keeps Type() of long minus chains
			// from going quadratic.
			return inner.X
		}
		return &Neg{X: widenArith(x), At: at}
	}
	c.errorf(opAt, supported, "operator %s is not supported", n.Operator)
	return errExpr
}

// isArithType reports whether t takes part in arithmetic: integers and
// floats (decimals do not; see the error in arith).
func isArithType(t schema.Type) bool { return t.IsInteger() || t.IsFloat() }

// widenArith casts int32 to int64 and float32 to float64: arithmetic is
// computed in 64 bits only, so that evaluators need one kernel per op.
func widenArith(x Expr) Expr {
	switch x.Type().Kind {
	case schema.Int32:
		return castTo(x, schema.Int64Type)
	case schema.Float32:
		return castTo(x, schema.Float64Type)
	}
	return x
}

// castTo converts x to t: literals are converted in place (a new literal),
// anything else gets a Cast node.
func castTo(x Expr, t schema.Type) Expr {
	if x.Type().Equal(t) {
		return x
	}
	if lit, ok := x.(*Literal); ok {
		switch v := lit.Value.(type) {
		case int64:
			if t.IsFloat() {
				return &Literal{Value: float64(v), Typ: t, At: lit.At}
			}
			return &Literal{Value: v, Typ: t, At: lit.At}
		}
	}
	return &Cast{X: x, Typ: t, At: x.Span()}
}

func (c *checker) binary(n *ast.BinaryNode) Expr {
	opAt := c.loc(n)
	switch n.Operator {
	case "&&", "and", "||", "or":
		return c.logical(n)
	case "==", "!=":
		_, lnil := n.Left.(*ast.NilNode)
		_, rnil := n.Right.(*ast.NilNode)
		if lnil && rnil {
			c.errorf(c.span(n), "Compare a column with nil, as in order_id == nil.", "comparing nil with nil")
			return errExpr
		}
		if lnil || rnil {
			other := n.Left
			if lnil {
				other = n.Right
			}
			x := c.expr(other)
			if isErr(x) {
				return errExpr
			}
			return &IsNull{X: x, Negated: n.Operator == "!=", At: c.span(n)}
		}
		return c.compare(n)
	case "<", ">", "<=", ">=":
		for _, side := range []ast.Node{n.Left, n.Right} {
			if _, ok := side.(*ast.NilNode); ok {
				c.errorf(c.loc(side), "Ordering against nil is unknown for every row; use x == nil or x != nil.",
					"cannot compare with nil using %s", n.Operator)
				return errExpr
			}
		}
		return c.compare(n)
	case "in":
		return c.in(n, false, c.span(n))
	case "startsWith", "endsWith", "contains":
		return c.match(n)
	case "+", "-", "*", "/", "%":
		return c.arith(n)
	case "matches":
		return c.matchesOp(n)
	case "**", "^":
		c.errorf(opAt, supported, "exponentiation (%s) is not supported", n.Operator)
	case "..":
		c.errorf(opAt, "Use x >= a && x <= b.", "ranges (..) are not supported")
	case "??":
		c.errorf(opAt, "Write coalesce(a, b).", "the coalesce operator (??) is not supported")
	default:
		c.errorf(opAt, supported, "operator %s is not supported", n.Operator)
	}
	return errExpr
}

func (c *checker) logical(n *ast.BinaryNode) Expr {
	or := n.Operator == "||" || n.Operator == "or"
	var args []Expr
	bad := false
	for _, side := range []ast.Node{n.Left, n.Right} {
		x := c.expr(side)
		if isErr(x) {
			bad = true
			continue
		}
		if !invalid(x) && x.Type().Kind != schema.Bool {
			c.errorf(x.Span(), "Both sides of "+n.Operator+" must be conditions, as in a > 1 && b == 'x'.",
				"%s operand of %s is %s, not bool", sideName(side == n.Left), n.Operator, x.Type())
			bad = true
			continue
		}
		// Flatten: a && (b && c) is one n-ary And.
		switch y := x.(type) {
		case *And:
			if !or {
				args = append(args, y.Args...)
				continue
			}
		case *Or:
			if or {
				args = append(args, y.Args...)
				continue
			}
		}
		args = append(args, x)
	}
	if bad {
		return errExpr
	}
	at := c.span(n)
	if or {
		return &Or{Args: args, At: at}
	}
	return &And{Args: args, At: at}
}

func sideName(left bool) string {
	if left {
		return "left"
	}
	return "right"
}

func (c *checker) compare(n *ast.BinaryNode) Expr {
	l, r := c.expr(n.Left), c.expr(n.Right)
	if isErr(l) || isErr(r) {
		return errExpr
	}
	op := map[string]CmpOp{"==": Eq, "!=": Ne, "<": Lt, "<=": Le, ">": Gt, ">=": Ge}[n.Operator]
	l, r, ok := c.unify(l, r, c.loc(n), n.Operator)
	if !ok {
		return errExpr
	}
	if t := l.Type(); !invalid(l) && !invalid(r) {
		if t.Kind == schema.Bool && op != Eq && op != Ne {
			c.errorf(c.loc(n), "bool values can only be compared with == and !=.", "cannot order bool values with %s", n.Operator)
			return errExpr
		}
	}
	return &Compare{Op: op, L: l, R: r, At: c.span(n)}
}

// unify brings l and r to one type for a comparison (or an in list):
// string literals become date/timestamp/decimal/binary values, integer
// literals take an int32 or decimal column's type, and otherwise ints are
// cast to int64 or float64. It reports an error at the tightest place.
func (c *checker) unify(l, r Expr, opAt Span, op string) (Expr, Expr, bool) {
	if invalid(l) || invalid(r) {
		return l, r, true
	}
	lt, rt := l.Type(), r.Type()
	if sameComparable(lt, rt) {
		return l, r, true
	}
	// A literal adapts to the other side where it can.
	if lit, ok := r.(*Literal); ok {
		if nl, handled := c.adaptLiteral(lit, lt); handled {
			if nl == nil {
				return nil, nil, false
			}
			return l, nl, true
		}
	}
	if lit, ok := l.(*Literal); ok {
		if nl, handled := c.adaptLiteral(lit, rt); handled {
			if nl == nil {
				return nil, nil, false
			}
			return nl, r, true
		}
	}
	if isArithType(lt) && isArithType(rt) {
		if lt.IsFloat() || rt.IsFloat() {
			return castTo(l, schema.Float64Type), castTo(r, schema.Float64Type), true
		}
		return castTo(l, schema.Int64Type), castTo(r, schema.Int64Type), true
	}
	// Mismatch: point at the literal when there is one, else the operator.
	at := opAt
	if _, ok := r.(*Literal); ok {
		at = r.Span()
	} else if _, ok := l.(*Literal); ok {
		at = l.Span()
	}
	detail := "Both sides of " + op + " must have the same type (integers and floats mix freely)."
	if lref, ok := l.(*ColumnRef); ok && lref.Partition && lt.Kind == schema.String {
		detail += fmt.Sprintf(" Partition key %q is a string unless a column of the same name declares its type.", lref.Name)
	} else if rref, ok := r.(*ColumnRef); ok && rref.Partition && rt.Kind == schema.String {
		detail += fmt.Sprintf(" Partition key %q is a string unless a column of the same name declares its type.", rref.Name)
	}
	c.errorf(at, detail, "mismatched types %s and %s", lt, rt)
	return nil, nil, false
}

// sameComparable reports whether values of a and b compare directly:
// equal types, timestamps of one unit (the timezone only affects how they
// are displayed: values are UTC instants), and decimals of one scale.
func sameComparable(a, b schema.Type) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case schema.Timestamp:
		return a.Unit == b.Unit
	case schema.Decimal:
		return a.Scale == b.Scale
	}
	return a.Equal(b)
}

// adaptLiteral converts lit to type t when the language allows it. handled
// is false when no literal rule applies (the caller goes on to casts or a
// mismatch); a nil result with handled true means an error was reported.
func (c *checker) adaptLiteral(lit *Literal, t schema.Type) (out *Literal, handled bool) {
	switch lit.Typ.Kind {
	case schema.String:
		switch t.Kind {
		case schema.Binary:
			return &Literal{Value: lit.Value, Typ: t, At: lit.At}, true
		case schema.Date, schema.Timestamp, schema.Decimal:
			v, err := ParseValue(lit.Value.(string), t)
			if err != nil {
				c.errorf(lit.At, fmt.Sprintf("A string compared with a %s column is read as a %s when the predicate is compiled.", t.Kind, t.Kind), "%v", err)
				return nil, true
			}
			return &Literal{Value: v, Typ: t, At: lit.At}, true
		}
	case schema.Int64:
		switch t.Kind {
		case schema.Int32:
			if v := lit.Value.(int64); v >= math.MinInt32 && v <= math.MaxInt32 {
				return &Literal{Value: v, Typ: t, At: lit.At}, true
			}
		case schema.Decimal:
			return c.decimalLiteral(lit, t), true
		}
	case schema.Float64:
		if t.Kind == schema.Decimal {
			return c.decimalLiteral(lit, t), true
		}
	}
	return nil, false
}

// decimalLiteral reads a numeric literal as a decimal from its source
// text, so that 0.1 is exactly 0.1 and not the nearest float64.
func (c *checker) decimalLiteral(lit *Literal, t schema.Type) *Literal {
	// The text of a folded negative literal may hold spaces and
	// parentheses: "- (1.5)".
	text := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '(' || r == ')' || r == '_' {
			return -1
		}
		return r
	}, c.src[lit.At.Start:lit.At.End])
	v, err := ParseDecimal(text, t)
	if err != nil {
		c.errorf(lit.At, "A number compared with a decimal column must fit its precision and scale.", "%v", err)
		return nil
	}
	return &Literal{Value: v, Typ: t, At: lit.At}
}

func (c *checker) in(n *ast.BinaryNode, negated bool, at Span) Expr {
	x := c.expr(n.Left)
	arr, ok := n.Right.(*ast.ArrayNode)
	if !ok {
		c.errorf(c.span(n.Right), "in needs a list of literals, as in region in ['eu', 'us'].", "in needs a list [...] on its right")
		return errExpr
	}
	var lits []*Literal
	bad := isErr(x)
	for _, el := range arr.Nodes {
		if _, isNil := el.(*ast.NilNode); isNil {
			c.errorf(c.loc(el), "A list never holds null; write x == nil || x in [...].", "nil is not allowed in an in list")
			bad = true
			continue
		}
		e := c.expr(el)
		if isErr(e) {
			bad = true
			continue
		}
		lit, ok := e.(*Literal)
		if !ok {
			c.errorf(e.Span(), "Lists after in hold literals only (numbers, strings, true, false).", "in list element is not a literal")
			bad = true
			continue
		}
		lits = append(lits, lit)
	}
	if bad {
		return errExpr
	}
	if invalid(x) {
		return &In{X: x, List: lits, Negated: negated, At: at}
	}
	// Unify each element with X; when any needs X widened (an int32 column
	// with a large or float element), widen X and redo the list.
	target := x.Type()
	for _, lit := range lits {
		if !isArithType(target) || !isArithType(lit.Typ) {
			continue
		}
		switch {
		case lit.Typ.IsFloat() && !target.IsFloat():
			target = schema.Float64Type
		case target.Kind == schema.Int32 && (lit.Value.(int64) < math.MinInt32 || lit.Value.(int64) > math.MaxInt32):
			target = schema.Int64Type
		case target.Kind == schema.Float32:
			target = schema.Float64Type
		}
	}
	x = castTo(x, target)
	out := make([]*Literal, 0, len(lits))
	for _, lit := range lits {
		_, r, ok := c.unify(x, lit, lit.At, "in")
		if !ok {
			return errExpr
		}
		rl, isLit := r.(*Literal)
		if !isLit || !sameComparable(rl.Typ, x.Type()) {
			c.errorf(lit.At, "Every element of an in list must have the type of the value tested.", "mismatched types %s and %s", x.Type(), lit.Typ)
			return errExpr
		}
		out = append(out, rl)
	}
	return &In{X: x, List: out, Negated: negated, At: at}
}

func (c *checker) match(n *ast.BinaryNode) Expr {
	x, p := c.expr(n.Left), c.expr(n.Right)
	if isErr(x) || isErr(p) {
		return errExpr
	}
	for _, e := range []Expr{x, p} {
		if !invalid(e) && e.Type().Kind != schema.String {
			c.errorf(e.Span(), n.Operator+" works on strings, as in order_id startsWith 'o-'.", "%s needs string operands, not %s", n.Operator, e.Type())
			return errExpr
		}
	}
	op := map[string]MatchOp{"startsWith": StartsWith, "endsWith": EndsWith, "contains": Contains}[n.Operator]
	return &StringMatch{Op: op, X: x, Pattern: p, At: c.span(n)}
}

func (c *checker) arith(n *ast.BinaryNode) Expr {
	l, r := c.expr(n.Left), c.expr(n.Right)
	if isErr(l) || isErr(r) {
		return errExpr
	}
	opAt := c.loc(n)
	op := map[string]ArithOp{"+": Add, "-": Sub, "*": Mul, "/": Div, "%": Mod}[n.Operator]
	for _, e := range []Expr{l, r} {
		if invalid(e) {
			continue
		}
		t := e.Type()
		switch {
		case t.Kind == schema.String && n.Operator == "+" && l.Type().Kind == r.Type().Kind:
			c.errorf(opAt, "Write concat(a, b).", "string concatenation (+) is not supported")
			return errExpr
		case t.Kind == schema.Decimal:
			c.errorf(e.Span(), "Compare decimal columns directly with a literal, as in amount > 10.5.", "arithmetic on decimal values is not supported")
			return errExpr
		case !isArithType(t):
			c.errorf(e.Span(), n.Operator+" needs numeric (integer or float) operands.", "cannot apply %s to %s", n.Operator, t)
			return errExpr
		}
	}
	if invalid(l) || invalid(r) {
		return &Arith{Op: op, L: l, R: r, At: c.span(n)}
	}
	typ := schema.Int64Type
	if op == Div || l.Type().IsFloat() || r.Type().IsFloat() {
		typ = schema.Float64Type
	}
	if op == Mod && typ.Kind == schema.Float64 {
		c.errorf(opAt, "% works on integers only.", "cannot apply %% to %s and %s", l.Type(), r.Type())
		return errExpr
	}
	return &Arith{Op: op, L: castTo(l, typ), R: castTo(r, typ), Typ: typ, At: c.span(n)}
}

var funcs = map[string]Func{"lower": Lower, "upper": Upper, "len": Len}

func (c *checker) builtin(n *ast.BuiltinNode) Expr {
	if prev, ok := c.prevToken(n.Location().From); ok && prev.Is(lexer.Operator, "|") {
		c.errorf(c.off.span(prev.Location), "Call the function directly, as in lower(name).", "pipes (|) are not supported")
		return errExpr
	}
	return c.function(n.Name, c.loc(n), n.Arguments, c.span(n))
}

// stringCall checks lower(), upper() and len().
func (c *checker) stringCall(name string, fn Func, argNodes []ast.Node, whole Span) Expr {
	if len(argNodes) != 1 {
		c.errorf(whole, name+"() takes one string argument, as in "+name+"(name).", "%s() takes 1 argument, got %d", name, len(argNodes))
		return errExpr
	}
	arg := c.expr(argNodes[0])
	if isErr(arg) {
		return errExpr
	}
	if !invalid(arg) && arg.Type().Kind != schema.String {
		c.errorf(arg.Span(), name+"() takes one string argument.", "%s() needs a string, not %s", name, arg.Type())
		return errExpr
	}
	return &Call{Fn: fn, Arg: arg, At: whole}
}

func (c *checker) call(n *ast.CallNode) Expr {
	if id, ok := n.Callee.(*ast.IdentifierNode); ok {
		if prev, ok := c.prevToken(id.Location().From); ok && prev.Is(lexer.Operator, "|") {
			c.errorf(c.off.span(prev.Location), "Call the function directly, as in lower(name).", "pipes (|) are not supported")
			return errExpr
		}
		return c.function(id.Value, c.loc(id), n.Arguments, c.span(n))
	}
	c.errorf(c.span(n), supported, "method calls are not supported")
	return errExpr
}

func (c *checker) unknownFunc(name string, at Span) {
	detail := "See the functions in docs/language.md; the string operators are startsWith, endsWith, contains and matches."
	if s := suggest(name, append(functionNames(), "startsWith", "endsWith", "contains", "matches")); s != "" {
		detail = s + " " + detail
	}
	c.errorf(at, detail, "function %s() is not supported", name)
}

func makeConjunct(e Expr) Conjunct {
	seen := map[string]bool{}
	part := true
	walk(e, func(x Expr) {
		if ref, ok := x.(*ColumnRef); ok {
			if !seen[ref.Name] {
				seen[ref.Name] = true
			}
			if !ref.Partition {
				part = false
			}
		}
	})
	cols := make([]string, 0, len(seen))
	for n := range seen {
		cols = append(cols, n)
	}
	sort.Strings(cols)
	return Conjunct{Expr: e, Columns: cols, PartitionOnly: part}
}

// walk calls f on e and every node below it, parents first.
func walk(e Expr, f func(Expr)) {
	f(e)
	for _, ch := range Children(e) {
		walk(ch, f)
	}
}

// Children returns the direct subexpressions of e, in source order.
func Children(e Expr) []Expr {
	switch e := e.(type) {
	case *Compare:
		return []Expr{e.L, e.R}
	case *And:
		return e.Args
	case *Or:
		return e.Args
	case *Not:
		return []Expr{e.X}
	case *In:
		out := []Expr{e.X}
		for _, l := range e.List {
			out = append(out, l)
		}
		return out
	case *IsNull:
		return []Expr{e.X}
	case *Arith:
		return []Expr{e.L, e.R}
	case *Neg:
		return []Expr{e.X}
	case *StringMatch:
		return []Expr{e.X, e.Pattern}
	case *Call:
		return []Expr{e.Arg}
	case *Cast:
		return []Expr{e.X}
	case *Cond:
		return []Expr{e.If, e.Then, e.Else}
	case *Coalesce:
		return e.Args
	case *Apply:
		return e.Args
	}
	return nil
}
