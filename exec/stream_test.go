package exec

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"golang.org/x/tools/txtar"

	"github.com/sluicedata/sluice/spec"
)

// streamAll makes every Parquet input streamed (ranged reads, batches handed
// on as decoded) for the rest of the test.
func streamAll(t *testing.T) {
	old := StreamParquetAbove
	StreamParquetAbove = -1
	t.Cleanup(func() { StreamParquetAbove = old })
}

// Streamed Parquet inputs give exactly the results of fetched ones: the
// corpus's Parquet cases (broken footers are whole-object failures either
// way) and schema drift under every policy.
func TestStreamedParquetMatchesFetched(t *testing.T) {
	streamAll(t)
	paths, _ := filepath.Glob("testdata/bad/parquet-*.txtar")
	if len(paths) == 0 {
		t.Fatal("no parquet corpus cases")
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c := parseCase(t, ar)
			for name, policy := range map[string]spec.BadRecordPolicy{"want/fail": spec.BadRecordFail, "want/skip": spec.BadRecordSkip, "want/quarantine": spec.BadRecordQuarantine} {
				want, _ := section(ar, name)
				if got := c.run(t, policy); got != want {
					t.Errorf("%s (streamed)\n--- got\n%s--- want\n%s", name, got, want)
				}
			}
		})
	}
	t.Run("drift", func(t *testing.T) {
		TestSchemaDriftSafeWideningsUnderEveryPolicy(t)
		TestSchemaDriftFailStops(t)
		TestSchemaDriftIgnore(t)
	})
}

// A streamed Parquet input with a filter and a partition column writes the
// same rows as the same input fetched whole.
func TestStreamedParquetRows(t *testing.T) {
	outputs := map[bool][]string{}
	for _, streamed := range []bool{false, true} {
		if streamed {
			streamAll(t)
		}
		l := newLake(t)
		in := putParquet(t, l, "dt=1/a.parquet", []arrow.Field{
			{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "amount", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		}, func(rb *array.RecordBuilder) {
			for i := 0; i < 5000; i++ {
				rb.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("r%04d", i))
				if i%7 == 0 {
					rb.Field(1).AppendNull()
				} else {
					rb.Field(1).(*array.Int64Builder).Append(int64(i % 100))
				}
			}
		})
		in.Partition = []any{"1"}
		job := orderJob(t, l, "amount > 50 || amount == nil", []Task{{Inputs: []Input{in}}})
		job.Source.Format = spec.FormatParquet
		res, err := Run(context.Background(), job, Options{Alloc: checked(t)})
		if err != nil {
			t.Fatal(err)
		}
		commit(t, l, res, nil)
		outputs[streamed] = l.readOutput()
		if res.Stats.RowsIn != 5000 {
			t.Fatalf("streamed=%v: rows in %d, want 5000", streamed, res.Stats.RowsIn)
		}
	}
	if len(outputs[true]) == 0 || strings.Join(outputs[true], "\n") != strings.Join(outputs[false], "\n") {
		t.Fatalf("streamed output (%d rows) differs from fetched (%d rows)", len(outputs[true]), len(outputs[false]))
	}
}
