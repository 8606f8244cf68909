package predicate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sluicedata/sluice/spec/schema"
)

// This file holds the IR of the function library (docs/language.md,
// "Functions"): conditionals, string functions, explicit casts and time
// functions. Lower, Upper and Len keep their one-argument Call node; every
// other function is an Apply.

// Functions of Apply nodes, in the order of docs/language.md.
const (
	Trim Func = iota + 100
	LTrim
	RTrim
	Substring
	Replace
	SplitPart
	Concat
	Matches // X matches 'regex' (expr-lang's operator; it is not a call)
	RegexExtract
	ToInt
	ToFloat
	ToString
	ToBool
	ToDate
	ToTimestamp
	ToDecimal
	ParseTimestampFn
	FromUnixtime
	FromUnixtimeMs
	Trunc
	Year
	Month
	Day
	Hour
	Minute
	Second
	DateAdd
	DateDiff
	ToTimezone
)

// funcNames spells every Apply function as it is written (without try_).
var funcNames = map[Func]string{
	Trim: "trim", LTrim: "ltrim", RTrim: "rtrim", Substring: "substring", Replace: "replace",
	SplitPart: "split_part", Concat: "concat", Matches: "matches", RegexExtract: "regex_extract",
	ToInt: "int", ToFloat: "float", ToString: "string", ToBool: "bool", ToDate: "date",
	ToTimestamp: "timestamp", ToDecimal: "decimal", ParseTimestampFn: "parse_timestamp",
	FromUnixtime: "from_unixtime", FromUnixtimeMs: "from_unixtime_ms", Trunc: "trunc",
	Year: "year", Month: "month", Day: "day", Hour: "hour", Minute: "minute", Second: "second",
	DateAdd: "date_add", DateDiff: "date_diff", ToTimezone: "to_timezone",
}

// CanFail reports whether f, without try_, turns a value it cannot convert
// into a row error (a bad record) instead of null.
func (f Func) CanFail() bool {
	switch f {
	case ToInt, ToFloat, ToBool, ToDate, ToTimestamp, ToDecimal, ParseTimestampFn:
		return true
	}
	return false
}

// FailingColumns reports whether evaluating e can make a row a bad record
// (it applies a cast or parse without try_), and the columns those calls
// read, in source order without repeats, to name in the bad record.
func FailingColumns(e Expr) (fails bool, columns []string) {
	seen := map[string]bool{}
	walk(e, func(x Expr) {
		ap, ok := x.(*Apply)
		if !ok || ap.Try || !ap.Fn.CanFail() {
			return
		}
		fails = true
		for _, arg := range ap.Args {
			walk(arg, func(y Expr) {
				if ref, ok := y.(*ColumnRef); ok && !seen[ref.Name] {
					seen[ref.Name] = true
					columns = append(columns, ref.Name)
				}
			})
		}
	})
	return fails, columns
}

// Cond is If ? Then : Else. An unknown (null) condition takes Else, as SQL's
// CASE WHEN does. Only the branch taken is evaluated for a row: a cast that
// would fail in the other branch is no error.
type Cond struct {
	If, Then, Else Expr
	Typ            schema.Type
	At             Span
}

// Coalesce is the first non-null argument, or null. Arguments after it are
// not evaluated for that row.
type Coalesce struct {
	Args []Expr
	Typ  schema.Type
	At   Span
}

// Apply is a library function applied to its arguments. Arguments that the
// language requires to be literals (a regular expression, a format, a
// timezone, a unit, a precision) are Literal nodes, checked when compiled.
// Try is the try_ form of a cast or parse: null instead of a row error.
// Every function is null when an argument is null, except Concat (null
// arguments count as empty).
type Apply struct {
	Fn   Func
	Args []Expr
	Try  bool
	Typ  schema.Type
	At   Span
}

func (*Cond) exprNode()     {}
func (*Coalesce) exprNode() {}
func (*Apply) exprNode()    {}

func (e *Cond) Type() schema.Type     { return e.Typ }
func (e *Coalesce) Type() schema.Type { return e.Typ }
func (e *Apply) Type() schema.Type    { return e.Typ }
func (e *Cond) Span() Span            { return e.At }
func (e *Coalesce) Span() Span        { return e.At }
func (e *Apply) Span() Span           { return e.At }

var (
	_ Expr = (*Cond)(nil)
	_ Expr = (*Coalesce)(nil)
	_ Expr = (*Apply)(nil)
)

// Name is the function's name as written, try_ included.
func (e *Apply) Name() string {
	if e.Try {
		return "try_" + e.Fn.String()
	}
	return e.Fn.String()
}

func (e *Cond) String() string {
	return condOperand(e.If) + " ? " + condOperand(e.Then) + " : " + condOperand(e.Else)
}

// condOperand parenthesises a nested conditional (and nothing else needs
// it: ?: binds less tightly than every operator).
func condOperand(e Expr) string {
	if _, ok := e.(*Cond); ok {
		return "(" + e.String() + ")"
	}
	return e.String()
}

func (e *Coalesce) String() string { return "coalesce(" + joinExprs(e.Args) + ")" }

func (e *Apply) String() string {
	if e.Fn == Matches && len(e.Args) == 2 {
		return operand(e.Args[0], precCompare, false) + " matches " + operand(e.Args[1], precCompare, true)
	}
	return e.Name() + "(" + joinExprs(e.Args) + ")"
}

func joinExprs(args []Expr) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

// ValueError is a value that a cast or parse could not convert: the row is
// a bad record (or, in a try_ form, null). Both evaluators build it, so
// their messages agree; it names the function, the value (truncated) and
// the reason.
type ValueError struct {
	Fn     string // as written: "int", "parse_timestamp"
	Value  string // the value as an expr-lang literal, truncated
	Reason string
}

func (e *ValueError) Error() string {
	return e.Fn + "(" + e.Value + "): " + e.Reason
}

// NewValueError builds the error of function fn on value v (in the
// representation of Literal.Value).
func NewValueError(fn string, v any, reason string) *ValueError {
	return &ValueError{Fn: fn, Value: ShowValue(v), Reason: reason}
}

// Shown is a value already rendered for a message (a decimal with its
// scale, say): ShowValue prints it as it is.
type Shown string

// maxShown is how many characters of a failing string value a message shows.
const maxShown = 64

// ShowValue renders v for a message: strings quoted and cut to 64
// characters, floats as FormatFloat, everything else as its literal text.
func ShowValue(v any) string {
	switch x := v.(type) {
	case string:
		if utf8.RuneCountInString(x) > maxShown {
			i, n := 0, 0
			for i = range x {
				if n == maxShown {
					break
				}
				n++
			}
			return Quote(x[:i]) + "…"
		}
		return Quote(x)
	case float64:
		return FormatFloat(x)
	case Shown:
		return string(x)
	case nil:
		return "nil"
	}
	return fmt.Sprint(v)
}

// FormatFloat is the text string() gives a float: the shortest decimal that
// reads back to the same value, without an exponent between 1e-6 and 1e21;
// NaN, Infinity and -Infinity for the special values.
func FormatFloat(f float64) string { return formatFloatBits(f, 64) }

// formatFloatBits is FormatFloat for a float32 (bits 32: the shortest text
// that reads back to the same float32, so 0.1 stays 0.1) or a float64.
func formatFloatBits(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.FormatFloat(f, 'f', -1, bits)
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// DatePart is a unit of trunc, date_add and date_diff.
type DatePart int

// Date parts, coarsest first.
const (
	PartYear DatePart = iota + 1
	PartMonth
	PartDay
	PartHour
	PartMinute
	PartSecond
)

var datePartNames = []string{PartYear: "year", PartMonth: "month", PartDay: "day", PartHour: "hour", PartMinute: "minute", PartSecond: "second"}

func (p DatePart) String() string {
	if p >= PartYear && p <= PartSecond {
		return datePartNames[p]
	}
	return "DatePart(" + strconv.Itoa(int(p)) + ")"
}

// ParseDatePart reads a unit as written in a trunc, date_add or date_diff
// call ('day'; a trailing s is allowed: 'days').
func ParseDatePart(s string) (DatePart, bool) {
	s = strings.TrimSuffix(strings.ToLower(s), "s")
	for p := PartYear; p <= PartSecond; p++ {
		if datePartNames[p] == s {
			return p, true
		}
	}
	return 0, false
}

// Seconds is the length of a fixed-length part (day and finer) in seconds.
func (p DatePart) Seconds() int64 {
	switch p {
	case PartDay:
		return 86400
	case PartHour:
		return 3600
	case PartMinute:
		return 60
	case PartSecond:
		return 1
	}
	return 0
}

// StringArg returns the value of argument i of e when it is a non-null
// string literal (the checker guarantees it for pattern, format, timezone
// and unit arguments).
func (e *Apply) StringArg(i int) string {
	if i < len(e.Args) {
		if l, ok := e.Args[i].(*Literal); ok {
			if s, ok := l.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// IntArg returns the value of argument i of e when it is an integer literal.
func (e *Apply) IntArg(i int) (int64, bool) {
	if i < len(e.Args) {
		if l, ok := e.Args[i].(*Literal); ok {
			return IntValue(l.Value)
		}
	}
	return 0, false
}
