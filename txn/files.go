package txn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// filesPublisher publishes a run as files under a sink prefix: its outputs
// are completed in place (they become visible one by one), the objects an
// overwrite replaces are deleted, and the commit manifest is written last,
// so a reader following manifests sees the run appear whole.
type filesPublisher struct {
	sink   objstore.Location
	direct bool
}

func (p *filesPublisher) Prepare(context.Context) (Target, error) { return Target{Loc: p.sink}, nil }

func (p *filesPublisher) Describe(j *state.Journal) {
	j.SinkURL, j.Direct = p.sink.String(), p.direct
}

// Stage lists what the run replaces, under the lock, so that the journal
// names exactly the objects a roll-forward deletes, and builds the
// manifest.
func (p *filesPublisher) Stage(ctx context.Context, out *Outputs, j *state.Journal) (*Manifest, error) {
	written := make(map[string]bool, len(out.Files))
	var pending []objstore.PendingUpload
	for _, f := range out.Files {
		written[f.Upload.Key] = true
		pending = append(pending, f.Upload)
	}
	pending = append(pending, out.Quarantine...)
	deletes, err := replaced(ctx, out, written)
	if err != nil {
		return nil, err
	}
	m, body, err := manifestOf(out, deletes)
	if err != nil {
		return nil, err
	}
	j.Uploads = pending
	j.Deletes = deletes
	j.ManifestKey = ManifestKey(out.Sink.Prefix, out.RunID)
	j.Manifest = append(body, '\n')
	mo := manifestObject(out.Object)
	j.ManifestObject = &mo
	return m, nil
}

// Publish completes every upload, deletes the replaced objects and writes
// the manifest.
func (p *filesPublisher) Publish(ctx context.Context, j *state.Journal) error {
	sink := p.sink
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
	return nil
}

// Published is always true: COMMITTING means the uploads may have started
// to complete, and a half-visible run can only be finished.
func (p *filesPublisher) Published(context.Context, *state.Journal) (bool, error) { return true, nil }

// Discard aborts the run's pending uploads and, for a direct run, deletes
// the outputs it already published.
func (p *filesPublisher) Discard(ctx context.Context, j *state.Journal) error {
	if p.sink.Store == nil {
		return nil
	}
	var errs []error
	if err := abortRunUploads(ctx, p.sink, j.RunID); err != nil {
		errs = append(errs, err)
	}
	if j.Direct {
		if err := deleteRunOutputs(ctx, p.sink, j.RunID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *filesPublisher) Close() error { return nil }

// replaced lists what the run replaces (full keys): for Replace.All, every
// object under the sink but sluice's own that this run did not write; for
// Replace.Partitions, the same within each of those partitions (a
// partition whose rows were all filtered out is emptied). Listing happens
// under the lock, before COMMITTING, so the journal names exactly the
// objects that the roll-forward deletes.
func replaced(ctx context.Context, out *Outputs, written map[string]bool) ([]string, error) {
	var prefixes []string
	switch {
	case out.Replace.All:
		prefixes = []string{out.Sink.Prefix}
	case len(out.Replace.Partitions) > 0:
		for _, p := range out.Replace.Partitions {
			prefixes = append(prefixes, out.Sink.Prefix+p)
		}
	default:
		return nil, nil
	}
	store := out.Sink.Store
	var deletes []string
	for _, p := range prefixes {
		err := objstore.ListAll(ctx, store, objstore.ListInput{Prefix: p}, func(page objstore.ListPage) error {
			for _, o := range page.Objects {
				rel := strings.TrimPrefix(o.Key, out.Sink.Prefix)
				// hive.Hidden covers _sluice/ (manifests, quarantine) and
				// the local store's upload area.
				if !written[o.Key] && !hive.Hidden(rel) {
					deletes = append(deletes, o.Key)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing %s for overwrite: %w", p, err)
		}
	}
	return deletes, nil
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
