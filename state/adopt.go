package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sluicedata/sluice/objstore"
)

// Adopt carries the bookmarks of from (the state of a pipeline or source
// before a rename, named by a moved block) over to s, which must have no
// HEAD yet: it copies from's segments into s's directory and creates s's
// HEAD with from's version and segments. It returns the new HEAD and its
// ETag, for the AddSegment that follows.
//
// plan never writes state, so the executor calls Adopt, under its lock,
// just before recording its first run under the new name. from is left in
// place (a rewind can still find it); a repeated Adopt after a crash
// between the copies and the HEAD write copies again, harmlessly.
func (s *Bookmarks) Adopt(ctx context.Context, from *Bookmarks) (Head, string, error) {
	if _, etag, err := s.Head(ctx); err != nil {
		return Head{}, "", err
	} else if etag != "" {
		return Head{}, "", fmt.Errorf("state: adopt into %s: it already has a HEAD: %w", s.dir, objstore.ErrPrecondition)
	}
	old, _, err := from.Head(ctx)
	if err != nil {
		return Head{}, "", err
	}
	for _, seg := range old.Segments {
		if err := copyObject(ctx, from.store, from.dir+seg, s.store, s.dir+seg); err != nil {
			return Head{}, "", err
		}
	}
	next := old
	next.FormatVersion = FormatVersion
	next.Segments = append([]string(nil), old.Segments...)
	if next.Segments == nil {
		next.Segments = []string{}
	}
	next.Updated = time.Now().UTC().Truncate(time.Second)
	body, err := marshalHead(next)
	if err != nil {
		return Head{}, "", err
	}
	info, err := s.store.Put(ctx, s.headKey(), body, objstore.PutOptions{IfNoneMatch: true, Object: objstore.ObjectOptions{ContentType: "application/json"}})
	if err != nil {
		return Head{}, "", fmt.Errorf("state: adopt into %s: %w", s.headKey(), err)
	}
	return next, info.ETag, nil
}

func copyObject(ctx context.Context, src objstore.Store, from string, dst objstore.Store, to string) error {
	rc, _, err := src.Get(ctx, from)
	if err != nil {
		if errors.Is(err, objstore.ErrNotExist) {
			return fmt.Errorf("state: segment %s named by HEAD is missing: %w", from, err)
		}
		return fmt.Errorf("state: read %s: %w", from, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("state: read %s: %w", from, err)
	}
	if _, err := dst.Put(ctx, to, data, objstore.PutOptions{Object: objstore.ObjectOptions{ContentType: "application/x-ndjson"}}); err != nil {
		return fmt.Errorf("state: write %s: %w", to, err)
	}
	return nil
}
