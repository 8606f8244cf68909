package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/sluicedata/sluice/objstore"
)

// Phase is where a journaled change stands.
type Phase int

// Phases, in the order a change goes through them.
const (
	// PhaseWriting: outputs are being written as pending uploads; a crash
	// here is rolled back (nothing of the run was visible).
	PhaseWriting Phase = iota + 1
	// PhaseCommitting: the journal lists every step left; a crash here is
	// rolled forward (some of the run may already be visible).
	PhaseCommitting
	// PhaseDone: committed; the journal is history until gc.
	PhaseDone
	// PhaseAborted: rolled back; nothing of the run remains.
	PhaseAborted
)

var phaseNames = []string{"", "WRITING", "COMMITTING", "DONE", "ABORTED"}

func (p Phase) String() string {
	if p > 0 && int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Finished reports whether nothing is left to recover.
func (p Phase) Finished() bool { return p == PhaseDone || p == PhaseAborted }

// MarshalText writes the phase name.
func (p Phase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a phase name.
func (p *Phase) UnmarshalText(b []byte) error {
	if i := slices.Index(phaseNames, string(b)); i > 0 {
		*p = Phase(i)
		return nil
	}
	return fmt.Errorf("unknown journal phase %q", b)
}

// Journal records one change of a source's state (a run, or a state
// command) so that whoever next takes the lock can finish or undo it. It is
// written at every phase change; in COMMITTING it lists every remaining step,
// each of which is idempotent.
type Journal struct {
	FormatVersion int       `json:"format_version"`
	RunID         string    `json:"run_id"`
	Kind          string    `json:"kind"` // "apply", "forget", "mark-processed", "rewind", "compact"
	Phase         Phase     `json:"phase"`
	Started       time.Time `json:"started"`
	Updated       time.Time `json:"updated"`
	// SinkURL is the sink whose pending uploads (keys carrying RunID) and
	// outputs this change concerns; "" for pure state changes.
	SinkURL string `json:"sink_url,omitempty"`
	// Direct: the run publishes each output as soon as it is written
	// (committer = "direct"), so rolling it back deletes its published
	// outputs too, not only its pending uploads.
	Direct bool `json:"direct,omitempty"`

	// Set in COMMITTING.
	Uploads []objstore.PendingUpload `json:"uploads,omitempty"`
	Deletes []string                 `json:"deletes,omitempty"` // sink keys removed after the uploads complete
	// ManifestKey and Manifest are the commit manifest to write (sink key).
	ManifestKey string          `json:"manifest_key,omitempty"`
	Manifest    json.RawMessage `json:"manifest,omitempty"`
	// Segment is the segment (already written) that the HEAD swap appends;
	// with ReplaceSegments, HEAD's segment list becomes SetSegments instead
	// (possibly empty: a flag, because JSON cannot tell an empty list from
	// none, and appending nothing then dropping every segment would lose
	// the bookmarks).
	Segment         string   `json:"segment,omitempty"`
	ReplaceSegments bool     `json:"replace_segments,omitempty"`
	SetSegments     []string `json:"set_segments,omitempty"`
	// MovedFrom is the old state directory to adopt before the swap.
	MovedFrom string `json:"moved_from,omitempty"`
	// DropSegments are segment objects no longer named after the swap
	// (compaction), deleted last.
	DropSegments []string `json:"drop_segments,omitempty"`
	Error        string   `json:"error,omitempty"`
}

// JournalKey is where a run's journal lives.
func (s *Source) JournalKey(runID string) string { return s.dir + "journal/" + runID + ".json" }

// WriteJournal records j (Updated is set here).
func (s *Source) WriteJournal(ctx context.Context, j *Journal) error {
	j.FormatVersion = FormatVersion
	j.Updated = time.Now().UTC()
	body, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	key := s.JournalKey(j.RunID)
	if _, err := s.store.Put(ctx, key, body, objstore.PutOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("state: journal %s %s: %w", key, j.Phase, err)
	}
	return nil
}

// ReadJournal reads one run's journal.
func (s *Source) ReadJournal(ctx context.Context, runID string) (*Journal, error) {
	key := s.JournalKey(runID)
	rc, _, err := s.store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("state: read %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("state: read %s: %w", key, err)
	}
	var j Journal
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("state: %s: corrupt journal: %w", key, err)
	}
	if j.FormatVersion > FormatVersion {
		return nil, fmt.Errorf("state: %s: journal format version %d is newer than %d; upgrade sluice", key, j.FormatVersion, FormatVersion)
	}
	return &j, nil
}

// JournalEntry is one listed journal.
type JournalEntry struct {
	RunID        string
	LastModified time.Time
}

// ListJournals lists the journals in run id (= time) order.
func (s *Source) ListJournals(ctx context.Context) ([]JournalEntry, error) {
	prefix := s.dir + "journal/"
	var out []JournalEntry
	err := listAll(ctx, s.store, prefix, func(o objstore.ObjectInfo) {
		if id, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, prefix), ".json"); ok && !strings.Contains(id, "/") {
			out = append(out, JournalEntry{RunID: id, LastModified: o.LastModified})
		}
	})
	return out, err
}

// DeleteJournal removes a finished journal (gc).
func (s *Source) DeleteJournal(ctx context.Context, runID string) error {
	return s.store.Delete(ctx, s.JournalKey(runID))
}

func listAll(ctx context.Context, store objstore.Store, prefix string, fn func(objstore.ObjectInfo)) error {
	in := objstore.ListInput{Prefix: prefix}
	for {
		page, err := store.List(ctx, in)
		if err != nil {
			return fmt.Errorf("state: list %s: %w", prefix, err)
		}
		for _, o := range page.Objects {
			fn(o)
		}
		if page.NextToken == "" {
			return nil
		}
		in.Token = page.NextToken
	}
}

// AtDir returns the state whose directory (as in a plan's StatePin.Dir,
// prefix included) is dir.
func AtDir(store objstore.Store, dir string) *Source {
	if !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	return &Source{store: store, dir: dir}
}

// WriteSegment writes runID's segment of entries (sorted by key, unique)
// without touching HEAD, and returns its name ("" when there are no
// entries: nothing is written). Segments are immutable and unreferenced
// until a HEAD swap names them, so writing one early is harmless.
func (s *Source) WriteSegment(ctx context.Context, runID string, entries iter.Seq[Entry]) (string, error) {
	if runID == "" || strings.ContainsAny(runID, "/\n") {
		return "", fmt.Errorf("state: invalid run id %q", runID)
	}
	data, n, err := encodeSegment(runID, entries)
	if err != nil {
		return "", fmt.Errorf("state: segment %s: %w", s.dir+SegmentName(runID), err)
	}
	return s.putSegment(ctx, runID, data, n)
}

func (s *Source) putSegment(ctx context.Context, runID string, data []byte, n int) (string, error) {
	if n == 0 {
		return "", nil
	}
	seg := SegmentName(runID)
	if _, err := s.store.Put(ctx, s.dir+seg, data, objstore.PutOptions{ContentType: "application/x-ndjson"}); err != nil {
		return "", fmt.Errorf("state: write %s: %w", s.dir+seg, err)
	}
	return seg, nil
}

// WriteMerged writes runID's segment from the merged entries of head that
// keep accepts (every entry when keep is nil), each keeping its own run id
// (compaction, forget). The entries stream from the segments into the
// encoded segment, so memory is that gzip-compressed segment, not the
// entries; a segment that cannot be read fully writes nothing. It returns
// the segment's name ("" when nothing was kept) and the entries kept.
func (s *Source) WriteMerged(ctx context.Context, runID string, head Head, keep func(Entry) bool) (string, int, error) {
	if runID == "" || strings.ContainsAny(runID, "/\n") {
		return "", 0, fmt.Errorf("state: invalid run id %q", runID)
	}
	it, err := s.Entries(ctx, head)
	if err != nil {
		return "", 0, err
	}
	defer it.Close()
	seq := func(yield func(Entry) bool) {
		for it.Next() {
			if e := it.Entry(); keep == nil || keep(e) {
				if !yield(e) {
					return
				}
			}
		}
	}
	return s.WriteStream(ctx, runID, seq, it.Err)
}

// WriteStream writes runID's segment from entries (sorted by key, unique,
// each keeping its own run id) as they stream, then calls check: entries
// cannot return an error, so check reports whether they ended early, and
// when it does nothing is written. It returns the segment's name ("" when
// there were no entries) and their number.
func (s *Source) WriteStream(ctx context.Context, runID string, entries iter.Seq[Entry], check func() error) (string, int, error) {
	seg, err := EncodeSegment(runID, entries, check)
	if err != nil {
		return "", 0, fmt.Errorf("state: segment %s: %w", s.dir+SegmentName(runID), err)
	}
	name, err := s.PutSegment(ctx, seg)
	return name, seg.n, err
}

// EncodedSegment is a segment encoded in memory (gzip-compressed), not yet
// written: a caller that must know what a stream holds before journaling
// a change encodes first and writes after.
type EncodedSegment struct {
	runID string
	data  []byte
	n     int
}

// Len is the number of entries.
func (e *EncodedSegment) Len() int { return e.n }

// EncodeSegment encodes runID's segment from entries as they stream (see
// WriteStream for check).
func EncodeSegment(runID string, entries iter.Seq[Entry], check func() error) (*EncodedSegment, error) {
	if runID == "" || strings.ContainsAny(runID, "/\n") {
		return nil, fmt.Errorf("state: invalid run id %q", runID)
	}
	data, n, err := encodeSegment(runID, entries)
	if err == nil && check != nil {
		err = check()
	}
	if err != nil {
		return nil, err
	}
	return &EncodedSegment{runID: runID, data: data, n: n}, nil
}

// PutSegment writes an encoded segment and returns its name ("" when it
// has no entries: nothing is written).
func (s *Source) PutSegment(ctx context.Context, seg *EncodedSegment) (string, error) {
	return s.putSegment(ctx, seg.runID, seg.data, seg.n)
}

// DeleteSegment removes a segment object that no HEAD names.
func (s *Source) DeleteSegment(ctx context.Context, name string) error {
	return s.store.Delete(ctx, s.dir+name)
}

// SwapHead records runID's change in HEAD: it appends seg (unless "") or,
// when set is non-nil, replaces the segment list with set. It is
// idempotent: a HEAD already naming runID means an earlier attempt (perhaps
// of a process that crashed, perhaps a PUT whose answer was lost) landed,
// and it returns that HEAD. The PUT is conditional on the ETag read; the
// caller holds the lock, so a precondition failure is an ambiguous retry
// and is resolved by reading HEAD back.
func (s *Source) SwapHead(ctx context.Context, runID, seg string, set []string) (Head, error) {
	for attempt := 0; ; attempt++ {
		cur, etag, err := s.Head(ctx)
		if err != nil {
			return Head{}, err
		}
		if cur.RunID == runID {
			return cur, nil
		}
		next := Head{FormatVersion: FormatVersion, Version: cur.Version + 1, RunID: runID,
			Segments: append([]string{}, cur.Segments...), Updated: time.Now().UTC().Truncate(time.Second)}
		if set != nil {
			next.Segments = append([]string{}, set...)
		} else if seg != "" && !slices.Contains(next.Segments, seg) {
			next.Segments = append(next.Segments, seg)
		}
		body, err := marshalHead(next)
		if err != nil {
			return Head{}, err
		}
		opts := objstore.PutOptions{IfMatch: etag, IfNoneMatch: etag == "", ContentType: "application/json"}
		_, err = s.store.Put(ctx, s.headKey(), body, opts)
		if err == nil {
			return next, nil
		}
		if (errors.Is(err, objstore.ErrPrecondition) || errors.Is(err, objstore.ErrNotExist)) && attempt < 3 {
			continue // re-read: ours if it names runID
		}
		return Head{}, fmt.Errorf("state: swap %s: %w", s.headKey(), err)
	}
}

// WriteEntries writes runID's segment from a full list of entries that may
// carry other run ids (compaction, forget, rewind): each entry keeps its own
// run id.
func (s *Source) WriteEntries(ctx context.Context, runID string, entries []Entry) (string, error) {
	return s.WriteSegment(ctx, runID, slices.Values(entries))
}

// AllEntries reads the merged entries of head into memory, for the state
// commands that edit the set by key (mark-processed, rewind); compaction
// and forget stream instead (WriteMerged).
func (s *Source) AllEntries(ctx context.Context, head Head) ([]Entry, error) {
	it, err := s.Entries(ctx, head)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []Entry
	for it.Next() {
		out = append(out, it.Entry())
	}
	return out, it.Err()
}

// SegmentRunEntries reads every entry of every segment of head without
// merging: (key, run) pairs including keys processed again by later runs.
// rewind uses it to restore the bookmark an undone run shadowed.
func (s *Source) SegmentRunEntries(ctx context.Context, head Head) ([][]Entry, error) {
	var out [][]Entry
	for _, name := range head.Segments {
		r, err := s.openSegment(ctx, name)
		if err != nil {
			return nil, err
		}
		var es []Entry
		for {
			e, ok, err := r.next()
			if err != nil {
				r.Close()
				return nil, err
			}
			if !ok {
				break
			}
			es = append(es, e)
		}
		r.Close()
		out = append(out, es)
	}
	return out, nil
}
