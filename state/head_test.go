package state

import (
	"context"
	"slices"
	"testing"

	"github.com/sluicedata/sluice/objstore"
)

func TestSwapHeadIsIdempotent(t *testing.T) {
	ctx := context.Background()
	s := New(objstore.NewLocal(t.TempDir()), "", "p", "src")
	seg, err := s.WriteSegment(ctx, "r1", slices.Values(entries("a", "b")))
	if err != nil || seg != SegmentName("r1") {
		t.Fatalf("WriteSegment: %q %v", seg, err)
	}
	if empty, err := s.WriteSegment(ctx, "r0", slices.Values([]Entry(nil))); err != nil || empty != "" {
		t.Fatalf("empty segment: %q %v", empty, err)
	}
	h1, err := s.SwapHead(ctx, "r1", seg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A second attempt (a roll-forward after a crash that followed the
	// swap) recognises the HEAD naming its run and changes nothing.
	h2, err := s.SwapHead(ctx, "r1", seg, nil)
	if err != nil || h2.Version != h1.Version || len(h2.Segments) != 1 {
		t.Fatalf("repeat swap: %+v %v", h2, err)
	}
	seg2, _ := s.WriteSegment(ctx, "r2", slices.Values(entries("c")))
	h3, err := s.SwapHead(ctx, "r2", seg2, nil)
	if err != nil || h3.Version != 2 || !slices.Equal(h3.Segments, []string{seg, seg2}) {
		t.Fatalf("second swap: %+v %v", h3, err)
	}
	if got := collect(t, s, h3); len(got) != 3 {
		t.Fatalf("entries: %v", got)
	}
	h4, err := s.SwapHead(ctx, "r3", "", []string{seg2})
	if err != nil || !slices.Equal(h4.Segments, []string{seg2}) {
		t.Fatalf("replace: %+v %v", h4, err)
	}
}
