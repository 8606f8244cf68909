package tables

import (
	"fmt"
	"strings"

	"github.com/apache/iceberg-go"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// icebergType maps a sluice column type to an Iceberg type. Every
// timestamp is timestamptz: sluice's timestamps are instants (UTC when no
// zone is written), and Iceberg v2 stores microseconds (a timestamp(ns)
// column loses its sub-microsecond digits; plan says so). Nested members
// are optional; next numbers their placeholder ids (the catalog assigns
// the real ones when the table is created or the column added).
func icebergType(t schema.Type, next func() int) (iceberg.Type, error) {
	switch t.Kind {
	case schema.Bool:
		return iceberg.PrimitiveTypes.Bool, nil
	case schema.Int32:
		return iceberg.PrimitiveTypes.Int32, nil
	case schema.Int64:
		return iceberg.PrimitiveTypes.Int64, nil
	case schema.Float32:
		return iceberg.PrimitiveTypes.Float32, nil
	case schema.Float64:
		return iceberg.PrimitiveTypes.Float64, nil
	case schema.String:
		return iceberg.PrimitiveTypes.String, nil
	case schema.Binary:
		return iceberg.PrimitiveTypes.Binary, nil
	case schema.Date:
		return iceberg.PrimitiveTypes.Date, nil
	case schema.Timestamp:
		return iceberg.PrimitiveTypes.TimestampTz, nil
	case schema.Decimal:
		if t.Precision < 1 || t.Precision > 38 || t.Scale < 0 || t.Scale > t.Precision {
			return nil, fmt.Errorf("%s does not fit an Iceberg decimal (precision 1 to 38)", t)
		}
		return iceberg.DecimalTypeOf(t.Precision, t.Scale), nil
	case schema.List:
		if t.Elem == nil {
			return nil, fmt.Errorf("list without element type")
		}
		id := next()
		el, err := icebergType(*t.Elem, next)
		if err != nil {
			return nil, err
		}
		return &iceberg.ListType{ElementID: id, Element: el}, nil
	case schema.Map:
		if t.Key == nil || t.Elem == nil {
			return nil, fmt.Errorf("map without key or value type")
		}
		kid, vid := next(), next()
		k, err := icebergType(*t.Key, next)
		if err != nil {
			return nil, err
		}
		v, err := icebergType(*t.Elem, next)
		if err != nil {
			return nil, err
		}
		return &iceberg.MapType{KeyID: kid, KeyType: k, ValueID: vid, ValueType: v}, nil
	case schema.Struct:
		st := &iceberg.StructType{}
		for _, f := range t.Fields {
			id := next()
			ft, err := icebergType(f.Type, next)
			if err != nil {
				return nil, err
			}
			st.FieldList = append(st.FieldList, iceberg.NestedField{ID: id, Name: f.Name, Type: ft})
		}
		return st, nil
	}
	return nil, fmt.Errorf("type %s has no Iceberg counterpart", t)
}

// newSchema is the Iceberg schema of a new table holding cols. Every
// column is optional: not-null is enforced by sluice as it reads, and a
// required column could never be dropped from a later pipeline's output.
func newSchema(cols []schema.Column) (*iceberg.Schema, error) {
	id := 0
	next := func() int { id++; return id }
	var fields []iceberg.NestedField
	for _, c := range cols {
		fid := next()
		t, err := icebergType(c.Type, next)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", c.Name, err)
		}
		fields = append(fields, iceberg.NestedField{ID: fid, Name: c.Name, Type: t, Doc: c.Description})
	}
	return iceberg.NewSchema(0, fields...), nil
}

// writable reports whether values of the sluice type out can be written
// into a table column of type tt without losing any: the same type, or a
// widening Iceberg itself allows (int → long, float → double, a decimal
// of more precision), or a timestamp of another unit or zone into
// timestamptz/timestamp (microseconds, UTC).
func writable(out schema.Type, tt iceberg.Type) bool {
	switch out.Kind {
	case schema.Bool:
		return tt.Equals(iceberg.PrimitiveTypes.Bool)
	case schema.Int32:
		return tt.Equals(iceberg.PrimitiveTypes.Int32) || tt.Equals(iceberg.PrimitiveTypes.Int64)
	case schema.Int64:
		return tt.Equals(iceberg.PrimitiveTypes.Int64)
	case schema.Float32:
		return tt.Equals(iceberg.PrimitiveTypes.Float32) || tt.Equals(iceberg.PrimitiveTypes.Float64)
	case schema.Float64:
		return tt.Equals(iceberg.PrimitiveTypes.Float64)
	case schema.String:
		return tt.Equals(iceberg.PrimitiveTypes.String)
	case schema.Binary:
		return tt.Equals(iceberg.PrimitiveTypes.Binary)
	case schema.Date:
		return tt.Equals(iceberg.PrimitiveTypes.Date)
	case schema.Timestamp:
		return tt.Equals(iceberg.PrimitiveTypes.TimestampTz) || tt.Equals(iceberg.PrimitiveTypes.Timestamp)
	case schema.Decimal:
		d, ok := tt.(iceberg.DecimalType)
		return ok && d.Scale() == out.Scale && d.Precision() >= out.Precision
	case schema.List:
		l, ok := tt.(*iceberg.ListType)
		return ok && out.Elem != nil && writable(*out.Elem, l.Element)
	case schema.Map:
		m, ok := tt.(*iceberg.MapType)
		return ok && out.Key != nil && out.Elem != nil && writable(*out.Key, m.KeyType) && writable(*out.Elem, m.ValueType)
	case schema.Struct:
		st, ok := tt.(*iceberg.StructType)
		if !ok || len(st.FieldList) != len(out.Fields) {
			return false
		}
		for i, f := range out.Fields {
			if st.FieldList[i].Name != f.Name || !writable(f.Type, st.FieldList[i].Type) {
				return false
			}
		}
		return true
	}
	return false
}

// SchemaChange is how a run's output columns meet a table's schema.
type SchemaChange struct {
	// Add are the output columns the table lacks, which apply adds
	// (on_schema_change = "add_columns").
	Add []schema.Column
	// Skip are output columns the table lacks that are not written
	// (on_schema_change = "ignore").
	Skip []string
}

// Empty reports whether the table takes the output as it is.
func (c SchemaChange) Empty() bool { return len(c.Add) == 0 && len(c.Skip) == 0 }

// String is the change as plan prints it.
func (c SchemaChange) String() string {
	var parts []string
	for _, col := range c.Add {
		parts = append(parts, fmt.Sprintf("add column %s %s", col.Name, col.Type))
	}
	for _, s := range c.Skip {
		parts = append(parts, fmt.Sprintf("column %s not written (on_schema_change = \"ignore\")", s))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// SchemaError is a table whose schema the output cannot be written into
// as configured: a changed type, a missing column under on_schema_change =
// "fail", a required column the pipeline does not write, or another
// partitioning. Plan reports it before anything runs.
type SchemaError struct {
	Table  string
	Reason string
}

func (e *SchemaError) Error() string { return "table " + e.Table + ": " + e.Reason }

// diffSchema compares the output columns with a table's current schema.
func diffSchema(table string, tsc *iceberg.Schema, out []schema.Column, policy spec.SchemaChangePolicy) (SchemaChange, error) {
	var ch SchemaChange
	written := map[string]bool{}
	for _, c := range out {
		written[c.Name] = true
		f, ok := tsc.FindFieldByName(c.Name)
		if !ok {
			switch policy {
			case spec.SchemaChangeAddColumns:
				if _, err := icebergType(c.Type, func() int { return 0 }); err != nil {
					return ch, &SchemaError{table, fmt.Sprintf("column %q cannot be added: %v", c.Name, err)}
				}
				ch.Add = append(ch.Add, c)
			case spec.SchemaChangeIgnore:
				ch.Skip = append(ch.Skip, c.Name)
			default:
				return ch, &SchemaError{table, fmt.Sprintf("it has no column %q, which the pipeline writes. Set on_schema_change = \"add_columns\" on the source to add it (or \"ignore\" to leave it out), or drop it from select", c.Name)}
			}
			continue
		}
		if !writable(c.Type, f.Type) {
			return ch, &SchemaError{table, fmt.Sprintf("column %q is %s in the table but %s in the pipeline's output; sluice does not change a column's type. Declare the column as the table has it, write to a new table, or change the table with another tool first", c.Name, f.Type, c.Type)}
		}
		if f.Required && c.Nullable {
			return ch, &SchemaError{table, fmt.Sprintf("column %q is required in the table but nullable in the pipeline; declare it nullable = false in the source schema", c.Name)}
		}
	}
	for _, f := range tsc.Fields() {
		if f.Required && !written[f.Name] {
			return ch, &SchemaError{table, fmt.Sprintf("it requires column %q, which the pipeline does not write", f.Name)}
		}
	}
	return ch, nil
}
