package spec

import (
	"slices"

	"github.com/sluicedata/sluice/spec/schema"
)

// decodeRescue reads rescued_data_column: the source's schema gains a
// nullable string column of that name, which the decoders fill with the
// fields of each record that the schema does not declare or that do not
// parse as their type (docs/language.md, "Rescued data"). The schema is
// copied, since a schema file may be shared by several sources.
func (l *loader) decodeRescue(src *Source, a attrs) {
	at := a.get("rescued_data_column")
	if at == nil {
		return
	}
	name, _, ok := a.str("rescued_data_column")
	if !ok {
		return
	}
	rng := at.Expr.Range().Ptr()
	switch {
	case name == "":
		l.errorf(rng, "Empty rescued_data_column", "rescued_data_column names the column that keeps what does not fit the schema, such as \"_rescued\".")
		return
	case src.Format == FormatParquet:
		l.errorf(rng, "rescued_data_column on a parquet source",
			"A Parquet file types its own columns, so nothing is left to rescue; rescued_data_column applies to json and csv sources. Remove it.")
		return
	case src.Schema == nil:
		return // the missing schema is reported already
	case slices.Contains(src.Partitions, name):
		l.errorf(rng, "rescued_data_column is a partition key", "%q is a partition key of this source; name the rescued data column something else, such as \"_rescued\".", name)
		return
	}
	if c, ok := src.Schema.Column(name); ok {
		l.errorf(rng, "rescued_data_column is a declared column",
			"The schema declares a column %q at %s; the rescued data column is added to the schema, so it needs a name of its own, such as \"_rescued\".", name, c.DeclRange)
		return
	}
	sc := *src.Schema
	sc.Columns = append(slices.Clip(sc.Columns), schema.Column{
		Name: name, Type: schema.StringType, Nullable: true,
		Description: "fields not in the schema or not parsed as their type, as a JSON object (rescued_data_column)",
		DeclRange:   at.Range,
	})
	src.Schema = &sc
	src.RescuedDataColumn = name
}

// DeclaredColumns are the names a record may carry that the source
// declares: its schema's columns (but the rescued data column) and its
// partition keys. With rescued_data_column, any other field is rescued.
func (s *Source) DeclaredColumns() []string {
	var out []string
	if s.Schema != nil {
		for _, c := range s.Schema.Columns {
			if c.Name != s.RescuedDataColumn {
				out = append(out, c.Name)
			}
		}
	}
	for _, p := range s.Partitions {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
