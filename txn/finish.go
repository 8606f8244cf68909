package txn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
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
	sink objstore.Location
}

// Begin journals runID as WRITING before any output is written, so that
// whoever takes the lock after a crash knows which pending uploads (keys
// carrying the run id under sink) to abort. direct says the run publishes
// its outputs as it goes (committer = "direct"), so rolling it back deletes
// them too.
func (s *Session) Begin(ctx context.Context, runID string, sink objstore.Location, direct bool) (*Run, error) {
	j := &state.Journal{RunID: runID, Kind: "apply", Phase: state.PhaseWriting, Started: time.Now().UTC(), SinkURL: sink.String(), Direct: direct}
	if err := s.bm.WriteJournal(ctx, j); err != nil {
		return nil, err
	}
	slog.InfoContext(ctx, "journal WRITING", "run", runID, "sink", sink.String())
	KillPoint("after-writing")
	return &Run{bm: s.bm, lock: s.lock, j: j, sink: sink}, nil
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
	var errs []error
	if err := abortRunUploads(ctx, r.sink, r.j.RunID); err != nil {
		errs = append(errs, err)
	}
	if r.j.Direct {
		if err := deleteRunOutputs(ctx, r.sink, r.j.RunID); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if cause != nil {
			r.j.Error = cause.Error()
		}
		r.j.Phase = state.PhaseAborted
		if err := r.bm.WriteJournal(ctx, r.j); err != nil {
			errs = append(errs, err)
		}
		slog.InfoContext(ctx, "journal ABORTED", "run", r.j.RunID, "cause", r.j.Error)
	}
	return errors.Join(errs...)
}

// runKey reports whether a sink key belongs to runID: output files are
// part-<run id>-…, quarantine objects _sluice/bad/<run id>/….
func runKey(key, runID string) bool {
	base := key[strings.LastIndex(key, "/")+1:]
	return strings.HasPrefix(base, "part-"+runID+"-") || strings.Contains(key, "_sluice/bad/"+runID+"/")
}

func abortRunUploads(ctx context.Context, sink objstore.Location, runID string) error {
	ups, err := sink.Store.ListUploads(ctx, sink.Prefix)
	if err != nil {
		return fmt.Errorf("listing pending uploads under %s: %w", sink, err)
	}
	var errs []error
	for _, u := range ups {
		if runKey(u.Key, runID) {
			if err := sink.Store.AbortUpload(ctx, u); err != nil {
				errs = append(errs, fmt.Errorf("aborting upload of %s: %w", u.Key, err))
			}
		}
	}
	return errors.Join(errs...)
}

// deleteRunOutputs deletes the published outputs of a direct run that
// will not commit. It lists the whole sink: a roll-back is rare, and the
// run's files may be in any partition.
func deleteRunOutputs(ctx context.Context, sink objstore.Location, runID string) error {
	var deleteErr error
	err := objstore.ListAll(ctx, sink.Store, objstore.ListInput{Prefix: sink.Prefix}, func(page objstore.ListPage) error {
		for _, o := range page.Objects {
			if runKey(o.Key, runID) {
				if err := sink.Store.Delete(ctx, o.Key); err != nil {
					deleteErr = fmt.Errorf("deleting %s of the rolled-back run %s: %w", o.Key, runID, err)
					return deleteErr
				}
			}
		}
		return nil
	})
	if err != nil && deleteErr == nil {
		return fmt.Errorf("listing %s to remove the outputs of run %s: %w", sink, runID, err)
	}
	return err
}

// finish carries out the COMMITTING journal j: every step recognises its own
// earlier success, so it serves both the live commit and the roll-forward
// of a crashed one. st nil: no journal and no bookmarks (tests).
func finish(ctx context.Context, st *state.Bookmarks, j *state.Journal, sink objstore.Location, lock *state.Lock) error {
	if err := lockErr(lock); err != nil {
		return err
	}
	if err := objstore.CompleteAll(ctx, sink.Store, j.Uploads, func(objstore.PendingUpload) { KillPoint("after-complete") }); err != nil {
		return err
	}
	slog.InfoContext(ctx, "commit: outputs published", "run", j.RunID, "uploads", len(j.Uploads))
	// Every upload the run kept is complete now, so any upload of this run
	// still pending is a stray: a retried CreateMultipartUpload whose first
	// answer was lost started a second one the writer never heard of.
	if sink.Store != nil {
		if err := abortRunUploads(ctx, sink, j.RunID); err != nil {
			return err
		}
	}
	KillPoint("after-completes")
	for _, key := range j.Deletes {
		if err := sink.Store.Delete(ctx, key); err != nil {
			return fmt.Errorf("deleting replaced %s: %w", key, err)
		}
		KillPoint("after-delete")
	}
	if j.ManifestKey != "" {
		// The journal says how (a run rolled forward by another process
		// writes the manifest as the run would have); one that predates
		// ManifestObject, as a plain JSON object.
		obj := objstore.ObjectOptions{ContentType: "application/json"}
		if j.ManifestObject != nil {
			obj = *j.ManifestObject
		}
		if _, err := sink.Store.Put(ctx, j.ManifestKey, j.Manifest, objstore.PutOptions{Object: obj}); err != nil {
			return fmt.Errorf("writing commit manifest %s: %w", j.ManifestKey, err)
		}
		KillPoint("after-manifest")
		slog.InfoContext(ctx, "commit: manifest written", "run", j.RunID, "key", j.ManifestKey, "deleted", len(j.Deletes))
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
