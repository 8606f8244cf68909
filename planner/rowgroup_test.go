package planner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// parquetFooters is a small real FooterReader over arrow-go's Parquet
// metadata (exec has the production one); it handles the int64, float64
// and string columns these tests write.
type parquetFooters struct{ reads int }

func (p *parquetFooters) ReadColumns(ctx context.Context, store objstore.Store, key string, size int64) ([]schema.Column, error) {
	f, err := p.ReadFooter(ctx, store, key, size)
	return f.Columns, err
}

func (p *parquetFooters) ReadFooter(ctx context.Context, store objstore.Store, key string, size int64) (Footer, error) {
	p.reads++
	rc, _, err := store.Get(ctx, key)
	if err != nil {
		return Footer{}, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return Footer{}, err
	}
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		return Footer{}, &UnreadableError{Key: key, Err: fmt.Errorf("%s: %w", key, err)}
	}
	defer r.Close()
	md := r.MetaData()
	var f Footer
	for i := 0; i < md.Schema.NumColumns(); i++ {
		c := md.Schema.Column(i)
		var k schema.Kind
		switch c.PhysicalType() {
		case parquet.Types.Double:
			k = schema.Float64
		case parquet.Types.Int64:
			k = schema.Int64
		case parquet.Types.ByteArray:
			k = schema.String
		default:
			return Footer{}, fmt.Errorf("%s: column %s: type %s not handled by this test reader", key, c.Name(), c.PhysicalType())
		}
		f.Columns = append(f.Columns, schema.Column{Name: c.Name(), Type: schema.Type{Kind: k}, Nullable: true})
	}
	for g := 0; g < md.NumRowGroups(); g++ {
		rg := md.RowGroup(g)
		st := RowGroupStats{Rows: rg.NumRows(), Bytes: rg.TotalCompressedSize()}
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				return Footer{}, err
			}
			cs := ColumnStats{Name: cc.PathInSchema().String()}
			ts, err := cc.Statistics()
			if err == nil && ts != nil {
				cs.HasNullCount, cs.NullCount = ts.HasNullCount(), ts.NullCount()
				if ts.HasMinMax() {
					switch x := ts.(type) {
					case *metadata.Int64Statistics:
						cs.HasMinMax, cs.Min, cs.Max = true, x.Min(), x.Max()
					case *metadata.Float64Statistics:
						cs.HasMinMax, cs.Min, cs.Max = true, x.Min(), x.Max()
					case *metadata.ByteArrayStatistics:
						cs.HasMinMax, cs.Min, cs.Max = true, string(x.Min()), string(x.Max())
					}
				}
			}
			st.Columns = append(st.Columns, cs)
		}
		f.RowGroups = append(f.RowGroups, st)
	}
	return f, nil
}

// writeParquet writes amounts as a float64 column "amount", groupRows rows
// per row group.
func writeParquet(t *testing.T, mem memory.Allocator, path string, amounts []float64, groupRows int64) {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.AppendValues(amounts, nil)
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(sc, []arrow.Array{col}, int64(len(amounts)))
	defer rec.Release()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(groupRows), parquet.WithStats(true), parquet.WithAllocator(mem))
	w, err := pqarrow.NewFileWriter(sc, &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
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

func seq(from, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(from + i)
	}
	return out
}

func TestRuleRowGroupPruning(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f := newFixture(t, nil, func(p *spec.Pipeline) {
		p.Source.Format = spec.FormatParquet
		p.Source.Where = compileWhere(t, "amount > 60", ordersSchema, p.Source.Partitions)
	})
	// a: groups 0..9 and 100..109; b: one group 50..59 (nothing matches).
	writeParquet(t, mem, filepath.Join(f.srcDir, "dt=2026-01-01/region=eu/a.parquet"), append(seq(0, 10), seq(100, 10)...), 10)
	writeParquet(t, mem, filepath.Join(f.srcDir, "dt=2026-01-01/region=eu/b.parquet"), seq(50, 10), 10)
	fr := &parquetFooters{}
	p, err := Build(context.Background(), f.cfg, Options{Footers: fr, RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	pp := p.Pipelines[0]
	if fr.reads != 2 {
		t.Fatalf("footer reads %d", fr.reads)
	}
	a, b := pp.Input(0), pp.Input(1)
	if fmt.Sprint(a.RowGroups) != "[1]" || a.NoRowGroups || !b.NoRowGroups {
		t.Fatalf("row groups a=%+v b=%+v", a, b)
	}
	// Both files stay inputs (so both are recorded as processed).
	if pp.NumInputs() != 2 {
		t.Fatalf("%d inputs", pp.NumInputs())
	}
	var fired string
	for _, r := range pp.Rules {
		if r.Rule == "row_group_pruning" {
			fired = r.Detail
		}
	}
	if fired != "row groups kept 1 of 3" {
		t.Fatalf("row_group_pruning trace %q", fired)
	}
	// The footers give a row estimate: the kept group's 10 rows.
	if scan := pp.Nodes[len(pp.Nodes)-1]; scan.Kind != "Scan" || scan.Estimates.Rows != 10 {
		t.Fatalf("scan node %+v", scan)
	}
	// A Parquet source without a schema takes its file schema from a footer.
	f.pipeline().Source.Schema = nil
	p, err = Build(context.Background(), f.cfg, Options{Footers: fr, RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if fs := p.Pipelines[0].FileSchema; len(fs) != 1 || fs[0].Name != "amount" || fs[0].Type.Kind != schema.Float64 {
		t.Fatalf("file schema from footer: %+v", fs)
	}
	if os := p.Pipelines[0].OutputSchema; len(os) != 3 || os[1].Name != "dt" || os[2].Name != "region" {
		t.Fatalf("output schema: %+v", os)
	}
	// Without a conjunct on statistics nothing is read or pruned.
	f.pipeline().Source.Schema = ordersSchema
	f.pipeline().Source.Where = nil
	fr.reads = 0
	p, err = Build(context.Background(), f.cfg, Options{Footers: fr, RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if fr.reads != 0 || p.Pipelines[0].Input(1).NoRowGroups {
		t.Fatalf("pruned without a predicate: %d reads", fr.reads)
	}
}

// A Parquet source without a schema has its where compiled against the
// footer's schema at plan time: pruning and the residual filter apply,
// and a where naming a column the files lack is a plan error.
func TestSchemalessParquetCompilesWhereFromFooter(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f := newFixture(t, nil, func(p *spec.Pipeline) {
		p.Source.Format = spec.FormatParquet
		p.Source.Schema = nil
		p.Source.Where = nil
		p.Source.WhereText = "amount > 60"
		p.Source.Exclude = []string{"**/0-junk.parquet"}
	})
	// The first key is excluded (and not Parquet at all): the schema must
	// come from the first file the listing keeps.
	if err := os.MkdirAll(filepath.Join(f.srcDir, "dt=2026-01-01/region=eu"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.srcDir, "dt=2026-01-01/region=eu/0-junk.parquet"), []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeParquet(t, mem, filepath.Join(f.srcDir, "dt=2026-01-01/region=eu/a.parquet"), append(seq(0, 10), seq(100, 10)...), 10)
	writeParquet(t, mem, filepath.Join(f.srcDir, "dt=2026-01-01/region=eu/b.parquet"), seq(50, 10), 10)
	p, err := Build(context.Background(), f.cfg, Options{Footers: &parquetFooters{}, RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	pp := p.Pipelines[0]
	if pp.Where != "amount > 60" {
		t.Fatalf("residual where %q", pp.Where)
	}
	if a, b := pp.Input(0), pp.Input(1); fmt.Sprint(a.RowGroups) != "[1]" || !b.NoRowGroups {
		t.Fatalf("row groups a=%+v b=%+v", a, b)
	}
	f.pipeline().Source.WhereText = "amonut > 60"
	if _, err := Build(context.Background(), f.cfg, Options{Footers: &parquetFooters{}, RunID: "r"}); err == nil || !strings.Contains(err.Error(), `unknown column "amonut"`) {
		t.Fatalf("want an unknown-column error, got %v", err)
	}
}
