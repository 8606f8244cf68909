package write

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/spec"
)

var partSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "dt", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "v", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// partRows: region and dt cycle with period 5 and 2, so that a batch of
// them is interleaved (gather path) while a batch sorted by partition is
// made of long runs (slice path).
func partRow(i int) (dt *int32, region *string) {
	regions := []*string{ptr("eu"), ptr("us"), ptr("a/b=c%"), nil, ptr("")}
	dts := []*int32{ptr(int32(20455)), nil}
	return dts[i%2], regions[i%5]
}

func ptr[T any](v T) *T { return &v }

func partBatch(mem memory.Allocator, ids []int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, partSchema)
	defer b.Release()
	for _, i := range ids {
		dt, region := partRow(i)
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if dt == nil {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Date32Builder).Append(arrow.Date32(*dt))
		}
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("v%d", i))
		if region == nil {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.StringBuilder).Append(*region)
		}
	}
	return b.NewRecordBatch()
}

// expectedPath renders the partition of row i independently of the writer.
func expectedPath(i int) string {
	dt, region := partRow(i)
	d, r := hive.DefaultPartition, hive.DefaultPartition
	if dt != nil {
		d = "2026-01-02" // 20455 days after the epoch
	}
	if region != nil && *region != "" {
		r = strings.NewReplacer("/", "%2F", "=", "%3D", "%", "%25").Replace(*region)
	}
	return "dt=" + d + "/region=" + r + "/"
}

func TestPartitionedWrite(t *testing.T) {
	mem := checked(t)
	st := newStore(t)

	// Batch 1 interleaved (100 rows, runs of 1); batch 2 sorted by partition.
	var inter, sorted []int
	for i := 0; i < 100; i++ {
		inter = append(inter, i)
	}
	for i := 100; i < 400; i++ {
		sorted = append(sorted, i)
	}
	sort.SliceStable(sorted, func(a, b int) bool { return expectedPath(sorted[a]) < expectedPath(sorted[b]) })
	b1, b2 := partBatch(mem, inter), partBatch(mem, sorted)
	defer b1.Release()
	defer b2.Release()

	o := baseOptions(st, spec.FormatParquet, mem)
	o.PartitionBy = []string{"dt", "region"}
	files := writeAll(t, partSchema, o, b1, b2)

	want := map[string][]int64{}
	for _, i := range append(inter, sorted...) {
		p := expectedPath(i)
		want[p] = append(want[p], int64(i))
	}
	if len(files) != len(want) {
		t.Fatalf("%d files for %d partitions", len(files), len(want))
	}
	completeAll(t, st, files)
	for _, f := range files {
		if !strings.HasPrefix(f.Key, "out/"+f.PartitionPath+"part-") {
			t.Errorf("key %q does not sit under %q", f.Key, f.PartitionPath)
		}
		ids, ok := want[f.PartitionPath]
		if !ok {
			t.Errorf("unexpected partition %q", f.PartitionPath)
			continue
		}
		if got := hive.Dir(o.PartitionBy, []string{f.Partition["dt"], f.Partition["region"]}); got != f.PartitionPath {
			t.Errorf("Partition %v renders %q, file says %q", f.Partition, got, f.PartitionPath)
		}
		rec, pf := readParquet(t, st, f.Key, mem)
		if rec.NumCols() != 2 || rec.ColumnName(0) != "id" || rec.ColumnName(1) != "v" {
			t.Errorf("%s: columns %v: partition columns must be in the path only", f.Key, rec.Schema())
		}
		got := slices.Clone(rec.Column(0).(*array.Int64).Int64Values())
		if !slices.Equal(got, ids) || f.Rows != int64(len(ids)) {
			t.Errorf("%s: ids %v, want %v", f.Key, got, ids)
		}
		for r, id := range got {
			if v := rec.Column(1).(*array.String).Value(r); v != fmt.Sprintf("v%d", id) {
				t.Errorf("%s: row %d: v %q for id %d", f.Key, r, v, id)
			}
		}
		rec.Release()
		pf.Close()
	}
	// The escaped partition is where a reader expects it.
	if _, ok := want["dt=2026-01-02/region=a%2Fb%3Dc%25/"]; !ok {
		t.Fatal("test data lost its escaped partition")
	}
	if _, ok := want["dt="+hive.DefaultPartition+"/region="+hive.DefaultPartition+"/"]; !ok {
		t.Fatal("test data lost its null partition")
	}
}

func TestPartitionValueRendering(t *testing.T) {
	mem := checked(t)
	s := arrow.NewSchema([]arrow.Field{
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "u", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "America/New_York"}, Nullable: true},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 9, Scale: 2}, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	}, nil)
	rec, _, err := array.RecordFromJSON(mem, s, strings.NewReader(`[
	{"b": true, "i": -42, "u": 18446744073709551615, "f": 1.5, "d": "2026-03-04", "ts": "2026-01-02T05:00:00.250-05:00", "dec": "-12.30", "bin": "YS9i"},
	{"b": null, "i": null, "u": null, "f": null, "d": null, "ts": null, "dec": null, "bin": null}]`))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	want := [][]string{
		{"true", "-42", "18446744073709551615", "1.5", "2026-03-04", "2026-01-02 10:00:00.25", "-12.30", "a/b"},
		{hive.DefaultPartition, hive.DefaultPartition, hive.DefaultPartition, hive.DefaultPartition, hive.DefaultPartition, hive.DefaultPartition, hive.DefaultPartition, hive.DefaultPartition},
	}
	for c := 0; c < int(rec.NumCols()); c++ {
		col := newColumn(rec.Column(c))
		for r := range want {
			if got := col.render(r); got != want[r][c] {
				t.Errorf("%s row %d: %q, want %q", rec.ColumnName(c), r, got, want[r][c])
			}
		}
		if col.eq(0, 1) || !col.eq(1, 1) {
			t.Errorf("%s: eq wrong on null", rec.ColumnName(c))
		}
	}
}

func TestNewRejects(t *testing.T) {
	mem := checked(t)
	st := newStore(t)
	ctx := context.Background()
	for name, mod := range map[string]func(*Options){
		"missing partition column": func(o *Options) { o.PartitionBy = []string{"nope"} },
		"nested partition column":  func(o *Options) { o.PartitionBy = []string{"l"} },
		"csv with snappy":          func(o *Options) { o.Format = spec.FormatCSV; o.Compression = spec.CompressionSnappy },
		"parquet with bzip2":       func(o *Options) { o.Compression = spec.CompressionBzip2 },
		"prefix without slash":     func(o *Options) { o.Prefix = "out" },
		"no run id":                func(o *Options) { o.RunID = "" },
		"unknown format":           func(o *Options) { o.Format = 0 },
	} {
		o := baseOptions(st, spec.FormatParquet, mem)
		mod(&o)
		if _, err := New(ctx, mixedSchema, o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	// A batch of another schema is refused.
	w, err := New(ctx, partSchema, baseOptions(st, spec.FormatJSON, mem))
	if err != nil {
		t.Fatal(err)
	}
	rec := mixedBatch(t, mem)
	defer rec.Release()
	if err := w.Write(ctx, rec); err == nil {
		t.Error("Write accepted a batch of another schema")
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPartitionValueExported(t *testing.T) {
	mem := checked(t)
	b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Second})
	defer b.Release()
	b.Append(1767348000) // 2026-01-02 10:00:00 UTC
	b.AppendNull()
	a := b.NewArray()
	defer a.Release()
	if got := PartitionValue(a, 0); got != "2026-01-02 10:00:00" {
		t.Errorf("got %q", got)
	}
	if got := hive.Dir([]string{"ts"}, []string{PartitionValue(a, 1)}); got != "ts="+hive.DefaultPartition+"/" {
		t.Errorf("got %q", got)
	}
}

// FinishOpen ends the files open so far; later rows of the same partition
// go to a new file, and Close returns every file in finishing order.
func TestFinishOpen(t *testing.T) {
	mem := checked(t)
	st := newStore(t)
	ctx := context.Background()
	o := baseOptions(st, spec.FormatParquet, mem)
	o.PartitionBy = []string{"dt"}
	w, err := New(ctx, partSchema, o)
	if err != nil {
		t.Fatal(err)
	}
	b1, b2 := partBatch(mem, []int{0, 1, 2}), partBatch(mem, []int{4})
	defer b1.Release()
	defer b2.Release()
	if err := w.Write(ctx, b1); err != nil {
		t.Fatal(err)
	}
	if err := w.FinishOpen(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, b2); err != nil {
		t.Fatal(err)
	}
	files, err := w.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, fmt.Sprintf("%s%d", f.PartitionPath, f.Rows))
	}
	nullDt := "dt=" + hive.DefaultPartition + "/"
	if want := []string{"dt=2026-01-02/2", nullDt + "1", "dt=2026-01-02/1"}; !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if files[0].Key == files[2].Key {
		t.Fatalf("a partition's second file reuses the key %s", files[0].Key)
	}
	if err := w.FinishOpen(ctx); err == nil {
		t.Fatal("FinishOpen after Close: no error")
	}
	completeAll(t, st, files)
}

// Decimal partition values are rendered by hive.FormatDecimal; before it
// existed the writer used Arrow's ToString, and paths written then must be
// named the same now.
func TestDecimalRenderingMatchesArrow(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 5, -5, 50, -50, 1230, -1230, 123456789, -123456789, 1 << 62, -(1 << 62)} {
		for _, scale := range []int32{-3, -1, 0, 1, 2, 3, 9, 12, 20} {
			n128 := decimal128.FromI64(v)
			if got, want := hive.FormatDecimal(n128.BigInt(), scale), n128.ToString(scale); got != want {
				t.Errorf("decimal128 %d scale %d: %q, Arrow %q", v, scale, got, want)
			}
			n256 := decimal256.FromI64(v)
			if got, want := hive.FormatDecimal(n256.BigInt(), scale), n256.ToString(scale); got != want {
				t.Errorf("decimal256 %d scale %d: %q, Arrow %q", v, scale, got, want)
			}
		}
	}
}
