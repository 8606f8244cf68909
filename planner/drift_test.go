package planner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// writeColumns writes a one-row Parquet file with the given columns; a
// column's type follows its Go value (int64, float64, string).
func writeColumns(t *testing.T, mem memory.Allocator, path string, cols []string, vals []any) {
	t.Helper()
	var fields []arrow.Field
	var arrs []arrow.Array
	for i, name := range cols {
		var a arrow.Array
		switch v := vals[i].(type) {
		case int64:
			b := array.NewInt64Builder(mem)
			b.Append(v)
			a = b.NewArray()
			b.Release()
		case float64:
			b := array.NewFloat64Builder(mem)
			b.Append(v)
			a = b.NewArray()
			b.Release()
		case string:
			b := array.NewStringBuilder(mem)
			b.Append(v)
			a = b.NewArray()
			b.Release()
		}
		fields = append(fields, arrow.Field{Name: name, Type: a.DataType(), Nullable: true})
		arrs = append(arrs, a)
	}
	sc := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(sc, arrs, 1)
	for _, a := range arrs {
		a.Release()
	}
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(parquet.WithAllocator(mem)), pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func driftWarningsOf(pp *PipelinePlan) []string {
	var out []string
	for _, w := range pp.Summary.Warnings {
		if strings.Contains(w, "schema drift") || strings.Contains(w, "Parquet footer") {
			out = append(out, w)
		}
	}
	return out
}

// plan reports, before any data moves, the drift it sees in the footers of
// the chosen inputs against a declared schema: a type that is not a safe
// widening, a missing column (grouped over files), an unreadable footer;
// safe widenings and extra fields are not drift.
func TestPlanReportsDriftDeclared(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	declared := &schema.Schema{Name: "s", Columns: []schema.Column{
		{Name: "order_id", Type: schema.Type{Kind: schema.String}, Nullable: true},
		{Name: "amount", Type: schema.Type{Kind: schema.Float64}, Nullable: true},
	}}
	for _, tc := range []struct {
		policy spec.SchemaChangePolicy
		want   []string
	}{
		{spec.SchemaChangeFail, []string{
			`schema drift: column "amount" is string in dt=2026-01-02/region=eu/c.parquet, declared float64 (on_schema_change = "fail": the run will stop before committing anything)`,
			`schema drift: column "amount" (float64) is not in 2 of 6 files (first dt=2026-01-03/region=eu/d.parquet) (on_schema_change = "fail": the run will stop before committing anything)`,
			`cannot read the Parquet footer of dt=2026-01-04/region=eu/f.parquet: `,
		}},
		{spec.SchemaChangeIgnore, []string{
			`schema drift: column "amount" is string in dt=2026-01-02/region=eu/c.parquet, declared float64 (on_schema_change = "ignore": every row of such a file is a bad record, so on_bad_record decides)`,
			`schema drift: column "amount" (float64) is not in 2 of 6 files (first dt=2026-01-03/region=eu/d.parquet) (on_schema_change = "ignore": read as null)`,
			`cannot read the Parquet footer of dt=2026-01-04/region=eu/f.parquet: `,
		}},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			f := newFixture(t, map[string]string{"dt=2026-01-04/region=eu/f.parquet": "PAR1 not really PAR1"}, func(p *spec.Pipeline) {
				p.Source.Format = spec.FormatParquet
				p.Source.Schema = declared
				p.Source.Where = nil
				p.Source.OnSchemaChange = tc.policy
			})
			dir := func(dt string) string { return filepath.Join(f.srcDir, "dt="+dt, "region=eu") }
			writeColumns(t, mem, filepath.Join(dir("2026-01-01"), "a.parquet"), []string{"order_id", "amount"}, []any{"o1", 1.5})
			// int64 → float64 is a safe widening; an extra field is projection.
			writeColumns(t, mem, filepath.Join(dir("2026-01-01"), "b.parquet"), []string{"order_id", "amount", "note"}, []any{"o2", int64(2), "x"})
			writeColumns(t, mem, filepath.Join(dir("2026-01-02"), "c.parquet"), []string{"order_id", "amount"}, []any{"o3", "three"})
			writeColumns(t, mem, filepath.Join(dir("2026-01-03"), "d.parquet"), []string{"order_id"}, []any{"o4"})
			writeColumns(t, mem, filepath.Join(dir("2026-01-03"), "e.parquet"), []string{"order_id"}, []any{"o5"})
			p, err := Build(context.Background(), f.cfg, Options{Footers: &parquetFooters{}, RunID: "r", DriftFooters: DefaultDriftFooters})
			if err != nil {
				t.Fatal(err)
			}
			got := driftWarningsOf(p.Pipelines[0])
			if len(got) != len(tc.want) {
				t.Fatalf("warnings:\n%s", strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("warning %d\n got %s\nwant %s…", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// For a schema inferred from the first footer, columns that later files
// add are reported; under add_columns they join the file and output
// schemas as nullable.
func TestPlanDriftInferredAddColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, policy := range []spec.SchemaChangePolicy{spec.SchemaChangeFail, spec.SchemaChangeAddColumns} {
		t.Run(policy.String(), func(t *testing.T) {
			f := newFixture(t, nil, func(p *spec.Pipeline) {
				p.Source.Format = spec.FormatParquet
				p.Source.Schema = nil
				p.Source.Where = nil
				p.Source.OnSchemaChange = policy
			})
			dir := filepath.Join(f.srcDir, "dt=2026-01-01", "region=eu")
			writeColumns(t, mem, filepath.Join(dir, "a.parquet"), []string{"order_id", "amount"}, []any{"o1", 1.5})
			writeColumns(t, mem, filepath.Join(dir, "b.parquet"), []string{"order_id", "amount", "coupon"}, []any{"o2", 2.5, "c"})
			p, err := Build(context.Background(), f.cfg, Options{Footers: &parquetFooters{}, RunID: "r", DriftFooters: DefaultDriftFooters})
			if err != nil {
				t.Fatal(err)
			}
			pp := p.Pipelines[0]
			got := strings.Join(driftWarningsOf(pp), "\n")
			var names []string
			for _, c := range pp.OutputSchema {
				names = append(names, c.Name)
			}
			if policy == spec.SchemaChangeAddColumns {
				want := `schema drift: column "coupon" (string) in dt=2026-01-01/region=eu/b.parquet is not in the schema inferred from the first file (on_schema_change = "add_columns": added to the output as nullable)`
				if got != want {
					t.Fatalf("warnings\n got %s\nwant %s", got, want)
				}
				last := pp.FileSchema[len(pp.FileSchema)-1]
				if last.Name != "coupon" || !last.Nullable || names[len(names)-1] != "coupon" {
					t.Fatalf("file schema %+v output %v", pp.FileSchema, names)
				}
				return
			}
			want := `schema drift: column "coupon" (string) in dt=2026-01-01/region=eu/b.parquet is not in the schema inferred from the first file (on_schema_change = "fail": not read; add_columns would add it)`
			if got != want {
				t.Fatalf("warnings\n got %s\nwant %s", got, want)
			}
			if strings.Contains(strings.Join(names, ","), "coupon") {
				t.Fatalf("coupon added under %s: %v", policy, names)
			}
		})
	}
}

func TestReadCompatible(t *testing.T) {
	ty := schema.MustParseType
	for _, tc := range []struct {
		file, want string
		ok         bool
	}{
		{"int32", "int64", true},
		{"int64", "float64", true},
		{"float32", "float64", true},
		{"int64", "int32", false},
		{"float64", "int64", false},
		{"string", "int64", false},
		{"timestamp(ms)", "timestamp(ms, Europe/Paris)", true},
		{"timestamp(ms)", "timestamp(us)", false},
		{"decimal(10, 2)", "decimal(12, 3)", true},
		{"decimal(10, 2)", "decimal(10, 3)", false},
		{"int32", "decimal(12, 2)", true},
		{"int64", "decimal(20, 2)", false},
		{"list(int32)", "list(int64)", true},
		{"struct(a int32, b string, c bool)", "struct(a int64, b string)", true},
		{"struct(b string, a int32)", "struct(a int64, b string)", false},
		{"struct(a int32)", "struct(a int64, b string)", false},
	} {
		if got := readCompatible(ty(tc.file), ty(tc.want)); got != tc.ok {
			t.Errorf("readCompatible(%s, %s) = %v, want %v", tc.file, tc.want, got, tc.ok)
		}
	}
}

// DriftFooters bounds the footers read, and says so; 0 turns it off.
func TestPlanDriftBounded(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f := newFixture(t, nil, func(p *spec.Pipeline) {
		p.Source.Format = spec.FormatParquet
		p.Source.Schema = &schema.Schema{Name: "s", Columns: []schema.Column{{Name: "amount", Type: schema.Type{Kind: schema.Int64}, Nullable: true}}}
		p.Source.Where = nil
	})
	dir := filepath.Join(f.srcDir, "dt=2026-01-01", "region=eu")
	for _, name := range []string{"a", "b", "c"} {
		writeColumns(t, mem, filepath.Join(dir, name+".parquet"), []string{"amount"}, []any{"x"})
	}
	for _, tc := range []struct {
		max   int
		reads int
		want  string
	}{
		{0, 0, ""},
		{2, 2, `schema drift: column "amount" is string in 2 of 2 files (first dt=2026-01-01/region=eu/a.parquet), declared int64 (on_schema_change = "fail": the run will stop before committing anything)` + "\n" +
			`schema drift was checked on the footers of the first 2 of 3 inputs; the run checks every file`},
	} {
		fr := &parquetFooters{}
		p, err := Build(context.Background(), f.cfg, Options{Footers: fr, RunID: "r", DriftFooters: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, w := range p.Pipelines[0].Summary.Warnings {
			if strings.Contains(w, "drift") {
				got = append(got, w)
			}
		}
		if strings.Join(got, "\n") != tc.want || fr.reads != tc.reads {
			t.Fatalf("max %d: %d reads, warnings:\n%s", tc.max, fr.reads, strings.Join(got, "\n"))
		}
	}
}

// A schemaless Parquet source whose columns are narrowed by projection
// pushdown (an output block, or select) reports only columns the inferred
// schema lacks, not those it does not read; and add_columns adds nothing
// to an output block's fixed columns.
func TestPlanDriftInferredWithOutputBlock(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f := newFixture(t, nil, func(p *spec.Pipeline) {
		p.Source.Format = spec.FormatParquet
		p.Source.Schema = nil
		p.Source.Where = nil
		p.Source.OnSchemaChange = spec.SchemaChangeAddColumns
		p.Output = &spec.Output{Rest: spec.RestDrop, Columns: []*spec.OutputColumn{{Name: "id", ExprText: "order_id"}}}
	})
	dir := filepath.Join(f.srcDir, "dt=2026-01-01", "region=eu")
	writeColumns(t, mem, filepath.Join(dir, "a.parquet"), []string{"order_id", "amount"}, []any{"o1", 1.5})
	writeColumns(t, mem, filepath.Join(dir, "b.parquet"), []string{"order_id", "amount", "coupon"}, []any{"o2", 2.5, "c"})
	p, err := Build(context.Background(), f.cfg, Options{Footers: &parquetFooters{}, RunID: "r", DriftFooters: DefaultDriftFooters})
	if err != nil {
		t.Fatal(err)
	}
	pp := p.Pipelines[0]
	got := strings.Join(driftWarningsOf(pp), "\n")
	want := `schema drift: column "coupon" (string) in dt=2026-01-01/region=eu/b.parquet is not in the schema inferred from the first file (not added: the output columns are fixed by select or an output block)`
	if got != want {
		t.Fatalf("warnings\n got %s\nwant %s", got, want)
	}
	if len(pp.OutputSchema) != 1 || len(pp.OutputExprs) != 1 || len(pp.FileSchema) != 1 || pp.FileSchema[0].Name != "order_id" {
		t.Fatalf("output %+v exprs %q file schema %+v", pp.OutputSchema, pp.OutputExprs, pp.FileSchema)
	}
}
