package predicate

import "github.com/sluicedata/sluice/spec/schema"

// Type and Span of every node. Result types follow the rules in Expr's
// comment; they are computed from the children so that a node built by
// hand (by a planner rewrite, say) cannot disagree with its operands.

func (e *ColumnRef) Type() schema.Type   { return e.ColType }
func (e *Literal) Type() schema.Type     { return e.Typ }
func (e *Compare) Type() schema.Type     { return schema.BoolType }
func (e *And) Type() schema.Type         { return schema.BoolType }
func (e *Or) Type() schema.Type          { return schema.BoolType }
func (e *Not) Type() schema.Type         { return schema.BoolType }
func (e *In) Type() schema.Type          { return schema.BoolType }
func (e *IsNull) Type() schema.Type      { return schema.BoolType }
func (e *Arith) Type() schema.Type       { return e.Typ }
func (e *Neg) Type() schema.Type         { return e.X.Type() }
func (e *StringMatch) Type() schema.Type { return schema.BoolType }
func (e *Cast) Type() schema.Type        { return e.Typ }

// Type is Int64 for len() and String for lower() and upper().
func (e *Call) Type() schema.Type {
	if e.Fn == Len {
		return schema.Int64Type
	}
	return schema.StringType
}

func (e *ColumnRef) Span() Span   { return e.At }
func (e *Literal) Span() Span     { return e.At }
func (e *Compare) Span() Span     { return e.At }
func (e *And) Span() Span         { return e.At }
func (e *Or) Span() Span          { return e.At }
func (e *Not) Span() Span         { return e.At }
func (e *In) Span() Span          { return e.At }
func (e *IsNull) Span() Span      { return e.At }
func (e *Arith) Span() Span       { return e.At }
func (e *Neg) Span() Span         { return e.At }
func (e *StringMatch) Span() Span { return e.At }
func (e *Call) Span() Span        { return e.At }
func (e *Cast) Span() Span        { return e.At }

// Every node implements Expr.
var (
	_ Expr = (*ColumnRef)(nil)
	_ Expr = (*Literal)(nil)
	_ Expr = (*Compare)(nil)
	_ Expr = (*And)(nil)
	_ Expr = (*Or)(nil)
	_ Expr = (*Not)(nil)
	_ Expr = (*In)(nil)
	_ Expr = (*IsNull)(nil)
	_ Expr = (*Arith)(nil)
	_ Expr = (*Neg)(nil)
	_ Expr = (*StringMatch)(nil)
	_ Expr = (*Call)(nil)
	_ Expr = (*Cast)(nil)
)

// Mirror returns the operator that gives the same result with the operands
// swapped (a < b ⇔ b > a); = and != are their own mirrors.
func (op CmpOp) Mirror() CmpOp {
	switch op {
	case Lt:
		return Gt
	case Le:
		return Ge
	case Gt:
		return Lt
	case Ge:
		return Le
	}
	return op
}
