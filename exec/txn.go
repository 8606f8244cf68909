package exec

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// BeginRun journals runID as WRITING before any output is written, so that
// whoever takes the lock after a crash knows which pending uploads (keys
// carrying the run id under sinkURL) to abort.
func BeginRun(ctx context.Context, st *state.Source, runID, sinkURL string, direct bool) (*state.Journal, error) {
	j := &state.Journal{RunID: runID, Kind: "apply", Phase: state.PhaseWriting, Started: time.Now().UTC(), SinkURL: sinkURL, Direct: direct}
	if err := st.WriteJournal(ctx, j); err != nil {
		return nil, err
	}
	KillPoint("after-writing")
	return j, nil
}

// AbortRun rolls back a run that will not commit (failed, interrupted,
// checks failed): it aborts the result's pending uploads (res may be nil),
// then any other upload under the sink whose key carries the run id (one
// a crashed task left), and journals ABORTED with cause. ctx should not be
// the cancelled run context.
func AbortRun(ctx context.Context, st *state.Source, j *state.Journal, sink objstore.Location, res *Result, cause error) error {
	var errs []error
	if res != nil {
		if err := AbortResult(ctx, res); err != nil {
			errs = append(errs, err)
		}
	}
	if err := abortRunUploads(ctx, sink, j.RunID); err != nil {
		errs = append(errs, err)
	}
	if j != nil && j.Direct {
		if err := deleteRunOutputs(ctx, sink, j.RunID); err != nil {
			errs = append(errs, err)
		}
	}
	if st != nil && j != nil && len(errs) == 0 {
		if cause != nil {
			j.Error = cause.Error()
		}
		j.Phase = state.PhaseAborted
		if err := st.WriteJournal(ctx, j); err != nil {
			errs = append(errs, err)
		}
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
	in := objstore.ListInput{Prefix: sink.Prefix}
	for {
		page, err := sink.Store.List(ctx, in)
		if err != nil {
			return fmt.Errorf("listing %s to remove the outputs of run %s: %w", sink, runID, err)
		}
		for _, o := range page.Objects {
			if runKey(o.Key, runID) {
				if err := sink.Store.Delete(ctx, o.Key); err != nil {
					return fmt.Errorf("deleting %s of the rolled-back run %s: %w", o.Key, runID, err)
				}
			}
		}
		if page.NextToken == "" {
			return nil
		}
		in.Token = page.NextToken
	}
}

// finish carries out the COMMITTING journal j: every step recognises its own
// earlier success, so it serves both the live commit and the roll-forward
// of a crashed one. st nil: no journal and no bookmarks (tests).
func finish(ctx context.Context, st *state.Source, j *state.Journal, sink objstore.Location, lock *state.Lock) error {
	if err := lockErr(lock); err != nil {
		return err
	}
	if err := completeAll(ctx, sink.Store, j.Uploads); err != nil {
		return err
	}
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
		if _, err := sink.Store.Put(ctx, j.ManifestKey, j.Manifest, objstore.PutOptions{ContentType: "application/json"}); err != nil {
			return fmt.Errorf("writing commit manifest %s: %w", j.ManifestKey, err)
		}
		KillPoint("after-manifest")
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
	for _, seg := range j.DropSegments {
		if slices.Contains(head.Segments, seg) {
			// Never delete what HEAD names, whatever the journal says.
			continue
		}
		if err := st.DeleteSegment(ctx, seg); err != nil {
			return err
		}
	}
	j.Phase = state.PhaseDone
	if err := st.WriteJournal(ctx, j); err != nil {
		return err
	}
	KillPoint("after-done")
	return nil
}

// completeAll completes pending uploads with bounded concurrency. An
// upload already completed by an earlier attempt (a crashed commit, a
// dropped response) is recognised by the store and succeeds.
func completeAll(ctx context.Context, store objstore.Store, ups []objstore.PendingUpload) error {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, u := range ups {
		wg.Add(1)
		sem <- struct{}{}
		go func(u objstore.PendingUpload) {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := store.CompleteUpload(ctx, u)
			if errors.Is(err, objstore.ErrNotExist) {
				// Gone from the upload area: completed before a crash if
				// the key holds an object of the upload's size.
				if info, herr := store.Head(ctx, u.Key); herr == nil && info.Size == u.Size {
					err = nil
				}
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("publishing %s: %w", u.Key, err)
				}
				mu.Unlock()
				return
			}
			KillPoint("after-complete")
		}(u)
	}
	wg.Wait()
	return first
}

// Recovered says what Recover did with one unfinished change.
type Recovered struct {
	RunID  string
	Kind   string
	Action string // "rolled back" or "rolled forward"
}

func (r Recovered) String() string { return fmt.Sprintf("%s %s %s", r.Action, r.Kind, r.RunID) }

// Recover finishes or undoes every unfinished change journaled in st. The
// caller holds st's lock; it runs before anything else reads or changes
// the state. A change that never reached COMMITTING is rolled back (its
// pending uploads aborted, its unreferenced segment deleted); one that did
// is rolled forward from its journal.
func Recover(ctx context.Context, st *state.Source, open OpenFunc, lock *state.Lock) ([]Recovered, error) {
	js, err := st.ListJournals(ctx)
	if err != nil {
		return nil, err
	}
	var out []Recovered
	for _, je := range js {
		j, err := st.ReadJournal(ctx, je.RunID)
		if err != nil {
			if errors.Is(err, objstore.ErrNotExist) {
				continue
			}
			return out, err
		}
		if j.Phase.Finished() {
			continue
		}
		var sink objstore.Location
		if j.SinkURL != "" {
			if sink, err = open(ctx, j.SinkURL); err != nil {
				return out, fmt.Errorf("recovering run %s: sink %s: %w", j.RunID, j.SinkURL, err)
			}
		}
		switch j.Phase {
		case state.PhaseCommitting:
			if err := finish(ctx, st, j, sink, lock); err != nil {
				return out, fmt.Errorf("rolling forward run %s: %w", j.RunID, err)
			}
			out = append(out, Recovered{RunID: j.RunID, Kind: j.Kind, Action: "rolled forward"})
		default:
			if err := rollBack(ctx, st, j, sink); err != nil {
				return out, fmt.Errorf("rolling back run %s: %w", j.RunID, err)
			}
			out = append(out, Recovered{RunID: j.RunID, Kind: j.Kind, Action: "rolled back"})
		}
	}
	return out, nil
}

func rollBack(ctx context.Context, st *state.Source, j *state.Journal, sink objstore.Location) error {
	if sink.Store != nil {
		if err := abortRunUploads(ctx, sink, j.RunID); err != nil {
			return err
		}
		if j.Direct {
			if err := deleteRunOutputs(ctx, sink, j.RunID); err != nil {
				return err
			}
		}
	}
	head, _, err := st.Head(ctx)
	if err != nil {
		return err
	}
	seg := state.SegmentName(j.RunID)
	named := false
	for _, s := range head.Segments {
		named = named || s == seg
	}
	if !named {
		if err := st.DeleteSegment(ctx, seg); err != nil {
			return err
		}
	}
	j.Phase = state.PhaseAborted
	j.Error = "rolled back: the run stopped before COMMITTING"
	return st.WriteJournal(ctx, j)
}

// CompactThreshold is the number of segments past which a commit merges
// them into one: reading state opens every segment, so thousands of runs
// must not mean thousands of GETs per plan.
const CompactThreshold = 32

// Compact merges st's segments into one when there are more than
// threshold, as a journaled change of its own (kind "compact", run id
// runID). Entries keep the run id that processed them, so rewind still
// works across a compaction. The caller holds the lock.
func Compact(ctx context.Context, st *state.Source, runID string, threshold int, lock *state.Lock) (bool, error) {
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
