package exec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
)

// ManifestFormatVersion is the format of commit manifests.
const ManifestFormatVersion = "1"

// Manifest is the record of one committed run, written to
// <sink>/_sluice/commits/<run id>.manifest. Readers that follow manifests
// see each run appear whole.
type Manifest struct {
	FormatVersion string          `json:"format_version"`
	RunID         string          `json:"run_id"`
	Pipeline      string          `json:"pipeline"`
	Source        string          `json:"source"`
	Sink          string          `json:"sink"`
	Mode          string          `json:"mode"`
	CommittedAt   time.Time       `json:"committed_at"`
	Files         []ManifestFile  `json:"files"`
	Quarantine    []string        `json:"quarantine,omitempty"`
	Deleted       []string        `json:"deleted,omitempty"`
	Inputs        ManifestInputs  `json:"inputs"`
	Metrics       Stats           `json:"metrics"`
	Checks        []CheckResult   `json:"checks,omitempty"`
	ElapsedMS     int64           `json:"elapsed_ms"`
	Extra         json.RawMessage `json:"extra,omitempty"`
}

// ManifestFile is one published output.
type ManifestFile struct {
	Key       string            `json:"key"`
	Rows      int64             `json:"rows"`
	Bytes     int64             `json:"bytes"`
	Partition map[string]string `json:"partition,omitempty"`
}

// ManifestInputs summarises the inputs: their count, bytes, and a digest
// over (key, etag, size) in key order, so a run can be tied to exactly the
// objects it read.
type ManifestInputs struct {
	Files  int64  `json:"files"`
	Bytes  int64  `json:"bytes"`
	Digest string `json:"digest"`
}

// ManifestKey is the key of a run's manifest under the sink prefix.
func ManifestKey(sinkPrefix, runID string) string {
	return sinkPrefix + "_sluice/commits/" + runID + ".manifest"
}

// CommitOptions say where the run's bookmarks go and what guards them.
type CommitOptions struct {
	State *state.Source
	// HeadETag is the state HEAD's ETag the run was planned against; the
	// commit refuses (objstore.ErrPrecondition) if HEAD moved meanwhile.
	HeadETag string
	// MovedFrom, when set, is the old state a moved block names: HeadETag
	// is its HEAD's, and its bookmarks are adopted before the swap.
	MovedFrom *state.Source
	// Lock, when set, is checked before each irrevocable step: a run that
	// lost its lock must not publish.
	Lock *state.Lock
	// Journal is the run's journal from BeginRun; nil without State.
	Journal *state.Journal
}

// Commit publishes a finished run. With a State it follows the journaled
// protocol (docs/commit-protocol.md): it lists what the run replaces,
// writes the run's bookmark segment (unreferenced), journals COMMITTING
// with every remaining step, then completes every pending upload, deletes
// the replaced objects, writes the commit manifest, swaps the state HEAD
// and journals DONE. An input is marked processed only once its outputs
// are visible, and a crash after COMMITTING is finished by Recover.
func Commit(ctx context.Context, res *Result, o CommitOptions) (*Manifest, error) {
	job := res.Job
	if err := lockErr(o.Lock); err != nil {
		return nil, err
	}
	if o.State != nil {
		check := o.State
		if o.MovedFrom != nil {
			if _, etag, err := o.State.Head(ctx); err != nil {
				return nil, err
			} else if etag != "" {
				return nil, fmt.Errorf("state %s gained a HEAD since the plan: %w", o.State.Dir(), objstore.ErrPrecondition)
			}
			check = o.MovedFrom
		}
		if _, etag, err := check.Head(ctx); err != nil {
			return nil, err
		} else if etag != o.HeadETag {
			return nil, fmt.Errorf("state %sHEAD moved (ETag %q, planned against %q): %w", check.Dir(), etag, o.HeadETag, objstore.ErrPrecondition)
		}
	}
	written := make(map[string]bool, len(res.Files))
	var pending []objstore.PendingUpload
	for _, f := range res.Files {
		written[f.Key] = true
		pending = append(pending, f.Upload)
	}
	pending = append(pending, res.Quarantine...)
	deletes, err := replaced(ctx, job, written)
	if err != nil {
		return nil, err
	}
	m := &Manifest{
		FormatVersion: ManifestFormatVersion, RunID: job.RunID, Pipeline: job.Pipeline,
		Source: job.Source.Name, Sink: job.Sink.Name, Mode: job.Sink.Mode.String(),
		CommittedAt: time.Now().UTC(), Metrics: res.Stats,
		Checks: res.Checks, ElapsedMS: res.Elapsed.Milliseconds(),
	}
	for _, d := range deletes {
		m.Deleted = append(m.Deleted, strings.TrimPrefix(d, job.Sink.Loc.Prefix))
	}
	for _, f := range res.Files {
		m.Files = append(m.Files, ManifestFile{Key: strings.TrimPrefix(f.Key, job.Sink.Loc.Prefix), Rows: f.Rows, Bytes: f.Bytes, Partition: f.Partition})
	}
	slices.SortFunc(m.Files, func(a, b ManifestFile) int { return strings.Compare(a.Key, b.Key) })
	for _, q := range res.Quarantine {
		m.Quarantine = append(m.Quarantine, strings.TrimPrefix(q.Key, job.Sink.Loc.Prefix))
	}
	entries := inputEntries(job)
	h := sha256.New()
	for _, e := range entries {
		m.Inputs.Files++
		m.Inputs.Bytes += e.Size
		fmt.Fprintf(h, "%s\x00%s\x00%d\n", e.Key, e.ETag, e.Size)
	}
	m.Inputs.Digest = hex.EncodeToString(h.Sum(nil))
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	j := o.Journal
	if j == nil {
		j = &state.Journal{RunID: job.RunID, Kind: "apply", Phase: state.PhaseWriting, Started: time.Now().UTC(), SinkURL: job.Sink.Loc.String()}
	}
	j.Uploads = pending
	j.Deletes = deletes
	j.ManifestKey = ManifestKey(job.Sink.Loc.Prefix, job.RunID)
	j.Manifest = append(body, '\n')
	if o.MovedFrom != nil {
		j.MovedFrom = o.MovedFrom.Dir()
	}
	if o.State != nil {
		seg, err := o.State.WriteSegment(ctx, job.RunID, slices.Values(entries))
		if err != nil {
			return nil, fmt.Errorf("recording processed inputs: %w", err)
		}
		KillPoint("after-segment")
		j.Segment = seg
		if err := lockErr(o.Lock); err != nil {
			return nil, err
		}
		j.Phase = state.PhaseCommitting
		if err := o.State.WriteJournal(ctx, j); err != nil {
			return nil, err
		}
		KillPoint("after-committing")
	}
	if err := finish(ctx, o.State, j, job.Sink.Loc, o.Lock); err != nil {
		return nil, err
	}
	return m, nil
}

func lockErr(l *state.Lock) error {
	if l == nil {
		return nil
	}
	return l.Err()
}

// inputEntries lists the run's inputs as state entries, keyed relative to
// the source prefix, sorted and unique.
func inputEntries(job *Job) []state.Entry {
	var out []state.Entry
	for _, t := range job.Tasks {
		for _, in := range t.Inputs {
			out = append(out, state.Entry{Key: strings.TrimPrefix(in.Key, job.Source.Loc.Prefix), ETag: in.ETag, Size: in.Size, RunID: job.RunID})
		}
	}
	slices.SortFunc(out, func(a, b state.Entry) int { return strings.Compare(a.Key, b.Key) })
	return slices.CompactFunc(out, func(a, b state.Entry) bool { return a.Key == b.Key })
}

// replaced lists what the run replaces (full keys): for overwrite, every
// object under the sink but _sluice/ that this run did not write; for
// overwrite_partitions, the same within each output partition the run's
// inputs feed (a partition whose rows were all filtered out is emptied).
// Listing happens under the lock, before COMMITTING, so the journal names
// exactly the objects that the roll-forward deletes.
func replaced(ctx context.Context, job *Job, written map[string]bool) ([]string, error) {
	var prefixes []string
	switch job.Sink.Mode {
	case spec.ModeOverwrite:
		prefixes = []string{job.Sink.Loc.Prefix}
	case spec.ModeOverwritePartitions:
		prefixes = affectedPartitions(job)
	default:
		return nil, nil
	}
	store := job.Sink.Loc.Store
	var out []string
	for _, p := range prefixes {
		in := objstore.ListInput{Prefix: p}
		for {
			page, err := store.List(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("listing %s for overwrite: %w", p, err)
			}
			for _, o := range page.Objects {
				rel := strings.TrimPrefix(o.Key, job.Sink.Loc.Prefix)
				// hive.Hidden covers _sluice/ (manifests, quarantine) and
				// the local store's upload area.
				if written[o.Key] || hive.Hidden(rel) {
					continue
				}
				out = append(out, o.Key)
			}
			if page.NextToken == "" {
				break
			}
			in.Token = page.NextToken
		}
	}
	return out, nil
}

// affectedPartitions renders the output partition directory of every input.
func affectedPartitions(job *Job) []string {
	pos := make([]int, len(job.Sink.PartitionBy))
	for i, k := range job.Sink.PartitionBy {
		pos[i] = -1
		for j, f := range job.Source.PartitionFields {
			if f.Name == k {
				pos[i] = j
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	vals := make([]string, len(pos))
	for _, t := range job.Tasks {
		for _, in := range t.Inputs {
			for i, p := range pos {
				if p < 0 || p >= len(in.Partition) {
					vals[i] = ""
				} else {
					vals[i] = renderPartitionValue(in.Partition[p])
				}
			}
			dir := job.Sink.Loc.Prefix + hive.Dir(job.Sink.PartitionBy, vals)
			if !seen[dir] {
				seen[dir] = true
				out = append(out, dir)
			}
		}
	}
	slices.Sort(out)
	return out
}

// renderPartitionValue formats a typed partition value as the writer
// renders the same value in an output path (write.PartitionValue). A
// partition key is a string, an integer or a date (spec enforces it);
// TestPartitionValueRenderingMatchesWriter holds the two together.
func renderPartitionValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return hive.FormatInt(x)
	case int32: // date: days since the epoch
		return hive.FormatDate(int64(x))
	}
	return fmt.Sprint(v)
}
