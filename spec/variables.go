package spec

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// varDecl is a variable block with what Load needs beyond Variable.
type varDecl struct {
	v           *Variable
	validations []*validation
	origin      *hcl.Range // where the current value was written, nil for -var and the environment
	hasValue    bool
	// given: the value came from the command line, a -var-file or the
	// environment, not from the default: a relative path in it is the
	// user's, relative to the working directory (resolveURL).
	given  bool
	failed bool // a value was given but is invalid: do not also report "no value"
}

type validation struct {
	condition    hcl.Expression
	errorMessage hcl.Expression
	declRange    hcl.Range
}

// localDecl is one local value, evaluated on first reference.
type localDecl struct {
	name      string
	attr      *hcl.Attribute
	state     int // 0 pending, 1 evaluating, 2 done
	val       cty.Value
	sensitive bool
	given     bool // its value starts with a given variable's (leadsWithGiven)
	ok        bool
}

var nameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// checkName reports a block label that cannot be used as a name: names end
// up in state keys, plan output and references, so they stay identifiers.
func (l *loader) checkName(b *hcl.Block, what string) bool {
	if len(b.Labels) == 0 {
		return false
	}
	if nameRe.MatchString(b.Labels[0]) {
		return true
	}
	rng := b.LabelRanges[0]
	l.errorf(&rng, "Invalid "+what+" name",
		"%q is not a valid %s name. A name starts with a letter or underscore and contains only letters, digits, underscores and dashes.", b.Labels[0], what)
	return false
}

func (l *loader) declareVariables(blocks []*hcl.Block) {
	for _, b := range blocks {
		if !l.checkName(b, "variable") {
			continue
		}
		name := b.Labels[0]
		if prev, ok := l.vars[name]; ok {
			l.errorf(b.DefRange.Ptr(), "Duplicate variable declaration",
				"A variable named %q was already declared at %s. Variable names must be unique within a configuration; rename or remove one of them.", name, prev.v.DeclRange)
			continue
		}
		v := &Variable{Name: name, Type: cty.DynamicPseudoType, DeclRange: b.DefRange}
		d := &varDecl{v: v}
		l.vars[name] = d
		l.cfg.Variables[name] = v

		content, diags := b.Body.Content(variableSchema)
		l.diags = append(l.diags, diags...)
		if a, ok := content.Attributes["type"]; ok {
			ty, td := typeexpr.TypeConstraint(a.Expr)
			l.diags = append(l.diags, td...)
			if !td.HasErrors() {
				v.Type = ty
			}
		}
		if a, ok := content.Attributes["description"]; ok {
			if s, ok := l.constString(a); ok {
				v.Description = s
			}
		}
		if a, ok := content.Attributes["sensitive"]; ok {
			val, vd := a.Expr.Value(nil)
			l.diags = append(l.diags, vd...)
			if !vd.HasErrors() {
				if bv, err := convert.Convert(val, cty.Bool); err != nil || bv.IsNull() {
					l.errorf(a.Expr.Range().Ptr(), "Invalid sensitive value", "sensitive must be true or false.")
				} else {
					v.Sensitive = bv.True()
				}
			}
		}
		if a, ok := content.Attributes["default"]; ok {
			if refs := a.Expr.Variables(); len(refs) > 0 {
				d.failed = true
				l.errorf(refs[0].SourceRange().Ptr(), "Variables not allowed",
					"A variable's default must be a constant: it cannot refer to other variables or locals. Use a local value to derive one value from another.")
			} else {
				val, vd := a.Expr.Value(&hcl.EvalContext{Functions: l.functionsFor(a.Expr.Range().Filename)})
				l.diags = append(l.diags, vd...)
				d.failed = vd.HasErrors()
				if !vd.HasErrors() {
					cv, err := convert.Convert(val, v.Type)
					if err != nil {
						d.failed = true
						l.errorf(a.Expr.Range().Ptr(), "Invalid default value for variable",
							"The default of variable %q does not match its type %s: %s.", name, typeexpr.TypeString(v.Type), err)
					} else {
						v.Default = cv
						v.Value = cv
						d.hasValue = true
						d.origin = a.Expr.Range().Ptr()
					}
				}
			}
		}
		for _, vb := range content.Blocks {
			vc, vd := vb.Body.Content(validationSchema)
			l.diags = append(l.diags, vd...)
			cond, ok1 := vc.Attributes["condition"]
			msg, ok2 := vc.Attributes["error_message"]
			if ok1 && ok2 {
				d.validations = append(d.validations, &validation{condition: cond.Expr, errorMessage: msg.Expr, declRange: vb.DefRange})
			}
		}
	}
}

// constString evaluates an attribute that may not refer to anything.
func (l *loader) constString(a *hcl.Attribute) (string, bool) {
	val, d := a.Expr.Value(nil)
	l.diags = append(l.diags, d...)
	if d.HasErrors() {
		return "", false
	}
	sv, err := convert.Convert(val, cty.String)
	if err != nil || sv.IsNull() {
		l.errorf(a.Expr.Range().Ptr(), "Invalid "+a.Name+" value", "%s must be a string.", a.Name)
		return "", false
	}
	return sv.AsString(), true
}

// resolveVariables applies, last wins: defaults (already set) <
// SLUICE_VAR_name < -var-file (in order) < -var (in order), then checks
// that every variable has a value and passes its validation blocks.
func (l *loader) resolveVariables() {
	for _, kv := range l.opts.Environ {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "SLUICE_VAR_") {
			continue
		}
		name := strings.TrimPrefix(k, "SLUICE_VAR_")
		d, declared := l.vars[name]
		if !declared {
			// Like TF_VAR_, the environment may carry values for other
			// configurations: not an error.
			continue
		}
		l.setRaw(d, val, "the environment variable "+k)
	}
	for _, path := range l.opts.VarFiles {
		l.loadVarFile(path)
	}
	for _, kv := range l.opts.Vars {
		name, val, ok := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			l.errorf(nil, "Invalid -var option",
				"The option -var %q is not of the form NAME=VALUE. Write for example -var env=prod.", kv)
			continue
		}
		d, declared := l.vars[name]
		if !declared {
			l.errorf(nil, "Value for undeclared variable",
				"A -var option sets %q, but no variable of that name is declared.%s Declare it with a variable block, or remove the option.", name, suggestion(name, l.varNames()))
			continue
		}
		l.setRaw(d, val, "-var "+name)
	}

	attrs := map[string]cty.Value{}
	for _, name := range l.varNames() {
		d := l.vars[name]
		if !d.hasValue && !d.failed {
			rng := d.v.DeclRange
			l.errorf(&rng, "No value for required variable",
				"The variable %q has no default, so it must be set: with -var %s=VALUE, in a -var-file, or with the environment variable SLUICE_VAR_%s.", name, name, name)
		}
		if d.hasValue {
			attrs[name] = d.v.Value
		} else {
			attrs[name] = cty.DynamicVal
		}
	}
	l.varObj = cty.ObjectVal(attrs)

	names := l.varNames()
	for _, name := range names {
		l.validate(l.vars[name])
	}
	// A value that failed validation must not feed further checks: the
	// validation message is the one that names the real mistake.
	for _, name := range names {
		if d := l.vars[name]; !d.hasValue {
			attrs[name] = cty.DynamicVal
		}
	}
	l.varObj = cty.ObjectVal(attrs)
}

func (l *loader) varNames() []string {
	out := make([]string, 0, len(l.vars))
	for n := range l.vars {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// setRaw sets a variable from command-line or environment text: the text
// itself for string (and untyped) variables, otherwise an HCL expression
// ("[1, 2]", "true"), as Terraform reads -var.
func (l *loader) setRaw(d *varDecl, raw, from string) {
	v := d.v
	var val cty.Value
	if v.Type == cty.String || v.Type == cty.DynamicPseudoType {
		val = cty.StringVal(raw)
	} else {
		expr, pd := hclsyntax.ParseExpression([]byte(raw), "<value for var."+v.Name+">", hcl.InitialPos)
		if pd.HasErrors() {
			l.errorf(nil, "Invalid value for variable",
				"The value given by %s is not a valid %s: %s.", from, typeexpr.TypeString(v.Type), firstSummary(pd))
			d.failed, d.hasValue = true, false
			return
		}
		var ed hcl.Diagnostics
		val, ed = expr.Value(nil)
		if ed.HasErrors() {
			l.errorf(nil, "Invalid value for variable",
				"The value given by %s must be a constant %s: %s.", from, typeexpr.TypeString(v.Type), firstSummary(ed))
			d.failed, d.hasValue = true, false
			return
		}
	}
	l.set(d, val, nil, from)
}

func (l *loader) set(d *varDecl, val cty.Value, origin *hcl.Range, from string) {
	cv, err := convert.Convert(val, d.v.Type)
	if err != nil {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The value given by %s for variable %q is not a %s: %s.", from, d.v.Name, typeexpr.TypeString(d.v.Type), err),
			Subject:  origin,
		})
		d.failed, d.hasValue = true, false
		return
	}
	d.v.Value, d.hasValue, d.failed, d.origin, d.given = cv, true, false, origin, true
}

func firstSummary(d hcl.Diagnostics) string {
	for _, x := range d {
		if x.Severity == hcl.DiagError {
			if x.Detail != "" {
				return strings.TrimSuffix(x.Detail, ".")
			}
			return x.Summary
		}
	}
	return "invalid"
}

// loadVarFile reads one -var-file: JSON when the name ends in .json,
// otherwise HCL attributes.
func (l *loader) loadVarFile(path string) {
	var f *hcl.File
	var d hcl.Diagnostics
	if strings.EqualFold(filepath.Ext(path), ".json") {
		f, d = l.parser.ParseJSONFile(path)
	} else {
		f, d = l.parser.ParseHCLFile(path)
	}
	l.diags = append(l.diags, d...)
	if f == nil || d.HasErrors() {
		return
	}
	attrs, ad := f.Body.JustAttributes()
	l.diags = append(l.diags, ad...)
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := attrs[n]
		dv, declared := l.vars[n]
		if !declared {
			l.warnf(a.NameRange.Ptr(), "Value for undeclared variable",
				"The file %s sets %q, but no variable of that name is declared.%s The value is ignored.", filepath.Base(path), n, suggestion(n, l.varNames()))
			continue
		}
		val, vd := a.Expr.Value(nil)
		l.diags = append(l.diags, vd...)
		if vd.HasErrors() {
			dv.failed, dv.hasValue = true, false
			continue
		}
		l.set(dv, val, a.Expr.Range().Ptr(), filepath.Base(path))
	}
}

// validate runs a variable's validation blocks. Conditions may refer to
// any variable; a condition that is not a known bool is a configuration error.
func (l *loader) validate(d *varDecl) {
	if !d.hasValue {
		return
	}
	for _, vr := range d.validations {
		if !d.hasValue {
			return
		}
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": l.varObj},
			Functions: l.functionsFor(vr.condition.Range().Filename),
		}
		for _, tr := range vr.condition.Variables() {
			if tr.RootName() != "var" {
				l.errorf(tr.SourceRange().Ptr(), "Invalid reference in variable validation",
					"A validation condition may refer only to input variables (var.NAME).")
				return
			}
		}
		cv, cd := vr.condition.Value(ctx)
		l.diags = append(l.diags, cd...)
		if cd.HasErrors() {
			continue
		}
		bv, err := convert.Convert(cv, cty.Bool)
		if err != nil || bv.IsNull() {
			l.errorf(vr.condition.Range().Ptr(), "Invalid validation condition",
				"The condition must be a boolean expression (true when the value is valid).")
			continue
		}
		if !bv.IsKnown() || bv.True() {
			continue
		}
		msg := "The value does not satisfy the variable's validation rule."
		if mv, md := vr.errorMessage.Value(ctx); !md.HasErrors() {
			if sv, err := convert.Convert(mv, cty.String); err == nil && !sv.IsNull() && sv.IsKnown() {
				msg = sv.AsString()
			}
		}
		subject := d.origin
		if subject == nil {
			subject = vr.condition.Range().Ptr()
		}
		d.hasValue, d.failed = false, true
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("%s\n\nThis was checked by the validation rule at %s.", msg, vr.declRange),
			Subject:  subject,
		})
	}
}

func (l *loader) declareLocals(blocks []*hcl.Block) {
	for _, b := range blocks {
		attrs, d := b.Body.JustAttributes()
		l.diags = append(l.diags, d...)
		names := make([]string, 0, len(attrs))
		for n := range attrs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			a := attrs[n]
			if prev, ok := l.locals[n]; ok {
				l.errorf(a.NameRange.Ptr(), "Duplicate local value definition",
					"A local value named %q was already defined at %s. Local value names must be unique within a configuration.", n, prev.attr.NameRange)
				continue
			}
			l.locals[n] = &localDecl{name: n, attr: a}
		}
	}
}

// evalLocals evaluates every local once, in name order, so that each
// local's own errors are reported exactly once.
func (l *loader) evalLocals() {
	names := make([]string, 0, len(l.locals))
	for n := range l.locals {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		l.evalLocal(l.locals[n], l.locals[n].attr.NameRange)
	}
}

func (l *loader) evalLocal(lc *localDecl, ref hcl.Range) bool {
	switch lc.state {
	case 2:
		return lc.ok
	case 1:
		l.errorf(&ref, "Cycle in local values",
			"local.%s refers to itself, directly or through other local values. Break the cycle by computing one of them from variables only.", lc.name)
		return false
	}
	lc.state = 1
	v, sens, ok := l.eval(lc.attr.Expr)
	lc.val, lc.sensitive, lc.ok, lc.state = v, sens, ok, 2
	lc.given = l.leadsWithGiven(lc.attr.Expr)
	return ok
}

func (l *loader) localObj() cty.Value {
	attrs := map[string]cty.Value{}
	for n, lc := range l.locals {
		if lc.state == 2 && lc.ok {
			attrs[n] = lc.val
		} else {
			attrs[n] = cty.DynamicVal
		}
	}
	return cty.ObjectVal(attrs)
}

// eval evaluates expr in the context of the file it is written in. It
// reports references to undeclared variables and locals itself (with a
// suggestion) and says whether the value derives from a sensitive variable.
// ok is false when diagnostics were reported or the value is not known.
func (l *loader) eval(expr hcl.Expression) (val cty.Value, sensitive, ok bool) {
	ok = true
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		if root != "var" && root != "local" {
			continue
		}
		name, rng, good := refName(tr)
		if !good {
			l.errorf(tr.SourceRange().Ptr(), "Invalid reference",
				"A reference to a %s looks like %s.NAME.", map[string]string{"var": "variable", "local": "local value"}[root], root)
			ok = false
			continue
		}
		if root == "var" {
			d, declared := l.vars[name]
			if !declared {
				l.errorf(&rng, "Reference to undeclared input variable",
					"No variable named %q is declared.%s Declare it with a variable \"%s\" block.", name, suggestion(name, l.varNames()), name)
				ok = false
				continue
			}
			if d.v.Sensitive {
				sensitive = true
			}
			if !d.hasValue {
				ok = false
			}
			continue
		}
		lc, declared := l.locals[name]
		if !declared {
			names := make([]string, 0, len(l.locals))
			for n := range l.locals {
				names = append(names, n)
			}
			sort.Strings(names)
			l.errorf(&rng, "Reference to undeclared local value",
				"No local value named %q is defined.%s Define it in a locals block.", name, suggestion(name, names))
			ok = false
			continue
		}
		if !l.evalLocal(lc, rng) {
			ok = false
			continue
		}
		if lc.sensitive {
			sensitive = true
		}
	}
	if !ok {
		return cty.DynamicVal, sensitive, false
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": l.varObj, "local": l.localObj()},
		Functions: l.functionsFor(expr.Range().Filename),
	}
	v, d := expr.Value(ctx)
	l.diags = append(l.diags, d...)
	if d.HasErrors() || !v.IsWhollyKnown() {
		return v, sensitive, false
	}
	return v, sensitive, true
}

// refName returns NAME of var.NAME / local.NAME and the range of both steps.
func refName(tr hcl.Traversal) (string, hcl.Range, bool) {
	if len(tr) < 2 {
		return "", tr.SourceRange(), false
	}
	a, ok := tr[1].(hcl.TraverseAttr)
	if !ok {
		return "", tr.SourceRange(), false
	}
	return a.Name, hcl.RangeBetween(tr[0].SourceRange(), tr[1].SourceRange()), true
}

// leadsWithGiven reports whether expr's value starts with the value of a
// variable given outside the configuration (varDecl.given), directly or
// through a local: "${var.lake}/raw/" does when var.lake came from -var,
// "in/${var.env}/" never does. Such a value's relative path is the user's,
// typed where the command runs, so it resolves against the working
// directory; a path the configuration itself starts resolves against the
// file that writes it.
func (l *loader) leadsWithGiven(expr hcl.Expression) bool {
	switch e := expr.(type) {
	case *hclsyntax.TemplateWrapExpr:
		return l.leadsWithGiven(e.Wrapped)
	case *hclsyntax.TemplateExpr:
		return len(e.Parts) > 0 && l.leadsWithGiven(e.Parts[0])
	case *hclsyntax.ScopeTraversalExpr:
		name, _, ok := refName(e.Traversal)
		if !ok {
			return false
		}
		switch e.Traversal.RootName() {
		case "var":
			d, ok := l.vars[name]
			return ok && d.given
		case "local":
			lc, ok := l.locals[name]
			return ok && lc.given
		}
	}
	return false
}
