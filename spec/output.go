package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// Rest is the value of an output block's rest: what becomes of the
// source's columns that no column block lists.
type Rest int

// rest values.
const (
	RestDrop Rest = iota + 1
	RestKeep
)

var restValues = []enumValue[Rest]{{"drop", RestDrop}, {"keep", RestKeep}}

func (r Rest) String() string { return enumString(restValues, r, "Rest") }

// MarshalText implements encoding.TextMarshaler.
func (r Rest) MarshalText() ([]byte, error) { return enumText(restValues, r, "rest") }

// UnmarshalJSON implements json.Unmarshaler.
func (r *Rest) UnmarshalJSON(b []byte) error { return enumFromJSON(restValues, b, r, "rest") }

// Keep is the value of a dedupe block's keep.
type Keep int

// keep values.
const (
	KeepFirst Keep = iota + 1
	KeepLast
)

var keepValues = []enumValue[Keep]{{"first", KeepFirst}, {"last", KeepLast}}

func (k Keep) String() string { return enumString(keepValues, k, "Keep") }

// MarshalText implements encoding.TextMarshaler.
func (k Keep) MarshalText() ([]byte, error) { return enumText(keepValues, k, "keep") }

// UnmarshalJSON implements json.Unmarshaler.
func (k *Keep) UnmarshalJSON(b []byte) error { return enumFromJSON(keepValues, b, k, "keep") }

// Output is a pipeline's output block: exactly which columns leave the
// pipeline, under which names and in which order. Its column expressions
// see the source's columns and partition keys (never other output
// columns), so each column reads alone and block order never matters.
type Output struct {
	// Columns are the column blocks, in order.
	Columns []*OutputColumn
	Rest    Rest
	Drop    []string // with Rest == RestKeep: source columns left out
	// Flatten and Explode are stored here and given their meaning by the
	// nested-data part of the executor (struct paths to columns; one list
	// column to rows).
	Flatten      []string
	Explode      string
	FlattenRange hcl.Range
	ExplodeRange hcl.Range
	DropRange    hcl.Range
	DeclRange    hcl.Range

	// Items are the output's columns in order, each compiled against the
	// source: the column blocks, then the kept rest. Nil until the
	// source's columns are known (Load for a declared schema, plan for a
	// Parquet source typed by its footers: CompileOutput).
	Items []OutputItem
}

// OutputColumn is one column block of an output block.
type OutputColumn struct {
	Name string
	// ExprText is the expression as written; "" when the block has no
	// expr (the source column of the same name passes through).
	ExprText string
	// Declared is the type attribute (Kind Invalid: not set, the
	// expression's type is the column's).
	Declared  schema.Type
	TypeText  string
	ExprRange hcl.Range
	TypeRange hcl.Range
	DeclRange hcl.Range
	exprMap   *stringMap
}

// Text is the expression the column computes: ExprText, or the name.
func (c *OutputColumn) Text() string {
	if c.ExprText == "" {
		return c.Name
	}
	return c.ExprText
}

// ExprSubject maps a span of Text() to the range in the file.
func (c *OutputColumn) ExprSubject(sp predicate.Span) hcl.Range {
	if c.exprMap == nil {
		if c.ExprText == "" {
			return c.DeclRange
		}
		return c.ExprRange
	}
	return c.exprMap.rangeOf(sp)
}

// OutputItem is one compiled output column.
type OutputItem struct {
	Name string
	// Expr computes the column from a source row (file columns and
	// partition keys); its type is Column.Type. Text is the expression
	// text it was compiled from (with the cast function a declared type
	// adds): OutputExpr(Text, Column.Type, env) compiles it again.
	Expr   predicate.Expr
	Text   string
	Column schema.Column
	// Kept: a source column that follows the column blocks under
	// rest = "keep".
	Kept bool
}

// Source is the source column an item passes through unchanged (renamed
// or not), or "" for a derived value.
func (it OutputItem) Source() string {
	if ref, ok := it.Expr.(*predicate.ColumnRef); ok && ref.ColType.Equal(it.Column.Type) {
		return ref.Name
	}
	return ""
}

// Dedupe is a pipeline's dedupe block: one row per key among a run's
// output rows.
type Dedupe struct {
	Key          []string // output columns
	OrderBy      string   // an output column, or "": input order alone
	Keep         Keep
	KeyRange     hcl.Range
	OrderByRange hcl.Range
	DeclRange    hcl.Range
}

// OutputColumns are the columns a pipeline writes, typed: its output
// block's items, or without one its source's output columns. Checks,
// partition_by and dedupe name these. Nil while unknown (a Parquet source
// without a schema, before plan reads a footer).
func (p *Pipeline) OutputColumns() []schema.Column {
	if p.Output == nil {
		return p.Source.OutputColumns()
	}
	if p.Output.Items == nil {
		return nil
	}
	out := make([]schema.Column, len(p.Output.Items))
	for i, it := range p.Output.Items {
		out[i] = it.Column
	}
	return out
}

// outputNames are the output column names known before the source's
// columns are: all of them (known true) unless the output keeps a rest
// that only the schema can list.
func (p *Pipeline) outputNames() (names []string, known bool) {
	if cols := p.OutputColumns(); cols != nil {
		for _, c := range cols {
			names = append(names, c.Name)
		}
		return names, true
	}
	if p.Output != nil {
		for _, c := range p.Output.Columns {
			names = append(names, c.Name)
		}
		return names, p.Output.Rest != RestKeep
	}
	if p.Source != nil && p.Source.Select != nil {
		return slices.Clone(p.Source.Select), true
	}
	return nil, false
}

// castFuncs name the cast function a declared type converts with
// (decimal takes its precision and scale too).
var castFuncs = map[schema.Kind]string{
	schema.Int32: "int", schema.Int64: "int", schema.Float32: "float", schema.Float64: "float",
	schema.String: "string", schema.Bool: "bool", schema.Date: "date", schema.Timestamp: "timestamp",
	schema.Decimal: "decimal",
}

// widens reports whether every value of from converts to to without loss
// or failure, so a declared type needs no cast function.
func widens(from, to schema.Type) bool {
	switch {
	case from.Equal(to):
		return true
	case from.Kind == schema.Int32 && to.Kind == schema.Int64:
		return true
	case from.IsInteger() && to.Kind == schema.Float64:
		return true
	case from.Kind == schema.Float32 && to.Kind == schema.Float64:
		return true
	}
	return false
}

// CompileOutput compiles o's column expressions against a source's shape
// and lists its items (the kept rest included). It does not change o: the
// result is a copy with Items set. Diagnostics point into the expressions.
func CompileOutput(o *Output, sh SourceShape) (*Output, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	env := sh.PredicateEnv()
	var known []string
	for _, c := range env.Columns {
		known = append(known, c.Name)
	}
	errf := func(rng hcl.Range, summary, format string, args ...any) {
		r := rng
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: &r})
	}
	nc := *o
	nc.Items = make([]OutputItem, 0, len(o.Columns))
	named := map[string]bool{}
	for _, c := range o.Columns {
		named[c.Name] = true
		if c.ExprText == "" {
			col, ok := sh.Column(c.Name)
			if !ok {
				errf(c.DeclRange, "Unknown output column",
					"Output column %q has no expr, so it passes the source column %q through, but the source has no such column or partition key.%s Add expr = \"...\" to derive it, or name a source column.", c.Name, c.Name, suggestion(c.Name, known))
				continue
			}
			item := OutputItem{Name: c.Name, Text: c.Name, Expr: &predicate.ColumnRef{Name: c.Name, ColType: col.Type, Partition: slices.Contains(env.Partitions, c.Name)}, Column: schema.Column{Name: c.Name, Type: col.Type, Nullable: col.Nullable, Description: col.Description}}
			if it, ok := declare(c, item, env, &diags); ok {
				nc.Items = append(nc.Items, it)
			}
			continue
		}
		e, errs := predicate.CompileValue(c.ExprText, env)
		for _, pe := range errs {
			rng := c.ExprSubject(pe.Span)
			d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: pe.Summary, Detail: pe.Detail, Subject: &rng}
			if c.exprMap != nil && c.exprMap.offs == nil {
				d.Detail = strings.TrimSpace(d.Detail + " (in the expr of output column \"" + c.Name + "\"; the position is approximate because the expression is built with ${…})")
			}
			diags = append(diags, d)
		}
		if len(errs) > 0 {
			continue
		}
		if t := e.Type(); t.Kind == schema.Invalid {
			errf(c.ExprRange, "Untyped output expression", "The expr of output column %q has no type (it is null); write a typed value or declare type = \"...\".", c.Name)
			continue
		}
		nullable := true
		if ref, ok := e.(*predicate.ColumnRef); ok {
			if col, ok := sh.Column(ref.Name); ok {
				nullable = col.Nullable
			}
		}
		item := OutputItem{Name: c.Name, Text: c.ExprText, Expr: e, Column: schema.Column{Name: c.Name, Type: e.Type(), Nullable: nullable}}
		if it, ok := declare(c, item, env, &diags); ok {
			nc.Items = append(nc.Items, it)
		}
	}
	for _, d := range o.Drop {
		if _, ok := sh.Column(d); !ok {
			errf(o.DropRange, "Unknown column in drop",
				"drop names %q, which is not a column or partition key of the source.%s", d, suggestion(d, known))
		}
	}
	if o.Rest == RestKeep {
		// The source's columns in output order: file columns as declared,
		// then the partition keys.
		used := map[string]bool{}
		for _, it := range nc.Items {
			if s := it.Source(); s != "" {
				used[s] = true
			}
		}
		var names []string
		for _, c := range sh.FileColumns {
			names = append(names, c.Name)
		}
		names = append(names, sh.PartitionNames()...)
		for _, n := range names {
			if named[n] || used[n] || slices.Contains(o.Drop, n) {
				continue
			}
			col, _ := sh.Column(n)
			nc.Items = append(nc.Items, OutputItem{Name: n, Text: n, Expr: &predicate.ColumnRef{Name: n, ColType: col.Type, Partition: slices.Contains(env.Partitions, n)}, Column: col, Kept: true})
		}
	}
	if diags.HasErrors() {
		nc.Items = nil
	}
	return &nc, diags
}

// declare applies a column's declared type to item: a widening casts, any
// other conversion goes through the type's cast function (whose failures
// on a row are bad records).
func declare(c *OutputColumn, item OutputItem, env predicate.Env, diags *hcl.Diagnostics) (OutputItem, bool) {
	want := c.Declared
	if want.Kind == schema.Invalid || item.Expr.Type().Equal(want) {
		return item, true
	}
	bad := func(detail string) (OutputItem, bool) {
		r := c.TypeRange
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot convert output column",
			Detail: fmt.Sprintf("Output column %q is %s, declared %s: %s", c.Name, item.Expr.Type(), want, detail), Subject: &r})
		return item, false
	}
	e := item.Expr
	if !widens(e.Type(), want) {
		fn, ok := castFuncs[want.Kind]
		if !ok {
			return bad("nested types cannot be declared; remove type.")
		}
		text := fn + "(" + c.Text() + ")"
		if want.Kind == schema.Decimal {
			text = fmt.Sprintf("decimal(%s, %d, %d)", c.Text(), want.Precision, want.Scale)
		}
		ce, errs := predicate.CompileValue(text, env)
		if len(errs) > 0 {
			return bad(fmt.Sprintf("converting with %s(…) fails: %s. Convert in expr instead.", fn, errs[0].Summary))
		}
		e = ce
		item.Text = text
	}
	if !e.Type().Equal(want) {
		if !widens(e.Type(), want) {
			return bad(fmt.Sprintf("%s gives %s, which does not convert to %s without loss. Declare %s, or convert in expr.", castFuncs[want.Kind], e.Type(), want, e.Type()))
		}
		e = &predicate.Cast{X: e, Typ: want, At: e.Span()}
	}
	item.Expr = e
	item.Column.Type = want
	if _, isRef := item.Expr.(*predicate.ColumnRef); !isRef {
		item.Column.Nullable = true
	}
	return item, true
}

// OutputExpr compiles an output item's Text again (the executor does, from
// a plan): the expression, widened to t when its own type is narrower.
func OutputExpr(text string, t schema.Type, env predicate.Env) (predicate.Expr, error) {
	e, errs := predicate.CompileValue(text, env)
	if len(errs) > 0 {
		return nil, fmt.Errorf("output expression %q: %s", text, errs[0].Summary)
	}
	if e.Type().Equal(t) {
		return e, nil
	}
	if !widens(e.Type(), t) {
		return nil, fmt.Errorf("output expression %q is %s, not %s", text, e.Type(), t)
	}
	return &predicate.Cast{X: e, Typ: t, At: e.Span()}, nil
}

// Dropped are the source's columns and partition keys that leave the
// pipeline under no name (used in expressions or not), for plan.
func (o *Output) Dropped(sh SourceShape) []string {
	out := map[string]bool{}
	for _, it := range o.Items {
		if s := it.Source(); s != "" {
			out[s] = true
		}
	}
	var names []string
	for _, c := range sh.FileColumns {
		if !out[c.Name] {
			names = append(names, c.Name)
		}
	}
	for _, k := range sh.PartitionNames() {
		if !out[k] {
			names = append(names, k)
		}
	}
	return names
}
