package predicate

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/spec/schema"
)

func nestedEnv() Env {
	mt := schema.MustParseType
	return Env{
		Columns: []schema.Column{
			{Name: "id", Type: schema.Int64Type},
			{Name: "payload", Type: mt(`struct(user struct(id int64, country string, "first name" string), tags list(string), ts timestamp(ms))`)},
			{Name: "tags", Type: mt("list(string)")},
		},
		Partitions: []string{"dt"},
	}
}

func TestNestedCompile(t *testing.T) {
	tests := []struct {
		src, want string
		typ       schema.Type
		paths     []string
	}{
		{"payload.user.id > 3", "payload.user.id > 3", schema.Int64Type, []string{"payload.user.id"}},
		{"payload['user'][\"country\"] == 'FR' && id > 1", "payload.user.country == 'FR' && id > 1", schema.StringType, []string{"id", "payload.user.country"}},
		{"payload.user['first name'] == 'A'", "payload.user['first name'] == 'A'", schema.StringType, []string{"payload.user['first name']"}},
		{"payload.ts >= '2026-01-01'", "payload.ts >= '2026-01-01T00:00:00Z'", schema.MustParseType("timestamp(ms)"), []string{"payload.ts"}},
		{"payload.user.id == nil || dt == 'x'", "payload.user.id == nil || dt == 'x'", schema.Int64Type, []string{"payload.user.id"}},
	}
	for _, tt := range tests {
		p, errs := Compile(tt.src, nestedEnv())
		if len(errs) > 0 {
			t.Fatalf("Compile(%q): %v", tt.src, errs)
		}
		if got := p.Root.String(); got != tt.want {
			t.Errorf("Compile(%q) = %q, want %q", tt.src, got, tt.want)
		}
		var ref *ColumnRef
		walk(p.Root, func(x Expr) {
			if r, ok := x.(*ColumnRef); ok && ref == nil && len(r.Path) > 0 {
				ref = r
			}
		})
		if ref == nil || !reflect.DeepEqual(ref.ColType, tt.typ) {
			t.Errorf("Compile(%q): nested ref %v, want type %s", tt.src, ref, tt.typ)
		}
		var got []string
		for _, cp := range ColumnPaths(p.Root) {
			got = append(got, cp.String())
		}
		if !reflect.DeepEqual(got, tt.paths) {
			t.Errorf("ColumnPaths(%q) = %v, want %v", tt.src, got, tt.paths)
		}
		// The canonical text compiles back to the same tree.
		if p2, errs := Compile(p.Root.String(), nestedEnv()); len(errs) > 0 || p2.Root.String() != p.Root.String() {
			t.Errorf("round trip of %q: %v %v", p.Root.String(), errs, p2)
		}
		if !slices.Contains(p.Conjuncts[0].Columns, "payload") {
			t.Errorf("Compile(%q): conjunct columns %v", tt.src, p.Conjuncts[0].Columns)
		}
	}
}

func TestNestedCompileErrors(t *testing.T) {
	tests := []struct {
		src     string
		summary string
		detail  string
		at      string // the text the error points at
	}{
		{"payload.user.idd > 3", `struct payload.user has no field "idd"`, `Did you mean "id"?`, "idd"},
		{"payload.usr.id > 3", `struct payload has no field "usr"`, `Did you mean "user"?`, "usr"},
		{"payload.zzzzzz == 1", `struct payload has no field "zzzzzz"`, "Its fields: tags, ts, user.", "zzzzzz"},
		{"id.x == 1", `id is not a struct`, "id is int64", "id.x"},
		{"payload.user.id.x == 1", `payload.user.id is not a struct`, "", "payload.user.id.x"},
		{"payload.user == nil", `payload.user has nested type`, "", "payload.user"},
		{"payload == nil", `column "payload" has nested type`, "payload.user.id", "payload"},
		{"payload.tags == nil", `payload.tags has nested type list(string)`, "", "payload.tags"},
		{"tags[0] == 'a'", "indexing (a[i]) is not supported", "", "tags[0]"},
		{"dt.x == 'a'", `partition key "dt" has no field "x"`, "", "dt.x"},
		{"nope.x == 1", `unknown column "nope"`, "", "nope"},
		{"payload?.user.id == 1", "optional chaining", "", ""},
	}
	for _, tt := range tests {
		_, errs := Compile(tt.src, nestedEnv())
		if len(errs) == 0 {
			t.Errorf("Compile(%q): no error, want %q", tt.src, tt.summary)
			continue
		}
		e := errs[0]
		if !strings.Contains(e.Summary, tt.summary) || !strings.Contains(e.Detail, tt.detail) {
			t.Errorf("Compile(%q) = %q / %q, want %q / %q", tt.src, e.Summary, e.Detail, tt.summary, tt.detail)
		}
		if tt.at != "" {
			if got := tt.src[e.Span.Start:e.Span.End]; got != tt.at {
				t.Errorf("Compile(%q): error at %q, want %q", tt.src, got, tt.at)
			}
		}
	}
	// Syntax-only mode (schema from footers) accepts paths untyped.
	if errs := CheckSyntax("payload.user.id > 3"); len(errs) > 0 {
		t.Errorf("CheckSyntax: %v", errs)
	}
}

func TestNestedEval(t *testing.T) {
	p, errs := Compile("payload.user.id > 3 || payload.user.country == 'FR'", nestedEnv())
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		payload any
		want    any
	}{
		{map[string]any{"user": map[string]any{"id": int64(4)}}, true},
		{map[string]any{"user": map[string]any{"id": int64(1), "country": "FR"}}, true},
		{map[string]any{"user": map[string]any{"id": int64(1), "country": "DE"}}, false},
		{map[string]any{"user": map[string]any{"id": int64(1)}}, nil},
		{map[string]any{"user": nil}, nil}, // a null parent gives null children
		{nil, nil},
	}
	for _, tt := range tests {
		got, err := Eval(p.Root, func(name string) (any, bool) {
			if name == "payload" {
				return tt.payload, true
			}
			return nil, false
		})
		if err != nil || got != tt.want {
			t.Errorf("Eval(%v) = %v, %v; want %v", tt.payload, got, err, tt.want)
		}
	}
}
