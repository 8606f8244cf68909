package predicate

import (
	"github.com/sluicedata/sluice/spec/schema"
)

// Expr is a node of a type-checked predicate. Nodes are immutable once
// compiled; every node knows its result type and the byte span of the
// expression text it came from (Span), so later stages can point at it.
//
// Result types: comparisons, logical operators, In, IsNull and StringMatch
// are Bool. Arithmetic on two integers is Int64 except "/" which is Float64
// (as in expr-lang); any float operand gives Float64. Len gives Int64,
// Lower/Upper give String.
type Expr interface {
	Type() schema.Type
	Span() Span
	String() string // canonical expr-lang text, used in plans and golden files
	exprNode()
}

// Span is a half-open byte range [Start, End) in the predicate source text.
type Span struct{ Start, End int }

// ColumnRef reads a column of the source, or a hive partition key, or,
// with Path, a field nested in a struct column: payload.user.id is Name
// "payload", Path ["user", "id"]. ColType is the type of the value read
// (the innermost field's). A null struct on the way gives null.
type ColumnRef struct {
	Name      string
	Path      []string // struct fields below the column, outermost first; nil: the column itself
	ColType   schema.Type
	Partition bool // a hive partition key (its value comes from the object path)
	At        Span
}

// Literal is a constant. Value holds, by Typ.Kind:
// Bool: bool; Int32/Int64: int64; Float32/Float64: float64; String/Binary: string;
// Date: int32 days since 1970-01-01; Timestamp: int64 in Typ.Unit since the epoch, UTC;
// Decimal: *big.Int unscaled at Typ.Scale.
// String literals compared with a date/timestamp/decimal column are converted at
// compile time, so evaluators never parse text.
type Literal struct {
	Value any
	Typ   schema.Type
	At    Span
}

// CmpOp is a comparison operator.
type CmpOp int

// Comparison operators.
const (
	Eq CmpOp = iota + 1
	Ne
	Lt
	Le
	Gt
	Ge
)

// Compare is L op R with SQL semantics: unknown (null) when either side is null.
// Both operands have the same comparable type after coercion (numeric operands
// of different kinds are both Float64 or both Int64; see Cast). Timestamps of
// one unit compare whatever their timezones (values are UTC instants), and
// decimals of one scale whatever their precision.
type Compare struct {
	Op   CmpOp
	L, R Expr
	At   Span
}

// And and Or are n-ary with Kleene (three-valued) logic.
type And struct {
	Args []Expr
	At   Span
}

// Or is the n-ary disjunction with Kleene logic.
type Or struct {
	Args []Expr
	At   Span
}

// Not negates with Kleene logic (not unknown is unknown).
type Not struct {
	X  Expr
	At Span
}

// In is X in (List...) or, Negated, X not in (...). Null X gives unknown;
// a list never holds null.
type In struct {
	X       Expr
	List    []*Literal
	Negated bool
	At      Span
}

// IsNull is X == nil (or, Negated, X != nil). Never unknown.
type IsNull struct {
	X       Expr
	Negated bool
	At      Span
}

// ArithOp is an arithmetic operator.
type ArithOp int

// Arithmetic operators.
const (
	Add ArithOp = iota + 1
	Sub
	Mul
	Div
	Mod
)

// Arith is L op R; null when either side is null; division or modulo by zero is null.
type Arith struct {
	Op   ArithOp
	L, R Expr
	Typ  schema.Type
	At   Span
}

// Neg is unary minus.
type Neg struct {
	X  Expr
	At Span
}

// MatchOp is a string matching operator.
type MatchOp int

// String operators.
const (
	StartsWith MatchOp = iota + 1
	EndsWith
	Contains
)

// StringMatch is X op Pattern over strings (byte-wise, case-sensitive).
type StringMatch struct {
	Op         MatchOp
	X, Pattern Expr
	At         Span
}

// Func is a supported scalar function.
type Func int

// Scalar functions.
const (
	Lower Func = iota + 1
	Upper
	Len // length in characters (runes)
)

// Call applies a scalar function to one string argument.
type Call struct {
	Fn  Func
	Arg Expr
	At  Span
}

// Cast converts X to Typ: the only implicit conversions are int → float64,
// int32 → int64 and float32 → float64, inserted by the type checker so that
// both sides of a comparison or arithmetic have one type. (Literals are
// converted at compile time instead of being wrapped in a Cast.)
type Cast struct {
	X   Expr
	Typ schema.Type
	At  Span
}

func (*ColumnRef) exprNode()   {}
func (*Literal) exprNode()     {}
func (*Compare) exprNode()     {}
func (*And) exprNode()         {}
func (*Or) exprNode()          {}
func (*Not) exprNode()         {}
func (*In) exprNode()          {}
func (*IsNull) exprNode()      {}
func (*Arith) exprNode()       {}
func (*Neg) exprNode()         {}
func (*StringMatch) exprNode() {}
func (*Call) exprNode()        {}
func (*Cast) exprNode()        {}

// Conjunct is one top-level AND term of a predicate.
type Conjunct struct {
	Expr    Expr
	Columns []string // every column and partition key it reads, sorted, unique
	// PartitionOnly is true when every name in Columns is a partition key:
	// such a conjunct can be evaluated on a listing prefix.
	PartitionOnly bool
}

// Predicate is a compiled `where` or `check` expression.
type Predicate struct {
	Source    string // the expression text as written
	Root      Expr
	Conjuncts []Conjunct
}

// Env is what a predicate may refer to: the source's columns and its partition keys.
type Env struct {
	Columns    []schema.Column
	Partitions []string // partition keys, outermost first; typed by a same-named column, else string
}
