package predicate

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"

	"github.com/sluicedata/sluice/spec/schema"
)

// member types a nested field reference, payload.user.id or
// payload["user"]["id"]: a chain of field accesses on a struct column,
// ending at a field of scalar type.
// whole allows a field of nested type (the expression is nothing else).
func (c *checker) member(n *ast.MemberNode, whole bool) Expr {
	var path []string
	var props []ast.Node // the property node of each step, outermost first
	var x ast.Node = n
	for {
		m, ok := x.(*ast.MemberNode)
		if !ok {
			break
		}
		if m.Method {
			c.errorf(c.span(m), supported, "method calls are not supported")
			return errExpr
		}
		if m.Optional {
			c.errorf(c.span(m), "Write a.b: a field of a null struct is null already. "+supported, "optional chaining (?.) is not supported")
			return errExpr
		}
		s, ok := m.Property.(*ast.StringNode)
		if !ok {
			c.errorf(c.span(m), "Lists and maps pass through a pipeline; only struct fields can be read, as payload.user.id.",
				"indexing (a[i]) is not supported")
			return errExpr
		}
		path = append(path, s.Value)
		props = append(props, m.Property)
		x = m.Node
	}
	id, ok := x.(*ast.IdentifierNode)
	if !ok {
		c.errorf(c.span(n), "A field is read from a column, as payload.user.id.", "member access on an expression is not supported")
		return errExpr
	}
	slices.Reverse(path)
	slices.Reverse(props)
	base := c.ident(id, true)
	if isErr(base) {
		return errExpr
	}
	ref := base.(*ColumnRef)
	at := c.span(n)
	if c.env == nil {
		return &ColumnRef{Name: ref.Name, Path: path, At: at}
	}
	if ref.Partition {
		c.errorf(at, "Partition keys are scalars; they have no fields.", "partition key %q has no field %q", ref.Name, path[0])
		return errExpr
	}
	t := ref.ColType
	for i, f := range path {
		parent := ref.Name + pathText(path[:i])
		if t.Kind != schema.Struct {
			c.errorf(union(c.loc(id), c.span(props[i])), fmt.Sprintf("Only struct fields can be read with a.b; %s is %s.", parent, t),
				"%s is not a struct", parent)
			return errExpr
		}
		j := slices.IndexFunc(t.Fields, func(x schema.Field) bool { return x.Name == f })
		if j < 0 {
			c.errorf(c.span(props[i]), fieldsDetail(f, t), "struct %s has no field %q", parent, f)
			return errExpr
		}
		t = t.Fields[j].Type
	}
	if t.IsNested() && !whole {
		c.errorf(at, "Lists, structs and maps pass through a pipeline but cannot be used in expressions; read one of its scalar fields.",
			"%s has nested type %s", ref.Name+pathText(path), t)
		return errExpr
	}
	return &ColumnRef{Name: ref.Name, Path: path, ColType: t, At: at}
}

// fieldsDetail suggests the field closest to name, or lists the fields.
func fieldsDetail(name string, t schema.Type) string {
	ns := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		ns[i] = f.Name
	}
	if s := suggest(name, ns); s != "" {
		return s
	}
	sort.Strings(ns)
	if len(ns) > 12 {
		ns = append(ns[:12], "…")
	}
	return "Its fields: " + strings.Join(ns, ", ") + "."
}

// pathText renders the fields of a path as they are written after the
// column: .user.id, or ['a b'] for a name that is not an identifier.
func pathText(path []string) string {
	var b strings.Builder
	for _, f := range path {
		if isIdent(f) {
			b.WriteString(".")
			b.WriteString(f)
		} else {
			b.WriteString("[")
			b.WriteString(Quote(f))
			b.WriteString("]")
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	switch s {
	case "true", "false", "nil", "in", "not", "and", "or", "matches", "contains", "startsWith", "endsWith", "let", "if", "else":
		return false
	}
	return true
}

// ColumnPath is one column, or one field nested in a struct column, that
// an expression reads: Name and the struct fields below it (Path nil: the
// whole column).
type ColumnPath struct {
	Name string
	Path []string
}

// String renders the path as written in an expression: payload.user.id.
func (p ColumnPath) String() string { return p.Name + pathText(p.Path) }

// ColumnPaths returns the columns and nested fields e reads, sorted and
// unique (by their text). The planner decodes only these fields of a
// struct column that is read nowhere else whole.
func ColumnPaths(e Expr) []ColumnPath {
	seen := map[string]ColumnPath{}
	walk(e, func(x Expr) {
		if ref, ok := x.(*ColumnRef); ok && !ref.Partition {
			p := ColumnPath{Name: ref.Name, Path: ref.Path}
			seen[p.String()] = p
		}
	})
	out := make([]ColumnPath, 0, len(seen))
	for _, p := range seen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Field reads the nested field path of a struct value as the reference
// evaluator represents it (map[string]any, nil for null): nil when a
// struct on the way is null or lacks the field.
func Field(v any, path []string) (any, error) {
	for _, f := range path {
		if v == nil {
			return nil, nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("field %q: not a struct value: %T", f, v)
		}
		v = m[f]
	}
	return v, nil
}
