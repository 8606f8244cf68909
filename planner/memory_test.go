package planner

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// synthStore is a read-only Store whose keys are generated, not stored:
// dt=2026-01-DD/region=rNN/part-FFFFFF.json for days × regions × files.
// It lists exactly like S3 for the prefixes the lister asks (the root, a
// dt= directory with Delimiter "/", a region= directory flat), so a
// million-key source can be planned without a million files on disk.
type synthStore struct {
	objstore.Store       // nil: only List is used
	days, regions, files int
}

func (s *synthStore) URL() string { return "synth://" }

func (s *synthStore) List(ctx context.Context, in objstore.ListInput) (objstore.ListPage, error) {
	max := in.MaxKeys
	if max <= 0 {
		max = 1000
	}
	start := 0
	if in.Token != "" {
		start, _ = strconv.Atoi(in.Token)
	}
	var names []string // the full sequence at this level (prefixes or keys)
	var isPrefix bool
	parts := strings.Split(strings.TrimSuffix(in.Prefix, "/"), "/")
	switch {
	case in.Prefix == "" && in.Delimiter == "/":
		isPrefix = true
		for d := 0; d < s.days; d++ {
			names = append(names, fmt.Sprintf("dt=2026-01-%02d/", d+1))
		}
	case len(parts) == 1 && in.Delimiter == "/":
		isPrefix = true
		for r := 0; r < s.regions; r++ {
			names = append(names, fmt.Sprintf("%sregion=r%02d/", in.Prefix, r))
		}
	case len(parts) == 2 && in.Delimiter == "":
		// Generated lazily below: no slice of all the files of a prefix.
		page := objstore.ListPage{}
		for f := start; f < s.files && len(page.Objects) < max; f++ {
			page.Objects = append(page.Objects, objstore.ObjectInfo{
				Key: fmt.Sprintf("%spart-%06d.json", in.Prefix, f), Size: 40_000, ETag: fmt.Sprintf("\"%032x\"", f),
			})
		}
		if end := start + len(page.Objects); end < s.files {
			page.NextToken = strconv.Itoa(end)
		}
		return page, nil
	default:
		return objstore.ListPage{}, fmt.Errorf("synth: unsupported listing %+v", in)
	}
	page := objstore.ListPage{}
	end := min(start+max, len(names))
	if isPrefix {
		page.CommonPrefixes = names[start:end]
	}
	if end < len(names) {
		page.NextToken = strconv.Itoa(end)
	}
	return page, nil
}

// An unbounded plan over a million keys keeps its chosen inputs compact:
// the heap after selection and packing stays far below the 200 MiB budget.
func TestMillionKeysMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("lists a million generated keys")
	}
	store := &synthStore{days: 25, regions: 40, files: 1000} // 1,000,000 keys, ≤ 1,000 per prefix
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	parts := []string{"dt", "region"}
	open := func() (*Lister, error) { return NewLister(ListSpec{Store: store, Partitions: parts}) }
	sel, err := Select(context.Background(), SelectSpec{Partitions: parts, Open: open, Mode: spec.ModeAppend, OnChange: spec.ChangeIgnore})
	if err != nil {
		t.Fatal(err)
	}
	tasks := PackTasks(sel.Inputs, 128<<20, DefaultOpenCost)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if sel.Inputs.Len() != 1_000_000 {
		t.Fatalf("%d inputs", sel.Inputs.Len())
	}
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	perInput := float64(heap) / 1e6
	t.Logf("1M inputs, %d tasks: heap %s (%.0f B/input), peak sys %s", len(tasks), FormatBytes(heap), perInput, FormatBytes(int64(after.Sys)))
	if heap > 64<<20 {
		t.Fatalf("chosen inputs use %s of heap, want ≤ 64 MiB", FormatBytes(heap))
	}
	if after.Sys > 200<<20 {
		t.Fatalf("process memory from the runtime %s > 200 MiB", FormatBytes(int64(after.Sys)))
	}
	runtime.KeepAlive(tasks)
	runtime.KeepAlive(sel)
}

// The listing reports progress every ListProgressEvery files, with the
// running count, so a terminal can show that a huge prefix is being listed.
func TestListingReportsProgress(t *testing.T) {
	store := &synthStore{days: 2, regions: 3, files: 2000} // 12,000 keys
	var seen []int64
	l, err := NewLister(ListSpec{Store: store, Partitions: []string{"dt", "region"},
		PartitionTypes: []schema.Type{{Kind: schema.String}, {Kind: schema.String}}, Prefetch: -1,
		OnListed: func(n int64) { seen = append(seen, n) }})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for l.Next(context.Background()) {
		n++
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 12000 || fmt.Sprint(seen) != "[5000 10000]" {
		t.Fatalf("listed %d, progress %v", n, seen)
	}
}
