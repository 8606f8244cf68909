package schema

import (
	"github.com/hashicorp/hcl/v2"
)

// Kind is the family of a column type.
type Kind int

// The column type kinds of the pipeline language (docs/language.md, "Types").
const (
	Invalid Kind = iota
	Bool
	Int32
	Int64
	Float32
	Float64
	String
	Binary
	Date
	Timestamp
	Decimal
	List
	Struct
	Map
)

// TimeUnit is the resolution of a timestamp.
type TimeUnit int

// Timestamp units.
const (
	Millisecond TimeUnit = iota + 1
	Microsecond
	Nanosecond
)

// Type is a column type. Only the fields that belong to Kind are set:
// Unit and TZ for Timestamp (TZ "" means UTC), Precision and Scale for
// Decimal, Elem for List and for the value of Map, Key for Map, Fields for Struct.
type Type struct {
	Kind      Kind
	Unit      TimeUnit
	TZ        string
	Precision int
	Scale     int
	Elem      *Type
	Key       *Type
	Fields    []Field
}

// Field is one member of a struct type.
type Field struct {
	Name string
	Type Type
}

// Column is one declared column of a schema.
type Column struct {
	Name            string
	Type            Type
	Nullable        bool
	Description     string
	TimestampFormat string // Go layout or strftime-like; "" means RFC 3339
	DeclRange       hcl.Range
}

// Schema is a named, ordered list of columns.
type Schema struct {
	Name      string
	Columns   []Column
	DeclRange hcl.Range
}

// Column returns the column named name, or false.
func (s *Schema) Column(name string) (Column, bool) {
	if s == nil {
		return Column{}, false
	}
	for _, c := range s.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}
