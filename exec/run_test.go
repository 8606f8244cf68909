package exec

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/txn"
)

// lake is a local source and sink for executor tests.
type lake struct {
	t        *testing.T
	root     string
	src, out objstore.Location
}

func newLake(t *testing.T) *lake {
	root := t.TempDir()
	return &lake{t: t, root: root,
		src: objstore.Location{Store: objstore.NewLocal(filepath.Join(root, "raw"))},
		out: objstore.Location{Store: objstore.NewLocal(filepath.Join(root, "out"))},
	}
}

func (l *lake) put(rel, body string, gz bool) Input {
	l.t.Helper()
	data := []byte(body)
	if gz {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(data)
		w.Close()
		data = b.Bytes()
	}
	info, err := l.src.Store.Put(context.Background(), rel, data, objstore.PutOptions{})
	if err != nil {
		l.t.Fatal(err)
	}
	return Input{Key: rel, Size: info.Size, ETag: info.ETag}
}

var orderCols = []schema.Column{
	{Name: "id", Type: schema.Type{Kind: schema.String}, Nullable: true},
	{Name: "amount", Type: schema.Type{Kind: schema.Int64}, Nullable: true},
}

func orderJob(t *testing.T, l *lake, where string, tasks []Task) *Job {
	t.Helper()
	env := predicate.Env{Columns: append(append([]schema.Column(nil), orderCols...),
		schema.Column{Name: "dt", Type: schema.Type{Kind: schema.String}, Nullable: true}), Partitions: []string{"dt"}}
	job := &Job{
		Pipeline: "p", RunID: "20260101T000000Z-abcdef",
		Source: SourceSpec{Name: "s", Loc: l.src, Format: spec.FormatJSON, Compression: spec.CompressionAuto,
			FileSchema:      arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "amount", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil),
			PartitionFields: []arrow.Field{{Name: "dt", Type: arrow.BinaryTypes.String, Nullable: true}},
			OnBadRecord:     spec.BadRecordFail},
		Sink: SinkSpec{Name: "k", Loc: l.out, Columns: []string{"id", "amount", "dt"}, Format: spec.FormatParquet,
			Compression: spec.CompressionSnappy, PartitionBy: []string{"dt"}, Mode: spec.ModeAppend, Committer: spec.CommitterAtomic,
			TargetFileSize: 128 << 20, RowGroupSize: 64 << 20},
		Tasks: tasks,
	}
	if where != "" {
		p, errs := predicate.Compile(where, env)
		if len(errs) > 0 {
			t.Fatalf("compile %q: %v", where, errs)
		}
		job.Filter = p
	}
	return job
}

// readOutput reads every visible parquet file under the sink as "dt|id|amount" rows, sorted.
func (l *lake) readOutput() []string {
	l.t.Helper()
	var rows []string
	root := filepath.Join(l.root, "out")
	filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || !strings.HasSuffix(path, ".parquet") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if strings.HasPrefix(rel, ".") || strings.HasPrefix(rel, "_") {
			return nil
		}
		dt := strings.TrimPrefix(strings.Split(rel, "/")[0], "dt=")
		f, err := os.Open(path)
		if err != nil {
			l.t.Fatal(err)
		}
		defer f.Close()
		pf, err := file.NewParquetReader(f)
		if err != nil {
			l.t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			l.t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			l.t.Fatal(err)
		}
		defer tbl.Release()
		tr := array.NewTableReader(tbl, 1024)
		defer tr.Release()
		for tr.Next() {
			rec := tr.RecordBatch()
			for i := 0; i < int(rec.NumRows()); i++ {
				rows = append(rows, fmt.Sprintf("%s|%s|%s", dt, rec.Column(0).ValueStr(i), rec.Column(1).ValueStr(i)))
			}
		}
		return nil
	})
	sort.Strings(rows)
	return rows
}

func checked(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func TestRunCommitAppend(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	a := l.put("dt=2026-01-01/a.json", `{"id":"a1","amount":5}`+"\n"+`{"id":"a2","amount":-1}`+"\n", false)
	a.Partition = []any{"2026-01-01"}
	b := l.put("dt=2026-01-02/b.json.gz", `{"id":"b1","amount":7,"extra":[1,2]}`+"\n\n"+`{"id":"b2"}`+"\n", true)
	b.Partition = []any{"2026-01-02"}
	job := orderJob(t, l, "amount > 0 || amount == nil", []Task{{Index: 0, Inputs: []Input{a}}, {Index: 1, Inputs: []Input{b}}})
	job.Checks = []CheckSpec{{Name: "has_id", Expr: mustCompile(t, "id != nil", job), Severity: spec.SeverityError, MinRows: -1},
		{Name: "rows", MinRows: 3, Severity: spec.SeverityError}}

	res, err := Run(ctx, job, Options{Alloc: checked(t), Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.readOutput(); len(got) != 0 {
		t.Fatalf("outputs visible before commit: %v", got)
	}
	if res.ChecksFailed() {
		t.Fatalf("checks failed: %+v", res.Checks)
	}
	st := state.New(objstore.NewLocal(filepath.Join(l.root, "state")), "", "p", "s")
	m := commit(t, l, res, st)
	want := []string{"2026-01-01|a1|5", "2026-01-02|b1|7", "2026-01-02|b2|(null)"}
	if got := l.readOutput(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("output rows\n got %v\nwant %v", got, want)
	}
	if res.Stats.RowsIn != 4 || res.Stats.RowsOut != 3 || res.Stats.FilesRead != 2 {
		t.Fatalf("stats %+v", res.Stats)
	}
	if m.Inputs.Files != 2 || len(m.Files) != 2 {
		t.Fatalf("manifest %+v", m)
	}
	body, _, err := l.out.Store.Get(ctx, txn.ManifestKey("", job.RunID))
	if err != nil {
		t.Fatal(err)
	}
	var back txn.Manifest
	if err := json.NewDecoder(body).Decode(&back); err != nil {
		t.Fatal(err)
	}
	body.Close()
	if back.RunID != job.RunID || metrics(t, &back).RowsOut != 3 {
		t.Fatalf("manifest read back: %+v", back)
	}
	head, _, err := st.Head(ctx)
	if err != nil || head.Version != 1 {
		t.Fatalf("state head %+v, %v", head, err)
	}
}

func mustCompile(t *testing.T, src string, job *Job) *predicate.Predicate {
	t.Helper()
	var cols []schema.Column
	for _, name := range job.Sink.Columns {
		typ := schema.Type{Kind: schema.String}
		if name == "amount" {
			typ = schema.Type{Kind: schema.Int64}
		}
		cols = append(cols, schema.Column{Name: name, Type: typ, Nullable: true})
	}
	p, errs := predicate.Compile(src, predicate.Env{Columns: cols})
	if len(errs) > 0 {
		t.Fatalf("compile %q: %v", src, errs)
	}
	return p
}

func TestCheckFailureAndAbortLeaveNothing(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	a := l.put("dt=x/a.json", `{"id":null,"amount":5}`+"\n", false)
	a.Partition = []any{"x"}
	job := orderJob(t, l, "", []Task{{Inputs: []Input{a}}})
	job.Checks = []CheckSpec{{Name: "has_id", Expr: mustCompile(t, "id != nil", job), Severity: spec.SeverityError, MinRows: -1}}
	res, err := Run(ctx, job, Options{Alloc: checked(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.ChecksFailed() || res.Checks[0].Failing != 1 || len(res.Checks[0].Examples) != 1 {
		t.Fatalf("check result %+v", res.Checks)
	}
	if err := AbortResult(ctx, res); err != nil {
		t.Fatal(err)
	}
	if got := l.readOutput(); len(got) != 0 {
		t.Fatalf("outputs after abort: %v", got)
	}
	ups, err := l.out.Store.ListUploads(ctx, "")
	if err != nil || len(ups) != 0 {
		t.Fatalf("pending uploads after abort: %v %v", ups, err)
	}
}

func TestBadRecordPolicies(t *testing.T) {
	ctx := context.Background()
	for _, policy := range []spec.BadRecordPolicy{spec.BadRecordFail, spec.BadRecordSkip, spec.BadRecordQuarantine} {
		t.Run(policy.String(), func(t *testing.T) {
			l := newLake(t)
			a := l.put("dt=x/a.json", `{"id":"ok1","amount":1}`+"\n"+`{"id":"bad","amount":"twelve"}`+"\n"+`{"id":"ok2","amount":2}`+"\n", false)
			a.Partition = []any{"x"}
			trunc := l.put("dt=x/b.json.gz", "", false)
			// A gzip stream cut in half: a whole-file failure.
			var gz bytes.Buffer
			w := gzip.NewWriter(&gz)
			io.WriteString(w, strings.Repeat(`{"id":"t","amount":3}`+"\n", 200))
			w.Close()
			info, _ := l.src.Store.Put(ctx, "dt=x/b.json.gz", gz.Bytes()[:gz.Len()/2], objstore.PutOptions{})
			trunc.Size, trunc.ETag, trunc.Partition = info.Size, info.ETag, []any{"x"}
			job := orderJob(t, l, "", []Task{{Inputs: []Input{a, trunc}}})
			job.Source.OnBadRecord = policy
			res, err := Run(ctx, job, Options{Alloc: checked(t)})
			if policy == spec.BadRecordFail {
				if err == nil || !strings.Contains(err.Error(), "dt=x/a.json:2") || !strings.Contains(err.Error(), `"amount"`) {
					t.Fatalf("want an error naming key, line and column, got %v", err)
				}
				if ups, _ := l.out.Store.ListUploads(ctx, ""); len(ups) != 0 {
					t.Fatalf("pending uploads left after a failed run: %v", ups)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Stats.BadRecords != 1 || res.Stats.BadFiles != 1 || res.Stats.RowsOut != 2 {
				t.Fatalf("stats %+v", res.Stats)
			}
			m := commit(t, l, res, nil)
			if got := l.readOutput(); strings.Join(got, ",") != "x|ok1|1,x|ok2|2" {
				t.Fatalf("rows %v", got)
			}
			if policy == spec.BadRecordQuarantine {
				if len(m.Quarantine) != 1 {
					t.Fatalf("manifest quarantine %v", m.Quarantine)
				}
				rc, _, err := l.out.Store.Get(ctx, m.Quarantine[0])
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(rc)
				rc.Close()
				lines := strings.Split(strings.TrimSpace(string(data)), "\n")
				if len(lines) != 2 || !strings.Contains(lines[0], `"line":2`) || !strings.Contains(lines[0], `twelve`) || !strings.Contains(lines[1], "b.json.gz") {
					t.Fatalf("quarantine content:\n%s", data)
				}
			}
		})
	}
}

func TestOverwritePartitionsReplacesOnlyItsPartitions(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	// Old outputs in two partitions, and sluice's own objects.
	for _, k := range []string{"dt=1/old.parquet", "dt=2/old.parquet", "_sluice/commits/x.manifest"} {
		if _, err := l.out.Store.Put(ctx, k, []byte("old"), objstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	a := l.put("dt=1/a.json", `{"id":"n","amount":1}`+"\n", false)
	a.Partition = []any{"1"}
	job := orderJob(t, l, "", []Task{{Inputs: []Input{a}}})
	job.Sink.Mode = spec.ModeOverwritePartitions
	res, err := Run(ctx, job, Options{Alloc: checked(t)})
	if err != nil {
		t.Fatal(err)
	}
	m := commit(t, l, res, nil)
	if strings.Join(m.Deleted, ",") != "dt=1/old.parquet" {
		t.Fatalf("deleted %v", m.Deleted)
	}
	for key, want := range map[string]bool{"dt=1/old.parquet": false, "dt=2/old.parquet": true, "_sluice/commits/x.manifest": true} {
		_, err := l.out.Store.Head(ctx, key)
		if (err == nil) != want {
			t.Fatalf("%s exists=%v, want %v", key, err == nil, want)
		}
	}
}

// A task whose inputs run through several partitions of the sink's leading
// partition key finishes each partition's file when the inputs move on, so
// it holds one partition's buffers at a time; inputs that come back to a
// partition only cost one more file, never a row.
func TestTaskFinishesPartitionsAsInputsMoveOn(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	var ins []Input
	for i, dt := range []string{"1", "1", "2", "3", "1"} {
		in := l.put(fmt.Sprintf("dt=%s/%d.json", dt, i), fmt.Sprintf(`{"id":"r%d","amount":%d}`+"\n", i, i), false)
		in.Partition = []any{dt}
		ins = append(ins, in)
	}
	job := orderJob(t, l, "", []Task{{Index: 0, Inputs: ins}})
	res, err := Run(ctx, job, Options{Alloc: checked(t), Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Files {
		got = append(got, fmt.Sprintf("%s%d", f.PartitionPath, f.Rows))
	}
	// In finishing order: dt=1 (two inputs) when dt=2 starts, dt=2, dt=3,
	// then the returning dt=1 input's own file at the end.
	if want := "dt=1/2,dt=2/1,dt=3/1,dt=1/1"; strings.Join(got, ",") != want {
		t.Fatalf("files %v, want %s", got, want)
	}
	commit(t, l, res, nil)
	want := []string{"1|r0|0", "1|r1|1", "1|r4|4", "2|r2|2", "3|r3|3"}
	if got := l.readOutput(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("output rows\n got %v\nwant %v", got, want)
	}

	// partition_by that does not lead the source's keys keeps every file
	// open until the task ends (one file per partition).
	l2 := newLake(t)
	var ins2 []Input
	for i, dt := range []string{"1", "2", "1"} {
		in := l2.put(fmt.Sprintf("dt=%s/%d.json", dt, i), fmt.Sprintf(`{"id":"r%d","amount":%d}`+"\n", i, i), false)
		in.Partition = []any{dt}
		ins2 = append(ins2, in)
	}
	job2 := orderJob(t, l2, "", []Task{{Index: 0, Inputs: ins2}})
	job2.Sink.PartitionBy = []string{"id"}
	if n := leadingPartitions(job2); n != 0 {
		t.Fatalf("leadingPartitions = %d for partition_by id", n)
	}
	res2, err := Run(ctx, job2, Options{Alloc: checked(t), Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Files) != 3 {
		t.Fatalf("%d files, want one per id", len(res2.Files))
	}
	if err := AbortResult(ctx, res2); err != nil {
		t.Fatal(err)
	}
}

// max_record_bytes reaches the decoder: a longer line is a bad record
// whose quarantined raw text is a bounded prefix marked truncated, and the
// lines around it commit.
func TestMaxRecordBytesQuarantinesTruncated(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	long := `{"id":"` + strings.Repeat("x", 5000) + `","amount":1}`
	a := l.put("dt=x/a.json", `{"id":"ok1","amount":1}`+"\n"+long+"\n"+`{"id":"ok2","amount":2}`+"\n", false)
	a.Partition = []any{"x"}
	job := orderJob(t, l, "", []Task{{Inputs: []Input{a}}})
	job.Source.OnBadRecord = spec.BadRecordQuarantine
	job.Source.MaxRecordBytes = 1000
	res, err := Run(ctx, job, Options{Alloc: checked(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.BadRecords != 1 || res.Stats.RowsOut != 2 {
		t.Fatalf("stats %+v", res.Stats)
	}
	m := commit(t, l, res, nil)
	rc, _, err := l.out.Store.Get(ctx, m.Quarantine[0])
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	var bl struct {
		Line      int64  `json:"line"`
		Raw       string `json:"raw"`
		Truncated bool   `json:"truncated"`
	}
	if err := json.Unmarshal(data, &bl); err != nil {
		t.Fatal(err)
	}
	if bl.Line != 2 || !bl.Truncated || len(bl.Raw) >= len(long) || !strings.HasPrefix(long, bl.Raw) {
		t.Fatalf("quarantined %d bytes, truncated %v, line %d", len(bl.Raw), bl.Truncated, bl.Line)
	}
}
