package txn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// Outputs describes a finished, uncommitted run: everything the commit
// needs to know about it, and nothing about how it was computed. The
// executor's result is turned into one by the caller (package apply).
type Outputs struct {
	RunID    string
	Pipeline string
	Source   string // the source's name, for the manifest
	SinkName string
	Sink     objstore.Location
	// Object holds the sink's server-side object settings (its s3 block's
	// encryption, ACL, tags), which the manifest is written with too.
	Object objstore.ObjectOptions
	// Mode is the sink's mode as written in the configuration, for the
	// manifest; what the commit deletes is Replace.
	Mode    string
	Replace Replace
	// ReplaceValues, for an overwrite_partitions run into a table, are the
	// partition tuples it replaces (rendered values, nil for null).
	ReplaceValues [][]*string
	// Files are the run's outputs, pending (invisible) until the commit.
	Files []File
	// Quarantine holds the pending objects of quarantined bad records.
	Quarantine []objstore.PendingUpload
	// Inputs are the objects the run processed, keys relative to the
	// source location, sorted by key and unique: the run's bookmarks.
	Inputs []state.Entry
	// CleanSource, when set, moves or deletes the inputs once committed.
	CleanSource *state.SourceCleanup
	// Metrics and Checks are recorded in the manifest as they marshal.
	Metrics any
	Checks  any
	Elapsed time.Duration
}

// File is one output of a run.
type File struct {
	Upload objstore.PendingUpload // Upload.Key is the full key in the sink's store
	Rows   int64
	Bytes  int64
	// Partition holds the raw partition values by column.
	Partition map[string]string
	// Values, for a table's data file, are its exact partition values in
	// the order of the table's partition fields (nil for null).
	Values []*string
}

// Replace says which objects already under the sink a commit deletes once
// the run's outputs are published.
type Replace struct {
	// All: every object under the sink but sluice's own (mode overwrite).
	All bool
	// Partitions are output partition directories relative to the sink
	// ("dt=2026-01-01/"), each replaced whole (mode overwrite_partitions).
	Partitions []string
}

// CommitOptions say what guards the commit.
type CommitOptions struct {
	// HeadETag is the state HEAD's ETag the run was planned against; the
	// commit refuses (objstore.ErrPrecondition) if HEAD moved meanwhile.
	HeadETag string
	// MovedFrom, when set, is the old state a moved block names: HeadETag
	// is its HEAD's, and its bookmarks are adopted before the swap.
	MovedFrom *state.Bookmarks
}

// Commit publishes a finished run under the journaled protocol
// (docs/commit-protocol.md): the publisher decides what the publication
// will do (for files, what the run replaces; for a table, the data files
// and replaced partitions), the run's bookmark segment is written
// (unreferenced), COMMITTING is journaled with every remaining step, then
// the publisher publishes (completes the uploads, deletes what is
// replaced, writes the manifest; or commits the table snapshot), the
// state HEAD is swapped and DONE journaled. An input is marked processed
// only once its outputs are visible. A crash after COMMITTING is decided
// by Recover; a publication that certainly did not happen (a table's
// commit lost to other writers every time) is rolled back here.
func (r *Run) Commit(ctx context.Context, out *Outputs, o CommitOptions) (*Manifest, error) {
	if err := lockErr(r.lock); err != nil {
		return nil, err
	}
	st := r.bm
	check := st
	if o.MovedFrom != nil {
		if _, etag, err := st.Head(ctx); err != nil {
			return nil, err
		} else if etag != "" {
			return nil, fmt.Errorf("state %s gained a HEAD since the plan: %w", st.Dir(), objstore.ErrPrecondition)
		}
		check = o.MovedFrom
	}
	if _, etag, err := check.Head(ctx); err != nil {
		return nil, err
	} else if etag != o.HeadETag {
		return nil, fmt.Errorf("state %sHEAD moved (ETag %q, planned against %q): %w", check.Dir(), etag, o.HeadETag, objstore.ErrPrecondition)
	}
	j := r.j
	m, err := r.pub.Stage(ctx, out, j)
	if err != nil {
		return nil, err
	}
	if o.MovedFrom != nil {
		j.MovedFrom = o.MovedFrom.Dir()
	}
	j.CleanSource = out.CleanSource
	seg, err := st.WriteSegment(ctx, out.RunID, slices.Values(out.Inputs))
	if err != nil {
		return nil, fmt.Errorf("recording processed inputs: %w", err)
	}
	KillPoint("after-segment")
	j.Segment = seg
	if err := lockErr(r.lock); err != nil {
		return nil, err
	}
	j.Phase = state.PhaseCommitting
	if err := st.WriteJournal(ctx, j); err != nil {
		return nil, err
	}
	slog.InfoContext(ctx, "journal COMMITTING", "run", out.RunID, "uploads", len(j.Uploads), "deletes", len(j.Deletes), "inputs", len(out.Inputs))
	KillPoint("after-committing")
	if err := finishWith(ctx, st, j, r.pub, r.lock); err != nil {
		if errors.Is(err, ErrNotPublished) {
			if rerr := rollBack(ctx, st, j, r.pub, "rolled back: "+err.Error()); rerr != nil {
				return nil, errors.Join(err, rerr)
			}
		}
		return nil, err
	}
	return m, nil
}

// manifestOf builds the commit manifest of out and its JSON.
func manifestOf(out *Outputs, deletes []string) (*Manifest, []byte, error) {
	prefix := out.Sink.Prefix
	m := &Manifest{
		FormatVersion: ManifestFormatVersion, RunID: out.RunID, Pipeline: out.Pipeline,
		Source: out.Source, Sink: out.SinkName, Mode: out.Mode,
		CommittedAt: time.Now().UTC(), ElapsedMS: out.Elapsed.Milliseconds(),
	}
	var err error
	if m.Metrics, err = rawJSON(out.Metrics); err != nil {
		return nil, nil, err
	}
	if m.Checks, err = rawJSON(out.Checks); err != nil {
		return nil, nil, err
	}
	for _, d := range deletes {
		m.Deleted = append(m.Deleted, strings.TrimPrefix(d, prefix))
	}
	for _, f := range out.Files {
		m.Files = append(m.Files, ManifestFile{Key: strings.TrimPrefix(f.Upload.Key, prefix), Rows: f.Rows, Bytes: f.Bytes, Partition: f.Partition})
	}
	slices.SortFunc(m.Files, func(a, b ManifestFile) int { return strings.Compare(a.Key, b.Key) })
	for _, q := range out.Quarantine {
		m.Quarantine = append(m.Quarantine, strings.TrimPrefix(q.Key, prefix))
	}
	h := sha256.New()
	for _, e := range out.Inputs {
		m.Inputs.Files++
		m.Inputs.Bytes += e.Size
		fmt.Fprintf(h, "%s\x00%s\x00%d\n", e.Key, e.ETag, e.Size)
	}
	m.Inputs.Digest = hex.EncodeToString(h.Sum(nil))
	body, err := json.MarshalIndent(m, "", "  ")
	return m, body, err
}

// manifestObject is how a run's manifest is written: as JSON, with the
// sink's encryption, ACL and tags, so that whoever may read the outputs
// may read the manifest and a bucket policy that demands KMS accepts it.
// The storage class is left to the bucket: sluice and manifest readers
// GET the manifest (an archive class would make it unreadable until
// restored), and an infrequent-access class bills a 1 KiB object as 128 KiB.
func manifestObject(sink objstore.ObjectOptions) objstore.ObjectOptions {
	o := sink
	o.ContentType, o.ContentEncoding, o.StorageClass = "application/json", "", ""
	return o
}

// rawJSON marshals v for the manifest; nil and empty lists stay absent.
func rawJSON(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" || string(b) == "[]" {
		return nil, err
	}
	return b, nil
}

func lockErr(l *state.Lock) error {
	if l == nil {
		return nil
	}
	return l.Err()
}
