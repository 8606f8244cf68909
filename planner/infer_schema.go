package planner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// inferSchema gives a Parquet source declared without a schema the schema
// of its first readable data file's footer, and compiles the where and
// check expressions that spec could only syntax-check without one. It
// returns a copy of p (p itself is never changed: the configuration is
// shared) and the plan warnings it has to give.
//
// The first file in key order stands for all: files that disagree with it
// are schema drift, handled per on_schema_change when they are read. A
// file whose footer is unreadable (corrupt, not Parquet) follows
// on_bad_record: under "fail" the plan stops naming it; under "skip" and
// "quarantine" the next file is tried (up to maxInferSkips of them) and a
// warning names what was passed over — the run then reads those files
// under the policy like any other input. A store error always stops the
// plan: it says nothing about the file.
func inferSchema(ctx context.Context, p *spec.Pipeline, loc objstore.Location, prefix string, footers FooterReader) (*spec.Pipeline, []string, error) {
	src := p.Source
	if src.Schema != nil || src.Format != spec.FormatParquet || footers == nil {
		return p, nil, nil
	}
	l, err := NewLister(ListSpec{Store: loc.Store, Prefix: prefix, Partitions: src.Partitions,
		Include: src.Include, Exclude: src.Exclude, Prefetch: -1})
	if err != nil {
		return nil, nil, err
	}
	var key string
	var f Footer
	var skipped []string
	var firstErr error
	for l.Next(ctx) {
		file := l.File()
		if file.Size == 0 {
			continue
		}
		ft, err := footers.ReadFooter(ctx, loc.Store, file.Key, file.Size)
		var ue *UnreadableError
		switch {
		case err == nil:
			key, f = file.Key, ft
		case errors.As(err, &ue) && src.OnBadRecord == spec.BadRecordFail:
			return nil, nil, fmt.Errorf("schema from the footer of %s: the file is unreadable (on_bad_record = \"fail\"; with \"skip\" or \"quarantine\" the schema would come from the next file): %w", file.Key, err)
		case errors.As(err, &ue) && len(skipped) < maxInferSkips:
			if firstErr == nil {
				firstErr = err
			}
			skipped = append(skipped, file.Key)
			continue
		case errors.As(err, &ue):
			return nil, nil, fmt.Errorf("schema from the footers: the first %d data files are unreadable (first %s: %v); declare the schema with column blocks, or move the broken files away", len(skipped), skipped[0], firstErr)
		default:
			return nil, nil, fmt.Errorf("schema from the footer of %s: %w", file.Key, err)
		}
		break
	}
	if err := l.Err(); err != nil {
		return nil, nil, err
	}
	if key == "" {
		if len(skipped) > 0 {
			return nil, nil, fmt.Errorf("schema from the footers: no data file is readable (%s unreadable, first %s: %v); declare the schema with column blocks, or move the broken files away",
				plural(int64(len(skipped)), "file"), skipped[0], firstErr)
		}
		return p, nil, nil // nothing to read: nothing to type
	}
	var warns []string
	switch n := len(skipped); {
	case n == 1:
		warns = append(warns, fmt.Sprintf("schema inferred from the footer of %s: %s, before it in key order, has an unreadable footer and was passed over (%v); the run reads it under on_bad_record = %q",
			strings.TrimPrefix(key, prefix), strings.TrimPrefix(skipped[0], prefix), firstErr, src.OnBadRecord))
	case n > 1:
		warns = append(warns, fmt.Sprintf("schema inferred from the footer of %s: %d files before it in key order have unreadable footers and were passed over (first %s: %v); the run reads them under on_bad_record = %q",
			strings.TrimPrefix(key, prefix), n, strings.TrimPrefix(skipped[0], prefix), firstErr, src.OnBadRecord))
	}
	// A field named like a partition key is not a column: the key's value
	// comes from the path.
	cols := spec.NewSourceShape(f.Columns, src.Partitions, nil).FileColumns
	s := *src
	s.Schema = &schema.Schema{Name: src.Name + " (from " + key + ")", Columns: cols}
	np := *p
	np.Source = &s
	if src.WhereText != "" && src.Where == nil {
		pred, errs := predicate.Compile(src.WhereText, s.Shape().PredicateEnv())
		if len(errs) > 0 {
			return nil, nil, fmt.Errorf("where %q against the schema of %s: %s", src.WhereText, key, errs[0].Summary)
		}
		s.Where = pred
	}
	if np.Output != nil && np.Output.Items == nil {
		co, diags := spec.CompileOutput(np.Output, s.Shape())
		if diags.HasErrors() {
			return nil, nil, fmt.Errorf("output block against the schema of %s: %s", key, diagText(diags))
		}
		np.Output = co
	}
	out := np.OutputColumns()
	np.Checks = make([]*spec.Check, len(p.Checks))
	for i, c := range p.Checks {
		cc := *c
		if c.ExprText != "" && c.Expr == nil {
			pred, errs := predicate.Compile(c.ExprText, predicate.Env{Columns: out})
			if len(errs) > 0 {
				return nil, nil, fmt.Errorf("check %s %q against the schema of %s: %s", c.Name, c.ExprText, key, errs[0].Summary)
			}
			cc.Expr = pred
		}
		np.Checks[i] = &cc
	}
	return &np, warns, nil
}

// maxInferSkips bounds the unreadable files inference passes over before
// it gives up: each costs a footer read on every plan.
const maxInferSkips = 1000

// diagText renders the errors of diags on one line, for a plan-time error
// (the file positions belong to the configuration, not to the data).
func diagText(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		t := d.Summary
		if d.Detail != "" {
			t += ": " + d.Detail
		}
		if d.Subject != nil {
			t = d.Subject.String() + ": " + t
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, "; ")
}
