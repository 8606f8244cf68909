package exec

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"golang.org/x/tools/txtar"

	"github.com/sluicedata/sluice/exec/arrowtype"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/txn"
)

var update = flag.Bool("update", false, "rewrite the want/* sections of exec/testdata/bad/*.txtar")

// The bad-input corpus: each exec/testdata/bad/*.txtar is one case, run
// under the three on_bad_record policies through Run and Commit on the
// local store. Sections:
//
//	schema            optional: "name type" per line, "name!" when not nullable
//	                  (default: id string, amount int64)
//	input/KEY         an input object, verbatim
//	gen/KEY           an input object built by the generator named on its
//	                  first line from the rest (see genInput): binary inputs
//	                  (truncated gzip, broken Parquet, huge lines) are made here
//	                  rather than checked in
//	good              hand-written: every good row of the inputs, sorted, as
//	                  the output must hold them ("|"-joined ValueStr);
//	                  asserted under skip and quarantine (no good row is lost)
//	on_schema_change  optional: "ignore" (default fail)
//	want/fail         golden: the error under on_bad_record = "fail"
//	want/skip         golden: the counts under skip (and the manifest's)
//	want/quarantine   golden: the exact quarantine JSON lines
//
// `go test ./exec -run TestBadInputCorpus -update` rewrites the want/*
// sections; the good section is never rewritten, so a lost row always fails.
func TestBadInputCorpus(t *testing.T) {
	paths, err := filepath.Glob("testdata/bad/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c := parseCase(t, ar)
			got := map[string]string{
				"want/fail":       c.run(t, spec.BadRecordFail),
				"want/skip":       c.run(t, spec.BadRecordSkip),
				"want/quarantine": c.run(t, spec.BadRecordQuarantine),
			}
			if *update {
				writeWants(t, path, ar, got)
				return
			}
			for _, name := range []string{"want/fail", "want/skip", "want/quarantine"} {
				want, ok := section(ar, name)
				if !ok {
					t.Errorf("%s: no %s section (run with -update)", path, name)
					continue
				}
				if got[name] != want {
					t.Errorf("%s mismatch\n--- got\n%s--- want\n%s", name, got[name], want)
				}
			}
		})
	}
}

type badCase struct {
	cols   []schema.Column
	format spec.Format
	inputs []corpusInput
	good   string
	// schemaChange is on_schema_change: fail unless the case says ignore.
	schemaChange spec.SchemaChangePolicy
}

type corpusInput struct {
	key  string
	data []byte
}

func section(ar *txtar.Archive, name string) (string, bool) {
	for _, f := range ar.Files {
		if f.Name == name {
			return string(f.Data), true
		}
	}
	return "", false
}

func parseCase(t *testing.T, ar *txtar.Archive) *badCase {
	t.Helper()
	c := &badCase{schemaChange: spec.SchemaChangeFail, cols: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.String}, Nullable: true},
		{Name: "amount", Type: schema.Type{Kind: schema.Int64}, Nullable: true},
	}}
	for _, f := range ar.Files {
		switch {
		case f.Name == "schema":
			c.cols = nil
			for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
				name, typ, _ := strings.Cut(line, " ")
				ty, err := schema.ParseType(typ)
				if err != nil {
					t.Fatalf("schema %q: %v", line, err)
				}
				required := strings.HasSuffix(name, "!")
				c.cols = append(c.cols, schema.Column{Name: strings.TrimSuffix(name, "!"), Type: ty, Nullable: !required})
			}
		case strings.HasPrefix(f.Name, "input/"):
			c.inputs = append(c.inputs, corpusInput{key: strings.TrimPrefix(f.Name, "input/"), data: f.Data})
		case strings.HasPrefix(f.Name, "gen/"):
			gen, rest, _ := strings.Cut(string(f.Data), "\n")
			c.inputs = append(c.inputs, corpusInput{key: strings.TrimPrefix(f.Name, "gen/"), data: genInput(t, gen, rest)})
		case f.Name == "good":
			c.good = string(f.Data)
		case f.Name == "on_schema_change":
			if strings.TrimSpace(string(f.Data)) != "ignore" {
				t.Fatalf("on_schema_change: only ignore is supported here, got %q", f.Data)
			}
			c.schemaChange = spec.SchemaChangeIgnore
		}
	}
	sort.Slice(c.inputs, func(i, j int) bool { return c.inputs[i].key < c.inputs[j].key })
	switch ext := c.inputs[0].key; {
	case strings.Contains(ext, ".csv"):
		c.format = spec.FormatCSV
	case strings.Contains(ext, ".parquet"):
		c.format = spec.FormatParquet
	default:
		c.format = spec.FormatJSON
	}
	return c
}

// genInput builds a binary input:
//
//	gzip-truncated     gzip of rest, cut to half its length (mid-stream)
//	expand             rest with every {{CHAR*N}} replaced by N copies of CHAR
//	parquet            a Parquet file of rest's "id|amount" rows
//	parquet-zero-footer  that, with its footer's metadata bytes zeroed
//	                   (length and magic intact)
//	parquet-footer-past-end  that, with the footer length set past the file
func genInput(t testing.TB, gen, rest string) []byte {
	t.Helper()
	switch gen {
	case "gzip-truncated":
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		io.WriteString(w, rest)
		w.Close()
		return b.Bytes()[:b.Len()/2]
	case "expand":
		return []byte(expand(t, rest))
	case "parquet", "parquet-zero-footer", "parquet-footer-past-end":
		data := parquetOf(t, rest)
		n := len(data)
		footerLen := int(binary.LittleEndian.Uint32(data[n-8 : n-4]))
		switch gen {
		case "parquet-zero-footer":
			clear(data[n-8-footerLen : n-8])
		case "parquet-footer-past-end":
			binary.LittleEndian.PutUint32(data[n-8:n-4], uint32(n*4))
		}
		return data
	}
	t.Fatalf("unknown generator %q", gen)
	return nil
}

func expand(t testing.TB, s string) string {
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], "}}")
		ch, count, ok := strings.Cut(s[i+2:i+j], "*")
		n, err := strconv.Atoi(count)
		if !ok || err != nil {
			t.Fatalf("bad expansion %q", s[i:i+j+2])
		}
		s = s[:i] + strings.Repeat(ch, n) + s[i+j+2:]
	}
}

// parquetOf writes "id|amount" lines (amount empty = null) as Parquet.
func parquetOf(t testing.TB, rows string) []byte {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer rb.Release()
	for _, line := range strings.Split(strings.TrimSpace(rows), "\n") {
		id, amount, _ := strings.Cut(line, "|")
		rb.Field(0).(*array.StringBuilder).Append(id)
		if amount == "" {
			rb.Field(1).AppendNull()
		} else {
			v, err := strconv.ParseInt(amount, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			rb.Field(1).(*array.Int64Builder).Append(v)
		}
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	return writeParquet(t, rec)
}

func writeParquet(t testing.TB, rec arrow.RecordBatch) []byte {
	t.Helper()
	return writeParquetWith(t, rec, parquet.NewWriterProperties())
}

// writeParquetWith encodes rec as one Parquet file with props.
func writeParquetWith(t testing.TB, rec arrow.RecordBatch, props *parquet.WriterProperties) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// badJob is a one-task job over the case's inputs, written unpartitioned
// as Parquet with every declared column.
func (c *badCase) job(t *testing.T, l *lake, policy spec.BadRecordPolicy) *Job {
	t.Helper()
	var inputs []Input
	for _, in := range c.inputs {
		info, err := l.src.Store.Put(context.Background(), in.key, in.data, objstore.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, Input{Key: in.key, Size: info.Size, ETag: info.ETag})
	}
	var names []string
	for _, col := range c.cols {
		names = append(names, col.Name)
	}
	csv := spec.CSVOptions{Header: true, Delimiter: ',', Quote: '"', NullValues: []string{""}}
	return &Job{
		Pipeline: "p", RunID: "20260101T000000Z-bad000",
		Source: SourceSpec{Name: "s", Loc: l.src, Format: c.format, Compression: spec.CompressionAuto,
			FileSchema: arrowtype.ArrowSchema(c.cols), CSV: csv,
			OnBadRecord: policy, OnSchemaChange: c.schemaChange},
		Sink: SinkSpec{Name: "k", Loc: l.out, Columns: names, Format: spec.FormatParquet,
			Compression: spec.CompressionSnappy, Mode: spec.ModeAppend, Committer: spec.CommitterAtomic,
			TargetFileSize: 128 << 20, RowGroupSize: 64 << 20},
		Tasks: []Task{{Inputs: inputs}},
	}
}

// run runs the case under policy and renders what the corpus asserts.
func (c *badCase) run(t *testing.T, policy spec.BadRecordPolicy) string {
	t.Helper()
	ctx := context.Background()
	l := newLake(t)
	job := c.job(t, l, policy)
	st := state.New(objstore.NewLocal(filepath.Join(l.root, "state")), "", "p", "s")
	res, err := Run(ctx, job, Options{Alloc: checked(t), FetchConcurrency: 2})
	if policy == spec.BadRecordFail {
		if err == nil {
			if res.Stats.BadRecords+res.Stats.BadFiles != 0 {
				t.Fatalf("fail: no error but %+v", res.Stats)
			}
			// A case may be entirely good under fail (e.g. CRLF): then it
			// must commit every row like the other policies.
			c.commitAndCheck(t, l, res, st)
			return "no error\n"
		}
		if ups, _ := l.out.Store.ListUploads(ctx, ""); len(ups) != 0 {
			t.Fatalf("fail: pending uploads left: %v", ups)
		}
		if rows := readRows(t, l); len(rows) != 0 {
			t.Fatalf("fail: rows visible: %v", rows)
		}
		return err.Error() + "\n"
	}
	if err != nil {
		t.Fatalf("%s: %v", policy, err)
	}
	m := c.commitAndCheck(t, l, res, st)
	if metrics(t, m).BadRecords != res.Stats.BadRecords || metrics(t, m).BadFiles != res.Stats.BadFiles {
		t.Fatalf("manifest metrics %+v, run stats %+v", metrics(t, m), res.Stats)
	}
	// Every input, bad or not, is marked processed (not retried forever).
	head, _, err := st.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := st.AllEntries(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(c.inputs) {
		t.Fatalf("%d inputs marked processed, want %d: %v", len(entries), len(c.inputs), entries)
	}
	if policy == spec.BadRecordSkip {
		if len(m.Quarantine) != 0 {
			t.Fatalf("skip wrote quarantine %v", m.Quarantine)
		}
		s := res.Stats
		return fmt.Sprintf("files_read=%d bad_files=%d rows_in=%d bad_records=%d rows_out=%d\n",
			s.FilesRead, s.BadFiles, s.RowsIn, s.BadRecords, s.RowsOut)
	}
	var out strings.Builder
	for _, key := range m.Quarantine {
		if !strings.HasPrefix(key, "_sluice/bad/"+job.RunID+"/") || !strings.HasSuffix(key, ".jsonl") {
			t.Fatalf("quarantine key %q outside _sluice/bad/<run id>/*.jsonl", key)
		}
		rc, _, err := l.out.Store.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		out.Write(data)
	}
	if n := int64(strings.Count(out.String(), "\n")); n != res.Stats.BadRecords+res.Stats.BadFiles {
		t.Fatalf("%d quarantine lines for %+v", n, res.Stats)
	}
	return out.String()
}

func (c *badCase) commitAndCheck(t *testing.T, l *lake, res *Result, st *state.Bookmarks) *txn.Manifest {
	t.Helper()
	m := commit(t, l, res, st)
	got := strings.Join(readRows(t, l), "\n") + "\n"
	if strings.TrimSpace(got) == "" {
		got = ""
	}
	if got != c.good {
		t.Fatalf("output rows (policy %s)\n--- got\n%s--- want (good section)\n%s", res.Job.Source.OnBadRecord, got, c.good)
	}
	return m
}

// readRows reads every visible Parquet output with pqarrow, one
// "|"-joined line of ValueStr per row, sorted.
func readRows(t *testing.T, l *lake) []string {
	t.Helper()
	var rows []string
	root := filepath.Join(l.root, "out")
	filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || !strings.HasSuffix(path, ".parquet") {
			return nil
		}
		if rel, _ := filepath.Rel(root, path); strings.HasPrefix(rel, ".") || strings.HasPrefix(rel, "_") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		pf, err := file.NewParquetReader(f)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Release()
		tr := array.NewTableReader(tbl, 1024)
		defer tr.Release()
		for tr.Next() {
			rec := tr.RecordBatch()
			for i := 0; i < int(rec.NumRows()); i++ {
				var fs []string
				for j := 0; j < int(rec.NumCols()); j++ {
					v := rec.Column(j).ValueStr(i)
					if len(v) > 40 {
						v = fmt.Sprintf("%s…(%d bytes)", v[:20], len(v))
					}
					fs = append(fs, v)
				}
				rows = append(rows, strings.Join(fs, "|"))
			}
		}
		return nil
	})
	sort.Strings(rows)
	return rows
}

// writeWants replaces (or appends) the golden sections of one case.
func writeWants(t *testing.T, path string, ar *txtar.Archive, got map[string]string) {
	t.Helper()
	var files []txtar.File
	for _, f := range ar.Files {
		if !strings.HasPrefix(f.Name, "want/") {
			files = append(files, f)
		}
	}
	for _, name := range []string{"want/fail", "want/skip", "want/quarantine"} {
		files = append(files, txtar.File{Name: name, Data: []byte(got[name])})
	}
	ar.Files = files
	if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
		t.Fatal(err)
	}
}
