package predicate

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluicedata/sluice/spec/schema"
)

// Tri is a three-valued (Kleene) truth value: the result of a predicate on
// one row, where Unknown comes from nulls. A row is kept only when True.
type Tri int8

// Truth values.
const (
	False Tri = iota
	True
	Unknown
)

func (t Tri) String() string {
	switch t {
	case False:
		return "false"
	case True:
		return "true"
	case Unknown:
		return "unknown"
	}
	return "Tri(" + strconv.Itoa(int(t)) + ")"
}

// TriOf converts an evaluated bool value (nil for null) to a Tri.
func TriOf(v any) Tri {
	switch v {
	case true:
		return True
	case false:
		return False
	}
	return Unknown
}

// Eval evaluates e on one row, the reference semantics that vectorised
// evaluators are tested against. row returns a column's (or partition
// key's) value in the representation of Literal.Value (nil for null) and
// false for a name it does not know, which is an error.
//
// The result is the node's value: bool for boolean nodes, nil for SQL
// null (unknown). Integer arithmetic whose exact result does not fit in
// int64 (overflow: MaxInt64 + 1, -MinInt64, a product too large) is
// null, as division and modulo by zero are: a comparison with it is
// unknown, so the row is not kept; float comparisons follow IEEE 754
// (NaN is unequal to everything, itself included); strings compare
// byte-wise; lower() and upper() map each rune with Go's simple Unicode
// case mapping (no special casing: upper("ß") is "ß"); len() counts runes.
// A struct column's value is a map[string]any of its fields (nil for a null
// struct); a nested reference (payload.user.id) reads through it, and is
// null when a struct on the way is null.
// A cast or parse without try_ that cannot convert the row's value
// returns a *ValueError: the row is a bad record (EvalBool makes it
// Unknown). The functions of funcs.go follow docs/language.md.
func Eval(e Expr, row func(name string) (value any, ok bool)) (any, error) {
	switch e := e.(type) {
	case *ColumnRef:
		v, ok := row(e.Name)
		if !ok {
			return nil, fmt.Errorf("column %q: no value in row", e.Name)
		}
		v, err := Field(v, e.Path)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", e.Name, err)
		}
		nv, err := normalize(v, e.ColType)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", e.Name, err)
		}
		return nv, nil
	case *Literal:
		return normalize(e.Value, e.Typ)
	case *Compare:
		l, err := Eval(e.L, row)
		if err != nil {
			return nil, err
		}
		r, err := Eval(e.R, row)
		if err != nil {
			return nil, err
		}
		if l == nil || r == nil {
			return nil, nil
		}
		return compareValues(e.Op, l, r)
	case *And:
		return evalLogic(e.Args, row, false)
	case *Or:
		return evalLogic(e.Args, row, true)
	case *Not:
		v, err := Eval(e.X, row)
		if err != nil || v == nil {
			return nil, err
		}
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("%s: not a bool: %T", e.X, v)
		}
		return !b, nil
	case *In:
		x, err := Eval(e.X, row)
		if err != nil || x == nil {
			return nil, err
		}
		for _, l := range e.List {
			lv, err := Eval(l, row)
			if err != nil {
				return nil, err
			}
			eq, err := compareValues(Eq, x, lv)
			if err != nil {
				return nil, err
			}
			if eq == true {
				return !e.Negated, nil
			}
		}
		return e.Negated, nil
	case *IsNull:
		x, err := Eval(e.X, row)
		if err != nil {
			return nil, err
		}
		return (x == nil) != e.Negated, nil
	case *Arith:
		l, err := Eval(e.L, row)
		if err != nil {
			return nil, err
		}
		r, err := Eval(e.R, row)
		if err != nil || l == nil || r == nil {
			return nil, err
		}
		return arith(e.Op, l, r)
	case *Neg:
		x, err := Eval(e.X, row)
		if err != nil || x == nil {
			return nil, err
		}
		switch v := x.(type) {
		case int64:
			if v == math.MinInt64 {
				return nil, nil // -MinInt64 does not fit
			}
			return -v, nil
		case float64:
			return -v, nil
		}
		return nil, fmt.Errorf("%s: cannot negate %T", e, x)
	case *StringMatch:
		x, err := Eval(e.X, row)
		if err != nil {
			return nil, err
		}
		p, err := Eval(e.Pattern, row)
		if err != nil || x == nil || p == nil {
			return nil, err
		}
		xs, ok1 := x.(string)
		ps, ok2 := p.(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: operands are %T and %T, not strings", e, x, p)
		}
		switch e.Op {
		case StartsWith:
			return strings.HasPrefix(xs, ps), nil
		case EndsWith:
			return strings.HasSuffix(xs, ps), nil
		case Contains:
			return strings.Contains(xs, ps), nil
		}
		return nil, fmt.Errorf("unknown string operator %s", e.Op)
	case *Call:
		x, err := Eval(e.Arg, row)
		if err != nil || x == nil {
			return nil, err
		}
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%s: argument is %T, not a string", e, x)
		}
		switch e.Fn {
		case Lower:
			return strings.ToLower(s), nil
		case Upper:
			return strings.ToUpper(s), nil
		case Len:
			return int64(utf8.RuneCountInString(s)), nil
		}
		return nil, fmt.Errorf("unknown function %s", e.Fn)
	case *Cast:
		x, err := Eval(e.X, row)
		if err != nil || x == nil {
			return nil, err
		}
		return normalize(x, e.Typ)
	case *Cond:
		return evalCond(e, row)
	case *Coalesce:
		return evalCoalesce(e, row)
	case *Apply:
		return evalApply(e, row)
	case nil:
		return nil, fmt.Errorf("nil expression")
	}
	return nil, fmt.Errorf("cannot evaluate %T", e)
}

// EvalBool evaluates a boolean expression on one row. An evaluation error
// (a missing column, a value of the wrong Go type) gives Unknown; callers
// that must tell the two apart use Eval.
func EvalBool(e Expr, row func(name string) (value any, ok bool)) Tri {
	v, err := Eval(e, row)
	if err != nil {
		return Unknown
	}
	return TriOf(v)
}

// evalLogic is Kleene AND (or, with or set, OR): a dominant value (false
// for AND, true for OR) wins over unknown.
func evalLogic(args []Expr, row func(string) (any, bool), or bool) (any, error) {
	unknown := false
	for _, a := range args {
		v, err := Eval(a, row)
		if err != nil {
			return nil, err
		}
		if v == nil {
			unknown = true
			continue
		}
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("%s: not a bool: %T", a, v)
		}
		if b == or {
			return or, nil
		}
	}
	if unknown {
		return nil, nil
	}
	return !or, nil
}

// normalize converts a row or literal value to the canonical Go
// representation of t (int32 columns as int64, float32 as float64, ...),
// accepting the obvious narrower Go types from callers.
func normalize(v any, t schema.Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t.Kind {
	case schema.Int32, schema.Int64:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		case int:
			return int64(x), nil
		}
	case schema.Float32, schema.Float64:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		case int64: // a Cast from an integer
			return float64(x), nil
		case int32:
			return float64(x), nil
		case int:
			return float64(x), nil
		}
	case schema.Bool:
		if x, ok := v.(bool); ok {
			return x, nil
		}
	case schema.String, schema.Binary:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case schema.Date:
		if x, ok := v.(int32); ok {
			return x, nil
		}
	case schema.Timestamp:
		if x, ok := v.(int64); ok {
			return x, nil
		}
	case schema.Decimal:
		if x, ok := v.(*big.Int); ok && x != nil {
			return x, nil
		}
	case schema.Invalid:
		// Untyped (syntax-only) column: take the value as it comes.
		return v, nil
	case schema.Struct, schema.List, schema.Map:
		// A nested value passes through whole (only == nil reads it):
		// a struct is a map[string]any, a list a []any.
		switch v.(type) {
		case map[string]any, []any:
			return v, nil
		}
	}
	return nil, fmt.Errorf("value %v (%T) is not a %s", v, v, t)
}

func compareValues(op CmpOp, l, r any) (any, error) {
	var c int
	switch a := l.(type) {
	case int64:
		b, ok := r.(int64)
		if !ok {
			return nil, mismatch(l, r)
		}
		c = cmp3(a < b, a > b)
	case float64:
		b, ok := r.(float64)
		if !ok {
			return nil, mismatch(l, r)
		}
		if math.IsNaN(a) || math.IsNaN(b) {
			return op == Ne, nil
		}
		c = cmp3(a < b, a > b)
	case string:
		b, ok := r.(string)
		if !ok {
			return nil, mismatch(l, r)
		}
		c = strings.Compare(a, b)
	case bool:
		b, ok := r.(bool)
		if !ok {
			return nil, mismatch(l, r)
		}
		c = cmp3(!a && b, a && !b)
	case int32:
		b, ok := r.(int32)
		if !ok {
			return nil, mismatch(l, r)
		}
		c = cmp3(a < b, a > b)
	case *big.Int:
		b, ok := r.(*big.Int)
		if !ok {
			return nil, mismatch(l, r)
		}
		c = a.Cmp(b)
	default:
		return nil, mismatch(l, r)
	}
	switch op {
	case Eq:
		return c == 0, nil
	case Ne:
		return c != 0, nil
	case Lt:
		return c < 0, nil
	case Le:
		return c <= 0, nil
	case Gt:
		return c > 0, nil
	case Ge:
		return c >= 0, nil
	}
	return nil, fmt.Errorf("unknown comparison %s", op)
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

func mismatch(l, r any) error {
	return fmt.Errorf("cannot compare %v (%T) with %v (%T)", l, l, r, r)
}

func arith(op ArithOp, l, r any) (any, error) {
	switch a := l.(type) {
	case int64:
		b, ok := r.(int64)
		if !ok {
			break
		}
		switch op {
		case Add, Sub, Mul:
			// The exact result, then whether it fits: the obvious way,
			// on purpose (the vectorised evaluator is tested against it).
			x, y := big.NewInt(a), big.NewInt(b)
			switch op {
			case Add:
				x.Add(x, y)
			case Sub:
				x.Sub(x, y)
			default:
				x.Mul(x, y)
			}
			if !x.IsInt64() {
				return nil, nil // overflow
			}
			return x.Int64(), nil
		case Div:
			if b == 0 {
				return nil, nil
			}
			return float64(a) / float64(b), nil
		case Mod:
			if b == 0 {
				return nil, nil
			}
			return a % b, nil
		}
	case float64:
		b, ok := r.(float64)
		if !ok {
			break
		}
		switch op {
		case Add:
			return a + b, nil
		case Sub:
			return a - b, nil
		case Mul:
			return a * b, nil
		case Div:
			if b == 0 {
				return nil, nil
			}
			return a / b, nil
		case Mod:
			if b == 0 {
				return nil, nil
			}
			return math.Mod(a, b), nil
		}
	}
	return nil, fmt.Errorf("cannot apply %s to %v (%T) and %v (%T)", op, l, l, r, r)
}
