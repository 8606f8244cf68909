package exec

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/tools/txtar"

	"github.com/sluicedata/sluice/exec/arrowtype"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// fuzzFormats are the object kinds FuzzDecodeObject feeds, chosen by the
// input's first argument: the key's extension decides the codec, as in a run.
var fuzzFormats = []struct {
	format spec.Format
	key    string
}{
	{spec.FormatJSON, "k.json"},
	{spec.FormatJSON, "k.json.gz"},
	{spec.FormatCSV, "k.csv"},
	{spec.FormatCSV, "k.csv.zst"},
	{spec.FormatParquet, "k.parquet"},
}

// FuzzDecodeObject drives runner.decodeObject, the exact path a run takes
// from an object's bytes to record batches (decompression, the JSON, CSV
// and Parquet decoders, on_bad_record), with arbitrary bytes. Whatever the
// bytes: no panic, no leak, batches of the run's schema, and every
// non-blank text line either decoded or reported (nothing lost silently).
// Seeds: every input of the bad-input corpus (testdata/bad) and
// testdata/fuzz/FuzzDecodeObject.
func FuzzDecodeObject(f *testing.F) {
	paths, _ := filepath.Glob("testdata/bad/*.txtar")
	for _, path := range paths {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range ar.Files {
			var data []byte
			switch {
			case strings.HasPrefix(file.Name, "input/"):
				data = file.Data
			case strings.HasPrefix(file.Name, "gen/"):
				gen, rest, _ := strings.Cut(string(file.Data), "\n")
				if gen == "expand" {
					continue // megabyte lines: too slow for a seed
				}
				data = genInput(f, gen, rest)
			default:
				continue
			}
			for i, ff := range fuzzFormats {
				if strings.HasSuffix(file.Name, filepath.Ext(ff.key)) {
					f.Add(uint8(i), data)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		ff := fuzzFormats[int(kind)%len(fuzzFormats)]
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		cols := []schema.Column{
			{Name: "id", Type: schema.Type{Kind: schema.String}, Nullable: true},
			{Name: "amount", Type: schema.Type{Kind: schema.Int64}, Nullable: true},
			{Name: "ts", Type: schema.MustParseType("timestamp(ms)"), Nullable: true},
			{Name: "tags", Type: schema.MustParseType("list(string)"), Nullable: true},
		}
		if ff.format == spec.FormatParquet {
			cols = cols[:2] // what the corpus's Parquet files hold
		}
		job := &Job{
			Pipeline: "p", RunID: "r",
			Source: SourceSpec{Name: "s", Loc: objstore.Location{Store: objstore.NewLocal(t.TempDir())},
				Format: ff.format, Compression: spec.CompressionAuto, FileSchema: arrowtype.ArrowSchema(cols),
				CSV:         spec.CSVOptions{Header: true, Delimiter: ',', Quote: '"', NullValues: []string{""}},
				OnBadRecord: spec.BadRecordQuarantine, OnSchemaChange: spec.SchemaChangeFail},
			Sink: SinkSpec{Columns: []string{"id"}},
		}
		r, err := newRunner(job, Options{Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		q := &quarantine{counts: &taskCounts{}}
		batches, err := r.decodeObject(context.Background(), Input{Key: ff.key, Size: int64(len(data))}, data, q)
		if err != nil {
			if batches != nil {
				t.Fatalf("batches with an error: %v", err)
			}
			if !strings.Contains(err.Error(), ff.key) {
				t.Fatalf("error does not name the key: %v", err)
			}
			return
		}
		var rows int64
		for _, b := range batches {
			if !b.Schema().Equal(r.evalSchema) {
				t.Fatalf("batch schema %s, want %s", b.Schema(), r.evalSchema)
			}
			for i, c := range b.Columns() {
				if int64(c.Len()) != b.NumRows() {
					t.Fatalf("column %d has %d rows of %d", i, c.Len(), b.NumRows())
				}
			}
			rows += b.NumRows()
		}
		releaseAll(batches)
		bad := int64(bytes.Count(q.buf.Bytes(), []byte("\n")))
		if bad != q.counts.badRecords.Load()+q.counts.badFiles.Load() {
			t.Fatalf("%d quarantine lines, %d bad records", bad, q.counts.badRecords.Load())
		}
		if ff.key == "k.json" {
			// Every non-blank line is a row or a quarantined record.
			lines := int64(0)
			for i, l := range bytes.Split(data, []byte("\n")) {
				if i == 0 {
					l = bytes.TrimPrefix(l, []byte("\xef\xbb\xbf"))
				}
				if len(bytes.Trim(l, " \t\r")) > 0 {
					lines++
				}
			}
			if rows+bad != lines {
				t.Fatalf("%d rows + %d bad records for %d non-blank lines", rows, bad, lines)
			}
		}
	})
}
