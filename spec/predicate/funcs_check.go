package predicate

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"

	"github.com/sluicedata/sluice/spec/schema"
)

// Type checking of the function library: arity, argument types, literal
// arguments (patterns, formats, timezones, units) checked once here so that
// evaluators never meet a bad one.

// signatures is the Detail of an arity or type error of each function.
var signatures = map[string]string{
	"lower":            "lower(s string) string",
	"upper":            "upper(s string) string",
	"len":              "len(s string) int64",
	"coalesce":         "coalesce(a, b, …) — the first argument that is not null",
	"trim":             "trim(s string) string",
	"ltrim":            "ltrim(s string) string",
	"rtrim":            "rtrim(s string) string",
	"substring":        "substring(s string, start int[, length int]) string",
	"replace":          "replace(s string, old string, new string) string",
	"split_part":       "split_part(s string, sep string, n int) string",
	"concat":           "concat(a, b, …) string",
	"regex_extract":    "regex_extract(s string, 'regex'[, group int]) string",
	"int":              "int(x) int64",
	"float":            "float(x) float64",
	"string":           "string(x) string",
	"bool":             "bool(x) bool",
	"date":             "date(x) date",
	"timestamp":        "timestamp(x) timestamp",
	"decimal":          "decimal(x, precision, scale) decimal(precision, scale)",
	"parse_timestamp":  "parse_timestamp(s string, 'format'[, 'timezone']) timestamp(us)",
	"from_unixtime":    "from_unixtime(seconds int|float) timestamp(us)",
	"from_unixtime_ms": "from_unixtime_ms(milliseconds int|float) timestamp(us)",
	"trunc":            "trunc(t date|timestamp, 'year'|'month'|'day'|'hour'|'minute'|'second')",
	"year":             "year(t date|timestamp) int64",
	"month":            "month(t date|timestamp) int64",
	"day":              "day(t date|timestamp) int64",
	"hour":             "hour(t timestamp) int64",
	"minute":           "minute(t timestamp) int64",
	"second":           "second(t timestamp) int64",
	"date_add":         "date_add(t date|timestamp, n int, 'year'|'month'|'day'|'hour'|'minute'|'second')",
	"date_diff":        "date_diff(start, end date|timestamp, 'year'|'month'|'day'|'hour'|'minute'|'second') int64",
	"to_timezone":      "to_timezone(t timestamp, 'timezone') timestamp",
}

// applyFuncs maps a callable name (without try_) to its function;
// matches is an operator, not a call.
var applyFuncs = func() map[string]Func {
	m := map[string]Func{}
	for f, name := range funcNames {
		if f != Matches {
			m[name] = f
		}
	}
	return m
}()

// functionNames lists every callable name, for "did you mean".
func functionNames() []string {
	names := make([]string, 0, len(signatures)+8)
	for n := range signatures {
		names = append(names, n)
	}
	for f, n := range funcNames {
		if f.CanFail() {
			names = append(names, "try_"+n)
		}
	}
	sort.Strings(names)
	return names
}

// function checks a call of name with args (whole is the call's span).
func (c *checker) function(name string, nameAt Span, argNodes []ast.Node, whole Span) Expr {
	if fn, ok := funcs[name]; ok {
		return c.stringCall(name, fn, argNodes, whole)
	}
	if name == "coalesce" {
		if len(argNodes) == 0 {
			c.errorf(whole, "Signature: "+signatures[name]+".", "coalesce() needs at least one argument")
			return errExpr
		}
		args, typ, ok := c.unifyAll(argNodes, "coalesce")
		if !ok {
			return errExpr
		}
		return &Coalesce{Args: args, Typ: typ, At: whole}
	}
	base, try := strings.CutPrefix(name, "try_")
	fn, ok := applyFuncs[base]
	if !ok || (try && !fn.CanFail()) {
		c.unknownFunc(name, nameAt)
		return errExpr
	}
	sig := "Signature: " + signatures[base] + "."
	lo, hi := arity(fn)
	if len(argNodes) < lo || len(argNodes) > hi {
		want := fmt.Sprintf("%d", lo)
		switch {
		case hi == math.MaxInt:
			want = fmt.Sprintf("at least %d", lo)
		case hi > lo:
			want = fmt.Sprintf("%d or %d", lo, hi)
		}
		plural := "s"
		if want == "1" {
			plural = ""
		}
		c.errorf(whole, sig, "%s() takes %s argument%s, got %d", name, want, plural, len(argNodes))
		return errExpr
	}
	args := make([]Expr, len(argNodes))
	bad := false
	for i, a := range argNodes {
		if args[i] = c.expr(a); isErr(args[i]) {
			bad = true
		}
	}
	if bad {
		return errExpr
	}
	ap := &Apply{Fn: fn, Args: args, Try: try, At: whole}
	if !c.checkArgs(ap, name, sig) {
		return errExpr
	}
	if fn.CanFail() && !try {
		c.constantFailure(ap)
	}
	return ap
}

// arity is the number of arguments fn takes (hi MaxInt: any number).
func arity(fn Func) (lo, hi int) {
	switch fn {
	case Substring, RegexExtract, ParseTimestampFn:
		return 2, 3
	case Replace, SplitPart, DateAdd, DateDiff, ToDecimal:
		return 3, 3
	case Concat:
		return 1, math.MaxInt
	case Trunc, ToTimezone:
		return 2, 2
	}
	return 1, 1
}

// constantFailure reports a cast or parse of literals that fails: it
// would fail on every row.
func (c *checker) constantFailure(ap *Apply) {
	for _, a := range ap.Args {
		if l, ok := a.(*Literal); !ok || l.Value == nil {
			return
		}
	}
	_, err := Eval(ap, func(string) (any, bool) { return nil, false })
	var ve *ValueError
	if errors.As(err, &ve) {
		c.errorf(ap.At, fmt.Sprintf("Fix the literal, or use try_%s(…) to get null instead.", ap.Fn), "%s fails on every row: %s", ap, ve.Reason)
	}
}

var tsMicros = schema.TimestampOf(schema.Microsecond, "")

func isStr(t schema.Type) bool      { return t.Kind == schema.String }
func isInt(t schema.Type) bool      { return t.IsInteger() }
func isTemporal(t schema.Type) bool { return t.IsTemporal() }
func isTS(t schema.Type) bool       { return t.Kind == schema.Timestamp }
func isScalar(t schema.Type) bool   { return !t.IsNested() }

// checkArgs types ap's arguments, converts them (int32 → int64), checks
// its literal arguments and sets its result type. It reports and returns
// false on the first problem.
func (c *checker) checkArgs(ap *Apply, name, sig string) bool {
	a := ap.Args
	want := func(i int, ok func(schema.Type) bool, what string) bool {
		if invalid(a[i]) || ok(a[i].Type()) {
			return true
		}
		c.errorf(a[i].Span(), sig, "%s() argument %d is %s, not %s", name, i+1, a[i].Type(), what)
		return false
	}
	asInt := func(i int) bool {
		if !want(i, isInt, "an integer") {
			return false
		}
		a[i] = widenArith(a[i])
		return true
	}
	switch ap.Fn {
	case Trim, LTrim, RTrim:
		ap.Typ = schema.StringType
		return want(0, isStr, "a string")
	case Substring:
		ap.Typ = schema.StringType
		return want(0, isStr, "a string") && asInt(1) && (len(a) < 3 || asInt(2))
	case Replace:
		ap.Typ = schema.StringType
		return want(0, isStr, "a string") && want(1, isStr, "a string") && want(2, isStr, "a string")
	case SplitPart:
		ap.Typ = schema.StringType
		return want(0, isStr, "a string") && want(1, isStr, "a string") && asInt(2)
	case Concat:
		ap.Typ = schema.StringType
		for i := range a {
			if !want(i, isScalar, "a scalar") {
				return false
			}
		}
		return true
	case RegexExtract:
		ap.Typ = schema.StringType
		if !want(0, isStr, "a string") {
			return false
		}
		p, ok := c.stringLit(a[1], name, "regular expression")
		if !ok {
			return false
		}
		re, err := CompileRegexp(p)
		if err != nil {
			c.errorf(a[1].Span(), "Patterns use RE2 syntax (https://github.com/google/re2/wiki/Syntax).", "invalid regular expression: %v", err)
			return false
		}
		if len(a) > 2 {
			g, ok := c.intLit(a[2], name, "group")
			if !ok {
				return false
			}
			if g < 0 || g > int64(re.NumSubexp()) {
				c.errorf(a[2].Span(), fmt.Sprintf("The pattern has %d group(s); 0 is the whole match.", re.NumSubexp()), "group %d does not exist", g)
				return false
			}
			a[2] = &Literal{Value: g, Typ: schema.Int64Type, At: a[2].Span()}
		}
		return true
	case ToInt:
		ap.Typ = schema.Int64Type
		return c.castable(ap, name, sig, "an integer, float, string, bool or decimal", func(t schema.Type) bool {
			return t.IsNumeric() || t.Kind == schema.String || t.Kind == schema.Bool
		})
	case ToFloat:
		ap.Typ = schema.Float64Type
		return c.castable(ap, name, sig, "an integer, float, string, bool or decimal", func(t schema.Type) bool {
			return t.IsNumeric() || t.Kind == schema.String || t.Kind == schema.Bool
		})
	case ToString:
		ap.Typ = schema.StringType
		return want(0, isScalar, "a scalar")
	case ToBool:
		ap.Typ = schema.BoolType
		return c.castable(ap, name, sig, "a bool, integer or string", func(t schema.Type) bool {
			return t.IsInteger() || t.Kind == schema.String || t.Kind == schema.Bool
		})
	case ToDate:
		ap.Typ = schema.DateType
		return c.castable(ap, name, sig, "a date, timestamp or string", func(t schema.Type) bool {
			return t.IsTemporal() || t.Kind == schema.String
		})
	case ToTimestamp:
		ap.Typ = tsMicros
		if !invalid(a[0]) && isTS(a[0].Type()) {
			ap.Typ = a[0].Type()
		}
		return c.castable(ap, name, sig, "a timestamp, date or string", func(t schema.Type) bool {
			return t.IsTemporal() || t.Kind == schema.String
		})
	case ToDecimal:
		p, ok := c.intLit(a[1], name, "precision")
		if !ok {
			return false
		}
		s, ok := c.intLit(a[2], name, "scale")
		if !ok {
			return false
		}
		if p < 1 || p > 38 {
			c.errorf(a[1].Span(), "Decimals have a precision from 1 to 38.", "precision %d out of range", p)
			return false
		}
		if s < 0 || s > p {
			c.errorf(a[2].Span(), "The scale is between 0 and the precision.", "scale %d out of range for precision %d", s, p)
			return false
		}
		a[1] = &Literal{Value: p, Typ: schema.Int64Type, At: a[1].Span()}
		a[2] = &Literal{Value: s, Typ: schema.Int64Type, At: a[2].Span()}
		ap.Typ = schema.DecimalOf(int(p), int(s))
		return c.castable(ap, name, sig, "an integer, float, string or decimal", func(t schema.Type) bool {
			return t.IsNumeric() || t.Kind == schema.String
		})
	case ParseTimestampFn:
		ap.Typ = tsMicros
		if !want(0, isStr, "a string") {
			return false
		}
		f, ok := c.stringLit(a[1], name, "format")
		if !ok {
			return false
		}
		tf, err := CompileTimeFormat(f)
		if err != nil {
			c.errorf(a[1].Span(), "Formats use %Y %m %d %H %M %S %f %z %b %F %T and %%, as in '%Y-%m-%d %H:%M:%S'.", "%v", err)
			return false
		}
		if len(a) > 2 {
			if !c.timezoneArg(a[2], name) {
				return false
			}
			if tf.HasZone {
				c.errorf(a[2].Span(), "The format reads the offset with %z, so the value says its own timezone; drop this argument.", "timezone given with a %%z format")
				return false
			}
		}
		return true
	case FromUnixtime, FromUnixtimeMs:
		ap.Typ = tsMicros
		if !want(0, func(t schema.Type) bool { return t.IsInteger() || t.IsFloat() }, "an integer or float") {
			return false
		}
		a[0] = widenArith(a[0])
		return true
	case Trunc:
		if !want(0, isTemporal, "a date or timestamp") {
			return false
		}
		ap.Typ = a[0].Type()
		return c.partArg(ap, 1, name, sig)
	case Year, Month, Day, Hour, Minute, Second:
		ap.Typ = schema.Int64Type
		if ap.Fn >= Hour {
			if !invalid(a[0]) && a[0].Type().Kind == schema.Date {
				c.errorf(a[0].Span(), "A date has no time of day; "+name+"() takes a timestamp.", "%s() of a date", name)
				return false
			}
			return want(0, isTS, "a timestamp")
		}
		return want(0, isTemporal, "a date or timestamp")
	case DateAdd:
		if !want(0, isTemporal, "a date or timestamp") || !asInt(1) {
			return false
		}
		ap.Typ = a[0].Type()
		return c.partArg(ap, 2, name, sig)
	case DateDiff:
		ap.Typ = schema.Int64Type
		if !want(0, isTemporal, "a date or timestamp") || !want(1, isTemporal, "a date or timestamp") {
			return false
		}
		if !invalid(a[0]) && !invalid(a[1]) && a[0].Type().Kind != a[1].Type().Kind {
			c.errorf(ap.At, "Convert one side with date() or timestamp().", "date_diff() of %s and %s", a[0].Type(), a[1].Type())
			return false
		}
		if !c.partArg(ap, 2, name, sig) {
			return false
		}
		return true
	case ToTimezone:
		if !want(0, isTS, "a timestamp") {
			return false
		}
		ap.Typ = a[0].Type()
		if !invalid(a[0]) {
			ap.Typ = schema.TimestampOf(a[0].Type().Unit, "")
		}
		return c.timezoneArg(a[1], name)
	}
	c.errorf(ap.At, sig, "function %s() is not supported", name)
	return false
}

// castable checks the operand of a cast; it adds the remedy for temporal
// values that cannot become numbers.
func (c *checker) castable(ap *Apply, name, sig, what string, ok func(schema.Type) bool) bool {
	x := ap.Args[0]
	if invalid(x) || ok(x.Type()) {
		ap.Args[0] = widenArith(x)
		return true
	}
	detail := sig
	if x.Type().IsTemporal() && (ap.Fn == ToInt || ap.Fn == ToFloat || ap.Fn == ToDecimal) {
		detail = "Take a part with year(), month(), day(), hour(), or a difference with date_diff()."
	}
	c.errorf(x.Span(), detail, "%s() cannot convert %s; it takes %s", name, x.Type(), what)
	return false
}

func (c *checker) stringLit(e Expr, fn, what string) (string, bool) {
	if l, ok := e.(*Literal); ok {
		if s, ok := l.Value.(string); ok && l.Typ.Kind == schema.String {
			return s, true
		}
	}
	c.errorf(e.Span(), "It is read once, when the expression is compiled.", "the %s of %s() must be a string literal", what, fn)
	return "", false
}

func (c *checker) intLit(e Expr, fn, what string) (int64, bool) {
	if l, ok := e.(*Literal); ok {
		if v, ok := l.Value.(int64); ok && l.Typ.IsInteger() {
			return v, true
		}
	}
	c.errorf(e.Span(), "It is read once, when the expression is compiled.", "the %s of %s() must be an integer literal", what, fn)
	return 0, false
}

func (c *checker) timezoneArg(e Expr, fn string) bool {
	tz, ok := c.stringLit(e, fn, "timezone")
	if !ok {
		return false
	}
	if _, err := LoadLocation(tz); err != nil {
		c.errorf(e.Span(), "Timezones are IANA names, as in 'Europe/Paris', 'America/New_York' or 'UTC'.", "unknown timezone %s", Quote(tz))
		return false
	}
	return true
}

// partArg checks the unit argument i of trunc, date_add or date_diff.
func (c *checker) partArg(ap *Apply, i int, name, sig string) bool {
	s, ok := c.stringLit(ap.Args[i], name, "unit")
	if !ok {
		return false
	}
	p, ok := ParseDatePart(s)
	if !ok {
		detail := "The units are 'year', 'month', 'day', 'hour', 'minute' and 'second'."
		if sg := suggest(s, datePartNames[1:]); sg != "" {
			detail = sg + " " + detail
		}
		c.errorf(ap.Args[i].Span(), detail, "unknown unit %s", Quote(s))
		return false
	}
	if p >= PartHour && ap.Fn != DateDiff {
		x := ap.Args[0]
		if !invalid(x) && x.Type().Kind == schema.Date {
			c.errorf(ap.Args[i].Span(), "A date has no time of day; use 'day', 'month' or 'year', or convert with timestamp().", "unit %s on a date", Quote(s))
			return false
		}
	}
	return true
}

// cond checks c ? a : b (and expr-lang's if c { a } else { b }).
func (c *checker) cond(n *ast.ConditionalNode) Expr {
	cond := c.expr(n.Cond)
	if isErr(cond) {
		return errExpr
	}
	if !invalid(cond) && cond.Type().Kind != schema.Bool {
		c.errorf(cond.Span(), "The condition of ?: must be true or false, as in qty > 0 ? 'some' : 'none'.", "condition is %s, not bool", cond.Type())
		return errExpr
	}
	args, typ, ok := c.unifyAll([]ast.Node{n.Exp1, n.Exp2}, "?:")
	if !ok {
		return errExpr
	}
	return &Cond{If: cond, Then: args[0], Else: args[1], Typ: typ, At: c.span(n)}
}

// unifyAll checks the branches of ?: or the arguments of coalesce, where
// nil may stand for a null of the others' type, and brings them to one
// type: the first non-literal's type (literals adapt to it as in
// comparisons), integers widened to int64 and mixed with floats to
// float64.
func (c *checker) unifyAll(nodes []ast.Node, what string) ([]Expr, schema.Type, bool) {
	args := make([]Expr, len(nodes))
	nilAt := make([]Span, len(nodes))
	bad := false
	for i, n := range nodes {
		if _, isNil := n.(*ast.NilNode); isNil {
			nilAt[i] = c.loc(n)
			continue
		}
		if args[i] = c.expr(n); isErr(args[i]) {
			bad = true
		}
	}
	if bad {
		return nil, schema.Type{}, false
	}
	var target schema.Type
	found := false
	for pass := 0; pass < 2 && !found; pass++ {
		for _, a := range args {
			if a == nil {
				continue
			}
			if _, lit := a.(*Literal); lit && pass == 0 {
				continue
			}
			if invalid(a) {
				return fillNils(args, nilAt, schema.Type{}), schema.Type{}, true
			}
			t := a.Type()
			switch {
			case !found:
				target, found = t, true
			case sameComparable(target, t):
				if t.Kind == schema.Decimal && t.Precision > target.Precision {
					target = t
				}
			case isArithType(target) && isArithType(t):
				if target.IsFloat() || t.IsFloat() {
					target = schema.Float64Type
				} else {
					target = schema.Int64Type
				}
			}
		}
	}
	if !found {
		c.errorf(spanOfNodes(c, nodes), "Give one of them a type, as in coalesce(x, nil) or x == '' ? nil : x.", "every operand of %s is nil", what)
		return nil, schema.Type{}, false
	}
	if isArithType(target) {
		target = widenArith(&Literal{Typ: target}).Type()
	}
	for i, a := range args {
		if a == nil {
			continue
		}
		t := a.Type()
		switch {
		case sameComparable(target, t):
		case isArithType(target) && isArithType(t):
			args[i] = castTo(a, target)
		default:
			lit, isLit := a.(*Literal)
			if isLit {
				if nl, handled := c.adaptLiteral(lit, target); handled {
					if nl == nil {
						return nil, schema.Type{}, false
					}
					args[i] = nl
					continue
				}
			}
			c.errorf(a.Span(), "Every operand of "+what+" must have one type (integers and floats mix); convert with a cast such as string(x).",
				"%s operand is %s, the others %s", what, t, target)
			return nil, schema.Type{}, false
		}
	}
	return fillNils(args, nilAt, target), target, true
}

// fillNils puts a null literal of type t where nil was written.
func fillNils(args []Expr, at []Span, t schema.Type) []Expr {
	for i, a := range args {
		if a == nil {
			args[i] = &Literal{Typ: t, At: at[i]}
		}
	}
	return args
}

func spanOfNodes(c *checker, nodes []ast.Node) Span {
	s := c.span(nodes[0])
	for _, n := range nodes[1:] {
		s = union(s, c.span(n))
	}
	return s
}

// matchesOp checks s matches 'regex'.
func (c *checker) matchesOp(n *ast.BinaryNode) Expr {
	x, p := c.expr(n.Left), c.expr(n.Right)
	if isErr(x) || isErr(p) {
		return errExpr
	}
	if !invalid(x) && x.Type().Kind != schema.String {
		c.errorf(x.Span(), "matches tests a string against a regular expression, as in code matches '^[A-Z]{3}$'.", "matches needs a string, not %s", x.Type())
		return errExpr
	}
	pat, ok := c.stringLit(p, "matches", "regular expression")
	if !ok {
		return errExpr
	}
	if _, err := CompileRegexp(pat); err != nil {
		c.errorf(p.Span(), "Patterns use RE2 syntax (https://github.com/google/re2/wiki/Syntax).", "invalid regular expression: %v", err)
		return errExpr
	}
	return &Apply{Fn: Matches, Args: []Expr{x, p}, Typ: schema.BoolType, At: c.span(n)}
}
