package spec

import (
	"slices"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluicedata/sluice/spec/schema"
)

// decodeOutput decodes an output block; its expressions are compiled by
// compileOutput once the source is known.
func (l *loader) decodeOutput(b *hcl.Block) *Output {
	o := &Output{Rest: RestDrop, DeclRange: b.DefRange}
	content, d := b.Body.Content(outputSchema)
	l.diags = append(l.diags, d...)
	a := attrs{l, content.Attributes}
	o.Rest, _ = enumAttr(a, "rest", restValues, RestDrop)
	if xs, ok := a.strList("drop"); ok {
		o.Drop = l.checkNames(xs, a.get("drop"), "column")
		o.DropRange = a.get("drop").Expr.Range()
		if o.Rest != RestKeep {
			l.errorf(a.get("drop").NameRange.Ptr(), "drop without rest = \"keep\"",
				"drop leaves source columns out of the rest that rest = \"keep\" adds; with rest = \"drop\" (the default) every column not listed in a column block is already left out. Set rest = \"keep\", or remove drop.")
		}
	}
	if xs, ok := a.strList("flatten"); ok {
		o.Flatten = l.checkNames(xs, a.get("flatten"), "flatten path")
		o.FlattenRange = a.get("flatten").Expr.Range()
	}
	if s, _, ok := a.str("explode"); ok {
		if s == "" {
			l.errorf(a.get("explode").Expr.Range().Ptr(), "Empty explode", "explode names one list column; remove the attribute to explode nothing.")
		}
		o.Explode = s
		o.ExplodeRange = a.get("explode").Expr.Range()
	}
	seen := map[string]hcl.Range{}
	for _, cb := range content.Blocks {
		if !l.checkName(cb, "output column") {
			continue
		}
		name := cb.Labels[0]
		if prev, ok := seen[name]; ok {
			l.errorf(cb.LabelRanges[0].Ptr(), "Duplicate output column",
				"An output column named %q is already declared at %s; output names are unique. Rename one of them.", name, prev)
			continue
		}
		seen[name] = cb.DefRange
		if c := l.decodeOutputColumn(cb); c != nil {
			o.Columns = append(o.Columns, c)
		}
	}
	if len(content.Blocks) == 0 && o.Rest != RestKeep {
		l.errorf(b.DefRange.Ptr(), "Empty output",
			"This output block lists no column and drops the rest, so no column would leave the pipeline. Add column blocks, or set rest = \"keep\".")
	}
	return o
}

func (l *loader) decodeOutputColumn(b *hcl.Block) *OutputColumn {
	c := &OutputColumn{Name: b.Labels[0], DeclRange: b.DefRange}
	content, d := b.Body.Content(outputColumnSchema)
	l.diags = append(l.diags, d...)
	a := attrs{l, content.Attributes}
	if at := a.get("expr"); at != nil {
		c.ExprRange = at.Expr.Range()
		s, m, ok := l.predicateText(at)
		if !ok {
			return nil
		}
		c.ExprText, c.exprMap = s, m
	}
	if at := a.get("type"); at != nil {
		c.TypeRange = at.Expr.Range()
		s, _, ok := a.str("type")
		if !ok {
			return nil
		}
		t, err := schema.ParseType(s)
		if err != nil {
			l.errorf(at.Expr.Range().Ptr(), "Invalid type", "Output column %q: %s", c.Name, err)
			return nil
		}
		switch t.Kind {
		case schema.List, schema.Struct, schema.Map, schema.Binary:
			l.errorf(at.Expr.Range().Ptr(), "Invalid type",
				"Output column %q: a %s cannot be declared; declare a scalar type (int64, float64, string, bool, date, timestamp(us), decimal(p, s)), or remove type to keep the expression's own.", c.Name, t)
			return nil
		}
		c.Declared, c.TypeText = t, s
	}
	return c
}

// compileOutput types the output block against its source: at Load when
// the source has a schema; a Parquet source without one is compiled by
// plan (CompileOutput) once a footer typed it.
func (l *loader) compileOutput(p *Pipeline, selectAt *hcl.Range) {
	o, src := p.Output, p.Source
	if src == nil {
		return
	}
	if src.Select != nil {
		rng := o.DeclRange
		if selectAt != nil {
			rng = *selectAt
		}
		l.errorf(&rng, "select with an output block",
			"Pipeline %q has both a source select and an output block; the output block alone says which columns leave the pipeline (and only the columns its expressions use are read). Remove select.", p.Name)
		return
	}
	if src.Schema == nil {
		return
	}
	co, diags := CompileOutput(o, src.Shape())
	l.diags = append(l.diags, diags...)
	p.Output = co
}

func (l *loader) decodeDedupe(b *hcl.Block) (*Dedupe, *hcl.Attribute) {
	d := &Dedupe{Keep: KeepFirst, DeclRange: b.DefRange}
	content, diags := b.Body.Content(dedupeSchema)
	l.diags = append(l.diags, diags...)
	a := attrs{l, content.Attributes}
	if xs, ok := a.strList("key"); ok {
		d.KeyRange = a.get("key").Expr.Range()
		if len(xs) == 0 {
			l.errorf(&d.KeyRange, "Empty dedupe key", "key lists the output columns whose values identify a record, such as [\"order_id\"]; it cannot be empty.")
		}
		d.Key = l.checkNames(xs, a.get("key"), "key column")
	}
	if s, _, ok := a.str("order_by"); ok {
		d.OrderBy = s
		d.OrderByRange = a.get("order_by").Expr.Range()
	}
	d.Keep, _ = enumAttr(a, "keep", keepValues, KeepFirst)
	return d, a.get("key")
}

// checkDedupe checks that key and order_by name output columns.
func (l *loader) checkDedupe(p *Pipeline, keyAt *hcl.Attribute) {
	d := p.Dedupe
	names, known := p.outputNames()
	if !known {
		return
	}
	cols := p.OutputColumns()
	for _, k := range d.Key {
		if !slices.Contains(names, k) {
			rng := d.KeyRange
			if keyAt != nil {
				rng = *elemRange(keyAt, k)
			}
			l.errorf(&rng, "Dedupe key is not an output column",
				"dedupe key names %q, which is not an output column of pipeline %q.%s key and order_by name output columns (the output block's, or the source's without one).", k, p.Name, suggestion(k, names))
		}
	}
	if d.OrderBy == "" {
		return
	}
	if !slices.Contains(names, d.OrderBy) {
		l.errorf(&d.OrderByRange, "Dedupe order_by is not an output column",
			"dedupe order_by names %q, which is not an output column of pipeline %q.%s", d.OrderBy, p.Name, suggestion(d.OrderBy, names))
		return
	}
	for _, c := range cols {
		if c.Name == d.OrderBy {
			switch c.Type.Kind {
			case schema.List, schema.Struct, schema.Map, schema.Binary:
				l.errorf(&d.OrderByRange, "Invalid dedupe order_by",
					"order_by %q is a %s, which has no order; order by a number, string, bool, date, timestamp or decimal column.", d.OrderBy, c.Type)
			}
		}
	}
}
