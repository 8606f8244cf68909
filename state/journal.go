package state

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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
	// Executor and ExecutorRef say where a distributed run's tasks run
	// ("temporal" and its workflow id, "external" and its saved plan), so
	// that whoever rolls the run back after a crash of its coordinator can
	// stop them first; "" for tasks run in the coordinator's process.
	Executor    string `json:"executor,omitempty"`
	ExecutorRef string `json:"executor_ref,omitempty"`

	// Set in COMMITTING.
	Uploads []objstore.PendingUpload `json:"uploads,omitempty"`
	Deletes Keys                     `json:"deletes,omitempty"` // sink keys removed after the uploads complete
	// ManifestKey and Manifest are the commit manifest to write (sink key);
	// ManifestObject what it is written with (content type, the sink's
	// encryption, ACL and tags), so that a roll-forward writes it the same.
	ManifestKey    string                  `json:"manifest_key,omitempty"`
	Manifest       json.RawMessage         `json:"manifest,omitempty"`
	ManifestObject *objstore.ObjectOptions `json:"manifest_object,omitempty"`
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
	// CleanSource, when set, moves or deletes the inputs the run processed
	// (those of Segment) once HEAD names them; idempotent, like every
	// step, so a roll-forward finishes it.
	CleanSource *SourceCleanup `json:"clean_source,omitempty"`
	// DropSegments are segment objects no longer named after the swap
	// (compaction), deleted last.
	DropSegments []string `json:"drop_segments,omitempty"`
	// Table, for a run into an Iceberg table, is package txn's record of
	// it (the catalog and the table from WRITING; the commit from
	// COMMITTING). SinkURL is then the table's data location.
	Table json.RawMessage `json:"table,omitempty"`
	Error string          `json:"error,omitempty"`
}

// Keys are object keys as a journal records them: each a JSON string
// when it is valid UTF-8, else {"base64": "<its exact bytes>"} (a JSON
// string cannot hold other bytes; encoding/json would replace them with
// U+FFFD and the step would name another object).
type Keys []string

// MarshalJSON writes each key losslessly.
func (ks Keys) MarshalJSON() ([]byte, error) {
	out := make([]any, len(ks))
	for i, k := range ks {
		if utf8.ValidString(k) {
			out[i] = k
		} else {
			out[i] = keyBytes{Base64: []byte(k)}
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads keys written by MarshalJSON.
func (ks *Keys) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Keys, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err == nil {
			continue
		}
		var kb keyBytes
		if err := json.Unmarshal(r, &kb); err != nil || kb.Base64 == nil {
			return fmt.Errorf("key %d: neither a string nor {\"base64\": …}", i)
		}
		out[i] = string(kb.Base64)
	}
	*ks = out
	return nil
}

type keyBytes struct {
	Base64 []byte `json:"base64"`
}

// JournalKey is where a run's journal lives.
func (s *Bookmarks) JournalKey(runID string) string { return s.dir + "journal/" + runID + ".json" }

// TableJournalVersion is the format of the journal of a run into an
// Iceberg table: a sluice that predates tables would read it as a file
// run and, rolling it forward, record inputs whose rows never reached the
// table; the higher version makes it refuse instead ("upgrade sluice").
const TableJournalVersion = 2

// WriteJournal records j (Updated is set here).
func (s *Bookmarks) WriteJournal(ctx context.Context, j *Journal) error {
	j.FormatVersion = FormatVersion
	if len(j.Table) > 0 {
		j.FormatVersion = TableJournalVersion
	}
	j.Updated = time.Now().UTC()
	body, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	key := s.JournalKey(j.RunID)
	if _, err := s.store.Put(ctx, key, body, objstore.PutOptions{Object: objstore.ObjectOptions{ContentType: "application/json"}}); err != nil {
		return fmt.Errorf("state: journal %s %s: %w", key, j.Phase, err)
	}
	return nil
}

// ReadJournal reads one run's journal.
func (s *Bookmarks) ReadJournal(ctx context.Context, runID string) (*Journal, error) {
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
	if j.FormatVersion > TableJournalVersion {
		return nil, fmt.Errorf("state: %s: journal format version %d is newer than %d; upgrade sluice", key, j.FormatVersion, TableJournalVersion)
	}
	return &j, nil
}

// JournalEntry is one listed journal.
type JournalEntry struct {
	RunID        string
	LastModified time.Time
}

// ListJournals lists the journals in run id (= time) order.
func (s *Bookmarks) ListJournals(ctx context.Context) ([]JournalEntry, error) {
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
func (s *Bookmarks) DeleteJournal(ctx context.Context, runID string) error {
	return s.store.Delete(ctx, s.JournalKey(runID))
}

// SourceCleanup is a source's clean_source, as a journal records it.
type SourceCleanup struct {
	Action     string `json:"action"` // "delete" or "archive"
	SourceURL  string `json:"source_url"`
	ArchiveURL string `json:"archive_url,omitempty"`
}
