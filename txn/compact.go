package txn

import (
	"context"
	"time"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// CompactThreshold is the number of segments past which a commit merges
// them into one: reading state opens every segment, so thousands of runs
// must not mean thousands of GETs per plan.
const CompactThreshold = 32

// Compact merges st's segments into one when there are more than
// threshold, as a journaled change of its own (kind "compact", run id
// runID). Entries keep the run id that processed them, so rewind still
// works across a compaction.
func (s *Session) Compact(ctx context.Context, runID string, threshold int) (bool, error) {
	st, lock := s.bm, s.lock
	head, _, err := st.Head(ctx)
	if err != nil {
		return false, err
	}
	if len(head.Segments) <= threshold {
		return false, nil
	}
	j := &state.Journal{RunID: runID, Kind: "compact", Phase: state.PhaseWriting, Started: time.Now().UTC()}
	if err := st.WriteJournal(ctx, j); err != nil {
		return false, err
	}
	// Streamed from the segments: a source with millions of bookmarks
	// compacts in the memory of its compressed segment.
	seg, _, err := st.WriteMerged(ctx, runID, head, nil)
	if err != nil {
		return false, err
	}
	j.ReplaceSegments = true
	if seg != "" {
		j.SetSegments = []string{seg}
	}
	j.DropSegments = append([]string(nil), head.Segments...)
	j.Phase = state.PhaseCommitting
	if err := st.WriteJournal(ctx, j); err != nil {
		return false, err
	}
	return true, finish(ctx, st, j, objstore.Location{}, lock)
}
