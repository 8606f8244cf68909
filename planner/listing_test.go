package planner

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec/schema"
)

func listAll(t *testing.T, ls ListSpec) ([]File, ListStats) {
	t.Helper()
	l, err := NewLister(ls)
	if err != nil {
		t.Fatal(err)
	}
	var out []File
	for l.Next(context.Background()) {
		out = append(out, l.File())
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	return out, l.Stats()
}

func keys(fs []File, prefix string) []string {
	var out []string
	for _, f := range fs {
		out = append(out, strings.TrimPrefix(f.Key, prefix))
	}
	return out
}

var hiveTree = map[string]string{
	"dt=2025-12-31/region=eu/a.json":       "1",
	"dt=2026-01-01/region=eu/a.json":       "22",
	"dt=2026-01-01/region=eu/b.json":       "333",
	"dt=2026-01-01/region=us/a.json":       "4444",
	"dt=2026-01-01/region=apac/a.json":     "55555",
	"dt=2026-01-02/region=eu/a.json":       "666666",
	"dt=2026-01-02/region=eu/_tmp/x.json":  "hidden",
	"dt=2026-01-02/region=eu/.part.json":   "hidden",
	"dt=2026-01-02/region=us/sub/c.json":   "7777777",
	"dt=2026-01-02/region=us/a.csv":        "88888888",
	"dt=2026-01-02/stray.json":             "stray",
	"dt=2026-01-02/region=us/empty-dir/":   "",
	"_SUCCESS":                             "",
	"notes/readme.json":                    "not hive",
	"dt=2026-01-03/region=eu/a-b.json":     "9",
	"dt=2026-01-03/region=eu/a/inner.json": "10",
}

func TestListingPrunesAndStaysSorted(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, hiveTree)
	store := &countingStore{Store: objstore.NewLocal(root)}
	parts := []string{"dt", "region"}
	where := compileWhere(t, "dt >= '2026-01-01' && region in ['eu', 'us'] && amount > 0", ordersSchema, parts)
	ls := ListSpec{
		Store: store, Prefix: "", Partitions: parts,
		PartitionTypes: []schema.Type{{Kind: schema.Date}, {Kind: schema.String}},
		Conjuncts:      where.Conjuncts,
		Exclude:        []string{"**/*.csv"},
	}
	files, st := listAll(t, ls)
	got := keys(files, "")
	want := []string{
		"dt=2026-01-01/region=eu/a.json",
		"dt=2026-01-01/region=eu/b.json",
		"dt=2026-01-01/region=us/a.json",
		"dt=2026-01-02/region=eu/a.json",
		"dt=2026-01-02/region=us/sub/c.json",
		"dt=2026-01-03/region=eu/a-b.json",
		"dt=2026-01-03/region=eu/a/inner.json",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.IsSorted(got) {
		t.Fatal("listing not in key order")
	}
	// dt=2025-12-31 and region=apac are pruned; nothing below them is listed.
	if st.PrunedPartitions != 2 {
		t.Errorf("pruned partitions = %d, want 2", st.PrunedPartitions)
	}
	for _, p := range []string{"dt=2025-12-31/", "dt=2026-01-01/region=apac/"} {
		if store.listedUnder(p) {
			t.Errorf("pruned prefix %s was listed", p)
		}
	}
	if st.GlobFiles != 1 || st.GlobBytes != 8 {
		t.Errorf("glob-removed = %d files %d bytes, want 1 and 8", st.GlobFiles, st.GlobBytes)
	}
	if st.NonHiveFiles != 1 || st.NonHivePrefixes != 1 { // dt=2026-01-02/stray.json; notes/
		t.Errorf("non-hive = %d files %d prefixes, want 1 and 1", st.NonHiveFiles, st.NonHivePrefixes)
	}
	if st.HiddenFiles != 3 { // _SUCCESS, .part.json, _tmp/x.json
		t.Errorf("hidden = %d, want 3", st.HiddenFiles)
	}
	if fmt.Sprint(files[3].Partitions) != "[2026-01-02 eu]" {
		t.Errorf("partition values = %v", files[3].Partitions)
	}
}

func TestListingWithoutPartitionsAndIncludeNarrowing(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"in/2025/12/a.json.gz": "x",
		"in/2026/01/a.json.gz": "x",
		"in/2026/01/b.json":    "x",
		"in/2026/02/a.json.gz": "x",
		"in/2027/01/a.json.gz": "x",
		"in/2026-x/a.json.gz":  "x",
		"in/.hidden/a.json.gz": "x",
		"other/2026/a.json.gz": "x",
	})
	store := &countingStore{Store: objstore.NewLocal(root)}
	files, st := listAll(t, ListSpec{Store: store, Prefix: "in/", Include: []string{"2026/**/*.json.gz", "2027/01/*.json.gz"}})
	got := keys(files, "in/")
	want := []string{"2026/01/a.json.gz", "2026/02/a.json.gz", "2027/01/a.json.gz"}
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	if st.GlobFiles != 1 { // 2026/01/b.json is listed (under the literal prefix) but not matched
		t.Errorf("glob files = %d, want 1", st.GlobFiles)
	}
	if store.listedUnder("in/2025") || store.listedUnder("other") {
		t.Errorf("listing not narrowed by include prefixes: %v", store.listed)
	}
}

// A string partition value with escapes and the Hive null marker.
func TestListingEscapedAndNullValues(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"region=a%2Fb/x.json":                      "1",
		"region=__HIVE_DEFAULT_PARTITION__/x.json": "1",
		"region=eu/x.json":                         "1",
	})
	where := compileWhere(t, "region == 'a/b' || region == nil", ordersSchema, []string{"region"})
	files, _ := listAll(t, ListSpec{Store: objstore.NewLocal(root), Partitions: []string{"region"},
		PartitionTypes: []schema.Type{{Kind: schema.String}}, Conjuncts: where.Conjuncts})
	var vals []string
	for _, f := range files {
		vals = append(vals, f.Partitions[0])
	}
	if fmt.Sprint(vals) != "[__HIVE_DEFAULT_PARTITION__ a%2Fb]" {
		t.Fatalf("values = %v", vals)
	}
}

// A '%' that starts no escape is text (hive.Unescape is lenient): the
// value parses, so it is neither counted as bad nor kept unjudged, and the
// partition conjuncts prune on it like on any value.
func TestListingPercentThatIsNotAnEscape(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"region=50%off/x.json":   "1",
		"region=50%25off/x.json": "1",
		"region=%zz/x.json":      "1",
		"region=eu/x.json":       "1",
	})
	where := compileWhere(t, "region == '50%off'", ordersSchema, []string{"region"})
	files, st := listAll(t, ListSpec{Store: objstore.NewLocal(root), Partitions: []string{"region"},
		PartitionTypes: []schema.Type{{Kind: schema.String}}, Conjuncts: where.Conjuncts})
	var keys []string
	for _, f := range files {
		keys = append(keys, f.Key)
	}
	if fmt.Sprint(keys) != "[region=50%25off/x.json region=50%off/x.json]" {
		t.Fatalf("files = %v", keys)
	}
	if st.BadValues != 0 || st.PrunedPartitions != 2 {
		t.Fatalf("bad values %d, pruned %d; want 0 and 2", st.BadValues, st.PrunedPartitions)
	}
}

func TestListingPaged(t *testing.T) {
	root := t.TempDir()
	tree := map[string]string{}
	var want []string
	for d := 0; d < 5; d++ {
		for i := 0; i < 7; i++ {
			k := fmt.Sprintf("dt=2026-01-0%d/f%02d.json", d+1, i)
			tree[k] = "x"
			want = append(want, k)
		}
	}
	writeTree(t, root, tree)
	files, st := listAll(t, ListSpec{Store: objstore.NewLocal(filepath.Clean(root)), Partitions: []string{"dt"}, PageSize: 2})
	if got := keys(files, ""); !slices.Equal(got, want) {
		t.Fatalf("paged listing = %v", got)
	}
	if st.ListCalls < 20 {
		t.Errorf("page size not honoured: %d list calls", st.ListCalls)
	}
}
