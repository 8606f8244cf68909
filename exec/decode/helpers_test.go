package decode

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// render turns one value into text that tests compare: timestamps as their
// integer count, dates as YYYY-MM-DD, decimals as their unscaled integer,
// everything else as ValueStr; nulls as "null".
func render(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "null"
	}
	switch x := a.(type) {
	case *array.Timestamp:
		return strconv.FormatInt(int64(x.Value(i)), 10)
	case *array.Date32:
		return time.Unix(int64(x.Value(i))*86400, 0).UTC().Format("2006-01-02")
	case *array.Decimal128:
		return x.Value(i).BigInt().String()
	case *array.Binary:
		return string(x.Value(i))
	case *array.Float32:
		return strconv.FormatFloat(float64(x.Value(i)), 'g', -1, 32)
	case *array.Float64:
		return strconv.FormatFloat(x.Value(i), 'g', -1, 64)
	}
	return a.ValueStr(i)
}

// collect reads r to the end, checking every batch's schema, and returns
// the rows rendered as "v1|v2|...". It closes r.
func collect(t *testing.T, r Reader, want *arrow.Schema) ([]string, int, error) {
	t.Helper()
	defer r.Close()
	var rows []string
	batches := 0
	for {
		b, err := r.Next()
		if err == io.EOF {
			return rows, batches, nil
		}
		if err != nil {
			return rows, batches, err
		}
		batches++
		if want != nil && !b.Schema().Equal(want) {
			t.Errorf("batch schema %s, want %s", b.Schema(), want)
		}
		for i := 0; i < int(b.NumRows()); i++ {
			var parts []string
			for _, c := range b.Columns() {
				parts = append(parts, render(c, i))
			}
			rows = append(rows, strings.Join(parts, "|"))
		}
		b.Release()
	}
}

type badSink struct {
	recs []BadRecord
	stop bool // return an error from OnBad
}

func (s *badSink) onBad(r BadRecord) error {
	s.recs = append(s.recs, r)
	if s.stop {
		return errors.New("stop: " + r.String())
	}
	return nil
}

func checked(t *testing.T) *memory.CheckedAllocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func field(name string, dt arrow.DataType, nullable bool) arrow.Field {
	return arrow.Field{Name: name, Type: dt, Nullable: nullable}
}

func sch(fields ...arrow.Field) *arrow.Schema { return arrow.NewSchema(fields, nil) }

func eqRows(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d:\n got  %q\n want %q", len(got), len(want), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("row %d:\n got  %s\n want %s", i, got[i], want[i])
		}
	}
}

var _ = fmt.Sprint
