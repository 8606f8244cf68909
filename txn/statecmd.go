package txn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// The functions here are the journaled state changes behind `sluice state`.
// Each is a method of a Session (the lock held, earlier changes recovered). Each
// rewrites the whole set of bookmarks as one new segment (with every entry
// keeping the run id that processed it) and swaps HEAD to it through the
// same COMMITTING journal as a run, so a crash in the middle is finished by
// the next command or apply.

// StateChange is what a state command did.
type StateChange struct {
	RunID   string   `json:"run_id"`
	Kind    string   `json:"kind"`
	Keys    int      `json:"keys"`              // bookmarks removed or added
	Runs    []string `json:"runs,omitempty"`    // rewind: the runs undone
	Deleted []string `json:"deleted,omitempty"` // rewind: sink keys removed
}

// Forget removes the bookmarks whose keys (relative to the source URL)
// match the doublestar pattern glob, so the next run processes them again.
func (s *Session) Forget(ctx context.Context, runID, glob string) (StateChange, error) {
	st, lock := s.bm, s.lock
	if !doublestar.ValidatePattern(glob) {
		return StateChange{}, fmt.Errorf("invalid pattern %q", glob)
	}
	head, _, err := st.Head(ctx)
	if err != nil {
		return StateChange{}, err
	}
	matches := func(e state.Entry) bool { m, _ := doublestar.Match(glob, e.Key); return m }
	// Two streaming passes, so that any number of bookmarks is forgotten in
	// constant memory: count, then (if any match) write the others.
	it, err := st.Entries(ctx, head)
	if err != nil {
		return StateChange{}, err
	}
	n := 0
	for it.Next() {
		if matches(it.Entry()) {
			n++
		}
	}
	it.Close()
	if err := it.Err(); err != nil {
		return StateChange{}, err
	}
	ch := StateChange{RunID: runID, Kind: "forget", Keys: n}
	if n == 0 {
		return ch, nil
	}
	write := func() (string, error) {
		seg, _, err := st.WriteMerged(ctx, runID, head, func(e state.Entry) bool { return !matches(e) })
		return seg, err
	}
	return ch, rewrite(ctx, st, lock, &state.Journal{RunID: runID, Kind: "forget"}, head, write)
}

// MarkProcessed records every source object matching glob (relative to the
// source location; hidden keys excluded) as processed by runID without
// reading it, so runs skip it. The listing and the bookmarks are both in
// key order, so they are merged as two streams straight into the encoded
// segment: marking a backlog of millions of objects lists it once and holds
// only that compressed segment.
func (s *Session) MarkProcessed(ctx context.Context, src objstore.Location, runID, glob string) (StateChange, error) {
	st, lock := s.bm, s.lock
	if !doublestar.ValidatePattern(glob) {
		return StateChange{}, fmt.Errorf("invalid pattern %q", glob)
	}
	head, _, err := st.Head(ctx)
	if err != nil {
		return StateChange{}, err
	}
	var n int
	var mergeErr error
	seq := func(yield func(state.Entry) bool) {
		n, mergeErr = markMerge(ctx, st, head, src, runID, glob, yield)
	}
	seg, err := state.EncodeSegment(runID, seq, func() error { return mergeErr })
	if err != nil {
		return StateChange{}, err
	}
	ch := StateChange{RunID: runID, Kind: "mark-processed", Keys: n}
	if n == 0 {
		return ch, nil
	}
	write := func() (string, error) { return st.PutSegment(ctx, seg) }
	return ch, rewrite(ctx, st, lock, &state.Journal{RunID: runID, Kind: "mark-processed"}, head, write)
}

// markMerge merges head's bookmarks with the matching objects of src's
// listing, both in key order, handing emit the resulting set (an object
// not bookmarked, or bookmarked with another ETag, as processed by runID),
// and returns how many bookmarks that adds or changes. emit returning
// false stops it.
func markMerge(ctx context.Context, st *state.Bookmarks, head state.Head, src objstore.Location, runID, glob string, emit func(state.Entry) bool) (int, error) {
	it, err := st.Entries(ctx, head)
	if err != nil {
		return 0, err
	}
	defer it.Close()
	objs := &matchingObjects{ctx: ctx, src: src, glob: glob, runID: runID}
	changed := 0
	haveE, haveO := it.Next(), objs.next()
	for haveE || haveO {
		var e state.Entry
		switch {
		case haveO && (!haveE || objs.cur.Key < it.Entry().Key):
			e, changed = objs.cur, changed+1
			haveO = objs.next()
		case haveE && (!haveO || it.Entry().Key < objs.cur.Key):
			e = it.Entry()
			haveE = it.Next()
		default: // the same key: a changed object is marked again
			e = it.Entry()
			if e.ETag != objs.cur.ETag {
				e, changed = objs.cur, changed+1
			}
			haveE, haveO = it.Next(), objs.next()
		}
		if !emit(e) {
			return changed, nil
		}
	}
	if err := it.Err(); err != nil {
		return 0, err
	}
	return changed, objs.err
}

// matchingObjects pages through src's listing, yielding the objects that
// match glob (hidden keys excluded) as bookmarks of runID, in key order.
type matchingObjects struct {
	ctx         context.Context
	src         objstore.Location
	glob, runID string
	page        []objstore.ObjectInfo
	token       string
	started     bool
	cur         state.Entry
	err         error
}

func (m *matchingObjects) next() bool {
	for {
		for len(m.page) > 0 {
			o := m.page[0]
			m.page = m.page[1:]
			rel := strings.TrimPrefix(o.Key, m.src.Prefix)
			if hive.Hidden(rel) {
				continue
			}
			if ok, _ := doublestar.Match(m.glob, rel); !ok {
				continue
			}
			m.cur = state.Entry{Key: rel, ETag: o.ETag, Size: o.Size, RunID: m.runID}
			return true
		}
		if m.err != nil || (m.started && m.token == "") {
			return false
		}
		page, err := m.src.Store.List(m.ctx, objstore.ListInput{Prefix: m.src.Prefix, Token: m.token})
		if err != nil {
			m.err = fmt.Errorf("listing %s: %w", m.src, err)
			return false
		}
		m.started, m.page, m.token = true, page.Objects, page.NextToken
	}
}

// Rewind undoes every run later than to (run ids sort by time): their
// bookmarks are removed (a key an undone run processed again gets back the
// bookmark of the earlier run, while the segments still hold it) and their
// outputs are deleted through their commit manifests under sink. Data that
// an undone overwrite run replaced is gone and is not restored; the
// returned change lists what was removed.
func (s *Session) Rewind(ctx context.Context, sink objstore.Location, pipeline, runID, to string) (StateChange, error) {
	st, lock := s.bm, s.lock
	head, _, err := st.Head(ctx)
	if err != nil {
		return StateChange{}, err
	}
	segs, err := st.SegmentRunEntries(ctx, head)
	if err != nil {
		return StateChange{}, err
	}
	manifests, err := listManifests(ctx, sink, pipeline)
	if err != nil {
		return StateChange{}, err
	}
	// Run ids carry their start second but a random suffix, so two runs of
	// one second do not sort by time: order them by their journal's start
	// (kept until gc), else their manifest's commit time, else the id.
	order, err := runOrder(ctx, st, manifests)
	if err != nil {
		return StateChange{}, err
	}
	known := map[string]bool{}
	for _, m := range manifests {
		known[m.RunID] = true
	}
	for _, es := range segs {
		for _, e := range es {
			known[e.RunID] = true
		}
	}
	if !known[to] {
		return StateChange{}, fmt.Errorf("run %s is not in the state or the commit manifests of %s (see 'sluice state show')", to, sink)
	}
	after := func(r string) bool { return order.after(r, to) }
	latest := map[string]state.Entry{}
	undone := map[string]bool{}
	for _, es := range segs { // oldest segment first: later ones win
		for _, e := range es {
			if after(e.RunID) {
				undone[e.RunID] = true
				continue
			}
			latest[e.Key] = e
		}
	}
	var deletes []string
	for _, m := range manifests {
		if !after(m.RunID) {
			continue
		}
		undone[m.RunID] = true
		for _, f := range m.Files {
			deletes = append(deletes, sink.Prefix+f.Key)
		}
		for _, q := range m.Quarantine {
			deletes = append(deletes, sink.Prefix+q)
		}
	}
	for _, m := range manifests { // manifests last: they say the outputs exist
		if after(m.RunID) {
			deletes = append(deletes, ManifestKey(sink.Prefix, m.RunID))
		}
	}
	ch := StateChange{RunID: runID, Kind: "rewind"}
	for r := range undone {
		ch.Runs = append(ch.Runs, r)
	}
	slices.Sort(ch.Runs)
	if len(ch.Runs) == 0 {
		return ch, nil
	}
	keep := make([]state.Entry, 0, len(latest))
	for _, e := range latest {
		keep = append(keep, e)
	}
	slices.SortFunc(keep, func(a, b state.Entry) int { return strings.Compare(a.Key, b.Key) })
	for _, es := range segs {
		for _, e := range es {
			if after(e.RunID) {
				ch.Keys++
			}
		}
	}
	for _, d := range deletes {
		ch.Deleted = append(ch.Deleted, strings.TrimPrefix(d, sink.Prefix))
	}
	j := &state.Journal{RunID: runID, Kind: "rewind", SinkURL: sink.String(), Deletes: deletes}
	return ch, rewrite(ctx, st, lock, j, head, entriesWriter(ctx, st, runID, keep))
}

// runTimes orders runs by when they started.
type runTimes map[string]time.Time

func (o runTimes) after(r, to string) bool {
	tr, okr := o[r]
	tt, okt := o[to]
	if okr && okt && !tr.Equal(tt) {
		return tr.After(tt)
	}
	if r[:min(len(r), 16)] != to[:min(len(to), 16)] {
		return r > to // different seconds: the id's own prefix decides
	}
	return okr && okt && r > to
}

func runOrder(ctx context.Context, st *state.Bookmarks, manifests []ManifestRef) (runTimes, error) {
	o := runTimes{}
	for _, m := range manifests {
		o[m.RunID] = m.CommittedAt
	}
	js, err := st.ListJournals(ctx)
	if err != nil {
		return nil, err
	}
	for _, je := range js {
		j, err := st.ReadJournal(ctx, je.RunID)
		if err != nil {
			continue
		}
		if !j.Started.IsZero() {
			o[j.RunID] = j.Started
		}
	}
	return o, nil
}

// entriesWriter writes a segment of entries (sorted by key, each keeping
// its own run id) for rewrite.
func entriesWriter(ctx context.Context, st *state.Bookmarks, runID string, entries []state.Entry) func() (string, error) {
	return func() (string, error) { return st.WriteSegment(ctx, runID, slices.Values(entries)) }
}

// rewrite journals and applies "HEAD becomes exactly the segment that
// write writes" (its name, or "" for no entries at all).
func rewrite(ctx context.Context, st *state.Bookmarks, lock *state.Lock, j *state.Journal, head state.Head, write func() (string, error)) error {
	deletes := j.Deletes
	j.Deletes = nil
	j.Phase = state.PhaseWriting
	j.Started = time.Now().UTC()
	if err := st.WriteJournal(ctx, j); err != nil {
		return err
	}
	seg, err := write()
	if err != nil {
		return err
	}
	j.ReplaceSegments = true
	if seg != "" {
		j.SetSegments = []string{seg}
	}
	j.DropSegments = slices.DeleteFunc(append([]string(nil), head.Segments...), func(s string) bool { return s == seg })
	j.Deletes = deletes
	j.Phase = state.PhaseCommitting
	if err := lockErr(lock); err != nil {
		return err
	}
	if err := st.WriteJournal(ctx, j); err != nil {
		return err
	}
	KillPoint("after-committing")
	var sink objstore.Location
	if j.SinkURL != "" && len(j.Deletes) > 0 {
		if sink, err = objstore.Open(ctx, j.SinkURL); err != nil {
			return err
		}
	}
	return finish(ctx, st, j, sink, lock)
}

// GCResult counts what GC removed.
type GCResult struct {
	Journals  int `json:"journals"`
	Manifests int `json:"manifests"`
}

// GC removes finished journals and commit manifests older than retention.
// The newest manifest is always kept, and so is any journal still
// unfinished (Recover owns those). Removing a manifest means rewind can no
// longer delete that run's outputs.
func (s *Session) GC(ctx context.Context, sink objstore.Location, pipeline string, retention time.Duration, now time.Time) (GCResult, error) {
	st := s.bm
	var res GCResult
	cut := now.Add(-retention)
	js, err := st.ListJournals(ctx)
	if err != nil {
		return res, err
	}
	for _, je := range js {
		if !je.LastModified.Before(cut) {
			continue
		}
		j, err := st.ReadJournal(ctx, je.RunID)
		if err != nil && !errors.Is(err, objstore.ErrNotExist) {
			return res, err
		}
		if j != nil && !j.Phase.Finished() {
			continue
		}
		if err := st.DeleteJournal(ctx, je.RunID); err != nil {
			return res, err
		}
		res.Journals++
	}
	if sink.Store == nil {
		return res, nil
	}
	refs, err := listManifests(ctx, sink, pipeline)
	if err != nil {
		return res, err
	}
	for i, r := range refs {
		if i == len(refs)-1 || !r.LastModified.Before(cut) {
			continue
		}
		if err := sink.Store.Delete(ctx, r.Key); err != nil {
			return res, fmt.Errorf("deleting manifest %s: %w", r.Key, err)
		}
		res.Manifests++
	}
	return res, nil
}
