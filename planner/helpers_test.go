package planner

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
	"github.com/sluicedata/sluice/state"
)

// writeTree creates files under root; a name ending in "/" makes an empty
// directory.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// countingStore records every List prefix, to prove pruned prefixes are
// never listed.
type countingStore struct {
	objstore.Store
	mu     sync.Mutex
	listed []string
}

func (c *countingStore) List(ctx context.Context, in objstore.ListInput) (objstore.ListPage, error) {
	c.mu.Lock()
	c.listed = append(c.listed, in.Prefix)
	c.mu.Unlock()
	return c.Store.List(ctx, in)
}

func (c *countingStore) listedUnder(prefix string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.listed, func(p string) bool { return strings.HasPrefix(p, prefix) })
}

var ordersSchema = &schema.Schema{Name: "orders", Columns: []schema.Column{
	{Name: "order_id", Type: schema.Type{Kind: schema.String}, Nullable: true},
	{Name: "customer_id", Type: schema.Type{Kind: schema.Int64}, Nullable: true},
	{Name: "amount", Type: schema.Type{Kind: schema.Float64}, Nullable: true},
	{Name: "note", Type: schema.Type{Kind: schema.String}, Nullable: true},
	{Name: "dt", Type: schema.Type{Kind: schema.Date}, Nullable: true},
}}

func compileWhere(t *testing.T, src string, sc *schema.Schema, partitions []string) *predicate.Predicate {
	t.Helper()
	p, errs := predicate.Compile(src, predicate.Env{Columns: sc.Columns, Partitions: partitions})
	if len(errs) > 0 {
		t.Fatalf("compile %q: %v", src, errs)
	}
	return p
}

// fixture is a configuration with one pipeline over a local source tree.
type fixture struct {
	root, srcDir, stateDir, sinkDir string
	cfg                             *spec.Config
}

func newFixture(t *testing.T, files map[string]string, mod func(*spec.Pipeline)) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{root: root, srcDir: filepath.Join(root, "src"), stateDir: filepath.Join(root, "state"), sinkDir: filepath.Join(root, "sink")}
	writeTree(t, f.srcDir, files)
	p := &spec.Pipeline{
		Name: "orders_curated",
		Source: &spec.Source{
			Name: "orders", URL: f.srcDir, Format: spec.FormatJSON, Compression: spec.CompressionAuto,
			Schema: ordersSchema, Partitions: []string{"dt", "region"},
			OnBadRecord: spec.BadRecordFail, OnChange: spec.ChangeIgnore, OnSchemaChange: spec.SchemaChangeFail,
			TaskBytes: 128 << 20,
		},
		Sink: &spec.Sink{
			Name: "curated", URL: f.sinkDir, Format: spec.FormatParquet, Compression: spec.CompressionSnappy,
			Mode: spec.ModeAppend, Committer: spec.CommitterAtomic, TargetFileSize: 128 << 20, RowGroupSize: 64 << 20,
		},
	}
	if mod != nil {
		mod(p)
	}
	f.cfg = &spec.Config{Dir: root, State: &spec.State{URL: f.stateDir}, Pipelines: []*spec.Pipeline{p}, Digest: "d1g35t"}
	return f
}

func (f *fixture) pipeline() *spec.Pipeline { return f.cfg.Pipelines[0] }

var testNow = time.Date(2026, 11, 21, 23, 21, 47, 0, time.UTC)

// commitInputs does what exec does after a successful commit: record the
// plan's inputs as processed, conditional on the HEAD the plan pinned.
func commitInputs(t *testing.T, f *fixture, p *Plan) {
	t.Helper()
	ctx := context.Background()
	loc, err := objstore.Open(ctx, f.cfg.State.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, pp := range p.Pipelines {
		st := state.Open(loc, pp.Name, pp.Source.Name)
		in := pp.Inputs()
		entries := func(yield func(state.Entry) bool) {
			for i := 0; i < in.Len(); i++ {
				x := in.At(i)
				if !yield(state.Entry{Key: in.Rel(i), ETag: x.ETag, Size: x.Size}) {
					return
				}
			}
		}
		seg, err := st.WriteSegment(ctx, p.RunID+pp.Name, entries)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.SwapHead(ctx, p.RunID+pp.Name, seg, nil); err != nil {
			t.Fatal(err)
		}
	}
}
