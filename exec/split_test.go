package exec

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// putRowGroups writes n rows of (id, amount) as a Parquet file of row
// groups of per rows each; amount is null in the rows listed in nulls.
func putRowGroups(t *testing.T, l *lake, key string, n, per int, nulls ...int) (Input, []byte) {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer rb.Release()
	for i := 0; i < n; i++ {
		rb.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("r%05d", i))
		if slices.Contains(nulls, i) {
			rb.Field(1).AppendNull()
			continue
		}
		rb.Field(1).(*array.Int64Builder).Append(int64(i))
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	data := writeParquetWith(t, rec, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(per)),
		parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDictionaryDefault(false)))
	info, err := l.src.Store.Put(context.Background(), key, data, objstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return Input{Key: key, Size: info.Size, ETag: info.ETag}, data
}

func splitFrom(t *testing.T, size int64) {
	old := SplitParquetAbove
	SplitParquetAbove = size
	t.Cleanup(func() { SplitParquetAbove = old })
}

// A file that is the run's only task is read by as many tasks as there are
// workers, each taking whole row groups; together they write every row
// once, and the file counts once.
func TestLargeParquetSplitAcrossWorkers(t *testing.T) {
	splitFrom(t, 0)
	ctx := context.Background()
	l := newLake(t)
	in, _ := putRowGroups(t, l, "dt=1/big.parquet", 10000, 1000)
	in.Partition = []any{"1"}
	job := orderJob(t, l, "amount % 3 != 0", []Task{{Index: 0, Inputs: []Input{in}}})
	job.Source.Format = spec.FormatParquet

	r, err := newRunner(job, Options{Parallelism: 3})
	if err != nil {
		t.Fatal(err)
	}
	tasks := r.splitTasks(ctx)
	var got []string
	for _, task := range tasks {
		p := task.Inputs[0]
		got = append(got, fmt.Sprintf("task %d: part %d/%d groups %v", task.Index, p.Part, p.Parts, p.RowGroups))
	}
	want := []string{
		"task 0: part 0/3 groups [0 1 2 3]",
		"task 1: part 1/3 groups [4 5 6]",
		"task 2: part 2/3 groups [7 8 9]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("split\n got %q\nwant %q", got, want)
	}

	res, err := Run(ctx, job, Options{Alloc: checked(t), Parallelism: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.FilesRead != 1 || res.Stats.BytesRead != in.Size || res.Stats.RowsIn != 10000 || len(res.Files) != 3 {
		t.Fatalf("stats %+v, %d files", res.Stats, len(res.Files))
	}
	commit(t, l, res, nil)
	rows := l.readOutput()
	var expect []string
	for i := 0; i < 10000; i++ {
		if i%3 != 0 {
			expect = append(expect, fmt.Sprintf("1|r%05d|%d", i, i))
		}
	}
	slices.Sort(expect)
	if !slices.Equal(rows, expect) {
		t.Fatalf("output: %d rows, want %d", len(rows), len(expect))
	}

	// Below the size, or with every worker busy, tasks run as planned.
	splitFrom(t, in.Size+1)
	if n := len(r.splitTasks(ctx)); n != 1 {
		t.Fatalf("%d tasks for a file under SplitParquetAbove", n)
	}
	splitFrom(t, 0)
	r.o.Parallelism = 1
	if n := len(r.splitTasks(ctx)); n != 1 {
		t.Fatalf("%d tasks with one worker", n)
	}
}

// A part of a split file that cannot be read stops the run even under
// on_bad_record = "skip": other parts have read the rest of the file, so
// skipping the part would keep half of it.
func TestSplitPartFailureStopsTheRun(t *testing.T) {
	splitFrom(t, 0)
	ctx := context.Background()
	l := newLake(t)
	in, data := putRowGroups(t, l, "dt=1/big.parquet", 4000, 1000)
	in.Partition = []any{"1"}
	// Break the last row group's first column chunk (its data, not the
	// footer, so the split still happens).
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := pf.MetaData().RowGroup(3).ColumnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	off := cc.DataPageOffset()
	for i := off; i < off+cc.TotalCompressedSize(); i++ {
		data[i] = 0xff
	}
	info, err := l.src.Store.Put(ctx, in.Key, data, objstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in.Size, in.ETag = info.Size, info.ETag
	job := orderJob(t, l, "", []Task{{Index: 0, Inputs: []Input{in}}})
	job.Source.Format = spec.FormatParquet
	job.Source.OnBadRecord = spec.BadRecordSkip
	_, err = Run(ctx, job, Options{Alloc: checked(t), Parallelism: 2})
	if err == nil || !strings.Contains(err.Error(), "part 2 of the 2 it was split into") {
		t.Fatalf("err = %v", err)
	}
	if rows := l.readOutput(); len(rows) != 0 {
		t.Fatalf("%d rows visible after a failed run", len(rows))
	}
}

// A bad record in a later part of a split file is reported at its row in
// the file, not among the rows its part read.
func TestSplitPartReportsFileRows(t *testing.T) {
	splitFrom(t, 0)
	ctx := context.Background()
	l := newLake(t)
	in, _ := putRowGroups(t, l, "dt=1/big.parquet", 4000, 1000, 3500)
	in.Partition = []any{"1"}
	job := orderJob(t, l, "", []Task{{Index: 0, Inputs: []Input{in}}})
	job.Source.Format = spec.FormatParquet
	job.Source.OnBadRecord = spec.BadRecordQuarantine
	fields := job.Source.FileSchema.Fields()
	fields[1].Nullable = false // amount is required: its one null is a bad record
	job.Source.FileSchema = arrow.NewSchema(fields, nil)
	res, err := Run(ctx, job, Options{Alloc: checked(t), Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.BadRecords != 1 || res.Stats.RowsOut != 3999 {
		t.Fatalf("stats %+v", res.Stats)
	}
	commit(t, l, res, nil)
	bad, _ := filepath.Glob(filepath.Join(l.root, "out", "_sluice", "bad", "*", "*.jsonl"))
	var lines []string
	for _, f := range bad {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.TrimSpace(string(b)))
	}
	if len(lines) != 1 || !strings.Contains(lines[0], `"row":3501`) || !strings.Contains(lines[0], `"column":"amount"`) {
		t.Fatalf("quarantined %q, want row 3501 of the file", lines)
	}
}

func TestSplitRowGroupsBalances(t *testing.T) {
	cases := []struct {
		sizes []int64
		n     int
		want  string
	}{
		{[]int64{1, 1, 1, 1}, 2, "[[0 1] [2 3]]"},
		{[]int64{10, 1, 1, 1}, 2, "[[0] [1 2 3]]"},
		{[]int64{1, 1, 1, 10}, 2, "[[0 1 2] [3]]"},
		{[]int64{5, 5}, 4, "[[0] [1]]"},
		{[]int64{1, 1, 1, 1, 1}, 3, "[[0 1] [2 3] [4]]"},
		{[]int64{100, 1, 1}, 3, "[[0] [1] [2]]"},
		{[]int64{7}, 2, "[]"},
	}
	for _, c := range cases {
		groups := make([]int, len(c.sizes))
		for i := range groups {
			groups[i] = i
		}
		got := fmt.Sprint(cutBySize(groups, c.sizes, c.n))
		if got != c.want {
			t.Errorf("cutBySize(%v, %d) = %s, want %s", c.sizes, c.n, got, c.want)
		}
	}
}

// Idle workers are shared among several large files, and small files and
// multi-file tasks are left as planned.
func TestSplitSharesIdleWorkers(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	a, _ := putRowGroups(t, l, "dt=1/a.parquet", 6000, 1000)
	b, _ := putRowGroups(t, l, "dt=1/b.parquet", 6000, 1000)
	small, _ := putRowGroups(t, l, "dt=1/c.parquet", 10, 10)
	splitFrom(t, small.Size+1)
	for _, in := range []*Input{&a, &b, &small} {
		in.Partition = []any{"1"}
	}
	job := orderJob(t, l, "", []Task{{Index: 0, Inputs: []Input{a}}, {Index: 1, Inputs: []Input{small}}, {Index: 2, Inputs: []Input{b}}})
	job.Source.Format = spec.FormatParquet
	r, err := newRunner(job, Options{Parallelism: 8})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, task := range r.splitTasks(ctx) {
		p := task.Inputs[0]
		got = append(got, fmt.Sprintf("%d:%s:%d/%d", task.Index, p.Key[5:6], p.Part, p.Parts))
	}
	// 5 idle workers for 2 large files: a gets 3 more parts, b 2.
	want := []string{"0:a:0/4", "3:a:1/4", "4:a:2/4", "5:a:3/4", "1:c:0/0", "2:b:0/3", "6:b:1/3", "7:b:2/3"}
	if !slices.Equal(got, want) {
		t.Fatalf("tasks\n got %v\nwant %v", got, want)
	}
}
