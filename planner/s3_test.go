package planner

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/internal/s3test"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// Planning against a real S3 server through the counting proxy: pruned
// partitions' prefixes are never listed, and the plan equals the one made
// over the same tree on the local store.
func TestS3PrunedPrefixesNeverListed(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	srv.CreateBucket(t, "state")
	proxy := srv.Proxy(t)
	proxy.SetEnv(t)
	ctx := context.Background()
	loc, err := objstore.Open(ctx, "s3://lake/")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range goldenTree {
		if _, err := loc.Store.Put(ctx, "orders/"+k, []byte(v), objstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mod := func(p *spec.Pipeline) {
		p.Source.Where = compileWhere(t, "dt >= '2026-01-01' && region in ['eu', 'us'] && amount > 0", ordersSchema, p.Source.Partitions)
		p.Source.Exclude = []string{"**/*.tmp"}
	}
	local := newFixture(t, goldenTree, mod)
	remote := newFixture(t, nil, mod)
	remote.pipeline().Source.URL = "s3://lake/orders/"
	remote.cfg.State.URL = "s3://state/sluice/"

	proxy.Reset()
	rp := buildPlan(t, remote).Pipelines[0]
	listed := proxy.ListedPrefixes()
	for _, pruned := range []string{"orders/dt=2025-12-31/", "orders/dt=2026-01-01/region=apac/"} {
		if slices.ContainsFunc(listed, func(p string) bool { return strings.HasPrefix(p, pruned) }) {
			t.Errorf("pruned prefix %s was listed: %v", pruned, listed)
		}
	}
	if !slices.Contains(listed, "orders/dt=2026-01-01/region=eu/") {
		t.Errorf("kept partition not listed: %v", listed)
	}
	lp := buildPlan(t, local).Pipelines[0]
	if rp.NumInputs() != lp.NumInputs() || rp.Summary.Pruned != lp.Summary.Pruned || rp.Summary.Inputs != lp.Summary.Inputs {
		t.Fatalf("S3 plan %+v differs from local %+v", rp.Summary, lp.Summary)
	}
	for i := 0; i < rp.NumInputs(); i++ {
		r, l := rp.Input(i), lp.Input(i)
		if strings.TrimPrefix(r.Key, "orders/") != l.Key || r.Size != l.Size {
			t.Fatalf("input %d: %s/%d vs %s/%d", i, r.Key, r.Size, l.Key, l.Size)
		}
	}
	if rp.State.Version != 0 || rp.State.URL != "s3://state/sluice/" {
		t.Fatalf("state pin %+v", rp.State)
	}
}

// Listing is latency-bound on S3: sibling partitions are listed ahead,
// concurrently, while the stream stays in key order.
func TestS3ListingPrefetches(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "wide")
	proxy := srv.Proxy(t)
	proxy.SetEnv(t)
	ctx := context.Background()
	loc, err := objstore.Open(ctx, "s3://wide/")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for d := 1; d <= 12; d++ {
		for i := 0; i < 3; i++ {
			k := fmt.Sprintf("t/dt=2026-01-%02d/f%d.json", d, i)
			want = append(want, k)
			if _, err := loc.Store.Put(ctx, k, []byte("x"), objstore.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	proxy.Reset()
	proxy.SetFault(func(r *http.Request) s3test.Fault {
		if s3test.Classify(r).Kind == s3test.KindListObjectsV2 {
			return s3test.Fault{Delay: 100 * time.Millisecond}
		}
		return s3test.Fault{}
	})
	files, _ := listAll(t, ListSpec{Store: loc.Store, Prefix: "t/", Partitions: []string{"dt"}})
	if got := keys(files, ""); !slices.Equal(got, want) {
		t.Fatalf("listed %v", got)
	}
	if n := proxy.MaxConcurrent(s3test.KindListObjectsV2); n < 2 {
		t.Fatalf("at most %d listings in flight: no prefetch", n)
	}
}

// An S3 prefix that holds no object at all is a warning naming the URL
// (more often a typo than a drained backlog); one whose objects were all
// pruned is not.
func TestS3EmptyPrefixWarns(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	srv.CreateBucket(t, "state")
	srv.Proxy(t).SetEnv(t)
	ctx := context.Background()
	loc, err := objstore.Open(ctx, "s3://lake/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loc.Store.Put(ctx, "orders/dt=2025-01-01/region=eu/a.json", []byte("{}\n"), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		url, where string
		warn       bool
	}{
		{"s3://lake/ordres/", "", true},
		{"s3://lake/orders/", "dt >= '2026-01-01'", false},
	} {
		f := newFixture(t, nil, func(p *spec.Pipeline) {
			if c.where != "" {
				p.Source.Where = compileWhere(t, c.where, ordersSchema, p.Source.Partitions)
			}
		})
		f.pipeline().Source.URL = c.url
		f.cfg.State.URL = "s3://state/sluice/"
		pp := buildPlan(t, f).Pipelines[0]
		warned := slices.ContainsFunc(pp.Summary.Warnings, func(w string) bool {
			return strings.Contains(w, c.url+" holds no object at all")
		})
		if warned != c.warn || pp.Summary.Pending {
			t.Errorf("%s: warnings %q, want the empty-source warning: %v", c.url, pp.Summary.Warnings, c.warn)
		}
	}
}
