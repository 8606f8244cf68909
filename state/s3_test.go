package state

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluicedata/sluice/internal/s3test"
	"github.com/sluicedata/sluice/objstore"
)

// The same lifecycle as on the local store, against a real S3 server:
// conditional HEAD swaps (If-None-Match, If-Match) and the merge.
func TestS3Lifecycle(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "state")
	srv.SetEnv(t)
	ctx := context.Background()
	loc, err := objstore.Open(ctx, "s3://state/sluice/")
	if err != nil {
		t.Fatal(err)
	}
	s := Open(loc, "orders_curated", "orders")
	h, etag, err := s.Head(ctx)
	if err != nil || h.Version != 0 || etag != "" {
		t.Fatalf("empty state on S3: %+v %q %v", h, etag, err)
	}
	record(t, s, "r1", entries("a", "c"))
	record(t, s, "r3", entries("b", "c"))
	// A retried swap of r3 (its first answer lost) is recognised.
	if h, err := s.SwapHead(ctx, "r3", SegmentName("r3"), nil); err != nil || h.Version != 2 {
		t.Fatalf("retried swap on S3: %+v, %v", h, err)
	}
	h, _, err = s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, s, h)
	var keys []string
	for _, e := range got {
		keys = append(keys, e.Key+"@"+e.RunID)
	}
	if fmt.Sprint(keys) != "[a@r1 b@r3 c@r3]" || h.Version != 2 {
		t.Fatalf("merged %v at version %d", keys, h.Version)
	}
	dirs, err := ListSources(ctx, loc.Store, loc.Prefix)
	if err != nil || fmt.Sprint(dirs) != "[orders_curated/orders]" {
		t.Fatalf("ListSources = %v, %v", dirs, err)
	}
}
