package exec

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
	"github.com/sluicedata/sluice/tables"
)

// TestTransformsMatchIceberg computes partition values with sluice's
// vectorized transforms and with iceberg-go's reference Apply, value by
// value: readers prune with these values, so they must be the spec's.
func TestTransformsMatchIceberg(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ts := []int64{0, -1, 1_767_225_600_123_456, -86_400_000_001, 1_700_000_000_000_000, 253_402_300_799_000_000}
	days := []int32{0, -1, 20_454, -719_162, 19_000}
	ints := []int64{0, 1, -1, 34, 9_223_372_036_854_775_807, -9_223_372_036_854_775_808, 1_000_000}
	strs := []string{"", "a", "iceberg", "héllo wörld", "日本語テキスト"}

	tsArr := func() arrow.Array {
		b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"})
		defer b.Release()
		for _, v := range ts {
			b.Append(arrow.Timestamp(v))
		}
		b.AppendNull()
		return b.NewArray()
	}
	dateArr := func() arrow.Array {
		b := array.NewDate32Builder(mem)
		defer b.Release()
		for _, v := range days {
			b.Append(arrow.Date32(v))
		}
		return b.NewArray()
	}
	intArr := func() arrow.Array {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.AppendValues(ints, nil)
		return b.NewArray()
	}
	strArr := func() arrow.Array {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.AppendValues(strs, nil)
		return b.NewArray()
	}
	lit := func(a arrow.Array, i int) iceberg.Optional[iceberg.Literal] {
		if a.IsNull(i) {
			return iceberg.Optional[iceberg.Literal]{}
		}
		switch x := a.(type) {
		case *array.Timestamp:
			return iceberg.Optional[iceberg.Literal]{Valid: true, Val: iceberg.NewLiteral(iceberg.Timestamp(x.Value(i)))}
		case *array.Date32:
			return iceberg.Optional[iceberg.Literal]{Valid: true, Val: iceberg.NewLiteral(iceberg.Date(x.Value(i)))}
		case *array.Int64:
			return iceberg.Optional[iceberg.Literal]{Valid: true, Val: iceberg.NewLiteral(x.Value(i))}
		case *array.String:
			return iceberg.Optional[iceberg.Literal]{Valid: true, Val: iceberg.NewLiteral(x.Value(i))}
		}
		t.Fatalf("no literal for %T", a)
		return iceberg.Optional[iceberg.Literal]{}
	}
	for _, c := range []struct {
		f   spec.PartitionField
		in  func() arrow.Array
		ref iceberg.Transform
	}{
		{spec.PartitionField{Transform: spec.TransformDay}, tsArr, iceberg.DayTransform{}},
		{spec.PartitionField{Transform: spec.TransformHour}, tsArr, iceberg.HourTransform{}},
		{spec.PartitionField{Transform: spec.TransformMonth}, tsArr, iceberg.MonthTransform{}},
		{spec.PartitionField{Transform: spec.TransformYear}, tsArr, iceberg.YearTransform{}},
		{spec.PartitionField{Transform: spec.TransformMonth}, dateArr, iceberg.MonthTransform{}},
		{spec.PartitionField{Transform: spec.TransformYear}, dateArr, iceberg.YearTransform{}},
		{spec.PartitionField{Transform: spec.TransformBucket, Param: 16}, tsArr, iceberg.BucketTransform{NumBuckets: 16}},
		{spec.PartitionField{Transform: spec.TransformBucket, Param: 7}, dateArr, iceberg.BucketTransform{NumBuckets: 7}},
		{spec.PartitionField{Transform: spec.TransformBucket, Param: 1000}, intArr, iceberg.BucketTransform{NumBuckets: 1000}},
		{spec.PartitionField{Transform: spec.TransformBucket, Param: 3}, strArr, iceberg.BucketTransform{NumBuckets: 3}},
		{spec.PartitionField{Transform: spec.TransformTruncate, Param: 10}, intArr, iceberg.TruncateTransform{Width: 10}},
		{spec.PartitionField{Transform: spec.TransformTruncate, Param: 3}, strArr, iceberg.TruncateTransform{Width: 3}},
	} {
		in := c.in()
		fn, _, err := transformFn(c.f, in.DataType())
		if err != nil {
			t.Fatalf("%s of %s: %v", c.f.Transform, in.DataType(), err)
		}
		out, err := fn(in, mem)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < in.Len(); i++ {
			want := c.ref.Apply(lit(in, i))
			if out.IsNull(i) != !want.Valid {
				t.Errorf("%s row %d: null %v, want valid %v", c.ref, i, out.IsNull(i), want.Valid)
				continue
			}
			if out.IsNull(i) {
				continue
			}
			var got any
			switch x := out.(type) {
			case *array.Int32:
				got = x.Value(i)
			case *array.Date32:
				got = int32(x.Value(i))
			case *array.Int64:
				got = x.Value(i)
			case *array.String:
				got = x.Value(i)
			}
			var ref any = want.Val.Any()
			switch r := ref.(type) {
			case iceberg.Date:
				ref = int32(r)
			}
			if got != ref {
				t.Errorf("%s of %s row %d: got %v, iceberg-go %v", c.ref, in.DataType(), i, got, ref)
			}
		}
		out.Release()
		in.Release()
	}
}

// TestConform: output columns take the table's types (a millisecond
// timestamp becomes microseconds, an int32 a long) and keep their values.
func TestConform(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"})
	ms := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC).UnixMilli()
	b.Append(arrow.Timestamp(ms))
	b.AppendNull()
	a := b.NewArray()
	b.Release()
	defer a.Release()
	us := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	c, err := conform(ctx, a, us, false)
	if err != nil {
		t.Fatal(err)
	}
	if !arrow.TypeEqual(c.DataType(), us) || int64(c.(*array.Timestamp).Value(0)) != ms*1000 || !c.IsNull(1) {
		t.Fatalf("conformed %s %v", c.DataType(), c)
	}
	c.Release()

	lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int32)
	lb.Append(true)
	lb.ValueBuilder().(*array.Int32Builder).AppendValues([]int32{1, 2}, nil)
	l := lb.NewArray()
	lb.Release()
	defer l.Release()
	elem := arrow.Field{Name: "element", Type: arrow.PrimitiveTypes.Int64, Nullable: true, Metadata: arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{"7"})}
	c, err = conform(ctx, l, arrow.ListOfField(elem), false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	got := c.(*array.List)
	if f := got.DataType().(*arrow.ListType).ElemField(); f.Name != "element" || f.Metadata.Len() != 1 || got.ListValues().(*array.Int64).Value(1) != 2 {
		t.Fatalf("list conformed to %s: %v", got.DataType(), got)
	}
}

// TestTableJobFiles runs an iceberg sink's job: its files carry the
// table's field ids, keep the partition's source columns, lie in
// directories named by the partition fields, and report their exact
// partition values (a null apart from an empty string).
func TestTableJobFiles(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	l.put("dt=2026-01-01/a.json", `{"id":"a","amount":1,"ts":"2026-01-01T10:00:00Z"}`+"\n"+`{"id":"","amount":2,"ts":"2026-01-02T23:59:59.999Z"}`+"\n"+`{"amount":3}`+"\n", false)
	cols := append(append([]schema.Column(nil), orderCols...), schema.Column{Name: "ts", Type: schema.Type{Kind: schema.Timestamp, Unit: schema.Millisecond}, Nullable: true})
	parts := []spec.PartitionField{{Column: "id", Transform: spec.TransformIdentity}, {Column: "ts", Transform: spec.TransformDay}}
	cfg := &spec.Config{Dir: l.root, State: &spec.State{URL: filepath.Join(l.root, "state")}, Digest: "d",
		Catalogs: []*spec.Catalog{{Name: "c", Type: spec.CatalogSQL, URI: filepath.Join(l.root, "cat.db"), Warehouse: filepath.Join(l.root, "wh")}},
		Pipelines: []*spec.Pipeline{{
			Name: "p",
			Source: &spec.Source{Name: "s", URL: filepath.Join(l.root, "raw"), Format: spec.FormatJSON, Compression: spec.CompressionAuto,
				Schema: &schema.Schema{Name: "orders", Columns: cols}, Partitions: []string{"dt"},
				OnBadRecord: spec.BadRecordFail, OnChange: spec.ChangeIgnore, OnSchemaChange: spec.SchemaChangeFail, TaskBytes: 128 << 20},
			Sink: &spec.Sink{Name: "k", Format: spec.FormatIceberg, Compression: spec.CompressionSnappy, Catalog: "c", Table: "ns.t",
				PartitionBy: []string{"id", "day(ts)"}, Partitioning: parts, Mode: spec.ModeAppend, Committer: spec.CommitterAtomic,
				TargetFileSize: 128 << 20, RowGroupSize: 64 << 20},
		}}}
	plan, err := planner.Build(ctx, cfg, planner.Options{Tables: &tables.Opener{}})
	if err != nil {
		t.Fatal(err)
	}
	pp := plan.Pipelines[0]
	cat, err := (&tables.Opener{}).Open(ctx, pp.Table.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	tbl, err := cat.Prepare(ctx, pp.Want())
	if err != nil {
		t.Fatal(err)
	}
	ws, err := tbl.WriteSpec(pp.OutputSchema)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := objstore.Open(ctx, tbl.DataLocation())
	if err != nil {
		t.Fatal(err)
	}
	open := func(ctx context.Context, url string) (objstore.Location, error) { return objstore.Open(ctx, url) }
	job, err := JobFromPlan(ctx, plan.RunID, pp, open, WithSink(loc, &ws))
	if err != nil {
		t.Fatal(err)
	}
	mem := checked(t)
	res, err := Run(ctx, job, Options{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, f := range res.Files {
		if _, err := loc.Store.CompleteUpload(ctx, f.Upload); err != nil {
			t.Fatal(err)
		}
		id := "null"
		if f.Values[0] != nil {
			id = "'" + *f.Values[0] + "'"
		}
		day := "null"
		if f.Values[1] != nil {
			day = *f.Values[1]
		}
		got[f.PartitionPath+" "+id+" "+day] += f.Rows
		sc := fileSchema(t, loc.Store, f.Key, mem)
		for i, fld := range sc.Fields() {
			if id, ok := fld.Metadata.GetValue("PARQUET:field_id"); !ok || id != []string{"1", "2", "3", "4"}[i] {
				t.Errorf("%s: field %s id %q", f.Key, fld.Name, id)
			}
		}
		if sc.NumFields() != 4 || sc.Field(2).Name != "ts" || sc.Field(3).Name != "dt" {
			t.Errorf("%s: file columns %s", f.Key, sc)
		}
	}
	want := map[string]int64{
		"id=a/ts_day=2026-01-01/ 'a' 2026-01-01":                                     1,
		"id=__HIVE_DEFAULT_PARTITION__/ts_day=2026-01-02/ '' 2026-01-02":             1,
		"id=__HIVE_DEFAULT_PARTITION__/ts_day=__HIVE_DEFAULT_PARTITION__/ null null": 1,
	}
	if len(got) != len(want) {
		t.Fatalf("files %v", got)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d rows (all: %v)", k, got[k], got)
		}
	}
}

// fileSchema reads a Parquet file's Arrow schema (field ids in metadata).
func fileSchema(t *testing.T, st objstore.Store, key string, mem memory.Allocator) *arrow.Schema {
	t.Helper()
	rc, _, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
