package spec

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/sluicedata/sluice/spec/schema"
)

// schemaFile is one file loaded by schema_file(), decoded once however
// many sources name it.
type schemaFile struct {
	schemas map[string]*schema.Schema
	names   []string // declaration order
	err     error    // set when the file could not be used; details are in the diagnostics
	// reported: err's details are diagnostics of their own already, so a
	// reference to the file adds none (an unknown value, not an error).
	reported bool
}

// evalFunc evaluates an expression for a decoder; ok is false when it
// reported a problem or the value is unknown.
type evalFunc func(hcl.Expression) (val cty.Value, sensitive, ok bool)

// constEval evaluates expressions that may not refer to variables, such as
// those of schema files (which are shared, so they must not depend on the
// configuration that loads them).
func (l *loader) constEval(expr hcl.Expression) (cty.Value, bool, bool) {
	v, d := expr.Value(nil)
	l.diags = append(l.diags, d...)
	return v, false, !d.HasErrors() && v.IsWhollyKnown()
}

func (l *loader) loadSchemaFile(path string) *schemaFile {
	if sf, ok := l.schemaFiles[path]; ok {
		return sf
	}
	sf := &schemaFile{schemas: map[string]*schema.Schema{}}
	l.schemaFiles[path] = sf
	data, err := readLimited(path)
	if err != nil {
		sf.err = fmt.Errorf("cannot read %s: %s", path, trimPathErr(err))
		return sf
	}
	l.extra[path] = data
	f, d := l.parser.ParseHCL(data, path)
	l.diags = append(l.diags, d...)
	if d.HasErrors() || f == nil {
		sf.err, sf.reported = fmt.Errorf("%s has syntax errors (reported separately)", filepath.Base(path)), true
		return sf
	}
	before := len(l.diags)
	content, cd := f.Body.Content(schemaFileSchema)
	l.diags = append(l.diags, cd...)
	for _, b := range content.Blocks {
		if !l.checkName(b, "schema") {
			continue
		}
		name := b.Labels[0]
		if prev, ok := l.cfg.Schemas[name]; ok {
			l.errorf(b.DefRange.Ptr(), "Duplicate schema name",
				"A schema named %q is already declared at %s. Schema names must be unique across the schema files a configuration loads; rename one of them.", name, prev.DeclRange)
			continue
		}
		bc, bd := b.Body.Content(schemaBlockSchema)
		l.diags = append(l.diags, bd...)
		s := &schema.Schema{Name: name, DeclRange: b.DefRange}
		s.Columns = l.decodeColumns(bc.Blocks, l.constEval)
		if len(s.Columns) == 0 && !hasErrorsSince(l.diags, before) {
			l.errorf(b.DefRange.Ptr(), "Empty schema",
				"Schema %q declares no columns. Add column blocks: column \"id\" { type = \"int64\" }.", name)
		}
		sf.schemas[name] = s
		sf.names = append(sf.names, name)
		l.cfg.Schemas[name] = s
	}
	if hasErrorsSince(l.diags, before) {
		sf.err, sf.reported = fmt.Errorf("%s has errors (reported separately)", filepath.Base(path)), true
	}
	return sf
}

func hasErrorsSince(d hcl.Diagnostics, n int) bool {
	if n > len(d) {
		return false
	}
	return d[n:].HasErrors()
}

// decodeColumns decodes column blocks, from a schema file or inline in a source.
func (l *loader) decodeColumns(blocks []*hcl.Block, eval evalFunc) []schema.Column {
	var cols []schema.Column
	seen := map[string]hcl.Range{}
	for _, b := range blocks {
		if b.Type != "column" || len(b.Labels) == 0 {
			continue
		}
		name := b.Labels[0]
		if name == "" {
			l.errorf(b.LabelRanges[0].Ptr(), "Invalid column name", "A column name cannot be empty.")
			continue
		}
		if prev, ok := seen[name]; ok {
			l.errorf(b.LabelRanges[0].Ptr(), "Duplicate column",
				"A column named %q is already declared at %s. Remove or rename one of them.", name, prev)
			continue
		}
		seen[name] = b.DefRange
		c, ok := l.decodeColumn(b, eval)
		if ok {
			cols = append(cols, c)
		}
	}
	return cols
}

func (l *loader) decodeColumn(b *hcl.Block, eval evalFunc) (schema.Column, bool) {
	c := schema.Column{Name: b.Labels[0], Nullable: true, DeclRange: b.DefRange}
	content, d := b.Body.Content(columnSchema)
	l.diags = append(l.diags, d...)
	ok := !d.HasErrors()
	if a, has := content.Attributes["type"]; has {
		if kw := hcl.ExprAsKeyword(a.Expr); kw != "" {
			l.errorf(a.Expr.Range().Ptr(), "Column type must be a string",
				"Types are written as strings: type = %q.", kw)
			ok = false
		} else if s, _, good := l.stringValue(a, eval); good {
			t, err := schema.ParseType(s)
			if err != nil {
				l.errorf(a.Expr.Range().Ptr(), "Invalid column type",
					"Column %q: %s", c.Name, sentence(err.Error()))
				ok = false
			} else {
				c.Type = t
			}
		} else {
			ok = false
		}
	}
	if a, has := content.Attributes["nullable"]; has {
		if v, good := l.boolValue(a, eval); good {
			c.Nullable = v
		}
	}
	if a, has := content.Attributes["description"]; has {
		if s, _, good := l.stringValue(a, eval); good {
			c.Description = s
		}
	}
	if a, has := content.Attributes["timestamp_format"]; has {
		if s, _, good := l.stringValue(a, eval); good {
			c.TimestampFormat = s
			if ok && c.Type.Kind != schema.Timestamp && c.Type.Kind != schema.Date {
				l.errorf(a.NameRange.Ptr(), "timestamp_format on a non-temporal column",
					"Column %q is a %s; timestamp_format applies only to timestamp and date columns. Remove it, or change the column's type.", c.Name, c.Type)
			}
		}
	}
	return c, ok
}

// sentence ends s with a full stop unless it already ends a sentence.
func sentence(s string) string {
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}

// stringValue evaluates a string attribute. A null value counts as absent.
func (l *loader) stringValue(a *hcl.Attribute, eval evalFunc) (string, bool, bool) {
	v, sens, ok := eval(a.Expr)
	if !ok || v.IsNull() {
		return "", sens, false
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil {
		l.errorf(a.Expr.Range().Ptr(), "Invalid value for "+a.Name,
			"%s must be a string, not %s.", a.Name, v.Type().FriendlyName())
		return "", sens, false
	}
	return sv.AsString(), sens, true
}

func (l *loader) boolValue(a *hcl.Attribute, eval evalFunc) (bool, bool) {
	v, _, ok := eval(a.Expr)
	if !ok || v.IsNull() {
		return false, false
	}
	bv, err := convert.Convert(v, cty.Bool)
	if err != nil {
		l.errorf(a.Expr.Range().Ptr(), "Invalid value for "+a.Name,
			"%s must be true or false.", a.Name)
		return false, false
	}
	return bv.True(), true
}
