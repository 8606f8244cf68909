package planner

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/tables"
)

// Options tune Build.
type Options struct {
	// Footers reads Parquet footers; nil disables row-group pruning.
	Footers FooterReader
	// OpenLocation opens a store URL; nil uses objstore.Open.
	OpenLocation func(ctx context.Context, url string) (objstore.Location, error)
	// Pipelines selects pipelines by name (path.Match globs); nil: all.
	Pipelines []string
	RunID     string           // "": a new one
	Now       func() time.Time // nil: time.Now
	PageSize  int              // listing page size; 0: the store's default
	OpenCost  int64            // 0: DefaultOpenCost
	// OnListed, when set, is told how many files of a pipeline's source
	// have been listed so far, every ListProgressEvery files.
	OnListed func(pipeline string, files int64)
	// DriftFooters is how many footers of a Parquet source's chosen inputs
	// plan reads to report schema drift (drift.go); 0: none. The CLI
	// passes DefaultDriftFooters.
	DriftFooters int
	// Tables opens the catalogs of iceberg sinks to read their tables
	// (read-only; it holds the configuration's catalog secrets); nil: the
	// tables are not inspected (plan says so).
	Tables *tables.Opener
}

// Build plans the next run of the selected pipelines of cfg, in name order.
func Build(ctx context.Context, cfg *spec.Config, opts Options) (*Plan, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if opts.OpenLocation == nil {
		opts.OpenLocation = func(ctx context.Context, url string) (objstore.Location, error) {
			return objstore.Open(ctx, url)
		}
	}
	runID := opts.RunID
	if runID == "" {
		runID = NewRunID(now())
	}
	plan := &Plan{FormatVersion: FormatVersion, RunID: runID, ConfigDigest: cfg.Digest, Created: now().UTC().Truncate(time.Second)}
	stateLoc, err := opts.OpenLocation(ctx, cfg.State.URL)
	if err != nil {
		return nil, fmt.Errorf("opening state %s: %w", cfg.State.URL, err)
	}
	var existing []string // pipeline/source dirs in the state store, read once
	existingRead := false
	for _, p := range cfg.Pipelines {
		if !selected(p.Name, opts.Pipelines) {
			continue
		}
		pp, err := buildPipeline(ctx, cfg, p, stateLoc, opts)
		if err != nil {
			return nil, fmt.Errorf("pipeline %s: %w", p.Name, err)
		}
		if pp.State.Version == 0 && pp.State.MovedFrom == "" && !movedTo(cfg, p) {
			if !existingRead {
				existing, err = state.ListSources(ctx, stateLoc.Store, stateLoc.Prefix)
				if err != nil {
					return nil, err
				}
				existingRead = true
			}
			if orphans := orphanStates(cfg, existing); len(orphans) > 0 {
				pp.Summary.Warnings = append(pp.Summary.Warnings, fmt.Sprintf(
					"no state for %s/%s, but state exists for %s, which no pipeline uses: if it was renamed, add a moved block, or the whole backlog will be processed again",
					p.Name, p.Source.Name, strings.Join(orphans, ", ")))
			}
		}
		plan.Pipelines = append(plan.Pipelines, pp)
	}
	return plan, nil
}

func selected(name string, globs []string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// movedTo reports whether a moved block names p (or its source) as target.
func movedTo(cfg *spec.Config, p *spec.Pipeline) bool {
	for _, m := range cfg.Moved {
		if m.To == "pipeline."+p.Name || m.To == "pipeline."+p.Name+".source."+p.Source.Name {
			return true
		}
	}
	return false
}

// movedFrom resolves the moved block whose target is p or p's source into
// the old pipeline and source names.
func movedFrom(cfg *spec.Config, p *spec.Pipeline) (string, string, bool) {
	for _, m := range cfg.Moved {
		from := strings.Split(m.From, ".")
		switch m.To {
		case "pipeline." + p.Name:
			if len(from) == 2 && from[0] == "pipeline" {
				return from[1], p.Source.Name, true
			}
			if len(from) == 4 && from[0] == "pipeline" && from[2] == "source" {
				return from[1], from[3], true
			}
		case "pipeline." + p.Name + ".source." + p.Source.Name:
			if len(from) == 4 && from[0] == "pipeline" && from[2] == "source" {
				return from[1], from[3], true
			}
			if len(from) == 2 && from[0] == "pipeline" {
				return from[1], p.Source.Name, true
			}
		}
	}
	return "", "", false
}

// orphanStates are the state dirs no pipeline/source of cfg owns.
func orphanStates(cfg *spec.Config, existing []string) []string {
	var out []string
	for _, e := range existing {
		owned := false
		for _, p := range cfg.Pipelines {
			if e == p.Name+"/"+p.Source.Name {
				owned = true
			}
		}
		if !owned {
			out = append(out, e)
		}
	}
	return out
}

// newProject is the Project of p over input, for a source of that shape.
func newProject(input Node, p *spec.Pipeline, shape spec.SourceShape) *Project {
	pr := &Project{Input: input, Columns: shape.OutputNames, Dedupe: p.Dedupe, Est: Estimates{Rows: -1}, At: p.Source.DeclRange}
	if o := p.Output; o != nil {
		pr.Output, pr.At = o, o.DeclRange
		pr.Columns = nil
		for _, it := range o.Items {
			pr.Columns = append(pr.Columns, it.Name)
		}
		pr.Dropped = o.Dropped(shape)
	}
	return pr
}

// LogicalPlan builds the unoptimized tree of a pipeline.
func LogicalPlan(p *spec.Pipeline) Node { return logicalPlan(p, "") }

// logicalPlan is LogicalPlan for a source whose key prefix in its store is
// prefix: the tree carries everything lowering needs.
func logicalPlan(p *spec.Pipeline, prefix string) Node {
	src := p.Source
	shape := src.Shape()
	var n Node = &Scan{Source: src.Name, URL: src.URL, Format: src.Format.String(), Decl: src, Prefix: prefix, Shape: shape,
		RowGroupsKept: -1, Est: Estimates{Rows: -1}, At: src.DeclRange}
	if src.Where != nil {
		n = &Filter{Input: n, Predicate: src.Where, Est: Estimates{Rows: -1}, At: src.WhereRange}
	}
	n = newProject(n, p, shape)
	if len(p.Checks) > 0 {
		n = &Check{Input: n, Checks: p.Checks, Est: Estimates{Rows: -1}, At: p.DeclRange}
	}
	sk := p.Sink
	return &Write{Input: n, Decl: sk, Sink: sk.Name, URL: sk.URL, Format: sk.Format.String(), Mode: sk.Mode.String(),
		Committer: sk.Committer.String(), PartitionBy: sk.PartitionBy, Est: Estimates{Rows: -1}, At: sk.DeclRange}
}

func buildPipeline(ctx context.Context, cfg *spec.Config, p *spec.Pipeline, stateLoc objstore.Location, opts Options) (*PipelinePlan, error) {
	start := time.Now()
	src := p.Source
	loc, err := opts.OpenLocation(ctx, src.URL)
	if err != nil {
		return nil, fmt.Errorf("opening source %s: %w", src.URL, err)
	}
	prefix := loc.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if err := objstore.CheckSource(loc); err != nil {
		return nil, fmt.Errorf("source %s: %w", src.Name, err)
	}
	var inferWarnings []string
	if p, inferWarnings, err = inferSchema(ctx, p, loc, prefix, opts.Footers); err != nil {
		return nil, err
	}
	pin, st, head, err := pinState(ctx, cfg, p, stateLoc)
	if err != nil {
		return nil, err
	}
	rc := &RuleContext{
		Ctx: ctx, Pipeline: p, Store: loc.Store, Prefix: prefix,
		Footers: opts.Footers, OpenCost: opts.OpenCost, PageSize: opts.PageSize, OnListed: opts.OnListed,
	}
	if head.Version > 0 {
		rc.Processed = func() (ProcessedIterator, error) {
			it, err := st.Entries(ctx, head)
			if err != nil {
				return nil, err
			}
			return stateIter{it}, nil
		}
	}
	slog.InfoContext(ctx, "planning", "pipeline", p.Name, "source", src.URL, "state_version", head.Version)
	root, err := Optimize(rc, logicalPlan(p, prefix), Rules())
	if err != nil {
		return nil, err
	}
	for _, r := range rc.Trace {
		slog.DebugContext(ctx, "rule fired", "pipeline", p.Name, "rule", r.Rule, "detail", r.Detail)
	}
	if root, err = schemaFromFirstInput(ctx, p, root, loc.Store, opts.Footers); err != nil {
		return nil, err
	}
	pp, err := lower(p.Name, root)
	if err != nil {
		return nil, err
	}
	pp.State = pin
	pp.Rules = rc.Trace
	sel := FindScan(root).Selection
	pp.Summary = Summary{
		Inputs:         sel.Selected,
		Pruned:         Pruned{Partitions: sel.Stats.PrunedPartitions, Files: sel.Stats.GlobFiles, Bytes: sel.Stats.GlobBytes},
		Backlog:        sel.Backlog,
		EstimatedFiles: estimateOutputFiles(pp),
		Pending:        sel.Pending(),
		Warnings:       append(warnings(cfg, p, sel), inferWarnings...),
		Timings:        Timings{ListMS: sel.Took.Milliseconds()},
	}
	if !sel.BacklogOldest.IsZero() {
		t := sel.BacklogOldest.UTC()
		pp.Summary.BacklogOldest = &t
	}
	if !sel.PendingOldest.IsZero() && pp.Sink.Mode == spec.ModeAppend {
		t := sel.PendingOldest.UTC()
		pp.Summary.PendingOldest = &t
	}
	if sel.Surviving.Files == 0 {
		// Nothing passed the filters: say so when the prefix holds no
		// object at all, since that is more often a wrong url (or a
		// variable resolved elsewhere) than a drained backlog.
		page, err := loc.Store.List(ctx, objstore.ListInput{Prefix: prefix, MaxKeys: 1})
		if err != nil {
			return nil, fmt.Errorf("listing source %s: %w", src.URL, err)
		}
		if len(page.Objects) == 0 && len(page.CommonPrefixes) == 0 {
			pp.Summary.Warnings = append(pp.Summary.Warnings, fmt.Sprintf("the source %s holds no object at all: is its url right?", src.URL))
		}
	}
	slog.InfoContext(ctx, "planned", "pipeline", p.Name, "files", sel.Selected.Files, "bytes", sel.Selected.Bytes,
		"tasks", len(pp.Tasks), "backlog_files", sel.Backlog.Files, "pruned_partitions", sel.Stats.PrunedPartitions, "list_calls", sel.Stats.ListCalls)
	if err := reportDrift(ctx, cfg, rc, sel.Inputs, pp, opts.DriftFooters); err != nil {
		return nil, err
	}
	if err := addSampledColumns(ctx, rc, sel.Inputs, pp); err != nil {
		return nil, err
	}
	if p.Sink.Format == spec.FormatIceberg {
		if err := planTable(ctx, cfg, p, pp, opts.Tables); err != nil {
			return nil, err
		}
	}
	pp.Summary.Timings.PlanMS = time.Since(start).Milliseconds()
	root = annotate(root, pp)
	pp.Nodes = nodesJSON(root)
	pp.Commit = commitSentence(pp)
	return pp, nil
}

// pinState reads the state HEAD a plan of p runs against: p's own, or,
// when p has none yet and a moved block names an old pipeline or source
// that has, the old one (the commit, txn, adopts those bookmarks with
// state.Bookmarks.Adopt before its swap). It returns the pin, the
// bookmarks to select against and their HEAD.
func pinState(ctx context.Context, cfg *spec.Config, p *spec.Pipeline, stateLoc objstore.Location) (StatePin, *state.Bookmarks, state.Head, error) {
	st := state.Open(stateLoc, p.Name, p.Source.Name)
	head, etag, err := st.Head(ctx)
	if err != nil {
		return StatePin{}, nil, state.Head{}, err
	}
	pin := StatePin{URL: cfg.State.URL, Dir: st.Dir(), Version: head.Version, ETag: etag}
	if head.Version == 0 {
		if op, os, ok := movedFrom(cfg, p); ok {
			old := state.Open(stateLoc, op, os)
			oh, oetag, err := old.Head(ctx)
			if err != nil {
				return StatePin{}, nil, state.Head{}, err
			}
			if oh.Version > 0 {
				st, head = old, oh
				pin.MovedFrom, pin.Version, pin.ETag = old.Dir(), oh.Version, oetag
			}
		}
	}
	return pin, st, head, nil
}

// stateIter adapts state.Iterator to ProcessedIterator.
type stateIter struct{ *state.Iterator }

func (s stateIter) Current() (string, string) {
	e := s.Entry()
	return e.Key, e.ETag
}

// estimateOutputFiles: each task's writer rolls files at target_file_size,
// and writes at least one file per output partition it touches; output
// bytes are taken as input bytes (a conservative guess for text → Parquet).
func estimateOutputFiles(pp *PipelinePlan) int64 {
	target := pp.Sink.TargetFileSize
	if target <= 0 {
		target = 128 << 20
	}
	var idx []int
	for _, k := range pp.Sink.PartitionBy {
		idx = append(idx, slices.Index(pp.Source.Partitions, k))
	}
	var n int64
	for _, t := range pp.Tasks {
		files := (t.Bytes + target - 1) / target
		parts := int64(1)
		if len(idx) > 0 && !slices.Contains(idx, -1) {
			seen := map[string]bool{}
			for _, i := range t.Inputs {
				vals := hive.PathValues(pp.inputs.Rel(int(i)), pp.Source.Partitions)
				var b strings.Builder
				for _, j := range idx {
					if j < len(vals) {
						b.WriteString(vals[j])
					}
					b.WriteByte(0)
				}
				seen[b.String()] = true
			}
			parts = int64(len(seen))
		}
		n += max(files, parts)
	}
	return n
}

func warnings(cfg *spec.Config, p *spec.Pipeline, sel *Selection) []string {
	w := []string{}
	if p.Sink.Mode == spec.ModeAppend && p.Source.OnChange == spec.ChangeReprocess {
		w = append(w, `on_change = "reprocess" in append mode appends the rows of a changed file again: the sink will hold duplicates of its old rows`)
	}
	if !isRemote(cfg.State.URL) && isRemote(p.Sink.URL) {
		w = append(w, fmt.Sprintf("state is local (%s) but the sink is remote (%s): runs from another machine will not see these bookmarks", cfg.State.URL, p.Sink.URL))
	}
	if n := sel.Stats.NonHiveFiles + sel.Stats.NonHivePrefixes; n > 0 {
		w = append(w, fmt.Sprintf("%d files and %d directories outside the %s=… layout of partitions were not read",
			sel.Stats.NonHiveFiles, sel.Stats.NonHivePrefixes, strings.Join(p.Source.Partitions, "=…/")))
	}
	if sel.Stats.BadValues > 0 {
		w = append(w, fmt.Sprintf("%d partition directories have values that do not parse as their column's type; they were kept", sel.Stats.BadValues))
	}
	if sel.Changed.Files > 0 && p.Source.OnChange == spec.ChangeIgnore {
		w = append(w, fmt.Sprintf("%d processed files changed since and are ignored (on_change = \"ignore\")", sel.Changed.Files))
	}
	return w
}

func isRemote(url string) bool {
	return strings.Contains(url, "://") && !strings.HasPrefix(url, "file://")
}

func commitSentence(pp *PipelinePlan) string {
	n := pp.Summary.EstimatedFiles
	if pp.Table != nil {
		what := "appended"
		switch pp.Sink.Mode {
		case spec.ModeOverwrite:
			what = "replacing every live file of the table"
		case spec.ModeOverwritePartitions:
			what = "replacing the live files of the affected partitions"
		}
		if what == "appended" {
			return fmt.Sprintf("table: one snapshot of about %s appended to %s, committed with the bookmarks; nothing is visible before", plural(n, "file"), pp.Table.Table)
		}
		return fmt.Sprintf("table: one snapshot of about %s %s of %s, committed with the bookmarks; nothing is visible before", plural(n, "file"), what, pp.Table.Table)
	}
	var what string
	switch pp.Sink.Mode {
	case spec.ModeOverwrite:
		what = "replacing the whole sink"
	case spec.ModeOverwritePartitions:
		what = "replacing the affected partitions"
	default:
		what = "appending"
	}
	clean := ""
	switch pp.Source.CleanSource {
	case spec.CleanDelete:
		clean = fmt.Sprintf("; then its %s are deleted from the source", plural(pp.Summary.Inputs.Files, "input"))
	case spec.CleanArchive:
		clean = fmt.Sprintf("; then its %s are moved to %s", plural(pp.Summary.Inputs.Files, "input"), pp.Source.ArchiveURL)
	}
	if pp.Sink.Committer == spec.CommitterDirect {
		return fmt.Sprintf("direct: about %s published as each task finishes, %s; readers may see part of the run before it commits, and a crash leaves that part visible until the next apply rolls it back%s", plural(n, "file"), what, clean)
	}
	return fmt.Sprintf("atomic: about %s published at commit, %s; nothing is visible before%s", plural(n, "file"), what, clean)
}

// annotate fills the estimates of the nodes above the Scan (bottom-up, so
// each sees its input's). Rows are -1 when unknown: known only from Parquet
// footers, and a Filter's selectivity is never guessed.
func annotate(root Node, pp *PipelinePlan) Node {
	scanEst := FindScan(root).Est
	out, _, _ := Transform(root, func(n Node) (Node, bool, error) {
		switch x := n.(type) {
		case *Filter:
			c := *x
			c.Est = Estimates{Files: scanEst.Files, Bytes: scanEst.Bytes, Rows: -1}
			return &c, true, nil
		case *Project:
			c := *x
			c.Est = Estimates{Files: scanEst.Files, Bytes: scanEst.Bytes, Rows: x.Input.Estimates().Rows}
			return &c, true, nil
		case *Check:
			c := *x
			c.Est = Estimates{Files: scanEst.Files, Bytes: scanEst.Bytes, Rows: x.Input.Estimates().Rows}
			return &c, true, nil
		case *Write:
			c := *x
			c.Est = Estimates{Files: pp.Summary.EstimatedFiles, Bytes: scanEst.Bytes, Rows: x.Input.Estimates().Rows}
			return &c, true, nil
		}
		return n, false, nil
	})
	return out
}

// nodesJSON numbers the nodes parents first (the Write is node 1).
func nodesJSON(root Node) []NodeJSON {
	var out []NodeJSON
	var visit func(n Node) int
	visit = func(n Node) int {
		id := len(out) + 1
		out = append(out, NodeJSON{ID: id, Kind: n.Kind().String(), Detail: n.Detail(), Estimates: n.Estimates()})
		if p, ok := n.(*Project); ok {
			out[id-1].Project = p.json()
		}
		for _, c := range n.Children() {
			cid := visit(c)
			out[id-1].Children = append(out[id-1].Children, cid)
		}
		return id
	}
	visit(root)
	return out
}
