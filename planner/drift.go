package planner

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// DefaultDriftFooters is the Options.DriftFooters the CLI uses. The bound
// keeps plan cheap on a backlog of a million files: the executor checks
// every file anyway; plan only warns early about what it can see.
const DefaultDriftFooters = 1000

// driftKind is what a file disagrees with the schema about.
type driftKind int

const (
	driftType       driftKind = iota + 1 // a column of another type, not a safe widening
	driftMissing                         // a read column absent from the file
	driftNewColumn                       // a column not in an inferred schema
	driftUnreadable                      // the footer could not be read
)

func (k driftKind) String() string {
	switch k {
	case driftType:
		return "type"
	case driftMissing:
		return "missing"
	case driftNewColumn:
		return "new column"
	case driftUnreadable:
		return "unreadable footer"
	}
	return fmt.Sprintf("driftKind(%d)", int(k))
}

// driftGroup aggregates one disagreement over every file showing it, so a
// thousand drifting files make one warning, not a thousand.
type driftGroup struct {
	kind     driftKind
	column   string
	fileType string // driftType, driftNewColumn: the file's type
	files    int
	first    string // the first such key, in key order
	col      schema.Column
}

// reportDrift compares the Parquet footers of the run's chosen inputs with
// the columns the run reads (pp.FileSchema: declared, or inferred from the
// first file's footer) and adds one warning per kind of disagreement to
// pp.Summary.Warnings, saying what on_schema_change will do at run time.
//
// For a schema inferred from the data with on_schema_change =
// "add_columns" and no select, columns that other chosen files add are
// appended to pp.FileSchema and pp.OutputSchema as nullable (the executor
// reads them as null from files that lack them); and under add_columns or
// ignore, an inferred column that some chosen file lacks becomes nullable.
//
// Only Parquet sources are checked: JSON and CSV carry no schema to read
// without decoding, and the executor reports their drift per record.
//
// At most maxFooters footers are read (the first inputs in key order);
// maxFooters <= 0 turns the report off.
func reportDrift(ctx context.Context, cfg *spec.Config, rc *RuleContext, in *Inputs, pp *PipelinePlan, maxFooters int) error {
	src := rc.Pipeline.Source
	if maxFooters <= 0 || src.Format != spec.FormatParquet || rc.Footers == nil || in == nil || in.Len() == 0 {
		return nil
	}
	inferred := false
	for _, p := range cfg.Pipelines {
		if p.Name == rc.Pipeline.Name {
			inferred = p.Source.Schema == nil
		}
	}
	n := min(in.Len(), maxFooters)
	footers := make([][]schema.Column, n)
	errs := make([]error, n)
	sem := make(chan struct{}, footerConcurrency)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		key, size := rc.Prefix+in.Rel(i), in.Size(i)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			cols, err := rc.Footers.ReadColumns(ctx, rc.Store, key, size)
			if err != nil {
				errs[i] = err
				return
			}
			footers[i] = cols
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	var groups []*driftGroup
	add := func(g driftGroup, key string) *driftGroup {
		for _, x := range groups {
			if x.kind == g.kind && x.column == g.column && x.fileType == g.fileType {
				x.files++
				return x
			}
		}
		g.files, g.first = 1, key
		groups = append(groups, &g)
		return groups[len(groups)-1]
	}
	read := pp.FileSchema
	for i := 0; i < n; i++ {
		key := rc.Prefix + in.Rel(i)
		if errs[i] != nil {
			add(driftGroup{kind: driftUnreadable, fileType: errs[i].Error()}, key)
			continue
		}
		cols := footers[i]
		for _, want := range read {
			j := slices.IndexFunc(cols, func(c schema.Column) bool { return c.Name == want.Name })
			switch {
			case j < 0:
				add(driftGroup{kind: driftMissing, column: want.Name, col: want}, key)
			case !readCompatible(cols[j].Type, want.Type):
				add(driftGroup{kind: driftType, column: want.Name, fileType: cols[j].Type.String(), col: want}, key)
			}
		}
		if !inferred {
			continue // a declared schema lists what is read: other fields are projection, not drift
		}
		// New columns are those the inferred schema lacks, not those
		// projection pushdown left out of what is read.
		known := read
		if src.Schema != nil {
			known = src.Schema.Columns
		}
		for _, c := range cols {
			if slices.Contains(src.Partitions, c.Name) || slices.ContainsFunc(known, func(r schema.Column) bool { return r.Name == c.Name }) {
				continue
			}
			add(driftGroup{kind: driftNewColumn, column: c.Name, fileType: c.Type.String(), col: c}, key)
		}
	}

	policy := src.OnSchemaChange
	// With select or an output block the output columns are fixed.
	addColumns := inferred && policy == spec.SchemaChangeAddColumns && src.Select == nil && rc.Pipeline.Output == nil
	for _, g := range groups {
		if g.kind == driftNewColumn && addColumns && !slices.ContainsFunc(pp.FileSchema, func(c schema.Column) bool { return c.Name == g.column }) {
			c := g.col
			c.Nullable = true
			pp.FileSchema = append(pp.FileSchema, c)
			pp.OutputSchema = append(pp.OutputSchema, c)
		}
	}
	if inferred && policy != spec.SchemaChangeFail {
		// A column the first file has as required but another file lacks
		// is read as null from that file: it becomes nullable (a safe
		// widening), or every row of that file would be a bad record.
		for _, g := range groups {
			if g.kind != driftMissing {
				continue
			}
			for _, cols := range []*[]schema.Column{&pp.FileSchema, &pp.OutputSchema} {
				for k := range *cols {
					if (*cols)[k].Name == g.column {
						(*cols)[k].Nullable = true
					}
				}
			}
		}
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].kind < groups[j].kind })
	for _, g := range groups {
		pp.Summary.Warnings = append(pp.Summary.Warnings, g.warning(policy, addColumns, n))
	}
	if in.Len() > n {
		pp.Summary.Warnings = append(pp.Summary.Warnings, fmt.Sprintf(
			"schema drift was checked on the footers of the first %d of %d inputs; the run checks every file", n, in.Len()))
	}
	return nil
}

func (g *driftGroup) where(checked int) string {
	if g.files == 1 {
		return g.first
	}
	return fmt.Sprintf("%d of %d files (first %s)", g.files, checked, g.first)
}

// warning says what the disagreement is, where, and what the run will do.
func (g *driftGroup) warning(policy spec.SchemaChangePolicy, addColumns bool, checked int) string {
	pol := fmt.Sprintf("on_schema_change = %q", policy)
	switch g.kind {
	case driftType:
		what := fmt.Sprintf("schema drift: column %q is %s in %s, declared %s", g.column, g.fileType, g.where(checked), g.col.Type)
		if policy == spec.SchemaChangeIgnore {
			return what + " (" + pol + ": every row of such a file is a bad record, so on_bad_record decides)"
		}
		return what + " (" + pol + ": the run will stop before committing anything)"
	case driftMissing:
		what := fmt.Sprintf("schema drift: column %q (%s) is not in %s", g.column, g.col.Type, g.where(checked))
		if policy == spec.SchemaChangeFail {
			return what + " (" + pol + ": the run will stop before committing anything)"
		}
		return what + " (" + pol + ": read as null)"
	case driftNewColumn:
		what := fmt.Sprintf("schema drift: column %q (%s) in %s is not in the schema inferred from the first file", g.column, g.fileType, g.where(checked))
		if addColumns {
			return what + " (" + pol + ": added to the output as nullable)"
		}
		if policy == spec.SchemaChangeAddColumns {
			return what + " (not added: the output columns are fixed by select or an output block)"
		}
		return what + " (" + pol + ": not read; add_columns would add it)"
	case driftUnreadable:
		return fmt.Sprintf("cannot read the Parquet footer of %s: %s (on_bad_record decides when the run reads it)", g.where(checked), g.fileType)
	}
	return g.kind.String()
}

// readCompatible reports whether the executor reads a file column of type
// file as want without a schema change: the same type or a safe widening
// (the rules of exec/decode's Parquet reader: int32 → int64, integer or
// float32 → float64, a timestamp's zone, a decimal that keeps every digit,
// an integer into a wide enough decimal; inside lists and structs too).
func readCompatible(file, want schema.Type) bool {
	if file.Equal(want) {
		return true
	}
	switch {
	case file.Kind == schema.Int32 && want.Kind == schema.Int64:
		return true
	case (file.Kind == schema.Int32 || file.Kind == schema.Int64 || file.Kind == schema.Float32) && want.Kind == schema.Float64:
		return true
	case file.Kind == schema.Timestamp && want.Kind == schema.Timestamp:
		return file.Unit == want.Unit
	case file.Kind == schema.Decimal && want.Kind == schema.Decimal:
		return want.Scale >= file.Scale && want.Precision-want.Scale >= file.Precision-file.Scale
	case (file.Kind == schema.Int32 || file.Kind == schema.Int64) && want.Kind == schema.Decimal:
		digits := 10
		if file.Kind == schema.Int64 {
			digits = 19
		}
		return want.Precision-want.Scale >= digits
	case file.Kind == schema.List && want.Kind == schema.List && file.Elem != nil && want.Elem != nil:
		return readCompatible(*file.Elem, *want.Elem)
	case file.Kind == schema.Struct && want.Kind == schema.Struct:
		// The reader takes the declared fields the file has, in the file's
		// order; they must be all of them, in the declared order.
		var got []schema.Field
		for _, f := range file.Fields {
			if slices.ContainsFunc(want.Fields, func(w schema.Field) bool { return w.Name == f.Name }) {
				got = append(got, f)
			}
		}
		if len(got) != len(want.Fields) {
			return false
		}
		for i := range got {
			if got[i].Name != want.Fields[i].Name || !readCompatible(got[i].Type, want.Fields[i].Type) {
				return false
			}
		}
		return true
	}
	return false
}
