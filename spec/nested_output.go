package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// FlattenSeparator joins the path of a flattened field into its column
// name: payload.user.id becomes payload_user_id.
const FlattenSeparator = "_"

// applyNested gives an output block's flatten and explode their meaning
// (docs/language.md, "Flatten and explode"), on items compiled against
// env:
//
//   - flatten: each path names a struct (a column or a field of one); its
//     fields become output columns named by their path joined with "_",
//     recursively through struct fields (lists and maps stay one column).
//     They take the place of the struct's own item when the output passes
//     that struct through under its own name (rest = "keep", or a column
//     block without expr), else they follow the other columns. Each is a
//     nested reference (payload.user.id), so only the fields flattened
//     are decoded.
//   - explode: names one output column of list type; the executor makes
//     one row per element, so the column's type becomes the element's.
//
// Names that collide with another output column are errors.
func applyNested(o *Output, items []OutputItem, env predicate.Env, diags *hcl.Diagnostics) []OutputItem {
	errf := func(rng hcl.Range, summary, format string, args ...any) {
		r := rng
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: &r})
	}
	from := map[string]int{} // a flattened column's path in o.Flatten
	for k, path := range o.Flatten {
		rng := o.FlattenRange
		if k < len(o.FlattenRanges) {
			rng = o.FlattenRanges[k]
		}
		e, errs := predicate.CompileValue(path, env)
		if len(errs) > 0 {
			errf(rng, "Invalid flatten path", "flatten names %q: %s. %s", path, errs[0].Summary, errs[0].Detail)
			continue
		}
		ref, ok := e.(*predicate.ColumnRef)
		if !ok || ref.ColType.Kind != schema.Struct {
			errf(rng, "Invalid flatten path", "flatten names %q, which is %s, not a struct: flatten turns the fields of a struct column (or of a struct field, as payload.user) into columns.", path, e.Type())
			continue
		}
		prefix := strings.Join(append([]string{ref.Name}, ref.Path...), FlattenSeparator)
		var flat []OutputItem
		flattenStruct(ref.Name, ref.Path, prefix, ref.ColType, &flat)
		for _, it := range flat {
			from[it.Name] = k
		}
		at := slices.IndexFunc(items, func(it OutputItem) bool {
			r, ok := it.Expr.(*predicate.ColumnRef)
			return ok && it.Name == prefix && r.Name == ref.Name && slices.Equal(r.Path, ref.Path)
		})
		if at >= 0 {
			items = slices.Replace(items, at, at+1, flat...)
		} else {
			items = append(items, flat...)
		}
	}
	if len(o.Flatten) > 0 {
		seen := map[string]bool{}
		for _, it := range items {
			if seen[it.Name] {
				rng := o.FlattenRange
				if k, ok := from[it.Name]; ok && k < len(o.FlattenRanges) {
					rng = o.FlattenRanges[k]
				}
				errf(rng, "Duplicate output column",
					"flatten makes a column %q, but the output already has a column of that name. Rename the other column, or flatten less.", it.Name)
			}
			seen[it.Name] = true
		}
	}
	if o.Explode != "" {
		i := slices.IndexFunc(items, func(it OutputItem) bool { return it.Name == o.Explode })
		switch {
		case i < 0:
			var names []string
			for _, it := range items {
				names = append(names, it.Name)
			}
			errf(o.ExplodeRange, "Unknown explode column", "explode names %q, which is not an output column.%s explode names one output column of list type.", o.Explode, suggestion(o.Explode, names))
		case items[i].Column.Type.Kind != schema.List || items[i].Column.Type.Elem == nil:
			errf(o.ExplodeRange, "explode of a column that is not a list", "explode names %q, which is %s; explode makes one row per element of a list column.", o.Explode, items[i].Column.Type)
		default:
			items[i].Column.Type = *items[i].Column.Type.Elem
			items[i].Column.Nullable = true
			items[i].Exploded = true
		}
	}
	return items
}

// flattenStruct appends an item per field of struct t found at name.path,
// recursing into struct fields.
func flattenStruct(name string, path []string, prefix string, t schema.Type, out *[]OutputItem) {
	for _, f := range t.Fields {
		p := append(slices.Clip(path), f.Name)
		col := prefix + FlattenSeparator + f.Name
		if f.Type.Kind == schema.Struct {
			flattenStruct(name, p, col, f.Type, out)
			continue
		}
		ref := &predicate.ColumnRef{Name: name, Path: p, ColType: f.Type}
		*out = append(*out, OutputItem{Name: col, Expr: ref, Text: ref.String(), Column: schema.Column{Name: col, Type: f.Type, Nullable: true}})
	}
}
