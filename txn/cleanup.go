package txn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// cleanSource carries out a committed run's clean_source: every input the
// run recorded as processed (its segment) is moved under the archive, or
// deleted. It runs after the HEAD swap, so only inputs whose outputs are
// published and bookmarked are touched, and it is idempotent, so a roll-
// forward after a crash finishes it:
//   - an input already gone was cleaned before (or removed by someone
//     else): nothing to do;
//   - an input whose ETag is no longer the bookmarked one was replaced
//     since by a new, unprocessed object: it is left alone, never deleted;
//   - an archive copy already there with the input's size is not copied
//     again; the source is deleted only once its copy is complete.
func cleanSource(ctx context.Context, st *state.Bookmarks, j *state.Journal) error {
	c := j.CleanSource
	if c == nil || j.Segment == "" {
		return nil
	}
	src, err := objstore.Open(ctx, c.SourceURL)
	if err != nil {
		return fmt.Errorf("clean_source: source %s: %w", c.SourceURL, err)
	}
	var arch objstore.Location
	if c.Action == "archive" {
		if arch, err = objstore.Open(ctx, c.ArchiveURL); err != nil {
			return fmt.Errorf("clean_source: archive %s: %w", c.ArchiveURL, err)
		}
	}
	it, err := st.Entries(ctx, state.Head{Segments: []string{j.Segment}})
	if err != nil {
		return err
	}
	defer it.Close()
	moved := 0
	for it.Next() {
		e := it.Entry()
		key := joinKey(src.Prefix, e.Key)
		info, err := src.Store.Head(ctx, key)
		if errors.Is(err, objstore.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("clean_source: %s: %w", key, err)
		}
		if e.ETag != "" && info.ETag != e.ETag {
			slog.InfoContext(ctx, "clean_source: left a replaced input", "key", key, "etag", info.ETag, "processed_etag", e.ETag)
			continue
		}
		if c.Action == "archive" {
			if err := copyObject(ctx, src.Store, key, arch.Store, joinKey(arch.Prefix, e.Key), info.Size); err != nil {
				return fmt.Errorf("clean_source: archiving %s: %w", key, err)
			}
			KillPoint("after-archive")
		}
		if err := src.Store.Delete(ctx, key); err != nil {
			return fmt.Errorf("clean_source: deleting %s: %w", key, err)
		}
		moved++
		KillPoint("after-clean")
	}
	if err := it.Err(); err != nil {
		return err
	}
	slog.InfoContext(ctx, "clean_source done", "run", j.RunID, "action", c.Action, "inputs", moved)
	return nil
}

func joinKey(prefix, rel string) string {
	if prefix != "" && prefix[len(prefix)-1] != '/' {
		prefix += "/"
	}
	return prefix + rel
}

// copyObject streams from's object to to (any two stores) as an upload
// completed once whole: a copy is never visible half-written. A copy of
// the same size already there counts as done.
func copyObject(ctx context.Context, from objstore.Store, fromKey string, to objstore.Store, toKey string, size int64) error {
	if info, err := to.Head(ctx, toKey); err == nil && info.Size == size {
		return nil
	}
	rc, _, err := from.Get(ctx, fromKey)
	if err != nil {
		return err
	}
	defer rc.Close()
	up, err := to.NewUpload(ctx, toKey, objstore.ObjectOptions{}) // the archive is not the sink: its bucket's defaults apply
	if err != nil {
		return err
	}
	if _, err := io.Copy(up, rc); err != nil {
		_ = up.Abort(ctx)
		return err
	}
	pu, err := up.Finish(ctx)
	if err != nil {
		return err
	}
	_, err = to.CompleteUpload(ctx, pu)
	return err
}
