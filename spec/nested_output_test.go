package spec

import (
	"strings"
	"testing"

	"github.com/sluicedata/sluice/spec/schema"
)

// TestFlattenExplodeItems: flatten replaces a kept struct by its fields
// (recursively) in place, explode retypes its column by the element, and
// a nested field is nullable even under a non-nullable struct.
func TestFlattenExplodeItems(t *testing.T) {
	mt := schema.MustParseType
	sh := NewSourceShape([]schema.Column{
		{Name: "id", Type: schema.Int64Type},
		{Name: "payload", Type: mt("struct(user struct(id int64, geo struct(lat float64)), tags list(string))")},
		{Name: "items", Type: mt("list(int64)"), Nullable: true},
		{Name: "n", Type: schema.Int32Type},
	}, nil, nil)
	o := &Output{Rest: RestKeep, Flatten: []string{"payload"}, Explode: "items",
		Columns: []*OutputColumn{{Name: "uid", ExprText: "payload.user.id"}}}
	co, diags := CompileOutput(o, sh)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var got []string
	for _, it := range co.Items {
		got = append(got, it.Name+" "+it.Column.Type.String()+map[bool]string{true: "?", false: ""}[it.Column.Nullable])
	}
	want := "uid int64?|id int64|payload_user_id int64?|payload_user_geo_lat float64?|payload_tags list(string)?|items int64?|n int32"
	if strings.Join(got, "|") != want {
		t.Errorf("items\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
}
