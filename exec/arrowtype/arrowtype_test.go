package arrowtype

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicedata/sluice/spec/schema"
)

func ptr(t schema.Type) *schema.Type { return &t }

func TestToArrow(t *testing.T) {
	cases := []struct {
		in   schema.Type
		want string
	}{
		{schema.Type{Kind: schema.Bool}, "bool"},
		{schema.Type{Kind: schema.Int32}, "int32"},
		{schema.Type{Kind: schema.Int64}, "int64"},
		{schema.Type{Kind: schema.Float32}, "float32"},
		{schema.Type{Kind: schema.Float64}, "float64"},
		{schema.Type{Kind: schema.String}, "utf8"},
		{schema.Type{Kind: schema.Binary}, "binary"},
		{schema.Type{Kind: schema.Date}, "date32"},
		{schema.Type{Kind: schema.Timestamp, Unit: schema.Millisecond}, "timestamp[ms, tz=UTC]"},
		{schema.Type{Kind: schema.Timestamp, Unit: schema.Microsecond, TZ: "Europe/Paris"}, "timestamp[us, tz=Europe/Paris]"},
		{schema.Type{Kind: schema.Timestamp, Unit: schema.Nanosecond}, "timestamp[ns, tz=UTC]"},
		{schema.Type{Kind: schema.Decimal, Precision: 12, Scale: 2}, "decimal(12, 2)"},
		{schema.Type{Kind: schema.Decimal, Precision: 38, Scale: 0}, "decimal(38, 0)"},
		{schema.Type{Kind: schema.List, Elem: ptr(schema.Type{Kind: schema.Int64})}, "list<item: int64, nullable>"},
		{schema.Type{Kind: schema.Struct, Fields: []schema.Field{{Name: "a", Type: schema.Type{Kind: schema.String}}, {Name: "b", Type: schema.Type{Kind: schema.Float64}}}}, "struct<a: utf8 nullable, b: float64 nullable>"},
		{schema.Type{Kind: schema.Map, Key: ptr(schema.Type{Kind: schema.String}), Elem: ptr(schema.Type{Kind: schema.Int32})}, "map<utf8, int32, items_nullable>"},
		{schema.Type{Kind: schema.Invalid}, "null"},
		{schema.Type{Kind: schema.List}, "null"},
	}
	for _, c := range cases {
		if got := ToArrow(c.in).String(); got != c.want {
			t.Errorf("ToArrow(%+v) = %s, want %s", c.in, got, c.want)
		}
	}
	if _, ok := ToArrow(schema.Type{Kind: schema.Decimal, Precision: 38, Scale: 4}).(*arrow.Decimal128Type); !ok {
		t.Errorf("decimal(38,4) must be decimal128")
	}
}

func TestArrowSchemaNullability(t *testing.T) {
	s := ArrowSchema([]schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.Int64}, Nullable: false},
		{Name: "name", Type: schema.Type{Kind: schema.String}, Nullable: true},
	})
	if s.NumFields() != 2 || s.Field(0).Name != "id" || s.Field(0).Nullable || !s.Field(1).Nullable {
		t.Fatalf("schema = %s", s)
	}
	if !arrow.TypeEqual(s.Field(0).Type, arrow.PrimitiveTypes.Int64) {
		t.Fatalf("id type %s", s.Field(0).Type)
	}
}

func TestFromArrow(t *testing.T) {
	cases := []struct {
		in   arrow.DataType
		want schema.Type
	}{
		{arrow.FixedWidthTypes.Boolean, schema.Type{Kind: schema.Bool}},
		{arrow.PrimitiveTypes.Int8, schema.Type{Kind: schema.Int32}},
		{arrow.PrimitiveTypes.Int16, schema.Type{Kind: schema.Int32}},
		{arrow.PrimitiveTypes.Uint8, schema.Type{Kind: schema.Int32}},
		{arrow.PrimitiveTypes.Uint16, schema.Type{Kind: schema.Int32}},
		{arrow.PrimitiveTypes.Int32, schema.Type{Kind: schema.Int32}},
		{arrow.PrimitiveTypes.Uint32, schema.Type{Kind: schema.Int64}},
		{arrow.PrimitiveTypes.Int64, schema.Type{Kind: schema.Int64}},
		{arrow.PrimitiveTypes.Uint64, schema.Type{Kind: schema.Decimal, Precision: 20}},
		{arrow.FixedWidthTypes.Float16, schema.Type{Kind: schema.Float32}},
		{arrow.PrimitiveTypes.Float32, schema.Type{Kind: schema.Float32}},
		{arrow.PrimitiveTypes.Float64, schema.Type{Kind: schema.Float64}},
		{arrow.BinaryTypes.String, schema.Type{Kind: schema.String}},
		{arrow.BinaryTypes.LargeString, schema.Type{Kind: schema.String}},
		{arrow.BinaryTypes.Binary, schema.Type{Kind: schema.Binary}},
		{&arrow.FixedSizeBinaryType{ByteWidth: 16}, schema.Type{Kind: schema.Binary}},
		{arrow.FixedWidthTypes.Date32, schema.Type{Kind: schema.Date}},
		{arrow.FixedWidthTypes.Date64, schema.Type{Kind: schema.Timestamp, Unit: schema.Millisecond}},
		{&arrow.TimestampType{Unit: arrow.Nanosecond}, schema.Type{Kind: schema.Timestamp, Unit: schema.Nanosecond}},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, schema.Type{Kind: schema.Timestamp, Unit: schema.Microsecond}},
		{&arrow.TimestampType{Unit: arrow.Second, TimeZone: "America/New_York"}, schema.Type{Kind: schema.Timestamp, Unit: schema.Millisecond, TZ: "America/New_York"}},
		{&arrow.Decimal128Type{Precision: 10, Scale: 3}, schema.Type{Kind: schema.Decimal, Precision: 10, Scale: 3}},
		{&arrow.Decimal256Type{Precision: 30, Scale: 3}, schema.Type{Kind: schema.Decimal, Precision: 30, Scale: 3}},
		{&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, schema.Type{Kind: schema.String}},
	}
	for _, c := range cases {
		got, err := FromArrow(c.in)
		if err != nil {
			t.Errorf("FromArrow(%s): %v", c.in, err)
			continue
		}
		if !equalType(got, c.want) {
			t.Errorf("FromArrow(%s) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestFromArrowNested(t *testing.T) {
	dt := arrow.StructOf(
		arrow.Field{Name: "tags", Type: arrow.LargeListOf(arrow.BinaryTypes.LargeString), Nullable: true},
		arrow.Field{Name: "attrs", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int16), Nullable: true},
	)
	got, err := FromArrow(dt)
	if err != nil {
		t.Fatal(err)
	}
	want := schema.Type{Kind: schema.Struct, Fields: []schema.Field{
		{Name: "tags", Type: schema.Type{Kind: schema.List, Elem: ptr(schema.Type{Kind: schema.String})}},
		{Name: "attrs", Type: schema.Type{Kind: schema.Map, Key: ptr(schema.Type{Kind: schema.String}), Elem: ptr(schema.Type{Kind: schema.Int32})}},
	}}
	if !equalType(got, want) {
		t.Fatalf("got %+v", got)
	}
	// Round trip of the nearest type is stable.
	back, err := FromArrow(ToArrow(got))
	if err != nil || !equalType(back, got) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func TestFromArrowErrors(t *testing.T) {
	for _, dt := range []arrow.DataType{
		arrow.FixedWidthTypes.Time32ms,
		arrow.FixedWidthTypes.Duration_s,
		arrow.Null,
		&arrow.Decimal256Type{Precision: 50, Scale: 2},
		arrow.ListOf(arrow.FixedWidthTypes.MonthInterval),
	} {
		if _, err := FromArrow(dt); err == nil {
			t.Errorf("FromArrow(%s): no error", dt)
		} else if !strings.Contains(err.Error(), "unsupported type") {
			t.Errorf("FromArrow(%s): %v", dt, err)
		}
	}
	_, err := FromArrowSchema(arrow.NewSchema([]arrow.Field{{Name: "ok", Type: arrow.PrimitiveTypes.Int8}, {Name: "t", Type: arrow.FixedWidthTypes.Time64ns}}, nil))
	if err == nil || !strings.Contains(err.Error(), `column "t"`) {
		t.Fatalf("FromArrowSchema error = %v", err)
	}
}

func TestRoundTripDeclaredTypes(t *testing.T) {
	for _, ty := range []schema.Type{
		{Kind: schema.Bool}, {Kind: schema.Int32}, {Kind: schema.Int64}, {Kind: schema.Float32}, {Kind: schema.Float64},
		{Kind: schema.String}, {Kind: schema.Binary}, {Kind: schema.Date},
		{Kind: schema.Timestamp, Unit: schema.Millisecond}, {Kind: schema.Timestamp, Unit: schema.Nanosecond, TZ: "Asia/Tokyo"},
		{Kind: schema.Decimal, Precision: 9, Scale: 4},
	} {
		got, err := FromArrow(ToArrow(ty))
		if err != nil || !equalType(got, ty) {
			t.Errorf("round trip %+v = %+v, %v", ty, got, err)
		}
	}
}

func equalType(a, b schema.Type) bool {
	if a.Kind != b.Kind || a.Unit != b.Unit || a.TZ != b.TZ || a.Precision != b.Precision || a.Scale != b.Scale || len(a.Fields) != len(b.Fields) {
		return false
	}
	if (a.Elem == nil) != (b.Elem == nil) || (a.Key == nil) != (b.Key == nil) {
		return false
	}
	if a.Elem != nil && !equalType(*a.Elem, *b.Elem) || a.Key != nil && !equalType(*a.Key, *b.Key) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Name != b.Fields[i].Name || !equalType(a.Fields[i].Type, b.Fields[i].Type) {
			return false
		}
	}
	return true
}
