package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicedata/sluice/objstore"
)

// CompactThreshold is the segment count past which the executor should
// compact after its commit, so that reading state (one open reader per
// segment) stays cheap after thousands of runs.
const CompactThreshold = 32

// Compact rewrites all segments of the HEAD whose ETag is expectedETag
// into one segment named after runID (entries keep the run id that
// processed them) and swaps HEAD to name only it, conditionally, as
// AddSegment does. The old segments are left for gc: a reader that opened
// the previous HEAD can still finish.
func (s *Source) Compact(ctx context.Context, runID, expectedETag string) (Head, error) {
	old, etag, err := s.Head(ctx)
	if err != nil {
		return Head{}, err
	}
	if etag == "" || etag != expectedETag {
		return Head{}, fmt.Errorf("state: compact %s: HEAD is %q, expected %q: %w", s.dir, etag, expectedETag, objstore.ErrPrecondition)
	}
	it, err := s.Entries(ctx, old)
	if err != nil {
		return Head{}, err
	}
	defer it.Close()
	seq := func(yield func(Entry) bool) {
		for it.Next() {
			if !yield(it.Entry()) {
				return
			}
		}
	}
	seg := "segments/" + runID + ".compact.seg"
	data, _, err := encodeSegment(runID, seq)
	if err != nil {
		return Head{}, fmt.Errorf("state: compact %s: %w", s.dir, err)
	}
	if err := it.Err(); err != nil {
		return Head{}, err
	}
	if _, err := s.store.Put(ctx, s.dir+seg, data, objstore.PutOptions{ContentType: "application/x-ndjson"}); err != nil {
		return Head{}, fmt.Errorf("state: write %s: %w", s.dir+seg, err)
	}
	next := Head{FormatVersion: FormatVersion, Version: old.Version + 1, RunID: runID, Segments: []string{seg},
		Updated: time.Now().UTC().Truncate(time.Second)}
	body, err := marshalHead(next)
	if err != nil {
		return Head{}, err
	}
	if _, err := s.store.Put(ctx, s.headKey(), body, objstore.PutOptions{IfMatch: expectedETag, ContentType: "application/json"}); err != nil {
		if errors.Is(err, objstore.ErrPrecondition) {
			if cur, _, herr := s.Head(ctx); herr == nil && cur.RunID == runID && cur.Version == next.Version {
				return cur, nil
			}
		}
		return Head{}, fmt.Errorf("state: swap %s: %w", s.headKey(), err)
	}
	return next, nil
}
