package predicate

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"

	"github.com/sluicedata/sluice/spec/schema"
)

// The String methods print canonical expr-lang text: Compile of the text
// gives the same IR (and the same text again). Operators are spelt
// && || ! and "not in"; string literals use single quotes; parentheses
// appear only where precedence needs them; Cast nodes are implicit and so
// print as their operand.

// String of the predicate is the canonical text of its root.
func (p *Predicate) String() string {
	if p == nil || p.Root == nil {
		return ""
	}
	return p.Root.String()
}

// Precedences as in expr-lang's parser/operator tables.
const (
	precCond    = 5
	precOr      = 10
	precAnd     = 15
	precCompare = 20
	precAdd     = 30
	precNot     = 50
	precMul     = 60
	precUnary   = 90
	precAtom    = 1000
)

func prec(e Expr) int {
	switch e := e.(type) {
	case *Or:
		if len(e.Args) == 1 {
			return prec(e.Args[0])
		}
		return precOr
	case *And:
		if len(e.Args) == 1 {
			return prec(e.Args[0])
		}
		return precAnd
	case *Compare, *In, *IsNull, *StringMatch:
		return precCompare
	case *Cond:
		return precCond
	case *Apply:
		if e.Fn == Matches {
			return precCompare
		}
	case *Not:
		return precNot
	case *Arith:
		if e.Op == Add || e.Op == Sub {
			return precAdd
		}
		return precMul
	case *Neg:
		return precUnary
	case *Cast:
		return prec(e.X)
	case *Literal:
		if isNegative(e) {
			return precUnary
		}
	}
	return precAtom
}

func isNegative(l *Literal) bool {
	switch v := l.Value.(type) {
	case int64:
		return v < 0
	case float64:
		return v < 0 || math.Signbit(v)
	case *big.Int:
		return false // printed quoted or as a plain number; see Literal.String
	}
	return false
}

// operand prints child e of an operator of precedence p: parenthesised
// when it binds less tightly, or equally on the right (the operators are
// left-associative) and always for comparisons under comparisons.
func operand(e Expr, p int, right bool) string {
	ep := prec(e)
	if ep < p || (ep == p && (right || p == precCompare)) {
		return "(" + e.String() + ")"
	}
	return e.String()
}

func (e *ColumnRef) String() string { return e.Name }

func (e *Literal) String() string {
	switch e.Typ.Kind {
	case schema.Date:
		if v, ok := e.Value.(int32); ok {
			return Quote(FormatDate(v))
		}
	case schema.Timestamp:
		if v, ok := e.Value.(int64); ok {
			return Quote(FormatTimestamp(v, e.Typ.Unit))
		}
	}
	switch v := e.Value.(type) {
	case nil:
		return "nil"
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return formatFloat(v)
	case string:
		return Quote(v)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case *big.Int:
		// Quoted, so that it reads back as the same decimal (a bare 0.10
		// would be a float literal, fine too, but negative values would
		// become unary minus applied to a literal).
		return Quote(FormatDecimal(v, e.Typ.Scale))
	}
	return "?"
}

// formatFloat prints f so that expr-lang reads it back as a float: always
// with a '.' or an exponent. Infinities and NaN cannot be written as
// literals and only arise from hand-built IR; they print as expressions
// that evaluate to them.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "(1.0 / 0.0)"
	case math.IsInf(f, -1):
		return "(-1.0 / 0.0)"
	case math.IsNaN(f):
		return "(0.0 / 0.0)"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

// Quote writes s as a single-quoted expr-lang string literal.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if unicode.IsPrint(r) {
				b.WriteRune(r)
			} else if r < 0x10000 {
				b.WriteString(`\u`)
				b.WriteString(leftPad(strconv.FormatInt(int64(r), 16), 4))
			} else {
				b.WriteString(`\U`)
				b.WriteString(leftPad(strconv.FormatInt(int64(r), 16), 8))
			}
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func leftPad(s string, n int) string {
	return strings.Repeat("0", max(0, n-len(s))) + s
}

// String is the operator's spelling.
func (op CmpOp) String() string {
	switch op {
	case Eq:
		return "=="
	case Ne:
		return "!="
	case Lt:
		return "<"
	case Le:
		return "<="
	case Gt:
		return ">"
	case Ge:
		return ">="
	}
	return "CmpOp(" + strconv.Itoa(int(op)) + ")"
}

// String is the operator's spelling.
func (op ArithOp) String() string {
	switch op {
	case Add:
		return "+"
	case Sub:
		return "-"
	case Mul:
		return "*"
	case Div:
		return "/"
	case Mod:
		return "%"
	}
	return "ArithOp(" + strconv.Itoa(int(op)) + ")"
}

// String is the operator's spelling.
func (op MatchOp) String() string {
	switch op {
	case StartsWith:
		return "startsWith"
	case EndsWith:
		return "endsWith"
	case Contains:
		return "contains"
	}
	return "MatchOp(" + strconv.Itoa(int(op)) + ")"
}

// String is the function's name.
func (f Func) String() string {
	switch f {
	case Lower:
		return "lower"
	case Upper:
		return "upper"
	case Len:
		return "len"
	}
	if name, ok := funcNames[f]; ok {
		return name
	}
	return "Func(" + strconv.Itoa(int(f)) + ")"
}

func (e *Compare) String() string {
	return operand(e.L, precCompare, false) + " " + e.Op.String() + " " + operand(e.R, precCompare, true)
}

func (e *And) String() string { return joinArgs(e.Args, " && ", precAnd, "true") }
func (e *Or) String() string  { return joinArgs(e.Args, " || ", precOr, "false") }

func joinArgs(args []Expr, sep string, p int, empty string) string {
	if len(args) == 0 {
		return empty
	}
	if len(args) == 1 {
		return args[0].String()
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = operand(a, p, i > 0 && prec(a) == p)
	}
	return strings.Join(parts, sep)
}

func (e *Not) String() string { return "!" + operand(e.X, precNot+1, false) }

func (e *In) String() string {
	var b strings.Builder
	b.WriteString(operand(e.X, precCompare, false))
	if e.Negated {
		b.WriteString(" not in [")
	} else {
		b.WriteString(" in [")
	}
	for i, l := range e.List {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.String())
	}
	b.WriteByte(']')
	return b.String()
}

func (e *IsNull) String() string {
	if e.Negated {
		return operand(e.X, precCompare, false) + " != nil"
	}
	return operand(e.X, precCompare, false) + " == nil"
}

func (e *Arith) String() string {
	p := prec(e)
	return operand(e.L, p, false) + " " + e.Op.String() + " " + operand(e.R, p, true)
}

func (e *Neg) String() string {
	// "-" followed by a negative literal or another minus would lex as
	// "--"-free text anyway, but a space-free "--1" reads badly; parenthesise.
	return "-" + operand(e.X, precUnary+1, false)
}

func (e *StringMatch) String() string {
	return operand(e.X, precCompare, false) + " " + e.Op.String() + " " + operand(e.Pattern, precCompare, true)
}

func (e *Call) String() string { return e.Fn.String() + "(" + e.Arg.String() + ")" }

func (e *Cast) String() string { return e.X.String() }
