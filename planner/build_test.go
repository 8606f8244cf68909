package planner

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/txn"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var goldenTree = map[string]string{
	"dt=2025-12-31/region=eu/part-0.json":     strings.Repeat("x", 100),
	"dt=2026-01-01/region=eu/part-0.json":     strings.Repeat("x", 200),
	"dt=2026-01-01/region=eu/part-1.json":     strings.Repeat("x", 300),
	"dt=2026-01-01/region=us/part-0.json":     strings.Repeat("x", 400),
	"dt=2026-01-01/region=apac/part-0.json":   strings.Repeat("x", 500),
	"dt=2026-01-02/region=eu/part-0.json":     strings.Repeat("x", 600),
	"dt=2026-01-02/region=us/part-0.json":     strings.Repeat("x", 700),
	"dt=2026-01-02/region=us/part-0.json.tmp": strings.Repeat("x", 50),
	"dt=2026-01-02/region=us/_tmp/part.json":  "hidden",
}

func buildPlan(t *testing.T, f *fixture) *Plan {
	t.Helper()
	p, err := Build(context.Background(), f.cfg, Options{RunID: "20261121T232147Z-a1b2c3", Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// golden compares got with testdata/name, after replacing the temporary
// directory with $ROOT; -update rewrites the file.
func golden(t *testing.T, f *fixture, name string, got []byte) {
	t.Helper()
	got = bytes.ReplaceAll(got, []byte(f.root), []byte("$ROOT"))
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func renderBoth(t *testing.T, f *fixture, name string, p *Plan) {
	t.Helper()
	var text, js bytes.Buffer
	if err := WriteText(&text, p, TextOptions{Verbose: true}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	golden(t, f, name+".txt", text.Bytes())
	golden(t, f, name+".json", js.Bytes())
}

func TestGoldenPruning(t *testing.T) {
	f := newFixture(t, goldenTree, func(p *spec.Pipeline) {
		p.Source.Where = compileWhere(t, "dt >= '2026-01-01' && region in ['eu', 'us'] && amount > 0", ordersSchema, p.Source.Partitions)
		p.Source.Select = []string{"order_id", "amount", "dt", "region"}
		p.Source.Exclude = []string{"**/*.tmp"}
		p.Sink.PartitionBy = []string{"dt"}
	})
	p := buildPlan(t, f)
	pp := p.Pipelines[0]
	if pp.Summary.Inputs.Files != 5 || pp.Summary.Pruned.Partitions != 2 || pp.Summary.Pruned.Files != 1 || pp.Summary.Pruned.Bytes != 50 {
		t.Fatalf("summary %+v", pp.Summary)
	}
	// order_id and amount; dt and region come from the path.
	if len(pp.FileSchema) != 2 || pp.FileSchema[0].Name != "order_id" || pp.FileSchema[1].Name != "amount" {
		t.Fatalf("file schema %+v", pp.FileSchema)
	}
	fired := map[string]bool{}
	for _, r := range pp.Rules {
		fired[r.Rule] = true
	}
	for _, r := range []string{"split_predicate", "projection_pushdown", "partition_pruning", "bounded_selection", "task_packing"} {
		if !fired[r] {
			t.Errorf("rule %s did not fire: %v", r, pp.Rules)
		}
	}
	if fired["row_group_pruning"] {
		t.Error("row_group_pruning fired on a json source")
	}
	renderBoth(t, f, "pruning", p)
}

func TestGoldenBounds(t *testing.T) {
	f := newFixture(t, goldenTree, func(p *spec.Pipeline) {
		p.Source.Bounded = &spec.Bounds{Files: 2, Bytes: 1 << 20}
		p.Source.Exclude = []string{"**/*.tmp"}
	})
	p := buildPlan(t, f)
	pp := p.Pipelines[0]
	if pp.Summary.Inputs.Files != 2 || pp.Summary.Backlog.Files != 5 || pp.Summary.Backlog.Bytes != 200+300+400+600+700 {
		t.Fatalf("summary %+v", pp.Summary)
	}
	renderBoth(t, f, "bounds", p)
}

func TestGoldenModes(t *testing.T) {
	f := newFixture(t, goldenTree, func(p *spec.Pipeline) {
		p.Source.OnChange = spec.ChangeReprocess
		p.Sink.URL = "s3://acme-curated/orders/"
		p.Sink.Mode = spec.ModeOverwritePartitions
		p.Sink.PartitionBy = []string{"region"}
		p.Sink.Committer = spec.CommitterDirect
	})
	p := buildPlan(t, f)
	pp := p.Pipelines[0]
	if len(pp.Summary.Warnings) != 1 || !strings.Contains(pp.Summary.Warnings[0], "state is local") {
		t.Fatalf("warnings %q", pp.Summary.Warnings)
	}
	if !strings.Contains(pp.Commit, "readers may see part of the run before it commits") {
		t.Fatalf("direct committer sentence: %q", pp.Commit)
	}
	renderBoth(t, f, "modes", p)

	f2 := newFixture(t, goldenTree, func(p *spec.Pipeline) { p.Source.OnChange = spec.ChangeReprocess })
	p2 := buildPlan(t, f2)
	if w := p2.Pipelines[0].Summary.Warnings; len(w) != 1 || !strings.Contains(w[0], "duplicates") {
		t.Fatalf("reprocess in append: warnings %q", w)
	}
}

func TestRenamedWarningAndMoved(t *testing.T) {
	f := newFixture(t, goldenTree, nil)
	// A first run under another pipeline name left state behind.
	renamed := *f.pipeline()
	renamed.Name = "orders_old"
	f.cfg.Pipelines[0] = &renamed
	commitInputs(t, f, buildPlan(t, f))

	renamed.Name = "orders_curated"
	p := buildPlan(t, f)
	pp := p.Pipelines[0]
	if w := pp.Summary.Warnings; len(w) != 1 || !strings.Contains(w[0], "orders_old/orders") || !strings.Contains(w[0], "moved") {
		t.Fatalf("warnings %q", w)
	}
	if pp.Summary.Inputs.Files != 8 {
		t.Fatalf("without moved the whole backlog is planned again: %+v", pp.Summary.Inputs)
	}

	// With a moved block the old bookmarks are used: nothing to do, and
	// the pin tells the executor to adopt them.
	f.cfg.Moved = []*spec.Moved{{From: "pipeline.orders_old", To: "pipeline.orders_curated"}}
	pp = buildPlan(t, f).Pipelines[0]
	if len(pp.Summary.Warnings) != 0 || pp.Summary.Pending || pp.Summary.Inputs.Files != 0 {
		t.Fatalf("moved: warnings %q, summary %+v", pp.Summary.Warnings, pp.Summary)
	}
	if pp.State.MovedFrom == "" || !strings.HasSuffix(pp.State.MovedFrom, "orders_old/orders/") || pp.State.Version != 1 ||
		!strings.HasSuffix(pp.State.Dir, "orders_curated/orders/") {
		t.Fatalf("pin %+v", pp.State)
	}
}

// Bounded runs drain the backlog in key order, one plan + commit at a time,
// and a plan pinned to an old HEAD cannot commit after another run did.
func TestBoundedRunsDrain(t *testing.T) {
	f := newFixture(t, goldenTree, func(p *spec.Pipeline) {
		p.Source.Bounded = &spec.Bounds{Files: 2}
	})
	var seen []string
	for run := 0; run < 10; run++ {
		p := buildPlan(t, f)
		p.RunID = NewRunID(testNow)
		pp := p.Pipelines[0]
		if !pp.Summary.Pending {
			break
		}
		for i := 0; i < pp.NumInputs(); i++ {
			seen = append(seen, pp.Input(i).Key)
		}
		commitInputs(t, f, p)
	}
	if len(seen) != 8 {
		t.Fatalf("drained %d files, want 8: %v", len(seen), seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("not drained in key order: %v", seen)
		}
	}
	// Two plans against the same HEAD: the second commit must fail.
	writeTree(t, f.srcDir, map[string]string{"dt=2026-02-01/region=eu/a.json": "x", "dt=2026-02-02/region=eu/a.json": "y"})
	a, b := buildPlan(t, f), buildPlan(t, f)
	a.RunID, b.RunID = "run-a", "run-b"
	commitInputs(t, f, a)
	ctx := context.Background()
	loc, _ := objstore.Open(ctx, f.cfg.State.URL)
	st := state.Open(loc, b.Pipelines[0].Name, b.Pipelines[0].Source.Name)
	sess, _, err := txn.Acquire(ctx, st, state.LockOptions{RunID: "run-b", Command: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Release(ctx)
	sink, _ := objstore.Open(ctx, f.cfg.Pipelines[0].Sink.URL)
	run, err := sess.Begin(ctx, "run-b", sink, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = run.Commit(ctx, &txn.Outputs{RunID: "run-b", Sink: sink}, txn.CommitOptions{HeadETag: b.Pipelines[0].State.ETag})
	if !errors.Is(err, objstore.ErrPrecondition) {
		t.Fatalf("stale plan committed: %v", err)
	}
}
