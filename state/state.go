package state

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"path"
	"strings"
	"time"

	"github.com/valyala/fastjson"

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

// Entry is one processed object, as recorded in a segment. Key is relative
// to the source URL, so state survives a move of the whole bucket prefix
// only if the relative layout stays the same.
type Entry struct {
	Key   string
	ETag  string
	Size  int64
	RunID string
}

// Source is the state of one pipeline source.
type Source struct {
	store objstore.Store
	dir   string // "<prefix><pipeline>/<source>/"
}

// New returns the state of pipeline/source under prefix of store. prefix is
// "" or ends with "/".
func New(store objstore.Store, prefix, pipeline, source string) *Source {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &Source{store: store, dir: prefix + pipeline + "/" + source + "/"}
}

// Dir is the key prefix holding this source's state, ending in "/".
func (s *Source) Dir() string { return s.dir }

// Store is the object store holding the state.
func (s *Source) Store() objstore.Store { return s.store }

func (s *Source) headKey() string { return s.dir + "HEAD" }

// Head reads HEAD and its ETag. A missing HEAD is the empty state: version 0,
// no segments and an empty ETag.
func (s *Source) Head(ctx context.Context) (Head, string, error) {
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

// SegmentName is the name of the segment a run writes, relative to Dir.
func SegmentName(runID string) string { return "segments/" + runID + ".seg" }

// AddSegment records entries (sorted by key, unique) as processed by runID:
// it writes the segment, then replaces HEAD conditionally on expectedETag
// (the ETag Head returned; "" means there was no HEAD). If HEAD moved in
// between it returns an error wrapping objstore.ErrPrecondition, and the
// written segment stays unreferenced (harmless: readers follow HEAD only).
//
// A retried swap whose first attempt did succeed (an ambiguous 412) is
// recognised by reading HEAD back: if it names this run and segment, the
// call succeeds.
func (s *Source) AddSegment(ctx context.Context, runID string, entries iter.Seq[Entry], expectedETag string) (Head, error) {
	return s.record(ctx, runID, entries, expectedETag, false)
}

// Replace is AddSegment for overwrite mode: the new HEAD names only this
// run's segment, because an overwrite run read every surviving input and
// what it did not read (deleted objects) must stop counting as processed;
// otherwise plan would see those keys as deleted forever.
func (s *Source) Replace(ctx context.Context, runID string, entries iter.Seq[Entry], expectedETag string) (Head, error) {
	return s.record(ctx, runID, entries, expectedETag, true)
}

func (s *Source) record(ctx context.Context, runID string, entries iter.Seq[Entry], expectedETag string, replace bool) (Head, error) {
	if runID == "" || strings.ContainsAny(runID, "/\n") {
		return Head{}, fmt.Errorf("state: invalid run id %q", runID)
	}
	var old Head
	if expectedETag != "" {
		h, etag, err := s.Head(ctx)
		if err != nil {
			return Head{}, err
		}
		if etag != expectedETag {
			return Head{}, fmt.Errorf("state: %s moved (ETag %s, planned against %s): %w", s.headKey(), etag, expectedETag, objstore.ErrPrecondition)
		}
		old = h
	} else {
		old = Head{FormatVersion: FormatVersion}
	}
	seg := SegmentName(runID)
	data, n, err := encodeSegment(runID, entries)
	if err != nil {
		return Head{}, fmt.Errorf("state: segment %s: %w", s.dir+seg, err)
	}
	next := Head{
		FormatVersion: FormatVersion,
		Version:       old.Version + 1,
		RunID:         runID,
		Segments:      append([]string{}, old.Segments...),
		Updated:       time.Now().UTC().Truncate(time.Second),
	}
	if replace {
		next.Segments = []string{}
	}
	// A run that processed nothing writes no segment but still moves the
	// version: plan files pinned to the old HEAD must see that a run happened.
	if n > 0 {
		if _, err := s.store.Put(ctx, s.dir+seg, data, objstore.PutOptions{ContentType: "application/x-ndjson"}); err != nil {
			return Head{}, fmt.Errorf("state: write %s: %w", s.dir+seg, err)
		}
		next.Segments = append(next.Segments, seg)
	}
	body, err := marshalHead(next)
	if err != nil {
		return Head{}, err
	}
	opts := objstore.PutOptions{IfMatch: expectedETag, IfNoneMatch: expectedETag == "", ContentType: "application/json"}
	if _, err := s.store.Put(ctx, s.headKey(), body, opts); err != nil {
		if errors.Is(err, objstore.ErrPrecondition) {
			if cur, _, herr := s.Head(ctx); herr == nil && cur.RunID == runID && cur.Version == next.Version {
				return cur, nil
			}
		}
		return Head{}, fmt.Errorf("state: swap %s: %w", s.headKey(), err)
	}
	return next, nil
}

func marshalHead(h Head) ([]byte, error) { return json.MarshalIndent(h, "", "  ") }

// segmentHeader is the first line of a segment.
type segmentHeader struct {
	FormatVersion int    `json:"format_version"`
	RunID         string `json:"run_id"`
}

// segmentLine is one entry line; short names keep a million-key segment small.
type segmentLine struct {
	Key   string `json:"k"`
	ETag  string `json:"e"`
	Size  int64  `json:"s"`
	RunID string `json:"r,omitempty"` // omitted when it equals the header's run id
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
		l := segmentLine{Key: e.Key, ETag: e.ETag, Size: e.Size}
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

func (s *Source) openSegment(ctx context.Context, name string) (*segmentReader, error) {
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
	k := v.Get("k")
	if k == nil || k.Type() != fastjson.TypeString {
		return Entry{}, false, fmt.Errorf("state: segment %s line %d: no key", r.name, r.line)
	}
	e := Entry{Key: string(v.GetStringBytes("k")), ETag: string(v.GetStringBytes("e")), Size: v.GetInt64("s"), RunID: r.runID}
	if rid := v.GetStringBytes("r"); len(rid) > 0 {
		e.RunID = string(rid)
	}
	return e, true, nil
}

func (r *segmentReader) Close() error {
	r.zr.Close()
	return r.rc.Close()
}

// ListSources lists the pipeline/source pairs that have a state directory
// under prefix, as "pipeline/source" strings in key order. plan uses it to
// notice a renamed pipeline or source.
func ListSources(ctx context.Context, store objstore.Store, prefix string) ([]string, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	pipelines, err := listDirs(ctx, store, prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range pipelines {
		sources, err := listDirs(ctx, store, prefix+p+"/")
		if err != nil {
			return nil, err
		}
		for _, s := range sources {
			out = append(out, path.Join(p, s))
		}
	}
	return out, nil
}

func listDirs(ctx context.Context, store objstore.Store, prefix string) ([]string, error) {
	var out []string
	in := objstore.ListInput{Prefix: prefix, Delimiter: "/"}
	for {
		page, err := store.List(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("state: list %s: %w", prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(cp, prefix), "/"))
		}
		if page.NextToken == "" {
			return out, nil
		}
		in.Token = page.NextToken
	}
}
