package planner

import (
	"context"
	"fmt"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// inferSchema gives a Parquet source declared without a schema the schema
// of its first data file's footer, and compiles the where and check
// expressions that spec could only syntax-check without one. It returns
// a copy of p; p itself is never changed (the configuration is shared).
//
// The first file in key order stands for all: files that disagree with it
// are schema drift, handled per on_schema_change when they are read.
func inferSchema(ctx context.Context, p *spec.Pipeline, loc objstore.Location, prefix string, footers FooterReader) (*spec.Pipeline, error) {
	src := p.Source
	if src.Schema != nil || src.Format != spec.FormatParquet || footers == nil {
		return p, nil
	}
	key, size, err := firstDataFile(ctx, src, loc.Store, prefix)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return p, nil // nothing to read: nothing to type
	}
	f, err := footers.ReadFooter(ctx, loc.Store, key, size)
	if err != nil {
		return nil, fmt.Errorf("schema from the footer of %s: %w", key, err)
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
			return nil, fmt.Errorf("where %q against the schema of %s: %s", src.WhereText, key, errs[0].Summary)
		}
		s.Where = pred
	}
	out := s.OutputColumns()
	np.Checks = make([]*spec.Check, len(p.Checks))
	for i, c := range p.Checks {
		cc := *c
		if c.ExprText != "" && c.Expr == nil {
			pred, errs := predicate.Compile(c.ExprText, predicate.Env{Columns: out})
			if len(errs) > 0 {
				return nil, fmt.Errorf("check %s %q against the schema of %s: %s", c.Name, c.ExprText, key, errs[0].Summary)
			}
			cc.Expr = pred
		}
		np.Checks[i] = &cc
	}
	return &np, nil
}

// firstDataFile returns the first input file in key order — the listing
// the plan itself makes, so include/exclude globs, hidden paths and the
// hive layout apply — or "" when there is none. Partition pruning does not
// apply: the where cannot be compiled before the schema is known.
func firstDataFile(ctx context.Context, src *spec.Source, store objstore.Store, prefix string) (string, int64, error) {
	l, err := NewLister(ListSpec{Store: store, Prefix: prefix, Partitions: src.Partitions,
		Include: src.Include, Exclude: src.Exclude, Prefetch: -1})
	if err != nil {
		return "", 0, err
	}
	for l.Next(ctx) {
		if f := l.File(); f.Size > 0 {
			return f.Key, f.Size, nil
		}
	}
	return "", 0, l.Err()
}
