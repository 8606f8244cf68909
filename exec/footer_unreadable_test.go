package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
)

// Footers tells a broken file (an *planner.UnreadableError: on_bad_record
// applies) from a store that failed to deliver it (any other error).
func TestFootersUnreadableVersusStoreError(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	in := l.put("a.parquet", "PAR1 not parquet at all PAR1", false)
	// ReadColumns (the row groups cut out) classifies as ReadFooter does.
	reads := map[string]func(objstore.Store) error{
		"ReadFooter": func(s objstore.Store) error {
			_, err := Footers{}.ReadFooter(ctx, s, in.Key, in.Size)
			return err
		},
		"ReadColumns": func(s objstore.Store) error {
			_, err := Footers{}.ReadColumns(ctx, s, in.Key, in.Size)
			return err
		},
	}
	for name, read := range reads {
		err := read(l.src.Store)
		var ue *planner.UnreadableError
		if !errors.As(err, &ue) || ue.Key != "a.parquet" {
			t.Fatalf("%s, corrupt file: %v (%T), want an UnreadableError", name, err, err)
		}
		err = read(brokenRanges{l.src.Store})
		if err == nil || errors.As(err, &ue) {
			t.Fatalf("%s, store failure: %v, want a plain error", name, err)
		}
	}
}

// ReadColumns gives the columns ReadFooter gives, through the store, for
// files of different schemas one after another (a again last: the memo of
// the last schema's columns must not answer for another).
func TestFootersReadColumnsMatchesReadFooter(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	a, b, c := driftInputs(t, l)
	for _, in := range []Input{a, b, c, a} {
		full, err := Footers{}.ReadFooter(ctx, l.src.Store, in.Key, in.Size)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := Footers{}.ReadColumns(ctx, l.src.Store, in.Key, in.Size)
		if err != nil {
			t.Fatal(err)
		}
		if len(full.Columns) == 0 || fmt.Sprint(cols) != fmt.Sprint(full.Columns) {
			t.Fatalf("%s: ReadColumns %v, ReadFooter %v", in.Key, cols, full.Columns)
		}
	}
}

type brokenRanges struct{ objstore.Store }

func (brokenRanges) GetRange(context.Context, string, int64, int64) (io.ReadCloser, error) {
	return nil, errors.New("connection reset")
}
