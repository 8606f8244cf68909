package schema

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTypeValid(t *testing.T) {
	tests := []struct {
		in   string
		want Type
		str  string // canonical form
	}{
		{"bool", BoolType, "bool"},
		{"int32", Int32Type, "int32"},
		{" int64 ", Int64Type, "int64"},
		{"float32", Float32Type, "float32"},
		{"float64", Float64Type, "float64"},
		{"string", StringType, "string"},
		{"binary", BinaryType, "binary"},
		{"date", DateType, "date"},
		{"timestamp(ms)", TimestampOf(Millisecond, ""), "timestamp(ms)"},
		{"timestamp( us )", TimestampOf(Microsecond, ""), "timestamp(us)"},
		{"timestamp(ns, UTC)", TimestampOf(Nanosecond, ""), "timestamp(ns)"},
		{"timestamp(us,Europe/Paris)", TimestampOf(Microsecond, "Europe/Paris"), "timestamp(us, Europe/Paris)"},
		{"timestamp(ms, America/Argentina/Buenos_Aires)", TimestampOf(Millisecond, "America/Argentina/Buenos_Aires"), "timestamp(ms, America/Argentina/Buenos_Aires)"},
		{"decimal(18,2)", DecimalOf(18, 2), "decimal(18, 2)"},
		{"decimal( 1 , 0 )", DecimalOf(1, 0), "decimal(1, 0)"},
		{"decimal(38, 38)", DecimalOf(38, 38), "decimal(38, 38)"},
		{"list(int64)", ListOf(Int64Type), "list(int64)"},
		{"list( list(string) )", ListOf(ListOf(StringType)), "list(list(string))"},
		{"map(string,float64)", MapOf(StringType, Float64Type), "map(string, float64)"},
		{"map(int32, list(date))", MapOf(Int32Type, ListOf(DateType)), "map(int32, list(date))"},
		{"struct(id int64, name string)", StructOf(Field{"id", Int64Type}, Field{"name", StringType}), "struct(id int64, name string)"},
		{`struct("first name" string,x struct(y bool))`,
			StructOf(Field{"first name", StringType}, Field{"x", StructOf(Field{"y", BoolType})}),
			`struct("first name" string, x struct(y bool))`},
		{"struct(date date)", StructOf(Field{"date", DateType}), "struct(date date)"},
		{"\tlist(\ntimestamp(us)\n)\n", ListOf(TimestampOf(Microsecond, "")), "list(timestamp(us))"},
	}
	for _, tt := range tests {
		got, err := ParseType(tt.in)
		if err != nil {
			t.Errorf("ParseType(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("ParseType(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("ParseType(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
		// Round trip: the canonical form parses back to an equal type and
		// prints identically.
		again, err := ParseType(got.String())
		if err != nil || !again.Equal(got) || again.String() != got.String() {
			t.Errorf("round trip of %q: got %v, %v", got.String(), again, err)
		}
	}
}

func TestParseTypeErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		want   string // substring of the message
	}{
		{"int", 0, `unknown type "int"; did you mean "int32" or "int64"?`},
		{"strng", 0, `did you mean "string"?`},
		{"varchar", 0, `unknown type "varchar"; did you mean "string"? (varchar is a SQL name; sluice writes string)`},
		{"Double", 0, `unknown type "Double"; did you mean "float64"?`},
		{"datetime", 0, `did you mean "timestamp(us)"?`},
		{"zzz", 0, `unknown type "zzz"; allowed: bool, int32`},
		{"", 0, "missing type"},
		{"Int64", 0, `did you mean "int64"?`},
		{"timestamp", 9, `expected '(' after timestamp`},
		{"timestamp(s)", 10, `unknown timestamp unit "s"; allowed: ms, us, ns`},
		{"timestamp(us, Mars/Olympus)", 14, `unknown timezone "Mars/Olympus"`},
		{"timestamp(us, Local)", 14, `unknown timezone "Local"`},
		{"timestamp(us,)", 13, "expected a timezone name"},
		{"timestamp(us", 12, `expected ')' to close timestamp(`},
		{"decimal(0, 0)", 8, "precision 0 is out of range; allowed: 1 to 38"},
		{"decimal(39, 2)", 8, "precision 39 is out of range"},
		{"decimal(5, 6)", 11, "scale 6 is larger than the precision 5"},
		{"decimal(5)", 9, `expected ',' between precision and scale`},
		{"decimal(a, 1)", 8, "expected the precision"},
		{"decimal(99999999999999999999, 1)", 8, "out of range"},
		{"list()", 5, "expected a type name"},
		{"list(int64", 10, `expected ')' to close list(`},
		{"map(list(int32), string)", 4, "map key type list(int32) is nested"},
		{"map(string)", 10, "expected ',' between the key and value"},
		{"struct()", 7, "expected a struct field name"},
		{"struct(a int64, a string)", 16, `duplicate struct field "a"`},
		{"struct(a)", 8, "expected a type name"},
		{`struct("" int64)`, 7, "empty struct field name"},
		{"int64 int32", 6, `unexpected "int32" after type int64`},
		{"list(int64))", 11, `unexpected ")"`},
	}
	for _, tt := range tests {
		_, err := ParseType(tt.in)
		if err == nil {
			t.Errorf("ParseType(%q): no error, want %q", tt.in, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseType(%q) error = %q, want it to contain %q", tt.in, err, tt.want)
		}
		var te *TypeError
		if !errors.As(err, &te) {
			t.Errorf("ParseType(%q) error is %T, want *TypeError", tt.in, err)
			continue
		}
		if te.Offset != tt.offset {
			t.Errorf("ParseType(%q) error offset = %d, want %d (%s)", tt.in, te.Offset, tt.offset, err)
		}
	}
}

func TestKindString(t *testing.T) {
	want := map[Kind]string{
		Invalid: "invalid", Bool: "bool", Int32: "int32", Int64: "int64", Float32: "float32",
		Float64: "float64", String: "string", Binary: "binary", Date: "date",
		Timestamp: "timestamp", Decimal: "decimal", List: "list", Struct: "struct", Map: "map",
		Kind(99): "Kind(99)",
	}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), k.String(), s)
		}
	}
	for u, s := range map[TimeUnit]string{Millisecond: "ms", Microsecond: "us", Nanosecond: "ns", TimeUnit(0): "TimeUnit(0)"} {
		if u.String() != s {
			t.Errorf("TimeUnit(%d).String() = %q, want %q", int(u), u.String(), s)
		}
	}
}

func TestPredicates(t *testing.T) {
	tests := []struct {
		typ                                string
		numeric, integer, temporal, nested bool
	}{
		{"bool", false, false, false, false},
		{"int32", true, true, false, false},
		{"int64", true, true, false, false},
		{"float32", true, false, false, false},
		{"float64", true, false, false, false},
		{"decimal(10, 2)", true, false, false, false},
		{"string", false, false, false, false},
		{"binary", false, false, false, false},
		{"date", false, false, true, false},
		{"timestamp(ns)", false, false, true, false},
		{"list(int64)", false, false, false, true},
		{"map(string, string)", false, false, false, true},
		{"struct(a int64)", false, false, false, true},
	}
	for _, tt := range tests {
		ty := MustParseType(tt.typ)
		if ty.IsNumeric() != tt.numeric || ty.IsInteger() != tt.integer || ty.IsTemporal() != tt.temporal || ty.IsNested() != tt.nested {
			t.Errorf("%s: numeric=%v integer=%v temporal=%v nested=%v, want %v %v %v %v", tt.typ,
				ty.IsNumeric(), ty.IsInteger(), ty.IsTemporal(), ty.IsNested(),
				tt.numeric, tt.integer, tt.temporal, tt.nested)
		}
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"int64", "int64", true},
		{"int64", "int32", false},
		{"timestamp(us)", "timestamp(us, UTC)", true},
		{"timestamp(us)", "timestamp(ms)", false},
		{"timestamp(us, Europe/Paris)", "timestamp(us)", false},
		{"decimal(10, 2)", "decimal(10, 2)", true},
		{"decimal(10, 2)", "decimal(10, 3)", false},
		{"decimal(10, 2)", "decimal(11, 2)", false},
		{"list(int64)", "list(int64)", true},
		{"list(int64)", "list(int32)", false},
		{"map(string, int64)", "map(string, int64)", true},
		{"map(string, int64)", "map(int64, int64)", false},
		{"struct(a int64, b string)", "struct(a int64, b string)", true},
		{"struct(a int64, b string)", "struct(b string, a int64)", false},
		{"struct(a int64)", "struct(a int64, b string)", false},
		{"struct(a int64)", "struct(b int64)", false},
	}
	for _, tt := range tests {
		a, b := MustParseType(tt.a), MustParseType(tt.b)
		if got := a.Equal(b); got != tt.want {
			t.Errorf("%s.Equal(%s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := b.Equal(a); got != tt.want {
			t.Errorf("%s.Equal(%s) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestWidens(t *testing.T) {
	tests := []struct {
		from, to string
		want     bool
	}{
		{"int32", "int32", true},
		{"int32", "int64", true},
		{"int32", "float64", true},
		{"int64", "float64", true},
		{"int64", "int32", false},
		{"float64", "int64", false},
		{"int32", "float32", false},
		{"float32", "float64", false},
		{"string", "binary", false},
		{"date", "timestamp(us)", false},
		{"timestamp(us)", "timestamp(us, UTC)", true},
		{"timestamp(ms)", "timestamp(us)", false},
		{"decimal(10, 2)", "decimal(10, 2)", true},
		{"decimal(10, 2)", "decimal(12, 2)", false},
		{"list(int32)", "list(int64)", false},
		{"list(int32)", "list(int32)", true},
	}
	for _, tt := range tests {
		if got := Widens(MustParseType(tt.from), MustParseType(tt.to)); got != tt.want {
			t.Errorf("Widens(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestSchemaColumn(t *testing.T) {
	s := &Schema{Name: "orders", Columns: []Column{{Name: "id", Type: Int64Type}, {Name: "amount", Type: DecimalOf(10, 2)}}}
	if c, ok := s.Column("amount"); !ok || !c.Type.Equal(DecimalOf(10, 2)) {
		t.Errorf("Column(amount) = %v, %v", c, ok)
	}
	if _, ok := s.Column("nope"); ok {
		t.Error("Column(nope) found")
	}
	var nilSchema *Schema
	if _, ok := nilSchema.Column("id"); ok {
		t.Error("nil schema has a column")
	}
}

func FuzzParseType(f *testing.F) {
	for _, s := range []string{"int64", "timestamp(us, Europe/Paris)", "decimal(10,2)", `struct("a b" list(map(string, int32)))`, "map(", "struct(a int64,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ty, err := ParseType(s)
		if err != nil {
			return
		}
		again, err := ParseType(ty.String())
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", ty.String(), s, err)
		}
		if !again.Equal(ty) || again.String() != ty.String() {
			t.Fatalf("round trip of %q: %q != %q", s, again.String(), ty.String())
		}
	})
}

func TestSmallHelpers(t *testing.T) {
	if !Float32Type.IsFloat() || !Float64Type.IsFloat() || Int64Type.IsFloat() || DecimalOf(5, 2).IsFloat() {
		t.Error("IsFloat")
	}
	for u, want := range map[TimeUnit]int64{Millisecond: 1e3, Microsecond: 1e6, Nanosecond: 1e9, TimeUnit(0): 0} {
		if got := u.PerSecond(); got != want {
			t.Errorf("%s.PerSecond() = %d, want %d", u, got, want)
		}
	}
	if got := TimestampOf(Millisecond, "UTC"); got.TZ != "" {
		t.Errorf("TimestampOf UTC keeps TZ %q", got.TZ)
	}
}
