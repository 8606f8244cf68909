package spec

import (
	"strings"
	"testing"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

func colList(cs []schema.Column) string {
	var out []string
	for _, c := range cs {
		s := c.Name + ":" + c.Type.String()
		if !c.Nullable {
			s += "!"
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

func TestSourceShape(t *testing.T) {
	cols := []schema.Column{
		{Name: "id", Type: schema.Int64Type},
		{Name: "dt", Type: schema.DateType}, // types the partition key dt
		{Name: "amount", Type: schema.Float64Type, Nullable: true},
	}
	for _, c := range []struct {
		name                     string
		columns                  []schema.Column
		selected                 []string
		parts, files, out, check string
	}{
		{
			name: "every column", columns: cols,
			parts: "dt:date,region:string", files: "id:int64!,amount:float64",
			out:   "id:int64!,dt:date,amount:float64,region:string",
			check: "id:int64!,dt:date,amount:float64,region:string",
		},
		{
			name: "select leaves a key out", columns: cols, selected: []string{"amount", "dt"},
			parts: "dt:date,region:string", files: "id:int64!,amount:float64",
			out:   "amount:float64,dt:date",
			check: "amount:float64,dt:date",
		},
		{
			// A Parquet source before plan reads a footer: only the keys
			// can be typed.
			name: "columns unknown", columns: nil, selected: []string{"a", "dt"},
			parts: "dt:string,region:string", files: "",
			out: "dt:string", check: "dt:string",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			sh := NewSourceShape(c.columns, []string{"dt", "region"}, c.selected)
			if got := colList(sh.Partitions); got != c.parts {
				t.Errorf("partitions %s, want %s", got, c.parts)
			}
			if got := colList(sh.FileColumns); got != c.files {
				t.Errorf("file columns %s, want %s", got, c.files)
			}
			if got := colList(sh.Output()); got != c.out {
				t.Errorf("output %s, want %s", got, c.out)
			}
			if got := colList(sh.CheckColumns()); got != c.check {
				t.Errorf("check columns %s, want %s", got, c.check)
			}
		})
	}
}

// where compiles against the file columns and the typed keys; a conjunct
// over keys alone is partition-only.
func TestSourceShapePredicateEnv(t *testing.T) {
	sh := NewSourceShape([]schema.Column{{Name: "n", Type: schema.Int64Type}, {Name: "dt", Type: schema.DateType}}, []string{"dt", "region"}, nil)
	p, errs := predicate.Compile("dt >= '2026-01-01' && region == 'eu' && n > 0", sh.PredicateEnv())
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if !p.Conjuncts[0].PartitionOnly || !p.Conjuncts[1].PartitionOnly || p.Conjuncts[2].PartitionOnly {
		t.Errorf("partition-only flags: %+v", p.Conjuncts)
	}
	if _, errs := predicate.Compile("dt == 3", sh.PredicateEnv()); len(errs) == 0 {
		t.Error("dt compared with a number: the key is a date, want a type error")
	}
}
