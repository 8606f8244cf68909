package planner

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

var nestedSchema = &schema.Schema{Name: "events", Columns: []schema.Column{
	{Name: "id", Type: schema.Int64Type, Nullable: true},
	{Name: "payload", Type: schema.MustParseType("struct(user struct(id int64, country string, name string), items list(int64), note string)"), Nullable: true},
	{Name: "dt", Type: schema.DateType, Nullable: true},
}}

func TestRuleNestedProjection(t *testing.T) {
	tests := []struct {
		name, where, check string
		sel                []string
		fields             string // Scan.Fields; "" when the rule does not fire
		pruned             string // the payload type lowering decodes
	}{
		{name: "where reads two fields", where: "payload.user.id > 1 && payload.user.country == 'FR'", sel: []string{"id"},
			fields: "payload.user.country, payload.user.id", pruned: "struct(user struct(id int64, country string))"},
		{name: "a field and a sibling struct's field", where: "payload.user.id > 1 || payload.note == 'x'", sel: []string{"id"},
			fields: "payload.note, payload.user.id", pruned: "struct(user struct(id int64), note string)"},
		{name: "selected whole", where: "payload.user.id > 1", sel: []string{"id", "payload"}},
		{name: "no nested reads", where: "id > 1", sel: []string{"id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, func(p *spec.Pipeline) {
				p.Source.Schema = nestedSchema
				p.Source.Partitions = []string{"dt"}
				p.Source.Select = tt.sel
				p.Source.Where = compileWhere(t, tt.where, nestedSchema, p.Source.Partitions)
			})
			rc := &RuleContext{Ctx: context.Background(), Pipeline: f.pipeline()}
			n, _ := applyRule(t, rc, "projection_pushdown", LogicalPlan(f.pipeline()))
			n, changed := applyRule(t, rc, "nested_projection", n)
			s := FindScan(n)
			if got := fieldsText(s.Fields); got != tt.fields || changed != (tt.fields != "") {
				t.Fatalf("fields %q (changed %v), want %q", got, changed, tt.fields)
			}
			if tt.fields == "" {
				return
			}
			if d := s.Detail(); !strings.Contains(d, "fields read "+tt.fields) {
				t.Errorf("detail %q", d)
			}
			col, _ := s.Shape.Column("payload")
			if got := prunedColumn(col, s.Fields).Type.String(); got != tt.pruned {
				t.Errorf("pruned type %s, want %s", got, tt.pruned)
			}
		})
	}
}
