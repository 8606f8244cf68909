package spec

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluicedata/sluice/spec/schema"
)

// tableNameRe is one part of a table identifier: namespace levels and the
// table name are plain identifiers, so "ns.table" splits one way only.
var tableNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// SplitTable splits "ns.table" (or "a.b.table") into its namespace levels
// and table name; ok is false unless there is a namespace and every part is
// an identifier.
func SplitTable(s string) (namespace []string, table string, ok bool) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, "", false
	}
	for _, p := range parts {
		if !tableNameRe.MatchString(p) {
			return nil, "", false
		}
	}
	return parts[:len(parts)-1], parts[len(parts)-1], true
}

// transformRe matches "name(col)" and "name(n, col)".
var transformRe = regexp.MustCompile(`^\s*([a-z]+)\s*\(\s*(?:([0-9]+)\s*,\s*)?([A-Za-z_][A-Za-z0-9_-]*)\s*\)\s*$`)

// ParsePartitionField reads one partition_by entry of an iceberg sink: a
// column (identity), or year(c), month(c), day(c), hour(c), bucket(n, c),
// truncate(w, c). The error is a sentence for a diagnostic.
func ParsePartitionField(s string) (PartitionField, string) {
	if nameRe.MatchString(s) {
		return PartitionField{Column: s, Transform: TransformIdentity}, ""
	}
	m := transformRe.FindStringSubmatch(s)
	if m == nil {
		return PartitionField{}, strconv.Quote(s) + " is neither a column nor a transform such as day(ts), month(ts), bucket(16, id) or truncate(4, name)"
	}
	t, ok := enumLookup(transformValues, m[1])
	if !ok || t == TransformIdentity {
		return PartitionField{}, "unknown transform " + strconv.Quote(m[1]) + "; the transforms are year, month, day, hour, bucket(n, col) and truncate(w, col)" + suggestion(m[1], []string{"year", "month", "day", "hour", "bucket", "truncate"})
	}
	f := PartitionField{Column: m[3], Transform: t}
	takesParam := t == TransformBucket || t == TransformTruncate
	switch {
	case takesParam && m[2] == "":
		return PartitionField{}, t.String() + " takes a number first: " + t.String() + "(16, " + m[3] + ")"
	case !takesParam && m[2] != "":
		return PartitionField{}, t.String() + " takes only a column: " + t.String() + "(" + m[3] + ")"
	case takesParam:
		n, err := strconv.Atoi(m[2])
		if err != nil || n < 1 || n > 1<<20 {
			return PartitionField{}, t.String() + "'s number must be between 1 and 1048576"
		}
		f.Param = n
	}
	return f, ""
}

// transformKinds are the column kinds each transform applies to.
var transformKinds = map[Transform][]schema.Kind{
	TransformIdentity: {schema.String, schema.Int32, schema.Int64, schema.Date},
	TransformYear:     {schema.Date, schema.Timestamp},
	TransformMonth:    {schema.Date, schema.Timestamp},
	TransformDay:      {schema.Date, schema.Timestamp},
	TransformHour:     {schema.Timestamp},
	TransformBucket:   {schema.Int32, schema.Int64, schema.Date, schema.Timestamp, schema.String, schema.Binary},
	TransformTruncate: {schema.Int32, schema.Int64, schema.String},
}

// decodeTableSink checks the attributes that differ for an iceberg sink:
// no url (the catalog places the table), a catalog and a table, partition
// transforms. The catalog is never contacted.
func (l *loader) decodeTableSink(sk *Sink, b *hcl.Block, a attrs) {
	if at := a.get("url"); at != nil {
		l.errorf(at.NameRange.Ptr(), "url on an iceberg sink",
			"An iceberg sink writes into its table, which the catalog places (under the catalog's warehouse when sluice creates it). Remove url; set catalog and table.")
	}
	for _, name := range []string{"catalog", "table"} {
		if a.get(name) == nil {
			l.errorf(b.DefRange.Ptr(), "Missing "+name,
				"An iceberg sink needs catalog (a catalog block's name) and table (\"namespace.table\").")
		}
	}
	if s, _, ok := a.str("catalog"); ok {
		if l.cfg.Catalog(s) == nil {
			var names []string
			for _, c := range l.cfg.Catalogs {
				names = append(names, c.Name)
			}
			l.errorf(a.get("catalog").Expr.Range().Ptr(), "Undeclared catalog",
				"No catalog block is named %q.%s Declare catalog %q { type = \"sql\" … } at the top level.", s, suggestion(s, names), s)
		} else {
			sk.Catalog = s
		}
	}
	if s, sens, ok := a.str("table"); ok {
		if _, _, good := SplitTable(s); !good {
			l.errorf(a.get("table").Expr.Range().Ptr(), "Invalid table name",
				"table is %s; write \"namespace.table\" (or \"a.b.table\" for nested namespaces), each part letters, digits and underscores, starting with a letter or underscore.", show(s, sens))
		} else {
			sk.Table = s
		}
	}
}

// checkTableCommitter rejects committer = "direct" on an iceberg sink.
func (l *loader) checkTableCommitter(sk *Sink, a attrs) {
	if at := a.get("committer"); at != nil && sk.Committer == CommitterDirect {
		l.errorf(at.Expr.Range().Ptr(), "committer = \"direct\" on an iceberg sink",
			"An iceberg sink publishes a run as one table commit, so there is nothing to publish early. Remove committer.")
	}
}

// checkTablePartitioning parses an iceberg sink's partition_by and checks
// each field against the source's output columns (when they are known).
func (l *loader) checkTablePartitioning(sk *Sink, p *Pipeline, a attrs) {
	src := p.Source
	at := a.get("partition_by")
	// The output columns: an output block's (derived ones included), else
	// the source's; nil until the source's columns are known.
	outputs := p.OutputColumns()
	names := map[string]bool{}
	for _, raw := range sk.PartitionBy {
		f, msg := ParsePartitionField(raw)
		if msg != "" {
			l.errorf(elemRange(at, raw), "Invalid partition field", "%s.", msg)
			continue
		}
		if names[f.Name()] {
			l.errorf(elemRange(at, raw), "Duplicate partition field", "partition_by names the partition field %q twice.", f.Name())
			continue
		}
		names[f.Name()] = true
		sk.Partitioning = append(sk.Partitioning, f)
		if outputs == nil {
			if names, known := p.outputNames(); known && !contains(names, f.Column) {
				l.errorf(elemRange(at, raw), "Unknown partition column", "%q is not among the pipeline's output columns (%s).", f.Column, quoteList(names))
			}
			continue // typed at plan time, from the footers
		}
		var col *schema.Column
		for i := range outputs {
			if outputs[i].Name == f.Column {
				col = &outputs[i]
			}
		}
		if col == nil {
			var known []string
			for _, c := range outputs {
				known = append(known, c.Name)
			}
			l.errorf(elemRange(at, raw), "Unknown partition column",
				"The sink partitions by %q, which is not an output column of pipeline %q.%s", f.Column, p.Name, suggestion(f.Column, known))
			continue
		}
		ok := false
		for _, k := range transformKinds[f.Transform] {
			ok = ok || col.Type.Kind == k
		}
		if !ok {
			var kinds []string
			for _, k := range transformKinds[f.Transform] {
				kinds = append(kinds, k.String())
			}
			l.errorf(elemRange(at, raw), "Invalid partition transform",
				"%s applies to %s columns; %q is a %s.", f.Transform, strings.Join(kinds, ", "), f.Column, col.Type)
		}
	}
	if sk.Mode == ModeOverwritePartitions {
		modeRange := sk.DeclRange.Ptr()
		if m := a.get("mode"); m != nil {
			modeRange = m.Expr.Range().Ptr()
		}
		if len(sk.PartitionBy) == 0 {
			l.errorf(modeRange, "overwrite_partitions without partition_by",
				"mode = \"overwrite_partitions\" replaces whole partitions of the table, so the sink needs partition_by naming some of the source's partitions (%s).", quoteList(src.Partitions))
		}
		for _, f := range sk.Partitioning {
			if f.Transform != TransformIdentity || !contains(src.Partitions, f.Column) {
				l.errorf(elemRange(at, f.String()), "partition_by is not a source partition",
					"mode = \"overwrite_partitions\" needs every partition field to be one of the source's partitions (%s), untransformed, so that each table partition is fed by known input paths; %s is not. Use mode = \"append\", or partition by source partitions.", quoteList(src.Partitions), f)
			}
		}
	}
}
