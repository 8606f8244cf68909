package planner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// roundTrip saves and reads back a plan, as apply PLANFILE receives it.
func roundTrip(t *testing.T, p *Plan) *Plan {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, p); err != nil {
		t.Fatal(err)
	}
	q, err := Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// withInputs replaces pp's inputs by rels (sizes and ETags made up) in
// one task.
func withInputs(pp *PipelinePlan, rels ...string) {
	pp.inputs = NewInputs(pp.Source.Prefix, pp.Source.Partitions)
	pp.Tasks = []Task{{ID: 0}}
	for i, r := range rels {
		pp.inputs.AddBytes([]byte(r), 10, []byte("e"))
		pp.Tasks[0].Inputs = append(pp.Tasks[0].Inputs, int32(i))
	}
	pp.rowGroups = nil
}

// A saved plan follows from its configuration unless it was edited: each
// edit is named (sources, sinks, modes, state, where, checks, schemas,
// partitioning, inputs, tasks, row groups).
func TestFollows(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, goldenTree, func(p *spec.Pipeline) {
		p.Source.Where = compileWhere(t, "dt >= '2026-01-01' && region in ['eu', 'us'] && amount > 0", ordersSchema, p.Source.Partitions)
		p.Source.Select = []string{"order_id", "amount", "dt", "region"}
		p.Source.Exclude = []string{"**/*.tmp"}
		p.Checks = []*spec.Check{{Name: "has_id", Expr: compileWhere(t, "order_id != nil", ordersSchema, nil), MinRows: -1, Severity: spec.SeverityError}}
		p.Sink.PartitionBy = []string{"dt"}
	})
	fresh := func() *PipelinePlan { return roundTrip(t, buildPlan(t, f)).Pipelines[0] }
	if diffs, err := Follows(ctx, f.cfg, fresh(), Options{}); err != nil || len(diffs) != 0 {
		t.Fatalf("an untouched plan: %v %v", diffs, err)
	}
	if n := fresh().NumInputs(); n != 5 {
		t.Fatalf("%d inputs", n)
	}
	cases := []struct {
		name string
		edit func(pp *PipelinePlan)
		want string
	}{
		{"sink url", func(pp *PipelinePlan) { pp.Sink.URL = "s3://elsewhere/x/" }, `sink.url: the plan has "s3://elsewhere/x/", the configuration gives "` + f.sinkDir + `"`},
		{"sink mode", func(pp *PipelinePlan) { pp.Sink.Mode = spec.ModeOverwrite }, `sink.mode: the plan has "overwrite"`},
		{"partition_by", func(pp *PipelinePlan) { pp.Sink.PartitionBy = nil }, `sink.partition_by: the plan has null, the configuration gives ["dt"]`},
		{"source url", func(pp *PipelinePlan) { pp.Source.URL = "/etc" }, `source.url: the plan has "/etc"`},
		{"source prefix", func(pp *PipelinePlan) { pp.Source.Prefix = "../" }, `source.prefix`},
		{"on_bad_record", func(pp *PipelinePlan) { pp.Source.OnBadRecord = spec.BadRecordSkip }, `source.on_bad_record`},
		{"where", func(pp *PipelinePlan) { pp.Where = "" }, `where: the plan has "", the configuration gives "dt >= '2026-01-01'`},
		{"checks", func(pp *PipelinePlan) { pp.Checks = nil }, `checks: the plan has null, the configuration gives [{"expr":"order_id != nil"`},
		{"file schema", func(pp *PipelinePlan) { pp.FileSchema[len(pp.FileSchema)-1].Type = schema.Type{Kind: schema.Binary} }, `file_schema: the plan has`},
		{"output schema", func(pp *PipelinePlan) { pp.OutputSchema = pp.OutputSchema[:1] }, `output_schema`},
		{"state url", func(pp *PipelinePlan) { pp.State.URL = "/tmp/other-state" }, `state.url`},
		{"state dir", func(pp *PipelinePlan) { pp.State.Dir = "other/orders/" }, `state.dir`},
		{"excluded input", func(pp *PipelinePlan) { withInputs(pp, "dt=2026-01-02/region=us/part-0.json.tmp") }, `input "dt=2026-01-02/region=us/part-0.json.tmp" is not one the source lists: include/exclude leave it out`},
		{"hidden input", func(pp *PipelinePlan) { withInputs(pp, "dt=2026-01-02/region=us/_tmp/part.json") }, `under a hidden path segment`},
		{"pruned input", func(pp *PipelinePlan) { withInputs(pp, "dt=2025-12-31/region=eu/part-0.json") }, `its partition dt=2025-12-31 is pruned by where`},
		{"outside the layout", func(pp *PipelinePlan) { withInputs(pp, "secrets.json") }, `outside the dt=…/region=… layout`},
		{"dot-dot", func(pp *PipelinePlan) { withInputs(pp, "../x/dt=2026-01-01/region=eu/a.json") }, `under a hidden path segment`},
		{"unsorted inputs", func(pp *PipelinePlan) {
			withInputs(pp, "dt=2026-01-02/region=us/part-0.json", "dt=2026-01-01/region=eu/part-0.json")
		}, `not in key order`},
		{"input twice", func(pp *PipelinePlan) {
			withInputs(pp, "dt=2026-01-01/region=eu/part-0.json", "dt=2026-01-01/region=eu/part-0.json")
		}, `not in key order`},
		{"input in no task", func(pp *PipelinePlan) { pp.Tasks = pp.Tasks[:0] }, `is in no task`},
		{"input in two tasks", func(pp *PipelinePlan) { pp.Tasks = append(pp.Tasks, pp.Tasks[0]) }, `read by more than one task`},
		{"row groups", func(pp *PipelinePlan) { pp.rowGroups = map[int][]int{0: {}} }, `only some row groups`},
		{"no such pipeline", func(pp *PipelinePlan) { pp.Name = "other" }, `the configuration has no pipeline "other"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pp := fresh()
			c.edit(pp)
			// The edit survives a plan file (its checksum recomputed).
			pp = roundTrip(t, &Plan{FormatVersion: FormatVersion, RunID: "r", Pipelines: []*PipelinePlan{pp}}).Pipelines[0]
			diffs, err := Follows(ctx, f.cfg, pp, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(diffs, "\n"), c.want) {
				t.Fatalf("differences %q, want one containing %q", diffs, c.want)
			}
		})
	}
}

// A moved block's old state directory is part of the pin: a plan that
// drops it would process the whole backlog again under the new name.
func TestFollowsMovedFrom(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, goldenTree, nil)
	p := buildPlan(t, f)
	commitInputs(t, f, p)
	f.cfg.Moved = []*spec.Moved{{From: "pipeline.orders_curated", To: "pipeline.renamed"}}
	f.pipeline().Name = "renamed"
	writeTree(t, f.srcDir, map[string]string{"dt=2026-01-03/region=eu/part-0.json": "new"})
	pp := roundTrip(t, buildPlan(t, f)).Pipelines[0]
	if pp.State.MovedFrom == "" || pp.NumInputs() != 1 {
		t.Fatalf("pin %+v, %d inputs", pp.State, pp.NumInputs())
	}
	if diffs, err := Follows(ctx, f.cfg, pp, Options{}); err != nil || len(diffs) != 0 {
		t.Fatalf("untouched: %v %v", diffs, err)
	}
	pp.State.MovedFrom = ""
	diffs, err := Follows(ctx, f.cfg, pp, Options{})
	if err != nil || !strings.Contains(strings.Join(diffs, "\n"), `state.moved_from: the plan has "", the configuration gives "orders_curated/orders/"`) {
		t.Fatalf("dropped moved_from: %q %v", diffs, err)
	}
}

// A schemaless Parquet source: the schema is inferred again from the
// footers, as plan inferred it, and a plan that edits it is refused.
func TestFollowsInferredSchema(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f := newFixture(t, nil, func(p *spec.Pipeline) {
		p.Source.Format = spec.FormatParquet
		p.Source.Schema = nil
		p.Source.Where, p.Source.WhereText = nil, "amount > 60"
	})
	dir := filepath.Join(f.srcDir, "dt=2026-01-01/region=eu")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeParquet(t, mem, filepath.Join(dir, "a.parquet"), append(seq(0, 10), seq(100, 10)...), 10)
	opts := Options{Footers: &parquetFooters{}, RunID: "r"}
	p, err := Build(ctx, f.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	pp := roundTrip(t, p).Pipelines[0]
	if diffs, err := Follows(ctx, f.cfg, pp, opts); err != nil || len(diffs) != 0 {
		t.Fatalf("untouched: %v %v", diffs, err)
	}
	pp.FileSchema = nil
	if diffs, err := Follows(ctx, f.cfg, pp, opts); err != nil || !strings.Contains(strings.Join(diffs, "\n"), "file_schema") {
		t.Fatalf("edited schema: %v %v", diffs, err)
	}
}
