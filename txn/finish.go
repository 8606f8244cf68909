package txn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// Run is one journaled run of a pipeline, from Begin to Commit or Abort,
// under the lock of a Session.
type Run struct {
	bm   *state.Bookmarks
	lock *state.Lock
	j    *state.Journal
	pub  Publisher
}

// Begin journals runID as WRITING before any output is written, so that
// whoever takes the lock after a crash knows which pending uploads (keys
// carrying the run id under sink) to abort. direct says the run publishes
// its outputs as it goes (committer = "direct"), so rolling it back deletes
// them too. The run publishes as files under sink.
func (s *Session) Begin(ctx context.Context, runID string, sink objstore.Location, direct bool) (*Run, error) {
	return s.BeginPublish(ctx, runID, &filesPublisher{sink: sink, direct: direct})
}

// BeginPublish journals runID as WRITING, with what pub records for
// recovery (where its outputs go), before any output is written. pub has
// been prepared.
func (s *Session) BeginPublish(ctx context.Context, runID string, pub Publisher) (*Run, error) {
	j := &state.Journal{RunID: runID, Kind: "apply", Phase: state.PhaseWriting, Started: time.Now().UTC()}
	pub.Describe(j)
	if err := s.bm.WriteJournal(ctx, j); err != nil {
		return nil, err
	}
	slog.InfoContext(ctx, "journal WRITING", "run", runID, "sink", j.SinkURL)
	KillPoint("after-writing")
	return &Run{bm: s.bm, lock: s.lock, j: j, pub: pub}, nil
}

// Phase is where the run's journal stands.
func (r *Run) Phase() state.Phase { return r.j.Phase }

// Abort rolls back a run that will not commit (failed, interrupted,
// checks failed): it aborts every pending upload under the sink whose key
// carries the run id, found by listing (so also those of a task that
// crashed, which nobody else knows of), deletes the published outputs of a
// direct run, and journals ABORTED with cause. The caller aborts the
// uploads it knows of first (exec.AbortResult). ctx should not be the
// cancelled run context.
func (r *Run) Abort(ctx context.Context, cause error) error {
	if err := r.pub.Discard(ctx, r.j); err != nil {
		return err
	}
	if cause != nil {
		r.j.Error = cause.Error()
	}
	r.j.Phase = state.PhaseAborted
	if err := r.bm.WriteJournal(ctx, r.j); err != nil {
		return err
	}
	slog.InfoContext(ctx, "journal ABORTED", "run", r.j.RunID, "cause", r.j.Error)
	return nil
}

// finish carries out the COMMITTING journal j of a run published as files
// under sink (or of a pure state change: sink zero). st nil: no journal
// and no bookmarks (tests).
func finish(ctx context.Context, st *state.Bookmarks, j *state.Journal, sink objstore.Location, lock *state.Lock) error {
	return finishWith(ctx, st, j, &filesPublisher{sink: sink, direct: j.Direct}, lock)
}

// finishWith carries out the COMMITTING journal j: the publication, then
// the bookmarks. Every step recognises its own earlier success, so it
// serves both the live commit and the roll-forward of a crashed one.
func finishWith(ctx context.Context, st *state.Bookmarks, j *state.Journal, pub Publisher, lock *state.Lock) error {
	if err := lockErr(lock); err != nil {
		return err
	}
	if err := pub.Publish(ctx, j); err != nil {
		return err
	}
	if st == nil {
		return nil
	}
	if j.MovedFrom != "" {
		if _, etag, err := st.Head(ctx); err != nil {
			return err
		} else if etag == "" {
			if _, _, err := st.Adopt(ctx, state.AtDir(st.Store(), j.MovedFrom)); err != nil && !errors.Is(err, objstore.ErrPrecondition) {
				return err
			}
		}
	}
	if err := lockErr(lock); err != nil {
		return err
	}
	var set []string
	if j.ReplaceSegments {
		set = append([]string{}, j.SetSegments...)
	}
	head, err := st.SwapHead(ctx, j.RunID, j.Segment, set)
	if err != nil {
		return fmt.Errorf("recording processed inputs: %w", err)
	}
	KillPoint("after-swap")
	slog.InfoContext(ctx, "commit: bookmarks recorded", "run", j.RunID, "state", st.Dir(), "version", head.Version)
	for _, seg := range j.DropSegments {
		if slices.Contains(head.Segments, seg) {
			// Never delete what HEAD names, whatever the journal says.
			continue
		}
		if err := st.DeleteSegment(ctx, seg); err != nil {
			return err
		}
	}
	if err := cleanSource(ctx, st, j); err != nil {
		return err
	}
	j.Phase = state.PhaseDone
	if err := st.WriteJournal(ctx, j); err != nil {
		return err
	}
	slog.InfoContext(ctx, "journal DONE", "run", j.RunID, "kind", j.Kind)
	KillPoint("after-done")
	return nil
}
