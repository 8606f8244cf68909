package exec

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/exec/arrowtype"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// driftCols is the declared schema of the drift tests.
var driftCols = []schema.Column{
	{Name: "id", Type: schema.Type{Kind: schema.String}, Nullable: true},
	{Name: "amount", Type: schema.Type{Kind: schema.Int64}, Nullable: true},
	{Name: "score", Type: schema.Type{Kind: schema.Float64}, Nullable: true},
}

// parquetFile writes one Parquet object whose columns are built by cols
// (name → builder filler), in order, with rows rows.
func putParquet(t *testing.T, l *lake, key string, fields []arrow.Field, fill func(rb *array.RecordBuilder)) Input {
	t.Helper()
	rb := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer rb.Release()
	fill(rb)
	rec := rb.NewRecordBatch()
	defer rec.Release()
	info, err := l.src.Store.Put(context.Background(), key, writeParquet(t, rec), objstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return Input{Key: key, Size: info.Size, ETag: info.ETag}
}

// driftInputs are the three files of the drift tests:
//
//	a.parquet  amount int32 and score int64, both required: safe widenings
//	b.parquet  amount is a string: not a widening
//	c.parquet  no amount column at all
func driftInputs(t *testing.T, l *lake) (a, b, c Input) {
	a = putParquet(t, l, "a.parquet", []arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: arrow.PrimitiveTypes.Int32},
		{Name: "score", Type: arrow.PrimitiveTypes.Int64},
	}, func(rb *array.RecordBuilder) {
		rb.Field(0).(*array.StringBuilder).AppendValues([]string{"a1", "a2"}, nil)
		rb.Field(1).(*array.Int32Builder).AppendValues([]int32{1, 2}, nil)
		rb.Field(2).(*array.Int64Builder).AppendValues([]int64{10, 20}, nil)
	})
	b = putParquet(t, l, "b.parquet", []arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, func(rb *array.RecordBuilder) {
		rb.Field(0).(*array.StringBuilder).Append("b1")
		rb.Field(1).(*array.StringBuilder).Append("twelve")
		rb.Field(2).(*array.Float64Builder).Append(1.5)
	})
	c = putParquet(t, l, "c.parquet", []arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "extra", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, func(rb *array.RecordBuilder) {
		rb.Field(0).(*array.StringBuilder).Append("c1")
		rb.Field(1).(*array.Float64Builder).Append(2.5)
		rb.Field(2).(*array.Int64Builder).Append(7)
	})
	return a, b, c
}

func driftJob(l *lake, cols []schema.Column, format spec.Format, inputs []Input, bad spec.BadRecordPolicy, change spec.SchemaChangePolicy) *Job {
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	return &Job{
		Pipeline: "p", RunID: "20260101T000000Z-drift0",
		Source: SourceSpec{Name: "s", Loc: l.src, Format: format, Compression: spec.CompressionAuto,
			FileSchema:  arrowtype.ArrowSchema(cols),
			CSV:         spec.CSVOptions{Header: true, Delimiter: ',', Quote: '"', NullValues: []string{""}},
			OnBadRecord: bad, OnSchemaChange: change},
		Sink: SinkSpec{Name: "k", Loc: l.out, Columns: names, Format: spec.FormatParquet,
			Compression: spec.CompressionSnappy, Mode: spec.ModeAppend, Committer: spec.CommitterAtomic,
			TargetFileSize: 128 << 20, RowGroupSize: 64 << 20},
		Tasks: []Task{{Inputs: inputs}},
	}
}

var changePolicies = []spec.SchemaChangePolicy{spec.SchemaChangeFail, spec.SchemaChangeAddColumns, spec.SchemaChangeIgnore}

// Safe widenings (int32 → int64, integer → float64, required → nullable)
// are accepted under every policy, values intact.
func TestSchemaDriftSafeWideningsUnderEveryPolicy(t *testing.T) {
	for _, policy := range changePolicies {
		t.Run(policy.String(), func(t *testing.T) {
			l := newLake(t)
			a, _, _ := driftInputs(t, l)
			res, err := Run(context.Background(), driftJob(l, driftCols, spec.FormatParquet, []Input{a}, spec.BadRecordFail, policy), Options{Alloc: checked(t)})
			if err != nil {
				t.Fatal(err)
			}
			commit(t, l, res, nil)
			if got := strings.Join(readRows(t, l), ","); got != "a1|1|10,a2|2|20" {
				t.Fatalf("rows %s", got)
			}
		})
	}
}

// on_schema_change = "fail" stops the run before anything is committed,
// whatever on_bad_record says (drift is not a bad record), naming the key,
// the column, the file's type and the declared one.
func TestSchemaDriftFailStops(t *testing.T) {
	for _, bad := range []spec.BadRecordPolicy{spec.BadRecordFail, spec.BadRecordSkip, spec.BadRecordQuarantine} {
		for _, tc := range []struct {
			name string
			pick func(a, b, c Input) []Input
			want string
		}{
			{"type", func(a, b, c Input) []Input { return []Input{a, b} },
				`schema drift (on_schema_change = "fail"): b.parquet: column "amount": file type utf8, expected int64`},
			{"missing", func(a, b, c Input) []Input { return []Input{a, c} },
				`schema drift (on_schema_change = "fail"): c.parquet: column "amount": not in the file (expected int64)`},
		} {
			t.Run(bad.String()+"/"+tc.name, func(t *testing.T) {
				ctx := context.Background()
				l := newLake(t)
				a, b, c := driftInputs(t, l)
				_, err := Run(ctx, driftJob(l, driftCols, spec.FormatParquet, tc.pick(a, b, c), bad, spec.SchemaChangeFail), Options{Alloc: checked(t)})
				if err == nil || err.Error() != tc.want {
					t.Fatalf("error\n got %v\nwant %s", err, tc.want)
				}
				assertNothingLeft(t, l)
			})
		}
	}
}

func assertNothingLeft(t *testing.T, l *lake) {
	t.Helper()
	if ups, err := l.out.Store.ListUploads(context.Background(), ""); err != nil || len(ups) != 0 {
		t.Fatalf("pending uploads left: %v %v", ups, err)
	}
	if rows := readRows(t, l); len(rows) != 0 {
		t.Fatalf("rows visible: %v", rows)
	}
}

// on_schema_change = "ignore": a missing declared column reads as null; a
// column of another type makes the object's rows bad records, so
// on_bad_record decides and nothing is lost silently.
func TestSchemaDriftIgnore(t *testing.T) {
	ctx := context.Background()
	t.Run("quarantine", func(t *testing.T) {
		l := newLake(t)
		a, b, c := driftInputs(t, l)
		res, err := Run(ctx, driftJob(l, driftCols, spec.FormatParquet, []Input{a, b, c}, spec.BadRecordQuarantine, spec.SchemaChangeIgnore), Options{Alloc: checked(t)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Stats.BadFiles != 1 || res.Stats.BadRecords != 0 || res.Stats.RowsOut != 3 {
			t.Fatalf("stats %+v", res.Stats)
		}
		m := commit(t, l, res, nil)
		if got := strings.Join(readRows(t, l), ","); got != "a1|1|10,a2|2|20,c1|(null)|2.5" {
			t.Fatalf("rows %s", got)
		}
		if len(m.Quarantine) != 1 {
			t.Fatalf("quarantine %v", m.Quarantine)
		}
		rc, _, err := l.out.Store.Get(ctx, m.Quarantine[0])
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		want := `{"key":"b.parquet","column":"amount","reason":"file type utf8, expected int64: every row of the object skipped","raw":""}` + "\n"
		if string(data) != want {
			t.Fatalf("quarantine\n got %s\nwant %s", data, want)
		}
	})
	t.Run("fail", func(t *testing.T) {
		l := newLake(t)
		a, b, _ := driftInputs(t, l)
		_, err := Run(ctx, driftJob(l, driftCols, spec.FormatParquet, []Input{a, b}, spec.BadRecordFail, spec.SchemaChangeIgnore), Options{Alloc: checked(t)})
		want := `on_bad_record = "fail": bad record: b.parquet: column "amount": file type utf8, expected int64: every row of the object skipped`
		if err == nil || err.Error() != want {
			t.Fatalf("error\n got %v\nwant %s", err, want)
		}
		assertNothingLeft(t, l)
	})
}

// add_columns reads a column missing from a file as null (the planner adds
// columns seen in newer footers to an inferred schema) but never accepts a
// column of another type.
func TestSchemaDriftAddColumns(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	a, _, c := driftInputs(t, l)
	cols := append(append([]schema.Column(nil), driftCols...), schema.Column{Name: "extra", Type: schema.Type{Kind: schema.Int64}, Nullable: true})
	res, err := Run(ctx, driftJob(l, cols, spec.FormatParquet, []Input{a, c}, spec.BadRecordFail, spec.SchemaChangeAddColumns), Options{Alloc: checked(t)})
	if err != nil {
		t.Fatal(err)
	}
	commit(t, l, res, nil)
	if got := strings.Join(readRows(t, l), ","); got != "a1|1|10|(null),a2|2|20|(null),c1|(null)|2.5|7" {
		t.Fatalf("rows %s", got)
	}

	l = newLake(t)
	a, b, _ := driftInputs(t, l)
	_, err = Run(ctx, driftJob(l, driftCols, spec.FormatParquet, []Input{a, b}, spec.BadRecordSkip, spec.SchemaChangeAddColumns), Options{Alloc: checked(t)})
	want := `schema drift (on_schema_change = "add_columns"): b.parquet: column "amount": file type utf8, expected int64`
	if err == nil || err.Error() != want {
		t.Fatalf("error\n got %v\nwant %s", err, want)
	}
	assertNothingLeft(t, l)
}

// A CSV header that lacks a declared column is drift, not a bad record:
// under fail it stops the run even with on_bad_record = "skip"; under
// ignore and add_columns the column reads as null and nothing is counted.
func TestSchemaDriftCSVHeader(t *testing.T) {
	ctx := context.Background()
	for _, policy := range changePolicies {
		t.Run(policy.String(), func(t *testing.T) {
			l := newLake(t)
			in := l.put("a.csv", "id,amt\nx1,1\n", false)
			cols := driftCols[:2]
			res, err := Run(ctx, driftJob(l, cols, spec.FormatCSV, []Input{in}, spec.BadRecordSkip, policy), Options{Alloc: checked(t)})
			if policy == spec.SchemaChangeFail {
				want := `schema drift (on_schema_change = "fail"): a.csv: column "amount": not in the file (expected int64)`
				if err == nil || err.Error() != want {
					t.Fatalf("error\n got %v\nwant %s", err, want)
				}
				assertNothingLeft(t, l)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Stats.BadRecords != 0 || res.Stats.BadFiles != 0 || res.Stats.RowsOut != 1 {
				t.Fatalf("stats %+v", res.Stats)
			}
			if err := AbortResult(ctx, res); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// add_columns end to end: a Parquet source without a schema is typed from
// its first file's footer; plan sees a later file add a column, warns, and
// adds it as nullable; the run reads it as null from the first file.
func TestSchemaDriftAddColumnsFromPlan(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	// Required columns in the first file: the added column must not make
	// older files unreadable, and nullability only widens.
	putParquet(t, l, "a0.parquet", []arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: arrow.PrimitiveTypes.Int64},
	}, func(rb *array.RecordBuilder) {
		rb.Field(0).(*array.StringBuilder).Append("a1")
		rb.Field(1).(*array.Int64Builder).Append(1)
	})
	putParquet(t, l, "c.parquet", []arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "extra", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, func(rb *array.RecordBuilder) {
		rb.Field(0).(*array.StringBuilder).Append("c1")
		rb.Field(1).(*array.Float64Builder).Append(2.5)
		rb.Field(2).(*array.Int64Builder).Append(7)
	})
	cfg := &spec.Config{Dir: l.root, State: &spec.State{URL: filepath.Join(l.root, "state")}, Digest: "d", Pipelines: []*spec.Pipeline{{
		Name: "p",
		Source: &spec.Source{Name: "s", URL: filepath.Join(l.root, "raw"), Format: spec.FormatParquet, Compression: spec.CompressionAuto,
			OnBadRecord: spec.BadRecordFail, OnChange: spec.ChangeIgnore, OnSchemaChange: spec.SchemaChangeAddColumns, TaskBytes: 128 << 20},
		Sink: &spec.Sink{Name: "k", URL: filepath.Join(l.root, "out"), Format: spec.FormatParquet, Compression: spec.CompressionSnappy,
			Mode: spec.ModeAppend, Committer: spec.CommitterAtomic, TargetFileSize: 128 << 20, RowGroupSize: 64 << 20},
	}}}
	plan, err := planner.Build(ctx, cfg, planner.Options{Footers: Footers{}, RunID: "20260101T000000Z-addcol", DriftFooters: planner.DefaultDriftFooters})
	if err != nil {
		t.Fatal(err)
	}
	pp := plan.Pipelines[0]
	var warned []string
	for _, w := range pp.Summary.Warnings {
		if strings.Contains(w, "drift") {
			warned = append(warned, w)
		}
	}
	want := []string{
		`schema drift: column "amount" (int64) is not in c.parquet (on_schema_change = "add_columns": read as null)`,
		`schema drift: column "score" (float64) in c.parquet is not in the schema inferred from the first file (on_schema_change = "add_columns": added to the output as nullable)`,
		`schema drift: column "extra" (int64) in c.parquet is not in the schema inferred from the first file (on_schema_change = "add_columns": added to the output as nullable)`,
	}
	if strings.Join(warned, "\n") != strings.Join(want, "\n") {
		t.Fatalf("warnings\n got %s\nwant %s", strings.Join(warned, "\n"), strings.Join(want, "\n"))
	}
	job, err := JobFromPlan(ctx, plan.RunID, pp, func(ctx context.Context, url string) (objstore.Location, error) { return objstore.Open(ctx, url) })
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, job, Options{Alloc: checked(t)})
	if err != nil {
		t.Fatal(err)
	}
	commit(t, l, res, nil)
	if got := strings.Join(readRows(t, l), ","); got != "a1|1|(null)|(null),c1|(null)|2.5|7" {
		t.Fatalf("rows %s", got)
	}
}

// A null in a column declared not nullable is a bad record for Parquet as
// for text (the writer would otherwise store it as a zero): from an
// optional file column, and from a column missing under ignore.
func TestRequiredColumnNullsAreBadRecords(t *testing.T) {
	ctx := context.Background()
	cols := append([]schema.Column(nil), driftCols...)
	cols[1].Nullable = false
	setup := func(t *testing.T) (*lake, []Input) {
		l := newLake(t)
		_, _, c := driftInputs(t, l)
		d := putParquet(t, l, "d.parquet", []arrow.Field{
			{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "amount", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		}, func(rb *array.RecordBuilder) {
			rb.Field(0).(*array.StringBuilder).AppendValues([]string{"d1", "d2", "d3"}, nil)
			rb.Field(1).(*array.Int64Builder).AppendValues([]int64{1, 0, 3}, []bool{true, false, true})
			rb.Field(2).(*array.Float64Builder).AppendValues([]float64{1, 2, 3}, nil)
		})
		return l, []Input{c, d}
	}
	t.Run("quarantine", func(t *testing.T) {
		l, inputs := setup(t)
		res, err := Run(ctx, driftJob(l, cols, spec.FormatParquet, inputs, spec.BadRecordQuarantine, spec.SchemaChangeIgnore), Options{Alloc: checked(t)})
		if err != nil {
			t.Fatal(err)
		}
		m := commit(t, l, res, nil)
		if got := strings.Join(readRows(t, l), ","); got != "d1|1|1,d3|3|3" {
			t.Fatalf("rows %s", got)
		}
		rc, _, err := l.out.Store.Get(ctx, m.Quarantine[0])
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		want := `{"key":"c.parquet","row":1,"column":"amount","reason":"no value (the column is missing or all null in the file) in a column declared not nullable","raw":""}` + "\n" +
			`{"key":"d.parquet","row":2,"column":"amount","reason":"null in a column declared not nullable","raw":""}` + "\n"
		if string(data) != want || res.Stats.BadRecords != 2 {
			t.Fatalf("stats %+v quarantine\n got %s\nwant %s", res.Stats, data, want)
		}
	})
	t.Run("fail", func(t *testing.T) {
		l, inputs := setup(t)
		_, err := Run(ctx, driftJob(l, cols, spec.FormatParquet, inputs[1:], spec.BadRecordFail, spec.SchemaChangeFail), Options{Alloc: checked(t)})
		want := `on_bad_record = "fail": bad record: d.parquet row 2: column "amount": null in a column declared not nullable`
		if err == nil || err.Error() != want {
			t.Fatalf("error\n got %v\nwant %s", err, want)
		}
		assertNothingLeft(t, l)
	})
}
