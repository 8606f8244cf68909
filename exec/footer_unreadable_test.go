package exec

import (
	"context"
	"errors"
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
	_, err := Footers{}.ReadFooter(ctx, l.src.Store, in.Key, in.Size)
	var ue *planner.UnreadableError
	if !errors.As(err, &ue) || ue.Key != "a.parquet" {
		t.Fatalf("corrupt file: %v (%T), want an UnreadableError", err, err)
	}
	_, err = Footers{}.ReadFooter(ctx, brokenRanges{l.src.Store}, in.Key, in.Size)
	if err == nil || errors.As(err, &ue) {
		t.Fatalf("store failure: %v, want a plain error", err)
	}
}

type brokenRanges struct{ objstore.Store }

func (brokenRanges) GetRange(context.Context, string, int64, int64) (io.ReadCloser, error) {
	return nil, errors.New("connection reset")
}
