package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// String returns the kind's name as written in the language ("int64", "list", ...).
func (k Kind) String() string {
	switch k {
	case Bool:
		return "bool"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case String:
		return "string"
	case Binary:
		return "binary"
	case Date:
		return "date"
	case Timestamp:
		return "timestamp"
	case Decimal:
		return "decimal"
	case List:
		return "list"
	case Struct:
		return "struct"
	case Map:
		return "map"
	case Invalid:
		return "invalid"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// String returns the unit's spelling in a timestamp type: "ms", "us" or "ns".
func (u TimeUnit) String() string {
	switch u {
	case Millisecond:
		return "ms"
	case Microsecond:
		return "us"
	case Nanosecond:
		return "ns"
	}
	return "TimeUnit(" + strconv.Itoa(int(u)) + ")"
}

// PerSecond is the number of units in one second (0 for an invalid unit).
func (u TimeUnit) PerSecond() int64 {
	switch u {
	case Millisecond:
		return 1e3
	case Microsecond:
		return 1e6
	case Nanosecond:
		return 1e9
	}
	return 0
}

// Convenience constructors for the scalar types, so callers do not build
// Type literals by hand.
var (
	BoolType    = Type{Kind: Bool}
	Int32Type   = Type{Kind: Int32}
	Int64Type   = Type{Kind: Int64}
	Float32Type = Type{Kind: Float32}
	Float64Type = Type{Kind: Float64}
	StringType  = Type{Kind: String}
	BinaryType  = Type{Kind: Binary}
	DateType    = Type{Kind: Date}
)

// TimestampOf returns timestamp(unit[, tz]). tz "" or "UTC" both mean UTC
// and are stored as "" so that Equal treats them alike.
func TimestampOf(unit TimeUnit, tz string) Type {
	if tz == "UTC" {
		tz = ""
	}
	return Type{Kind: Timestamp, Unit: unit, TZ: tz}
}

// DecimalOf returns decimal(precision, scale).
func DecimalOf(precision, scale int) Type {
	return Type{Kind: Decimal, Precision: precision, Scale: scale}
}

// ListOf returns list(elem).
func ListOf(elem Type) Type {
	return Type{Kind: List, Elem: &elem}
}

// MapOf returns map(key, value).
func MapOf(key, value Type) Type {
	return Type{Kind: Map, Key: &key, Elem: &value}
}

// StructOf returns struct(fields...).
func StructOf(fields ...Field) Type {
	return Type{Kind: Struct, Fields: fields}
}

// String is the canonical spelling of t, which ParseType reads back to an
// Equal type: no spaces except one after each comma, the timezone omitted
// when it is UTC, struct fields as `struct(name type, ...)` with names
// quoted only when they are not plain identifiers.
func (t Type) String() string {
	var b strings.Builder
	t.write(&b)
	return b.String()
}

func (t Type) write(b *strings.Builder) {
	switch t.Kind {
	case Timestamp:
		b.WriteString("timestamp(")
		b.WriteString(t.Unit.String())
		if t.TZ != "" && t.TZ != "UTC" {
			b.WriteString(", ")
			b.WriteString(t.TZ)
		}
		b.WriteByte(')')
	case Decimal:
		fmt.Fprintf(b, "decimal(%d, %d)", t.Precision, t.Scale)
	case List:
		b.WriteString("list(")
		if t.Elem != nil {
			t.Elem.write(b)
		}
		b.WriteByte(')')
	case Map:
		b.WriteString("map(")
		if t.Key != nil {
			t.Key.write(b)
		}
		b.WriteString(", ")
		if t.Elem != nil {
			t.Elem.write(b)
		}
		b.WriteByte(')')
	case Struct:
		b.WriteString("struct(")
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			if isIdent(f.Name) {
				b.WriteString(f.Name)
			} else {
				b.WriteString(strconv.Quote(f.Name))
			}
			b.WriteByte(' ')
			f.Type.write(b)
		}
		b.WriteByte(')')
	default:
		b.WriteString(t.Kind.String())
	}
}

// IsNumeric reports whether t is an integer, floating-point or decimal type.
func (t Type) IsNumeric() bool {
	switch t.Kind {
	case Int32, Int64, Float32, Float64, Decimal:
		return true
	}
	return false
}

// IsInteger reports whether t is int32 or int64.
func (t Type) IsInteger() bool { return t.Kind == Int32 || t.Kind == Int64 }

// IsFloat reports whether t is float32 or float64.
func (t Type) IsFloat() bool { return t.Kind == Float32 || t.Kind == Float64 }

// IsTemporal reports whether t is a date or a timestamp.
func (t Type) IsTemporal() bool { return t.Kind == Date || t.Kind == Timestamp }

// IsNested reports whether t is a list, struct or map (types that pass
// through a pipeline but cannot be used in predicates).
func (t Type) IsNested() bool {
	return t.Kind == List || t.Kind == Struct || t.Kind == Map
}

// Equal reports whether t and u are the same type. Timezones "" and "UTC"
// are the same; struct fields must match in order, name and type.
func (t Type) Equal(u Type) bool {
	if t.Kind != u.Kind {
		return false
	}
	switch t.Kind {
	case Timestamp:
		return t.Unit == u.Unit && normTZ(t.TZ) == normTZ(u.TZ)
	case Decimal:
		return t.Precision == u.Precision && t.Scale == u.Scale
	case List:
		return ptrEqual(t.Elem, u.Elem)
	case Map:
		return ptrEqual(t.Key, u.Key) && ptrEqual(t.Elem, u.Elem)
	case Struct:
		if len(t.Fields) != len(u.Fields) {
			return false
		}
		for i := range t.Fields {
			if t.Fields[i].Name != u.Fields[i].Name || !t.Fields[i].Type.Equal(u.Fields[i].Type) {
				return false
			}
		}
		return true
	}
	return true
}

func normTZ(tz string) string {
	if tz == "UTC" {
		return ""
	}
	return tz
}

func ptrEqual(a, b *Type) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// Widens reports whether a value of type from can be read as type to
// without loss, the drift accepted under every on_schema_change policy
// (DESIGN §1 "Schema drift"): the same type, int32 → int64, and any integer
// → float64. (int64 → float64 may round above 2^53; the design accepts it
// as Spark and DuckDB do.) Nullability is a property of the column, not of
// the type, and is checked by the caller.
func Widens(from, to Type) bool {
	if from.Equal(to) {
		return true
	}
	switch {
	case from.Kind == Int32 && to.Kind == Int64:
		return true
	case from.IsInteger() && to.Kind == Float64:
		return true
	}
	return false
}
