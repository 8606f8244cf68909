package state

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/sluicedata/sluice/objstore"
)

// Entry is one processed object, as recorded in a segment. Key is relative
// to the source URL, so state survives a move of the whole bucket prefix
// only if the relative layout stays the same.
type Entry struct {
	Key   string
	ETag  string
	Size  int64
	RunID string
}

// SegmentName is the name of the segment a run writes, relative to Dir.
func SegmentName(runID string) string { return "segments/" + runID + ".seg" }

// WriteSegment writes runID's segment of entries (sorted by key, unique)
// without touching HEAD, and returns its name ("" when there are no
// entries: nothing is written). Segments are immutable and unreferenced
// until a HEAD swap names them, so writing one early is harmless.
func (s *Bookmarks) WriteSegment(ctx context.Context, runID string, entries iter.Seq[Entry]) (string, error) {
	if runID == "" || strings.ContainsAny(runID, "/\n") {
		return "", fmt.Errorf("state: invalid run id %q", runID)
	}
	data, n, err := encodeSegment(runID, entries)
	if err != nil {
		return "", fmt.Errorf("state: segment %s: %w", s.dir+SegmentName(runID), err)
	}
	return s.putSegment(ctx, runID, data, n)
}

func (s *Bookmarks) putSegment(ctx context.Context, runID string, data []byte, n int) (string, error) {
	if n == 0 {
		return "", nil
	}
	seg := SegmentName(runID)
	if _, err := s.store.Put(ctx, s.dir+seg, data, objstore.PutOptions{Object: objstore.ObjectOptions{ContentType: "application/x-ndjson"}}); err != nil {
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
func (s *Bookmarks) WriteMerged(ctx context.Context, runID string, head Head, keep func(Entry) bool) (string, int, error) {
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
func (s *Bookmarks) WriteStream(ctx context.Context, runID string, entries iter.Seq[Entry], check func() error) (string, int, error) {
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
func (s *Bookmarks) PutSegment(ctx context.Context, seg *EncodedSegment) (string, error) {
	return s.putSegment(ctx, seg.runID, seg.data, seg.n)
}

// DeleteSegment removes a segment object that no HEAD names.
func (s *Bookmarks) DeleteSegment(ctx context.Context, name string) error {
	return s.store.Delete(ctx, s.dir+name)
}

// segmentHeader is the first line of a segment.
type segmentHeader struct {
	FormatVersion int    `json:"format_version"`
	RunID         string `json:"run_id"`
}

// segmentLine is one entry line; short names keep a million-key segment
// small. Object keys are bytes: a key that is valid UTF-8 (every S3 key)
// is written as the string "k"; any other (a local file name) as "kb",
// the base64 of its exact bytes, since a JSON string cannot hold it
// (encoding/json would write U+FFFD for each bad byte, and the bookmark
// would then never match its object again).
type segmentLine struct {
	Key      *string `json:"k,omitempty"`
	KeyBytes []byte  `json:"kb,omitempty"` // base64 in JSON
	ETag     string  `json:"e"`
	Size     int64   `json:"s"`
	RunID    string  `json:"r,omitempty"` // omitted when it equals the header's run id
}

func encodeSegment(runID string, entries iter.Seq[Entry]) ([]byte, int, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(segmentHeader{FormatVersion: FormatVersion, RunID: runID}); err != nil {
		return nil, 0, err
	}
	n := 0
	prev := ""
	for e := range entries {
		if n > 0 && e.Key <= prev {
			return nil, 0, fmt.Errorf("entries not sorted by key: %q after %q", e.Key, prev)
		}
		prev = e.Key
		l := segmentLine{ETag: e.ETag, Size: e.Size}
		if utf8.ValidString(e.Key) {
			l.Key = &e.Key
		} else {
			l.KeyBytes = []byte(e.Key)
		}
		if e.RunID != "" && e.RunID != runID {
			l.RunID = e.RunID
		}
		if err := enc.Encode(l); err != nil {
			return nil, 0, err
		}
		n++
	}
	if err := zw.Close(); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), n, nil
}

// segmentReader streams the entries of one segment.
type segmentReader struct {
	name  string
	rc    io.ReadCloser
	zr    *gzip.Reader
	sc    *bufio.Scanner
	runID string
	line  int
	p     fastjson.Parser
}

func (s *Bookmarks) openSegment(ctx context.Context, name string) (*segmentReader, error) {
	key := s.dir + name
	rc, _, err := s.store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("state: open segment %s: %w", key, err)
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(rc, 32<<10))
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("state: segment %s: %w", key, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 4<<10), 1<<20)
	r := &segmentReader{name: key, rc: rc, zr: zr, sc: sc}
	if !sc.Scan() {
		r.Close()
		return nil, fmt.Errorf("state: segment %s: missing header: %v", key, sc.Err())
	}
	var h segmentHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.FormatVersion < 1 {
		r.Close()
		return nil, fmt.Errorf("state: segment %s: corrupt header", key)
	}
	if h.FormatVersion > FormatVersion {
		r.Close()
		return nil, fmt.Errorf("state: segment %s: format version %d is newer than %d; upgrade sluice", key, h.FormatVersion, FormatVersion)
	}
	r.runID = h.RunID
	r.line = 1
	return r, nil
}

// next returns the next entry; ok is false at the end.
func (r *segmentReader) next() (Entry, bool, error) {
	if !r.sc.Scan() {
		if err := r.sc.Err(); err != nil {
			return Entry{}, false, fmt.Errorf("state: segment %s: %w", r.name, err)
		}
		return Entry{}, false, nil
	}
	r.line++
	// fastjson rather than encoding/json: reading state is on every plan's
	// path, and a segment can hold a million lines.
	v, err := r.p.ParseBytes(r.sc.Bytes())
	if err != nil {
		return Entry{}, false, fmt.Errorf("state: segment %s line %d: %w", r.name, r.line, err)
	}
	var key string
	if k := v.Get("k"); k != nil && k.Type() == fastjson.TypeString {
		key = string(v.GetStringBytes("k"))
	} else if kb := v.Get("kb"); kb != nil && kb.Type() == fastjson.TypeString {
		b, err := base64.StdEncoding.DecodeString(string(v.GetStringBytes("kb")))
		if err != nil {
			return Entry{}, false, fmt.Errorf("state: segment %s line %d: key bytes: %w", r.name, r.line, err)
		}
		key = string(b)
	} else {
		return Entry{}, false, fmt.Errorf("state: segment %s line %d: no key", r.name, r.line)
	}
	e := Entry{Key: key, ETag: string(v.GetStringBytes("e")), Size: v.GetInt64("s"), RunID: r.runID}
	if rid := v.GetStringBytes("r"); len(rid) > 0 {
		e.RunID = string(rid)
	}
	return e, true, nil
}

func (r *segmentReader) Close() error {
	r.zr.Close()
	return r.rc.Close()
}

// AllEntries reads the merged entries of head into memory, for the state
// commands that edit the set by key (mark-processed, rewind); compaction
// and forget stream instead (WriteMerged).
func (s *Bookmarks) AllEntries(ctx context.Context, head Head) ([]Entry, error) {
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
func (s *Bookmarks) SegmentRunEntries(ctx context.Context, head Head) ([][]Entry, error) {
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
