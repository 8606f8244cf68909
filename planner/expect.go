package planner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// Follows reports how a saved plan's pipeline pp departs from what the
// configuration cfg gives (nil: in nothing), for `apply PLANFILE`: a plan
// file is a user's file, and one edited to write elsewhere (its checksum
// recomputed) must not run.
//
// The settings are derived with the planner's own code, not a copy of it:
// the pipeline's schema is inferred as Build infers it (for a source
// without one), its logical plan goes through the rules that decide
// settings (every Rule without Data) and is lowered by lower, with the
// plan's own inputs standing in for the listing. Compared: the source and
// sink settings (URLs, prefix, formats, modes, partitioning, CSV and S3
// options), the file and output schemas, the residual where, the checks
// and the state location (with the moved block's old directory). Then the
// plan's own structure: every input in key order, once, admitted by the
// listing's per-key rules (under the source, no hidden segment, the hive
// layout, include/exclude, not in a partition where prunes); every input
// in exactly one task; row groups pinned only where the configuration's
// where can prune them.
//
// What the plan says about the bookmarks (an input already processed) is
// checked by the caller, under the lock: Follows takes none.
func Follows(ctx context.Context, cfg *spec.Config, pp *PipelinePlan, opts Options) ([]string, error) {
	var p *spec.Pipeline
	for _, q := range cfg.Pipelines {
		if q.Name == pp.Name {
			p = q
		}
	}
	if p == nil {
		return []string{fmt.Sprintf("the configuration has no pipeline %q", pp.Name)}, nil
	}
	if opts.OpenLocation == nil {
		opts.OpenLocation = func(ctx context.Context, url string) (objstore.Location, error) {
			return objstore.Open(ctx, url)
		}
	}
	src := p.Source
	loc, err := opts.OpenLocation(ctx, src.URL)
	if err != nil {
		return nil, fmt.Errorf("opening source %s: %w", src.URL, err)
	}
	prefix := loc.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if p, _, err = inferSchema(ctx, p, loc, prefix, opts.Footers); err != nil {
		return nil, err
	}
	// The settings: the rules that decide them, then the plan's inputs as
	// the selection (lowering needs one; a schema still unknown is read
	// from the first input's footer, as Build reads it).
	rc := &RuleContext{Ctx: ctx, Pipeline: p, Store: loc.Store, Prefix: prefix, Footers: opts.Footers}
	var rules []Rule
	for _, r := range Rules() {
		if !r.Data {
			rules = append(rules, r)
		}
	}
	root, err := Optimize(rc, logicalPlan(p, prefix), rules)
	if err != nil {
		return nil, err
	}
	root, _, err = withScan(root, func(s *Scan) (*Scan, bool, error) {
		c := *s
		c.Selection = &Selection{Mode: p.Sink.Mode, Inputs: pp.Inputs()}
		return &c, true, nil
	})
	if err != nil {
		return nil, err
	}
	if root, err = schemaFromFirstInput(ctx, p, root, loc.Store, opts.Footers); err != nil {
		return nil, err
	}
	want, err := lower(p.Name, root)
	if err != nil {
		return nil, err
	}
	stateLoc, err := opts.OpenLocation(ctx, cfg.State.URL)
	if err != nil {
		return nil, fmt.Errorf("opening state %s: %w", cfg.State.URL, err)
	}
	if want.State, _, _, err = pinState(ctx, cfg, p, stateLoc); err != nil {
		return nil, err
	}
	diffs, err := settingsDiff(pp, want)
	if err != nil {
		return nil, err
	}

	// The plan's structure: inputs, tasks, row groups.
	scan := FindScan(root)
	ls := ListSpec{Prefix: prefix, Partitions: src.Partitions, PartitionTypes: scan.Shape.PartitionTypes(),
		Include: src.Include, Exclude: src.Exclude}
	if scan.PruneListing {
		ls.Conjuncts = scan.PartitionConjuncts
	}
	lister, err := NewLister(ls)
	if err != nil {
		return nil, err
	}
	diffs = append(diffs, inputsDiff(pp, lister)...)
	diffs = append(diffs, tasksDiff(pp)...)
	if len(pp.rowGroups) > 0 && (src.Format != spec.FormatParquet || len(scan.StatsConjuncts) == 0 || opts.Footers == nil) {
		diffs = append(diffs, fmt.Sprintf("the plan reads only some row groups of %d inputs, but the configuration's where cannot prune row groups", len(pp.rowGroups)))
	}
	return diffs, nil
}

// settingsView is what Follows compares of a pipeline plan: everything the
// run does that the configuration decides.
type settingsView struct {
	Source       SourceSettings  `json:"source"`
	Sink         SinkSettings    `json:"sink"`
	FileSchema   []schema.Column `json:"file_schema"`
	OutputSchema []schema.Column `json:"output_schema"`
	OutputExprs  []string        `json:"output_exprs"`
	Dedupe       *DedupePlan     `json:"dedupe"`
	Where        string          `json:"where"`
	Checks       []CheckPlan     `json:"checks"`
	State        struct {
		URL       string `json:"url"`
		Dir       string `json:"dir"`
		MovedFrom string `json:"moved_from"`
	} `json:"state"`
}

func viewOf(pp *PipelinePlan) (any, error) {
	v := settingsView{Source: pp.Source, Sink: pp.Sink, FileSchema: pp.FileSchema, OutputSchema: pp.OutputSchema, OutputExprs: pp.OutputExprs, Dedupe: pp.Dedupe, Where: pp.Where, Checks: pp.Checks}
	v.State.URL, v.State.Dir, v.State.MovedFrom = pp.State.URL, pp.State.Dir, pp.State.MovedFrom
	// Compared as the plan file holds them (JSON), so a value and its
	// round trip through a plan file are equal.
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return out, d.Decode(&out)
}

// settingsDiff names every setting where got (the plan) and want (the
// configuration) differ, as "sink.url: the plan has …, the configuration
// gives …".
func settingsDiff(got, want *PipelinePlan) ([]string, error) {
	g, err := viewOf(got)
	if err != nil {
		return nil, err
	}
	w, err := viewOf(want)
	if err != nil {
		return nil, err
	}
	var out []string
	var walk func(path string, a, b any)
	walk = func(path string, a, b any) {
		am, aok := a.(map[string]any)
		bm, bok := b.(map[string]any)
		if aok && bok {
			var keys []string
			for k := range am {
				keys = append(keys, k)
			}
			for k := range bm {
				if _, ok := am[k]; !ok {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for _, k := range keys {
				walk(strings.TrimPrefix(path+"."+k, "."), am[k], bm[k])
			}
			return
		}
		if empty(a) && empty(b) {
			return
		}
		ja, jb := jsonText(a), jsonText(b)
		if !bytes.Equal(ja, jb) {
			out = append(out, fmt.Sprintf("%s: the plan has %s, the configuration gives %s", path, clip(ja), clip(jb)))
		}
	}
	walk("", g, w)
	return out, nil
}

// jsonText renders a decoded JSON value compactly, without HTML escapes.
func jsonText(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// empty: JSON null, "", an empty list or object, or absent (omitempty).
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func clip(b []byte) string {
	const max = 300
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// inputsDiff checks the pinned inputs in one pass: in key order, unique,
// and each one a key the listing could return.
func inputsDiff(pp *PipelinePlan, l *Lister) []string {
	var out []string
	var prev []byte
	bad := 0
	pp.inputs.Each(func(i int, rel []byte, _ int64, _ []byte) bool {
		var why string
		switch {
		case i > 0 && bytes.Compare(rel, prev) <= 0:
			why = "not in key order after " + fmt.Sprintf("%q", prev) + " (or listed twice)"
		default:
			why = l.Admits(string(rel))
		}
		if why != "" {
			bad++
			if bad <= 5 {
				out = append(out, fmt.Sprintf("input %q is not one the source lists: %s", rel, why))
			}
		}
		prev = append(prev[:0], rel...)
		return true
	})
	if bad > 5 {
		out = append(out, fmt.Sprintf("… %d inputs in all are not ones the source lists", bad))
	}
	return out
}

// tasksDiff checks that the tasks read every input exactly once.
func tasksDiff(pp *PipelinePlan) []string {
	n := pp.NumInputs()
	seen := make([]bool, n)
	var out []string
	for _, t := range pp.Tasks {
		for _, k := range t.Inputs {
			switch {
			case int(k) < 0 || int(k) >= n:
				return append(out, fmt.Sprintf("task %d names input %d of %d", t.ID, k, n))
			case seen[k]:
				return append(out, fmt.Sprintf("input %q is read by more than one task", pp.inputs.Rel(int(k))))
			}
			seen[k] = true
		}
	}
	if i := slices.Index(seen, false); i >= 0 {
		out = append(out, fmt.Sprintf("input %q is in no task (it would be recorded processed without being read)", pp.inputs.Rel(i)))
	}
	return out
}
