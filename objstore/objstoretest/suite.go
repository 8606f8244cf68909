package objstoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicedata/sluice/objstore"
)

// MultipartSize is the size of the suite's multi-part upload: more than
// two parts at S3's minimum part size, so a store built with
// objstore.WithPartSize(objstore.MinPartSize) uploads three parts.
const MultipartSize = 2*objstore.MinPartSize + 12345

// Run runs the conformance suite. newStore returns an empty store, private
// to the (sub)test that asks for it.
//
// Stores may not hold a key that is also a prefix of other keys ("a" and
// "a/b"): the local store cannot, so the suite never asks for it.
func Run(t *testing.T, newStore func(t *testing.T) objstore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s objstore.Store)
	}{
		{"ListOrder", testListOrder},
		{"ListModel", testListModel},
		{"ListRandom", testListRandom},
		{"ListEmpty", testListEmpty},
		{"HeadGetRange", testHeadGetRange},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"Overwrite", testOverwrite},
		{"IfNoneMatch", testIfNoneMatch},
		{"IfMatch", testIfMatch},
		{"RaceIfNoneMatch", testRaceIfNoneMatch},
		{"RaceIfMatch", testRaceIfMatch},
		{"Upload", testUpload},
		{"UploadMultipart", testUploadMultipart},
		{"UploadEmpty", testUploadEmpty},
		{"UploadAbort", testUploadAbort},
		{"ListUploads", testListUploads},
		{"ReaderAt", testReaderAt},
		{"ObjectOptions", testObjectOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func put(t *testing.T, s objstore.Store, key string, data string) objstore.ObjectInfo {
	t.Helper()
	info, err := s.Put(ctx(t), key, []byte(data), objstore.PutOptions{})
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	if info.Key != key || info.Size != int64(len(data)) || info.ETag == "" {
		t.Fatalf("Put(%q) = %+v, want key, size %d and an ETag", key, info, len(data))
	}
	return info
}

func get(t *testing.T, s objstore.Store, key string) (string, objstore.ObjectInfo) {
	t.Helper()
	rc, info, err := s.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	return string(b), info
}

// keySet is chosen to exercise S3's byte order: '-' (0x2d) and '.' (0x2e)
// sort before '/' (0x2f), '0' after it; upper case before lower case;
// multi-byte UTF-8 after ASCII; a space and '+' that URL encoding could
// mangle.
var keySet = []string{
	"A", "a b", "a+c", "a-b", "a.c", "a/x", "a/y/z", "a/y/zz", "a/y-/1", "a0",
	"b/1", "b/2/3", "b/2/4", "b0/1", "z", "ä/1", "é", "日本/データ.csv", "dt=2024-01-01/x.json",
	"dt=2024-01-02/x.json", "dt=2024-01-02/y.json", "dt=2024-01-10/x.json", "dt=2024-02-01/part-0.json",
	"_sluice/state", ".hidden",
}

func putAll(t *testing.T, s objstore.Store, keys []string) []string {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(keys))
	sem := make(chan struct{}, 8)
	for _, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := s.Put(ctx(t), k, []byte("data of "+k), objstore.PutOptions{}); err != nil {
				errs <- fmt.Errorf("Put(%q): %w", k, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted) // Go compares strings bytewise: S3's order
	return sorted
}

// item is one entry of a listing: a key or a common prefix.
type item struct {
	name     string
	isPrefix bool
}

func (i item) String() string {
	if i.isPrefix {
		return "P:" + i.name
	}
	return i.name
}

// model is S3's ListObjectsV2 over sorted keys, all pages concatenated.
func model(keys []string, in objstore.ListInput) []item {
	var out []item
	for _, k := range keys {
		if !strings.HasPrefix(k, in.Prefix) || k <= in.StartAfter {
			continue
		}
		if in.Delimiter != "" {
			rest := k[len(in.Prefix):]
			if i := strings.Index(rest, in.Delimiter); i >= 0 {
				cp := in.Prefix + rest[:i+len(in.Delimiter)]
				if len(out) == 0 || out[len(out)-1] != (item{cp, true}) {
					out = append(out, item{cp, true})
				}
				continue
			}
		}
		out = append(out, item{k, false})
	}
	return out
}

// listAll pages through a listing and checks each page's shape.
func listAll(t *testing.T, s objstore.Store, in objstore.ListInput) []item {
	t.Helper()
	var out []item
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("List(%+v): no end after 10000 pages", in)
		}
		page, err := s.List(ctx(t), in)
		if err != nil {
			t.Fatalf("List(%+v): %v", in, err)
		}
		var items []item
		for _, o := range page.Objects {
			if o.ETag == "" || o.Size < 0 {
				t.Errorf("List(%+v): object %+v lacks an ETag or size", in, o)
			}
			items = append(items, item{o.Key, false})
		}
		for _, p := range page.CommonPrefixes {
			items = append(items, item{p, true})
		}
		// Objects and prefixes are each sorted and merge into one sorted
		// sequence without duplicates.
		slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.name, b.name) })
		for i := 1; i < len(items); i++ {
			if items[i].name == items[i-1].name {
				t.Fatalf("List(%+v): %q twice in one page", in, items[i].name)
			}
		}
		if !slices.IsSortedFunc(page.Objects, func(a, b objstore.ObjectInfo) int { return strings.Compare(a.Key, b.Key) }) {
			t.Fatalf("List(%+v): objects not sorted: %v", in, page.Objects)
		}
		if !slices.IsSorted(page.CommonPrefixes) {
			t.Fatalf("List(%+v): common prefixes not sorted: %v", in, page.CommonPrefixes)
		}
		if in.MaxKeys > 0 && len(items) > in.MaxKeys {
			t.Fatalf("List(%+v): %d entries on a page, want at most %d", in, len(items), in.MaxKeys)
		}
		if page.NextToken != "" && len(items) == 0 {
			t.Fatalf("List(%+v): an empty page that is not the last", in)
		}
		out = append(out, items...)
		if page.NextToken == "" {
			return out
		}
		in.Token = page.NextToken
	}
}

func testListOrder(t *testing.T, s objstore.Store) {
	sorted := putAll(t, s, keySet)
	got := listAll(t, s, objstore.ListInput{})
	var want []item
	for _, k := range sorted {
		want = append(want, item{k, false})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List() =\n%v\nwant (S3 byte order)\n%v", got, want)
	}
	// The cases the order is easy to get wrong on, spelled out.
	idx := func(k string) int { return slices.Index(sorted, k) }
	for _, pair := range [][2]string{{"a-b", "a/x"}, {"a.c", "a/x"}, {"a/y/zz", "a0"}, {"a/y-/1", "a/y/z"}, {"z", "ä/1"}, {"A", "a b"}, {"b/2/4", "b0/1"}} {
		if idx(pair[0]) > idx(pair[1]) {
			t.Errorf("want %q before %q", pair[0], pair[1])
		}
	}
}

func testListModel(t *testing.T, s objstore.Store) {
	keys := putAll(t, s, keySet)
	prefixes := []string{"", "a", "a/", "a/y", "a/y/", "b", "b/2/", "dt=2024-01-", "dt=2024-01-0", "dt=", "日", "nope", "z", "_", "."}
	starts := []string{"", "a-b", "a/", "a/x", "a/y/z", "a0", "b/1", "dt=2024-01-02/x.json", "m", "zz"}
	for _, delim := range []string{"", "/"} {
		for _, prefix := range prefixes {
			for _, sa := range starts {
				for _, mk := range []int{0, 1, 2, 3} {
					in := objstore.ListInput{Prefix: prefix, Delimiter: delim, StartAfter: sa, MaxKeys: mk}
					if mk > 1 && sa != "" && sa != "a/x" {
						continue // keep the matrix small: pagination is covered by the other rows
					}
					if delim != "" && strings.HasPrefix(sa, prefix) && strings.Contains(sa[len(prefix):], delim) {
						continue // StartAfter inside a common prefix: servers differ (see ListInput)
					}
					want := model(keys, in)
					got := listAll(t, s, in)
					if !slices.Equal(got, want) {
						t.Errorf("List(prefix=%q delim=%q startAfter=%q maxKeys=%d) =\n  %v\nwant\n  %v", prefix, delim, sa, mk, got, want)
					}
				}
			}
		}
	}
}

// randomKeys makes n distinct keys over an alphabet dense in the bytes
// that sort around '/', none of which is also a "directory" of another.
func randomKeys(r *mrand.Rand, n int) []string {
	segs := []string{"a", "b", "a-", "a.", "a0", "-", "é", "ab", "b-1", "x=1", "x=10", "x=2"}
	seen := map[string]bool{}
	dirs := map[string]bool{}
	var keys []string
	for len(keys) < n {
		depth := 1 + r.IntN(4)
		parts := make([]string, depth)
		for i := range parts {
			parts[i] = segs[r.IntN(len(segs))]
		}
		k := strings.Join(parts, "/")
		if seen[k] || dirs[k] {
			continue
		}
		conflict := false
		for i := 1; i < depth; i++ {
			if seen[strings.Join(parts[:i], "/")] {
				conflict = true
			}
		}
		if conflict {
			continue
		}
		for i := 1; i < depth; i++ {
			dirs[strings.Join(parts[:i], "/")] = true
		}
		seen[k] = true
		keys = append(keys, k)
	}
	return keys
}

func testListRandom(t *testing.T, s objstore.Store) {
	r := mrand.New(mrand.NewPCG(1, 2))
	keys := putAll(t, s, randomKeys(r, 150))
	for range 150 {
		in := objstore.ListInput{MaxKeys: r.IntN(12)}
		// Prefixes and start points cut from real keys at any byte, so
		// they end mid-name as often as on a separator.
		if r.IntN(4) > 0 {
			k := keys[r.IntN(len(keys))]
			in.Prefix = k[:r.IntN(len(k)+1)]
		}
		if r.IntN(2) == 0 {
			in.Delimiter = "/"
		}
		if r.IntN(3) == 0 {
			k := keys[r.IntN(len(keys))]
			in.StartAfter = k[:r.IntN(len(k)+1)]
			if in.Delimiter != "" && strings.HasPrefix(in.StartAfter, in.Prefix) && strings.Contains(in.StartAfter[len(in.Prefix):], "/") {
				in.StartAfter = "" // inside a common prefix: servers differ
			}
		}
		if !utf8Valid(in.Prefix) || !utf8Valid(in.StartAfter) {
			continue // a cut inside "é": not a valid S3 parameter
		}
		want := model(keys, in)
		if got := listAll(t, s, in); !slices.Equal(got, want) {
			t.Fatalf("List(%+v) =\n  %v\nwant\n  %v", in, got, want)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func testListEmpty(t *testing.T, s objstore.Store) {
	for _, in := range []objstore.ListInput{{}, {Prefix: "x/", Delimiter: "/"}} {
		page, err := s.List(ctx(t), in)
		if err != nil {
			t.Fatalf("List(%+v) on an empty store: %v", in, err)
		}
		if len(page.Objects)+len(page.CommonPrefixes) != 0 || page.NextToken != "" {
			t.Fatalf("List(%+v) on an empty store = %+v", in, page)
		}
	}
}

func testHeadGetRange(t *testing.T, s objstore.Store) {
	const data = "0123456789abcdefghij"
	pinfo := put(t, s, "dir/obj.bin", data)
	h, err := s.Head(ctx(t), "dir/obj.bin")
	if err != nil {
		t.Fatal(err)
	}
	if h.Size != int64(len(data)) || h.ETag != pinfo.ETag || h.Key != "dir/obj.bin" {
		t.Fatalf("Head = %+v, want size %d, Put's ETag %q", h, len(data), pinfo.ETag)
	}
	if h.LastModified.IsZero() || time.Since(h.LastModified) > time.Hour || time.Until(h.LastModified) > time.Hour {
		t.Errorf("Head LastModified = %v, want about now", h.LastModified)
	}
	got, ginfo := get(t, s, "dir/obj.bin")
	if got != data || ginfo.ETag != h.ETag || ginfo.Size != h.Size {
		t.Fatalf("Get = %q %+v, want %q %+v", got, ginfo, data, h)
	}
	page, err := s.List(ctx(t), objstore.ListInput{Prefix: "dir/"})
	if err != nil || len(page.Objects) != 1 || page.Objects[0].ETag != h.ETag || page.Objects[0].Size != h.Size {
		t.Fatalf("List = %+v, %v; want the object with Head's ETag and size", page, err)
	}
	for _, r := range []struct{ off, n int64 }{{0, 5}, {3, -1}, {18, 2}, {10, 1}, {0, 20}, {5, 0}, {19, -1}} {
		rc, err := s.GetRange(ctx(t), "dir/obj.bin", r.off, r.n)
		if err != nil {
			t.Fatalf("GetRange(%d, %d): %v", r.off, r.n, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("GetRange(%d, %d): read: %v", r.off, r.n, err)
		}
		want := data[r.off:]
		if r.n >= 0 {
			want = data[r.off : r.off+r.n]
		}
		if string(b) != want {
			t.Errorf("GetRange(%d, %d) = %q, want %q", r.off, r.n, b, want)
		}
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") {
		t.Errorf("%s: error is not one line: %q", what, msg)
	}
}

func testNotFound(t *testing.T, s objstore.Store) {
	put(t, s, "present/x", "x")
	for _, key := range []string{"missing", "present/missing", "present/x/below", "present"} {
		_, err := s.Head(ctx(t), key)
		wantErr(t, "Head("+key+")", err, objstore.ErrNotExist)
		if !strings.Contains(err.Error(), key) {
			t.Errorf("Head(%q) error %q does not name the key", key, err)
		}
		_, _, err = s.Get(ctx(t), key)
		wantErr(t, "Get("+key+")", err, objstore.ErrNotExist)
		_, err = s.GetRange(ctx(t), key, 0, 1)
		wantErr(t, "GetRange("+key+")", err, objstore.ErrNotExist)
	}
}

func testDelete(t *testing.T, s objstore.Store) {
	put(t, s, "p/q/r", "1")
	put(t, s, "p/s", "2")
	if err := s.Delete(ctx(t), "p/q/r"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Head(ctx(t), "p/q/r")
	wantErr(t, "Head after Delete", err, objstore.ErrNotExist)
	// The prefix p/q/ held only the deleted key: it is no longer listed.
	got := listAll(t, s, objstore.ListInput{Prefix: "p/", Delimiter: "/"})
	if want := []item{{"p/s", false}}; !slices.Equal(got, want) {
		t.Fatalf("List after Delete = %v, want %v", got, want)
	}
	for _, key := range []string{"p/q/r", "never", "p/q/never"} {
		if err := s.Delete(ctx(t), key); err != nil {
			t.Fatalf("Delete(%q) of a missing key: %v, want success", key, err)
		}
	}
	if v, _ := get(t, s, "p/s"); v != "2" {
		t.Fatalf("sibling changed: %q", v)
	}
}

func testOverwrite(t *testing.T, s objstore.Store) {
	a := put(t, s, "k", "aaaa")
	b := put(t, s, "k", "bbbb") // same size: the ETag must still change
	if a.ETag == b.ETag {
		t.Fatalf("ETag did not change on overwrite: %q", a.ETag)
	}
	if v, info := get(t, s, "k"); v != "bbbb" || info.ETag != b.ETag {
		t.Fatalf("Get after overwrite = %q %q, want bbbb %q", v, info.ETag, b.ETag)
	}
}

func testIfNoneMatch(t *testing.T, s objstore.Store) {
	first, err := s.Put(ctx(t), "lock", []byte("one"), objstore.PutOptions{IfNoneMatch: true})
	if err != nil {
		t.Fatalf("IfNoneMatch on a new key: %v", err)
	}
	_, err = s.Put(ctx(t), "lock", []byte("two"), objstore.PutOptions{IfNoneMatch: true})
	wantErr(t, "IfNoneMatch on an existing key", err, objstore.ErrPrecondition)
	if v, info := get(t, s, "lock"); v != "one" || info.ETag != first.ETag {
		t.Fatalf("after a failed IfNoneMatch: %q %q, want one %q", v, info.ETag, first.ETag)
	}
	// Deleted, the key can be created again.
	if err := s.Delete(ctx(t), "lock"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx(t), "lock", []byte("three"), objstore.PutOptions{IfNoneMatch: true}); err != nil {
		t.Fatalf("IfNoneMatch after Delete: %v", err)
	}
}

func testIfMatch(t *testing.T, s objstore.Store) {
	v1 := put(t, s, "head", "v1")
	v2, err := s.Put(ctx(t), "head", []byte("v2"), objstore.PutOptions{IfMatch: v1.ETag})
	if err != nil {
		t.Fatalf("IfMatch with the current ETag: %v", err)
	}
	if v2.ETag == v1.ETag {
		t.Fatalf("ETag unchanged after IfMatch write")
	}
	_, err = s.Put(ctx(t), "head", []byte("v3"), objstore.PutOptions{IfMatch: v1.ETag})
	wantErr(t, "IfMatch with a stale ETag", err, objstore.ErrPrecondition)
	if v, _ := get(t, s, "head"); v != "v2" {
		t.Fatalf("after a failed IfMatch: %q, want v2", v)
	}
	// The ETag of a listing and of Head can be used as well as Put's.
	h, err := s.Head(ctx(t), "head")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx(t), "head", []byte("v4"), objstore.PutOptions{IfMatch: h.ETag}); err != nil {
		t.Fatalf("IfMatch with Head's ETag: %v", err)
	}
	_, err = s.Put(ctx(t), "absent", []byte("x"), objstore.PutOptions{IfMatch: v1.ETag})
	if err == nil {
		t.Fatalf("IfMatch on a missing key succeeded")
	}
	if !errors.Is(err, objstore.ErrNotExist) && !errors.Is(err, objstore.ErrPrecondition) {
		t.Fatalf("IfMatch on a missing key: %v, want ErrNotExist or ErrPrecondition", err)
	}
}

const racers = 8

// race runs racers concurrent puts and checks that exactly one wins and
// every other one fails with ErrPrecondition.
func race(t *testing.T, s objstore.Store, key string, opts objstore.PutOptions) {
	var wg sync.WaitGroup
	errs := make([]error, racers)
	start := make(chan struct{})
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.Put(ctx(t), key, []byte(fmt.Sprintf("writer %d", i)), opts)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("writers %d and %d both won", winner, i)
			}
			winner = i
		case !errors.Is(err, objstore.ErrPrecondition):
			t.Fatalf("writer %d: %v, want success or ErrPrecondition", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no writer won")
	}
	if v, _ := get(t, s, key); v != fmt.Sprintf("writer %d", winner) {
		t.Fatalf("content %q, want the winner's (writer %d)", v, winner)
	}
}

// raceRounds repeats each race: one round rarely hits the window.
const raceRounds = 10

func testRaceIfNoneMatch(t *testing.T, s objstore.Store) {
	for i := range raceRounds {
		race(t, s, fmt.Sprintf("race/create-%d", i), objstore.PutOptions{IfNoneMatch: true})
	}
}

func testRaceIfMatch(t *testing.T, s objstore.Store) {
	for range raceRounds {
		base := put(t, s, "race/swap", "base")
		race(t, s, "race/swap", objstore.PutOptions{IfMatch: base.ETag})
	}
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// upload writes data in uneven chunks and finishes the upload.
func upload(t *testing.T, s objstore.Store, key string, data []byte) objstore.PendingUpload {
	t.Helper()
	u, err := s.NewUpload(ctx(t), key, objstore.ObjectOptions{})
	if err != nil {
		t.Fatalf("NewUpload(%q): %v", key, err)
	}
	for rest, step := data, 1; len(rest) > 0; step = (step*7 + 3) % (1 << 20) {
		n := min(len(rest), step+1)
		if _, err := u.Write(rest[:n]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		rest = rest[n:]
	}
	p, err := u.Finish(ctx(t))
	if err != nil {
		t.Fatalf("Finish(%q): %v", key, err)
	}
	if p.Key != key || p.UploadID == "" || p.Size != int64(len(data)) {
		t.Fatalf("Finish = %+v, want key %q, an upload id and size %d", p, key, len(data))
	}
	var sum int64
	for i, part := range p.Parts {
		if part.Number != int32(i+1) || part.ETag == "" {
			t.Fatalf("part %d = %+v, want number %d and an ETag", i, part, i+1)
		}
		sum += part.Size
	}
	if len(p.Parts) > 0 && sum != p.Size {
		t.Fatalf("parts sum to %d bytes, upload is %d", sum, p.Size)
	}
	return p
}

func invisible(t *testing.T, s objstore.Store, key string) {
	t.Helper()
	_, err := s.Head(ctx(t), key)
	wantErr(t, "Head of a pending upload", err, objstore.ErrNotExist)
	for _, it := range listAll(t, s, objstore.ListInput{}) {
		if strings.HasPrefix(key, it.name) {
			t.Fatalf("pending upload %q visible in List as %v", key, it)
		}
	}
}

func complete(t *testing.T, s objstore.Store, p objstore.PendingUpload, data []byte) {
	t.Helper()
	info, err := s.CompleteUpload(ctx(t), p)
	if err != nil {
		t.Fatalf("CompleteUpload(%q): %v", p.Key, err)
	}
	if info.Key != p.Key || info.Size != int64(len(data)) || info.ETag == "" {
		t.Fatalf("CompleteUpload = %+v, want size %d", info, len(data))
	}
	rc, _, err := s.Get(ctx(t), p.Key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("completed object: %d bytes (%v), want the %d uploaded", len(got), err, len(data))
	}
	// An ambiguous retry: completing again succeeds.
	again, err := s.CompleteUpload(ctx(t), p)
	if err != nil {
		t.Fatalf("CompleteUpload twice: %v", err)
	}
	if again.Size != info.Size {
		t.Fatalf("CompleteUpload twice = %+v, want %+v", again, info)
	}
}

func testUpload(t *testing.T, s objstore.Store) {
	data := []byte("id,name\n1,one\n2,two\n")
	p := upload(t, s, "out/run=1/part-0.csv", data)
	invisible(t, s, p.Key)
	complete(t, s, p, data)
	ups, err := s.ListUploads(ctx(t), "")
	if err != nil || len(ups) != 0 {
		t.Fatalf("ListUploads after completion = %v, %v; want none", ups, err)
	}
}

func testUploadMultipart(t *testing.T, s objstore.Store) {
	data := randomBytes(t, MultipartSize)
	p := upload(t, s, "big/file.parquet", data)
	invisible(t, s, p.Key)
	complete(t, s, p, data)
}

func testUploadEmpty(t *testing.T, s objstore.Store) {
	p := upload(t, s, "empty/obj", nil)
	invisible(t, s, p.Key)
	complete(t, s, p, []byte{})
}

func testUploadAbort(t *testing.T, s objstore.Store) {
	// Abort of a finished upload, through the store (as recovery does).
	p := upload(t, s, "ab/finished", []byte("data"))
	if err := s.AbortUpload(ctx(t), p); err != nil {
		t.Fatalf("AbortUpload: %v", err)
	}
	invisible(t, s, p.Key)
	_, err := s.CompleteUpload(ctx(t), p)
	wantErr(t, "CompleteUpload after AbortUpload", err, objstore.ErrNotExist)
	if err := s.AbortUpload(ctx(t), p); err != nil {
		t.Fatalf("AbortUpload twice: %v", err)
	}
	// Abort of an upload still being written.
	u, err := s.NewUpload(ctx(t), "ab/writing", objstore.ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	if err := u.Abort(ctx(t)); err != nil {
		t.Fatalf("Upload.Abort: %v", err)
	}
	invisible(t, s, "ab/writing")
	ups, err := s.ListUploads(ctx(t), "ab/")
	if err != nil || len(ups) != 0 {
		t.Fatalf("ListUploads after aborts = %v, %v; want none", ups, err)
	}
}

func testListUploads(t *testing.T, s objstore.Store) {
	a := upload(t, s, "x/a", []byte("aaa"))
	b := upload(t, s, "x/b", []byte("bbbbb"))
	c := upload(t, s, "y/c", []byte("c"))
	ups, err := s.ListUploads(ctx(t), "x/")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(ups))
	for i, u := range ups {
		got[i] = u.Key + "#" + u.UploadID
		if u.Size != map[string]int64{"x/a": 3, "x/b": 5}[u.Key] {
			t.Errorf("ListUploads: %s has size %d", u.Key, u.Size)
		}
	}
	want := []string{a.Key + "#" + a.UploadID, b.Key + "#" + b.UploadID}
	if !slices.Equal(got, want) {
		t.Fatalf("ListUploads(x/) = %v, want %v", got, want)
	}
	// An upload found by listing (as after a crash) can be completed.
	complete(t, s, ups[1], []byte("bbbbb"))
	all, err := s.ListUploads(ctx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].UploadID != a.UploadID || all[1].UploadID != c.UploadID {
		t.Fatalf("ListUploads() = %+v, want x/a and y/c", all)
	}
}

func testReaderAt(t *testing.T, s objstore.Store) {
	data := randomBytes(t, 100_000)
	if _, err := s.Put(ctx(t), "r/file", data, objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	r := objstore.NewReaderAt(ctx(t), s, "r/file", int64(len(data)))
	if r.Size() != int64(len(data)) {
		t.Fatalf("Size = %d", r.Size())
	}
	// A Parquet footer read: the last 8 bytes, then the metadata before it.
	tail := make([]byte, 8)
	if n, err := r.ReadAt(tail, int64(len(data))-8); n != 8 || err != nil || !bytes.Equal(tail, data[len(data)-8:]) {
		t.Fatalf("ReadAt(tail) = %d, %v", n, err)
	}
	buf := make([]byte, 1000)
	if n, err := r.ReadAt(buf, 99_500); n != 500 || err != io.EOF || !bytes.Equal(buf[:n], data[99_500:]) {
		t.Fatalf("ReadAt past the end = %d, %v; want 500, EOF", n, err)
	}
	if _, err := r.Seek(50_000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(rest, data[50_000:]) {
		t.Fatalf("Seek+Read: %d bytes, %v", len(rest), err)
	}
	// A reader of a missing object fails with ErrNotExist.
	_, err = objstore.NewReaderAt(ctx(t), s, "r/missing", 10).ReadAt(buf[:4], 0)
	wantErr(t, "ReadAt of a missing key", err, objstore.ErrNotExist)
}

// everyOption sets every field of ObjectOptions, as a sink's s3 block can.
var everyOption = objstore.ObjectOptions{
	ContentType: "text/csv", ContentEncoding: "gzip",
	SSE: "aws:kms", KMSKeyID: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	StorageClass: "STANDARD_IA", ACL: "bucket-owner-full-control",
	Tags: map[string]string{"team": "data", "note": "a b+c=d/e@f:g"},
}

// ObjectOptions are kept or ignored, never a reason to fail a write or to
// read back something else: Put, and an upload completed, hold the bytes
// written whatever the options.
func testObjectOptions(t *testing.T, s objstore.Store) {
	data := []byte("id,name\n1,one\n")
	if _, err := s.Put(ctx(t), "opts/put.csv.gz", data, objstore.PutOptions{Object: everyOption}); err != nil {
		t.Fatalf("Put with every option: %v", err)
	}
	if got, _ := get(t, s, "opts/put.csv.gz"); got != string(data) {
		t.Fatalf("Put with every option: read back %q", got)
	}
	// A conditional Put with options is still conditional.
	_, err := s.Put(ctx(t), "opts/put.csv.gz", data, objstore.PutOptions{IfNoneMatch: true, Object: everyOption})
	wantErr(t, "IfNoneMatch with options on an existing key", err, objstore.ErrPrecondition)

	u, err := s.NewUpload(ctx(t), "opts/upload.csv.gz", everyOption)
	if err != nil {
		t.Fatalf("NewUpload with every option: %v", err)
	}
	if _, err := u.Write(data); err != nil {
		t.Fatal(err)
	}
	p, err := u.Finish(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	complete(t, s, p, data)
}
