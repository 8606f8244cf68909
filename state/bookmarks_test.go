package state

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/objstore"
)

func entries(keys ...string) []Entry {
	out := make([]Entry, len(keys))
	for i, k := range keys {
		out[i] = Entry{Key: k, ETag: "e-" + k, Size: int64(len(k))}
	}
	return out
}

func collect(t *testing.T, s *Bookmarks, h Head) []Entry {
	t.Helper()
	it, err := s.Entries(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []Entry
	for it.Next() {
		out = append(out, it.Entry())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// record writes runID's segment of es and swaps HEAD to name it: the one
// write path of a run (txn.Commit does the same, journaled).
func record(t *testing.T, s *Bookmarks, runID string, es []Entry) Head {
	t.Helper()
	ctx := context.Background()
	seg, err := s.WriteSegment(ctx, runID, slices.Values(es))
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.SwapHead(ctx, runID, seg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestMissingHeadIsEmpty(t *testing.T) {
	s := New(objstore.NewLocal(t.TempDir()), "st/", "p", "src")
	h, etag, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != 0 || etag != "" || len(h.Segments) != 0 {
		t.Fatalf("empty state = %+v %q", h, etag)
	}
	if got := collect(t, s, h); len(got) != 0 {
		t.Fatalf("entries of empty state: %v", got)
	}
}

func TestSegmentsAndMerge(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewLocal(t.TempDir())
	s := New(store, "state", "orders", "raw")
	if s.Dir() != "state/orders/raw/" {
		t.Fatalf("Dir = %q", s.Dir())
	}
	h1 := record(t, s, "20261121T000000Z-aaaaaa", entries("a", "c", "e"))
	if h1.Version != 1 || len(h1.Segments) != 1 {
		t.Fatalf("head after first run: %+v", h1)
	}
	// The second run reprocessed "c" (new ETag) and added b, d, f.
	second := []Entry{{Key: "b", ETag: "x", Size: 1}, {Key: "c", ETag: "c2", Size: 9}, {Key: "d", ETag: "x"}, {Key: "f", ETag: "x"}}
	h2 := record(t, s, "20261121T010000Z-bbbbbb", second)
	if h2.Version != 2 || len(h2.Segments) != 2 {
		t.Fatalf("head after second run: %+v", h2)
	}
	got := collect(t, s, h2)
	var keys []string
	for _, e := range got {
		keys = append(keys, e.Key)
	}
	if fmt.Sprint(keys) != "[a b c d e f]" {
		t.Fatalf("merged keys = %v", keys)
	}
	if got[2].ETag != "c2" || got[2].Size != 9 || got[2].RunID != "20261121T010000Z-bbbbbb" {
		t.Fatalf("newest segment must win for c: %+v", got[2])
	}
	if got[0].RunID != "20261121T000000Z-aaaaaa" {
		t.Fatalf("run id of a: %+v", got[0])
	}
	// Reading HEAD back gives what SwapHead returned.
	h, _, err := s.Head(ctx)
	if err != nil || h.Version != 2 || !slices.Equal(h.Segments, h2.Segments) {
		t.Fatalf("re-read head %+v, %v", h, err)
	}
}

func TestWriteSegmentRejectsUnsorted(t *testing.T) {
	s := New(objstore.NewLocal(t.TempDir()), "", "p", "s")
	_, err := s.WriteSegment(context.Background(), "r1", slices.Values(entries("b", "a")))
	if err == nil {
		t.Fatal("unsorted entries accepted")
	}
	_, etag, _ := s.Head(context.Background())
	if etag != "" {
		t.Fatal("HEAD written despite the error")
	}
}

func TestNewerFormatRefused(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewLocal(t.TempDir())
	s := New(store, "", "p", "s")
	if _, err := store.Put(ctx, s.Dir()+"HEAD", []byte(`{"format_version": 2, "version": 3, "segments": []}`), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Head(ctx)
	if err == nil || !strings.Contains(err.Error(), "format version 2") || !strings.Contains(err.Error(), "version 1") {
		t.Fatalf("newer HEAD: %v", err)
	}
}

// The merge must hold one reader per segment, not the keys: 200 segments of
// 500 interleaved keys merge into one sorted stream of 100,000 unique keys.
func TestMergeManySegments(t *testing.T) {
	ctx := context.Background()
	s := New(objstore.NewLocal(t.TempDir()), "", "p", "s")
	const segs, per = 200, 500
	for r := 0; r < segs; r++ {
		es := make([]Entry, per)
		for i := range es {
			es[i] = Entry{Key: fmt.Sprintf("k%07d", i*segs+r), ETag: "e"}
		}
		record(t, s, fmt.Sprintf("run%04d", r), es)
	}
	h, _, _ := s.Head(ctx)
	start := time.Now()
	it, err := s.Entries(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	defer func() { t.Logf("merged %d segments in %v", segs, time.Since(start)) }()
	n := 0
	prev := ""
	for it.Next() {
		k := it.Entry().Key
		if k <= prev {
			t.Fatalf("out of order: %s after %s", k, prev)
		}
		prev = k
		n++
	}
	if it.Err() != nil || n != segs*per {
		t.Fatalf("merged %d keys (err %v), want %d", n, it.Err(), segs*per)
	}
}

func TestListSources(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewLocal(t.TempDir())
	for _, ps := range [][2]string{{"a", "x"}, {"a", "y"}, {"b", "z"}} {
		record(t, New(store, "st/", ps[0], ps[1]), "r", entries("k"))
	}
	got, err := ListSources(ctx, store, "st")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[a/x a/y b/z]" {
		t.Fatalf("ListSources = %v", got)
	}
}

func TestAdoptAfterRename(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewLocal(t.TempDir())
	old := New(store, "st/", "orders_old", "raw")
	record(t, old, "r1", entries("a", "b"))
	renamed := New(store, "st/", "orders", "raw")
	h, etag, err := renamed.Adopt(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != 1 || etag == "" {
		t.Fatalf("adopted head %+v %q", h, etag)
	}
	record(t, renamed, "r2", entries("c"))
	h, _, _ = renamed.Head(ctx)
	if got := collect(t, renamed, h); len(got) != 3 || h.Version != 2 {
		t.Fatalf("after adopt + run: %v at version %d", got, h.Version)
	}
	if _, _, err := renamed.Adopt(ctx, old); !errors.Is(err, objstore.ErrPrecondition) {
		t.Fatalf("adopt over an existing HEAD: %v", err)
	}
}

// threeRuns records the segments of runs r0 {a, d}, r1 {b, d} and r2 {c}.
func threeRuns(t *testing.T, s *Bookmarks) {
	t.Helper()
	for r, keys := range [][]string{{"a", "d"}, {"b", "d"}, {"c"}} {
		record(t, s, fmt.Sprintf("r%d", r), entries(keys...))
	}
}

// An overwrite run's swap replaces the segment list (set), because what it
// did not read (deleted objects) must stop counting as processed; a run
// that processed nothing still moves the version, so plans pinned to the
// old HEAD see that a run happened.
func TestSwapHeadSetAndEmptyRun(t *testing.T) {
	ctx := context.Background()
	s := New(objstore.NewLocal(t.TempDir()), "", "p", "s")
	record(t, s, "r1", entries("a", "b", "c"))
	// b was deleted; the overwrite run read a and c only.
	seg, err := s.WriteSegment(ctx, "r2", slices.Values(entries("a", "c")))
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.SwapHead(ctx, "r2", "", []string{seg})
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, s, h)
	if len(got) != 2 || got[0].Key != "a" || got[1].Key != "c" || h.Version != 2 {
		t.Fatalf("after replace: %v (version %d)", got, h.Version)
	}
	h = record(t, s, "r3", nil)
	if h.Version != 3 || len(h.Segments) != 1 {
		t.Fatalf("empty run: %+v", h)
	}
}

// WriteMerged streams head's merged entries through keep into one segment:
// entries keep their run ids, a filter drops what it rejects, nothing kept
// writes nothing, and a segment that cannot be read writes no segment.
func TestWriteMerged(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewLocal(t.TempDir())
	s := New(store, "", "p", "s")
	threeRuns(t, s)
	h, _, _ := s.Head(ctx)
	all := collect(t, s, h)
	seg, n, err := s.WriteMerged(ctx, "w1", h, nil)
	if err != nil || n != 4 || seg != SegmentName("w1") {
		t.Fatalf("WriteMerged(all) = %q, %d, %v", seg, n, err)
	}
	if got := collect(t, s, Head{Segments: []string{seg}}); !slices.Equal(got, all) {
		t.Fatalf("merged segment\n%v\nwant\n%v", got, all)
	}
	seg, n, err = s.WriteMerged(ctx, "w2", h, func(e Entry) bool { return e.Key != "d" })
	if err != nil || n != 3 {
		t.Fatalf("WriteMerged(filter) = %q, %d, %v", seg, n, err)
	}
	if got := collect(t, s, Head{Segments: []string{seg}}); len(got) != 3 || got[2].Key != "c" || got[1].RunID != "r1" {
		t.Fatalf("filtered segment %v", got)
	}
	if seg, n, err := s.WriteMerged(ctx, "w3", h, func(Entry) bool { return false }); err != nil || seg != "" || n != 0 {
		t.Fatalf("nothing kept: %q, %d, %v", seg, n, err)
	}
	// Break one of head's segments: no segment may be written from it.
	if _, err := store.Put(ctx, "p/s/"+h.Segments[1], []byte("not gzip"), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.WriteMerged(ctx, "w4", h, nil); err == nil {
		t.Fatal("no error for an unreadable segment")
	}
	if _, err := store.Head(ctx, "p/s/"+SegmentName("w4")); !errors.Is(err, objstore.ErrNotExist) {
		t.Fatalf("a segment was written from an unreadable one: %v", err)
	}
}

// Object keys are bytes: a local file name that is not valid UTF-8 is
// recorded and read back exactly (it used to be stored with U+FFFD, so its
// bookmark never matched and the file was processed again on every run).
func TestSegmentKeepsKeyBytes(t *testing.T) {
	store := objstore.NewLocal(t.TempDir())
	s := New(store, "st/", "p", "src")
	keys := []string{"a\xff.json", "a\xffb/c.json", "b.json", "dt=\xc3/x.json", "é.json"}
	var es []Entry
	for _, k := range keys {
		es = append(es, Entry{Key: k, ETag: "etag", Size: 1})
	}
	h := record(t, s, "r1", es)
	got := collect(t, s, h)
	if len(got) != len(keys) {
		t.Fatalf("read %d entries, want %d", len(got), len(keys))
	}
	for i, e := range got {
		if e.Key != keys[i] {
			t.Errorf("entry %d: key %q, want %q", i, e.Key, keys[i])
		}
	}
	// Valid UTF-8 keys keep the "k" form older readers know.
	data := readSegment(t, store, "st/p/src/segments/r1.seg")
	if !strings.Contains(data, `{"k":"b.json",`) || !strings.Contains(data, `{"kb":"Yf8uanNvbg==",`) {
		t.Errorf("segment lines:\n%s", data)
	}
}

// A segment written before keys were kept as bytes still reads; its
// mangled key simply matches no object.
func TestLegacySegmentReads(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewLocal(t.TempDir())
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprint(zw, `{"format_version":1,"run_id":"r0"}`+"\n"+`{"k":"a`+"\ufffd"+`.json","e":"x","s":9}`+"\n")
	zw.Close()
	if _, err := store.Put(ctx, "st/p/src/segments/r0.seg", buf.Bytes(), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	s := New(store, "st/", "p", "src")
	got := collect(t, s, Head{FormatVersion: 1, Version: 1, Segments: []string{"segments/r0.seg"}})
	if len(got) != 1 || got[0].Key != "a\ufffd.json" || got[0].RunID != "r0" || got[0].Size != 9 {
		t.Errorf("got %+v", got)
	}
}

func readSegment(t *testing.T, store objstore.Store, key string) string {
	t.Helper()
	rc, _, err := store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
