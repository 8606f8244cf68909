package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/sluicedata/sluice/objstore"
)

// FormatVersion is the HEAD and segment format this package writes. A HEAD
// with a higher major version is refused rather than misread.
const FormatVersion = 1

// Head is the content of a source's HEAD object.
type Head struct {
	FormatVersion int       `json:"format_version"`
	Version       int64     `json:"version"` // +1 per change; 0 = no state yet
	RunID         string    `json:"run_id,omitempty"`
	Segments      []string  `json:"segments"` // oldest first; names relative to the source dir
	Updated       time.Time `json:"updated"`
}

func (s *Bookmarks) headKey() string { return s.dir + "HEAD" }

// Head reads HEAD and its ETag. A missing HEAD is the empty state: version 0,
// no segments and an empty ETag.
func (s *Bookmarks) Head(ctx context.Context) (Head, string, error) {
	rc, info, err := s.store.Get(ctx, s.headKey())
	if errors.Is(err, objstore.ErrNotExist) {
		return Head{FormatVersion: FormatVersion}, "", nil
	}
	if err != nil {
		return Head{}, "", fmt.Errorf("state: read %s: %w", s.headKey(), err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return Head{}, "", fmt.Errorf("state: read %s: %w", s.headKey(), err)
	}
	h, err := decodeHead(data)
	if err != nil {
		return Head{}, "", fmt.Errorf("state: %s: %w", s.headKey(), err)
	}
	return h, info.ETag, nil
}

func decodeHead(data []byte) (Head, error) {
	var h Head
	if err := json.Unmarshal(data, &h); err != nil {
		return Head{}, fmt.Errorf("corrupt HEAD: %w", err)
	}
	if h.FormatVersion > FormatVersion {
		return Head{}, fmt.Errorf("state format version %d is newer than the version %d this sluice reads; upgrade sluice", h.FormatVersion, FormatVersion)
	}
	if h.FormatVersion < 1 {
		return Head{}, fmt.Errorf("corrupt HEAD: format_version %d", h.FormatVersion)
	}
	return h, nil
}

func marshalHead(h Head) ([]byte, error) { return json.MarshalIndent(h, "", "  ") }

// SwapHead records runID's change in HEAD: it appends seg (unless "") or,
// when set is non-nil, replaces the segment list with set. It is
// idempotent: a HEAD already naming runID means an earlier attempt (perhaps
// of a process that crashed, perhaps a PUT whose answer was lost) landed,
// and it returns that HEAD. The PUT is conditional on the ETag read; the
// caller holds the lock, so a precondition failure is an ambiguous retry
// and is resolved by reading HEAD back.
func (s *Bookmarks) SwapHead(ctx context.Context, runID, seg string, set []string) (Head, error) {
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
		opts := objstore.PutOptions{IfMatch: etag, IfNoneMatch: etag == "", Object: objstore.ObjectOptions{ContentType: "application/json"}}
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
