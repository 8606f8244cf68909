package exec

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicedata/sluice/spec"
)

// A Parquet input in row groups large enough for late materialisation (the
// string column read as a dictionary, filtered, then made plain) writes
// exactly the rows a plain read would: with a filter on another column,
// with one on the string column itself (never late), and with none; with
// the first file's last, partial batch concatenated with the second's
// first (their dictionaries made plain), and streamed.
func TestLateMaterialisedParquetRows(t *testing.T) {
	const n = 40000
	ids := []string{"Lisbon", "Porto", "Évora", "", "Faro"}
	for _, c := range []struct{ name, where string }{
		{"filter on another column", "amount > 50 || amount == nil"},
		{"filter on the strings", "id == 'Porto' || amount == 3"},
		{"no filter", ""},
	} {
		for _, streamed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/streamed=%v", c.name, streamed), func(t *testing.T) {
				if streamed {
					streamAll(t)
				}
				l := newLake(t)
				var want []string
				var inputs []Input
				for _, key := range []string{"dt=1/a.parquet", "dt=1/b.parquet"} {
					in := putParquet(t, l, key, []arrow.Field{
						{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
						{Name: "amount", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
					}, func(rb *array.RecordBuilder) {
						for i := 0; i < n; i++ {
							id, amount := "null", "null"
							if i%11 == 0 {
								rb.Field(0).AppendNull()
							} else {
								id = ids[i%len(ids)]
								rb.Field(0).(*array.StringBuilder).Append(id)
							}
							if i%7 == 0 {
								rb.Field(1).AppendNull()
							} else {
								rb.Field(1).(*array.Int64Builder).Append(int64(i % 100))
								amount = fmt.Sprint(i % 100)
							}
							keep := true
							switch c.where {
							case "amount > 50 || amount == nil":
								keep = amount == "null" || i%100 > 50
							case "id == 'Porto' || amount == 3":
								keep = id == "Porto" || amount == "3"
							}
							if keep {
								if id == "null" {
									id = "(null)"
								}
								if amount == "null" {
									amount = "(null)"
								}
								want = append(want, "1|"+id+"|"+amount)
							}
						}
					})
					in.Partition = []any{"1"}
					inputs = append(inputs, in)
				}
				job := orderJob(t, l, c.where, []Task{{Inputs: inputs}})
				job.Source.Format = spec.FormatParquet
				res, err := Run(context.Background(), job, Options{Alloc: checked(t)})
				if err != nil {
					t.Fatal(err)
				}
				commit(t, l, res, nil)
				got := l.readOutput()
				sort.Strings(want)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("got %d rows, want %d; first got %q, want %q", len(got), len(want), first(got), first(want))
				}
			})
		}
	}
}

func first(rows []string) string {
	if len(rows) == 0 {
		return ""
	}
	return rows[0]
}

// The late columns are the string and binary columns the filter does not
// read.
func TestLateColumns(t *testing.T) {
	l := newLake(t)
	job := orderJob(t, l, "amount > 1", nil)
	job.Source.Format = spec.FormatParquet
	r, err := newRunner(job, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.dictionaries) != 1 || !r.dictionaries["id"] {
		t.Errorf("late columns %v, want id", r.dictionaries)
	}
	job = orderJob(t, l, "id == 'x'", nil)
	job.Source.Format = spec.FormatParquet
	if r, _ = newRunner(job, Options{}); len(r.dictionaries) != 0 {
		t.Errorf("late columns %v with a filter on id, want none", r.dictionaries)
	}
	job = orderJob(t, l, "", nil) // JSON: never
	if r, _ = newRunner(job, Options{}); r.dictionaries != nil {
		t.Errorf("late columns %v for JSON", r.dictionaries)
	}
}
