package spec

import (
	"slices"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// SourceShape is what a source's rows look like to the rest of a pipeline:
// its typed partition keys, the columns decoded from its files, and the
// columns it hands on. validate, the planner and the executor all derive
// types from it, so a partition key, an output column or the environment
// of where is typed one way everywhere. It is plain data: the planner
// records it in the physical plan (partition types, file and output
// schemas) and the executor rebuilds it from there (planner.PipelinePlan's
// Shape).
type SourceShape struct {
	// Partitions are the hive keys, outermost first. A key is typed by the
	// column of the same name, else it is a string; it is always nullable,
	// since a path can name the null partition whatever the column says.
	Partitions []schema.Column
	// FileColumns are the columns decoded from each file, in order: the
	// source's columns but the partition keys, whose values come from the
	// object path even when the files hold a field of that name. Nil when
	// the columns are not known yet (a Parquet source without a schema,
	// before plan reads a footer).
	FileColumns []schema.Column
	// OutputNames are the names of the columns the source hands on, in
	// order, as written: select, or without it every column followed by
	// the partition keys not among them. A name is typed by Column.
	OutputNames []string
}

// NewSourceShape derives the shape of a source whose files have columns
// (declared, or read from a Parquet footer; nil when unknown), whose hive
// keys are partitions and whose select is selected (nil: every column).
func NewSourceShape(columns []schema.Column, partitions, selected []string) SourceShape {
	var sh SourceShape
	for _, k := range partitions {
		c := schema.Column{Name: k, Type: schema.StringType, Nullable: true}
		if i := slices.IndexFunc(columns, func(c schema.Column) bool { return c.Name == k }); i >= 0 {
			c.Type = columns[i].Type
		}
		sh.Partitions = append(sh.Partitions, c)
	}
	for _, c := range columns {
		if !slices.Contains(partitions, c.Name) {
			sh.FileColumns = append(sh.FileColumns, c)
		}
	}
	if selected != nil {
		sh.OutputNames = slices.Clone(selected)
		return sh
	}
	for _, c := range columns {
		sh.OutputNames = append(sh.OutputNames, c.Name)
	}
	for _, k := range partitions {
		if !slices.Contains(sh.OutputNames, k) {
			sh.OutputNames = append(sh.OutputNames, k)
		}
	}
	return sh
}

// Shape is the shape of the source as declared: its schema's columns (none
// when the schema of a Parquet source is left to the footers), partitions
// and select.
func (s *Source) Shape() SourceShape {
	var cols []schema.Column
	if s.Schema != nil {
		cols = s.Schema.Columns
	}
	return NewSourceShape(cols, s.Partitions, s.Select)
}

// Column types one name: a partition key as in Partitions, else a file
// column. ok is false for a name that is neither (unknown, or a column of a
// schema not known yet).
func (sh SourceShape) Column(name string) (schema.Column, bool) {
	for _, c := range sh.Partitions {
		if c.Name == name {
			return c, true
		}
	}
	for _, c := range sh.FileColumns {
		if c.Name == name {
			return c, true
		}
	}
	return schema.Column{}, false
}

// Columns types names in order (Column), leaving out the names it cannot
// type.
func (sh SourceShape) Columns(names []string) []schema.Column {
	var out []schema.Column
	for _, n := range names {
		if c, ok := sh.Column(n); ok {
			out = append(out, c)
		}
	}
	return out
}

// Output are the output columns, typed (Columns of OutputNames).
func (sh SourceShape) Output() []schema.Column { return sh.Columns(sh.OutputNames) }

// PartitionNames are the names of the partition keys, in order.
func (sh SourceShape) PartitionNames() []string {
	var out []string
	for _, c := range sh.Partitions {
		out = append(out, c.Name)
	}
	return out
}

// PartitionTypes are the types of the partition keys, in order.
func (sh SourceShape) PartitionTypes() []schema.Type {
	var out []schema.Type
	for _, c := range sh.Partitions {
		out = append(out, c.Type)
	}
	return out
}

// PredicateEnv is the environment where is compiled in: the file columns
// and the typed partition keys, which the predicate marks as such (a
// conjunct over keys alone can prune listing prefixes).
func (sh SourceShape) PredicateEnv() predicate.Env {
	return predicate.Env{
		Columns:    slices.Concat(sh.FileColumns, sh.Partitions),
		Partitions: sh.PartitionNames(),
	}
}

// CheckColumns are the columns checks and partition_by may name: the
// output columns, exactly what the executor writes and checks. With a
// select list, a partition key is one only when it is selected (without
// select, every key is).
func (sh SourceShape) CheckColumns() []schema.Column {
	return sh.Columns(sh.OutputNames)
}
