package arrowtype

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicedata/sluice/spec/schema"
)

// MaxDecimalPrecision is the largest precision a decimal128 holds.
const MaxDecimalPrecision = 38

// ToArrow returns the Arrow type that represents t.
//
// Timestamps keep their unit; an empty TZ becomes "UTC" so that every
// timestamp column is zone-aware and compares as an instant. Decimals with
// precision ≤ 38 become decimal128 (larger precisions, which spec rejects,
// become decimal256 rather than panicking). Nested element, struct field and
// map value types are always nullable: the language has no way to declare
// otherwise, and readers of foreign data must accept nulls there. An invalid
// Kind maps to arrow.Null so callers can detect it without a panic.
func ToArrow(t schema.Type) arrow.DataType {
	switch t.Kind {
	case schema.Bool:
		return arrow.FixedWidthTypes.Boolean
	case schema.Int32:
		return arrow.PrimitiveTypes.Int32
	case schema.Int64:
		return arrow.PrimitiveTypes.Int64
	case schema.Float32:
		return arrow.PrimitiveTypes.Float32
	case schema.Float64:
		return arrow.PrimitiveTypes.Float64
	case schema.String:
		return arrow.BinaryTypes.String
	case schema.Binary:
		return arrow.BinaryTypes.Binary
	case schema.Date:
		return arrow.FixedWidthTypes.Date32
	case schema.Timestamp:
		tz := t.TZ
		if tz == "" {
			tz = "UTC"
		}
		return &arrow.TimestampType{Unit: toUnit(t.Unit), TimeZone: tz}
	case schema.Decimal:
		if t.Precision > MaxDecimalPrecision {
			return &arrow.Decimal256Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}
		}
		return &arrow.Decimal128Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}
	case schema.List:
		if t.Elem == nil {
			return arrow.Null
		}
		return arrow.ListOf(ToArrow(*t.Elem))
	case schema.Struct:
		fields := make([]arrow.Field, len(t.Fields))
		for i, f := range t.Fields {
			fields[i] = arrow.Field{Name: f.Name, Type: ToArrow(f.Type), Nullable: true}
		}
		return arrow.StructOf(fields...)
	case schema.Map:
		if t.Key == nil || t.Elem == nil {
			return arrow.Null
		}
		return arrow.MapOf(ToArrow(*t.Key), ToArrow(*t.Elem))
	}
	return arrow.Null
}

func toUnit(u schema.TimeUnit) arrow.TimeUnit {
	switch u {
	case schema.Millisecond:
		return arrow.Millisecond
	case schema.Nanosecond:
		return arrow.Nanosecond
	}
	// Microsecond, and the zero value: microseconds are what Parquet and
	// most engines use by default.
	return arrow.Microsecond
}

func fromUnit(u arrow.TimeUnit) schema.TimeUnit {
	switch u {
	case arrow.Millisecond:
		return schema.Millisecond
	case arrow.Microsecond:
		return schema.Microsecond
	}
	// Seconds widen to milliseconds (see FromArrow); nanoseconds stay.
	if u == arrow.Second {
		return schema.Millisecond
	}
	return schema.Nanosecond
}

// ArrowSchema returns the Arrow schema of cols, in order, with each field's
// nullability taken from Column.Nullable.
func ArrowSchema(cols []schema.Column) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: ToArrow(c.Type), Nullable: c.Nullable}
	}
	return arrow.NewSchema(fields, nil)
}

// FromArrow returns the sluice type nearest to dt, for schemas taken from
// Parquet footers. Mappings that are not one-to-one:
//
//   - int8, int16, uint8, uint16 → int32; uint32 → int64 (lossless).
//   - uint64 → decimal(20, 0): the only declared type that holds every
//     uint64 exactly. int64 would silently wrap values ≥ 2^63.
//   - float16 → float32.
//   - large_string, string_view → string; large_binary, binary_view,
//     fixed_size_binary → binary.
//   - date64 → timestamp(ms) (it is milliseconds since the epoch).
//   - timestamp(s) → timestamp(ms), with the zone kept; timestamps with no
//     zone (Parquet isAdjustedToUTC=false) are read as UTC. INT96 columns
//     arrive from pqarrow as timestamp(ns) and stay so.
//   - decimal32/64/128 keep precision and scale; decimal256 with precision
//     ≤ 38 maps to decimal(p, s), larger is an error.
//   - large_list, fixed_size_list, list_view → list; dictionary → its value type.
//
// Types with no sensible nearest type (time of day, intervals, durations,
// unions, null) return an error naming the Arrow type.
func FromArrow(dt arrow.DataType) (schema.Type, error) {
	switch t := dt.(type) {
	case *arrow.BooleanType:
		return schema.Type{Kind: schema.Bool}, nil
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Uint8Type, *arrow.Uint16Type:
		return schema.Type{Kind: schema.Int32}, nil
	case *arrow.Int64Type, *arrow.Uint32Type:
		return schema.Type{Kind: schema.Int64}, nil
	case *arrow.Uint64Type:
		return schema.Type{Kind: schema.Decimal, Precision: 20, Scale: 0}, nil
	case *arrow.Float16Type, *arrow.Float32Type:
		return schema.Type{Kind: schema.Float32}, nil
	case *arrow.Float64Type:
		return schema.Type{Kind: schema.Float64}, nil
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return schema.Type{Kind: schema.String}, nil
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return schema.Type{Kind: schema.Binary}, nil
	case *arrow.Date32Type:
		return schema.Type{Kind: schema.Date}, nil
	case *arrow.Date64Type:
		return schema.Type{Kind: schema.Timestamp, Unit: schema.Millisecond}, nil
	case *arrow.TimestampType:
		tz := t.TimeZone
		if tz == "UTC" || tz == "Etc/UTC" || tz == "+00:00" || tz == "Z" {
			tz = ""
		}
		return schema.Type{Kind: schema.Timestamp, Unit: fromUnit(t.Unit), TZ: tz}, nil
	case arrow.DecimalType:
		p, s := int(t.GetPrecision()), int(t.GetScale())
		if p > MaxDecimalPrecision {
			return schema.Type{}, fmt.Errorf("unsupported type %s: precision %d exceeds %d", dt, p, MaxDecimalPrecision)
		}
		return schema.Type{Kind: schema.Decimal, Precision: p, Scale: s}, nil
	case *arrow.MapType: // before ListLikeType: a map is list-like in Arrow
		k, err := FromArrow(t.KeyType())
		if err != nil {
			return schema.Type{}, fmt.Errorf("map key: %w", err)
		}
		v, err := FromArrow(t.ItemType())
		if err != nil {
			return schema.Type{}, fmt.Errorf("map value: %w", err)
		}
		return schema.Type{Kind: schema.Map, Key: &k, Elem: &v}, nil
	case arrow.ListLikeType:
		e, err := FromArrow(t.Elem())
		if err != nil {
			return schema.Type{}, fmt.Errorf("list element: %w", err)
		}
		return schema.Type{Kind: schema.List, Elem: &e}, nil
	case *arrow.StructType:
		fields := make([]schema.Field, t.NumFields())
		for i, f := range t.Fields() {
			ft, err := FromArrow(f.Type)
			if err != nil {
				return schema.Type{}, fmt.Errorf("struct field %q: %w", f.Name, err)
			}
			fields[i] = schema.Field{Name: f.Name, Type: ft}
		}
		return schema.Type{Kind: schema.Struct, Fields: fields}, nil
	case *arrow.DictionaryType:
		return FromArrow(t.ValueType)
	}
	return schema.Type{}, fmt.Errorf("unsupported type %s", dt)
}

// FromArrowSchema maps every field of s with FromArrow, keeping names and
// nullability. The error names the first field that has no sluice type.
func FromArrowSchema(s *arrow.Schema) ([]schema.Column, error) {
	cols := make([]schema.Column, s.NumFields())
	for i, f := range s.Fields() {
		t, err := FromArrow(f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		cols[i] = schema.Column{Name: f.Name, Type: t, Nullable: f.Nullable}
	}
	return cols, nil
}
