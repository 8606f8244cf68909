package spec

import (
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// partitionKinds are the types a hive partition value can be read as: it
// comes from a path segment, so only types with an unambiguous text form.
var partitionKinds = map[schema.Kind]bool{
	schema.String: true, schema.Int32: true, schema.Int64: true, schema.Date: true,
}

// elemRange returns the range of the element of a list attribute that is
// the constant string name, or the whole expression's range.
func elemRange(at *hcl.Attribute, name string) *hcl.Range {
	if tup, ok := at.Expr.(*hclsyntax.TupleConsExpr); ok {
		for _, e := range tup.Exprs {
			v, d := e.Value(nil)
			if !d.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() && v.AsString() == name {
				return e.Range().Ptr()
			}
		}
	}
	return at.Expr.Range().Ptr()
}

// OutputColumns are the columns a source's checks and its sink's
// partition_by may name: the selected columns (every declared column
// without select) followed by the partition keys not already among them
// (SourceShape.CheckColumns). A partition key is typed by a same-named
// column, else it is a nullable string. Nil when the schema is known only
// at plan time (a Parquet source without schema).
func (s *Source) OutputColumns() []schema.Column {
	if s == nil || s.Schema == nil {
		return nil
	}
	return s.Shape().CheckColumns()
}

// WhereSubject maps a span of WhereText (from a predicate error found
// later, e.g. at plan time) to the range in the file it was written at.
func (s *Source) WhereSubject(sp predicate.Span) hcl.Range {
	if s.whereMap == nil {
		return s.WhereRange
	}
	return s.whereMap.rangeOf(sp)
}

// ExprSubject maps a span of ExprText to the range in the file.
func (c *Check) ExprSubject(sp predicate.Span) hcl.Range {
	if c.exprMap == nil {
		return c.ExprRange
	}
	return c.exprMap.rangeOf(sp)
}

func (l *loader) checkSourceColumns(src *Source, a attrs) {
	if src.Schema == nil {
		return
	}
	for _, p := range src.Partitions {
		c, ok := src.Schema.Column(p)
		if ok && !partitionKinds[c.Type.Kind] {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Incompatible partition key type",
				Detail: "Partition key \"" + p + "\" is also declared as a column of type " + c.Type.String() +
					", but partition values come from key=value path segments and can be read only as string, int32, int64 or date. Change the column's type, or drop the column and let the key be a string.",
				Subject: elemRange(a.get("partitions"), p),
				Context: c.DeclRange.Ptr(),
			})
		}
	}
	if at := a.get("select"); at != nil {
		known := l.columnNames(src)
		for _, n := range src.Select {
			if _, ok := src.Schema.Column(n); ok || contains(src.Partitions, n) {
				continue
			}
			l.errorf(elemRange(at, n), "Unknown column in select",
				"Source %q has no column or partition key named %q.%s select may name the schema's columns and the source's partition keys.", src.Name, n, suggestion(n, known))
		}
	}
}

func (l *loader) columnNames(src *Source) []string {
	var out []string
	if src.Schema != nil {
		for _, c := range src.Schema.Columns {
			out = append(out, c.Name)
		}
	}
	out = append(out, src.Partitions...)
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// predicateText evaluates a where/expr attribute and builds the map from
// its bytes back into the file.
func (l *loader) predicateText(at *hcl.Attribute) (string, *stringMap, bool) {
	v, sens, ok := l.eval(at.Expr)
	if !ok || v.IsNull() {
		return "", nil, false
	}
	if v.Type() != cty.String {
		l.errorf(at.Expr.Range().Ptr(), "Invalid value for "+at.Name,
			"%s must be a string holding an expression, such as \"amount > 0\"; got a %s.", at.Name, v.Type().FriendlyName())
		return "", nil, false
	}
	s := v.AsString()
	if strings.TrimSpace(s) == "" {
		l.errorf(at.Expr.Range().Ptr(), "Empty "+at.Name+" expression",
			"%s is empty. Write an expression such as \"amount > 0\", or remove the attribute.", at.Name)
		return "", nil, false
	}
	m := newStringMap(at.Expr, l.srcs[at.Expr.Range().Filename], s)
	if m.offs == nil {
		// where = local.q, with q a plain string: point inside q's text.
		if tr, ok := at.Expr.(*hclsyntax.ScopeTraversalExpr); ok && tr.Traversal.RootName() == "local" {
			if name, _, good := refName(tr.Traversal); good && len(tr.Traversal) == 2 {
				if lc := l.locals[name]; lc != nil {
					if lm := newStringMap(lc.attr.Expr, l.srcs[lc.attr.Expr.Range().Filename], s); lm.offs != nil {
						m = lm
					}
				}
			}
		}
	}
	if sens {
		// Pointing inside a string built from a secret could reveal it.
		m.offs, m.ends = nil, nil
	}
	return s, m, true
}

func (l *loader) reportPredicate(errs []predicate.Error, m *stringMap, what string) {
	for _, e := range errs {
		rng := m.rangeOf(e.Span)
		d := &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  e.Summary,
			Detail:   e.Detail,
			Subject:  &rng,
		}
		if m.offs == nil {
			// The expression interpolates ${…}: we cannot point inside it.
			d.Detail = strings.TrimSpace(d.Detail + " (in the " + what + " expression; the position is approximate because the expression is built with ${…})")
		}
		if !m.whole.Empty() {
			d.Context = m.whole.Ptr()
		}
		l.diags = append(l.diags, d)
	}
}

func (l *loader) compileWhere(src *Source, at *hcl.Attribute) {
	if at == nil {
		return
	}
	src.WhereRange = at.Expr.Range()
	s, m, ok := l.predicateText(at)
	if !ok {
		return
	}
	src.WhereText, src.whereMap = s, m
	switch {
	case src.Schema == nil && src.Format == FormatParquet:
		// The schema comes from the footers at plan time; plan compiles it.
		l.reportPredicate(predicate.CheckSyntax(s), m, "where")
	case src.Schema == nil:
		// Missing schema already reported.
	default:
		pred, errs := predicate.Compile(s, src.Shape().PredicateEnv())
		l.reportPredicate(errs, m, "where")
		if len(errs) == 0 {
			src.Where = pred
		}
	}
}

func (l *loader) compileCheck(c *Check, p *Pipeline, at *hcl.Attribute) {
	c.ExprRange = at.Expr.Range()
	s, m, ok := l.predicateText(at)
	if !ok {
		return
	}
	c.ExprText, c.exprMap = s, m
	src := p.Source
	outs := p.OutputColumns()
	switch {
	case src == nil:
	case outs == nil && src.Format == FormatParquet && src.Schema == nil:
		l.reportPredicate(predicate.CheckSyntax(s), m, "check")
	case outs == nil:
		// Missing schema, or an output block with errors: already reported.
	default:
		pred, errs := predicate.Compile(s, predicate.Env{Columns: outs})
		l.reportPredicate(errs, m, "check")
		if len(errs) == 0 {
			c.Expr = pred
		}
	}
}

func (l *loader) checkPartitionBy(sk *Sink, p *Pipeline, a attrs) {
	src := p.Source
	at := a.get("partition_by")
	outputs, known := p.outputNames()
	outCols := p.OutputColumns()
	for _, pb := range sk.PartitionBy {
		if known && !contains(outputs, pb) {
			if _, isCol := src.Schema.Column(pb); p.Output == nil && (isCol || contains(src.Partitions, pb)) {
				l.errorf(elemRange(at, pb), "Partition column not selected",
					"The sink partitions by %q, but source %q does not select it. Add %q to the source's select.", pb, src.Name, pb)
			} else {
				l.errorf(elemRange(at, pb), "Unknown partition column",
					"The sink partitions by %q, which is not an output column of pipeline %q.%s partition_by may name output columns: the output block's columns (derived ones included), else the selected columns and keys, or every column and key without select.", pb, p.Name, suggestion(pb, outputs))
			}
			continue
		}
		for _, c := range outCols {
			if c.Name == pb && !partitionKinds[c.Type.Kind] {
				l.errorf(elemRange(at, pb), "Invalid partition column type",
					"Column %q is a %s; outputs can be partitioned only by string, int32, int64 or date columns, whose values make readable key=value paths.", pb, c.Type)
			}
		}
	}
	if sk.Mode == ModeOverwritePartitions {
		modeRange := sk.DeclRange.Ptr()
		if m := a.get("mode"); m != nil {
			modeRange = m.Expr.Range().Ptr()
		}
		if len(sk.PartitionBy) == 0 {
			l.errorf(modeRange, "overwrite_partitions without partition_by",
				"mode = \"overwrite_partitions\" replaces whole output partitions, so the sink needs partition_by naming some of the source's partitions (%s).", quoteList(src.Partitions))
		}
		for _, pb := range sk.PartitionBy {
			if !contains(src.Partitions, pb) {
				l.errorf(elemRange(at, pb), "partition_by is not a source partition",
					"mode = \"overwrite_partitions\" needs partition_by to be a subset of the source's partitions (%s), so that each output partition is fed by known input paths; %q is not one of them. Add it to the source's partitions or use mode = \"append\".", quoteList(src.Partitions), pb)
			}
		}
	}
}

// checkOverwriteBounded rejects a bounded overwrite: it would replace the
// whole sink with a fraction of the data.
func (l *loader) checkOverwriteBounded(sk *Sink, src *Source) {
	if sk.Mode == ModeOverwrite && src.Bounded != nil {
		rng := l.boundedRange[src]
		l.errorf(&rng, "bounded with mode = \"overwrite\"",
			"An overwrite run reads every input and replaces the whole sink, so a bounded run would replace it with a fraction of the data. Remove the bounded block, or use mode = \"append\" or \"overwrite_partitions\".")
	}
}

// urlSegments splits a resolved URL into a comparable path: the scheme and
// bucket first, then each non-empty path segment.
func urlSegments(u string) []string {
	var head string
	rest := u
	if strings.HasPrefix(u, "s3://") {
		rest = strings.TrimPrefix(u, "s3://")
		bucket, tail, _ := strings.Cut(rest, "/")
		head, rest = "s3://"+bucket, tail
	} else {
		head = "file://"
	}
	segs := []string{head}
	for _, s := range strings.Split(rest, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	return segs
}

func isPrefix(a, b []string) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkSinkOverlap reports pipelines whose sinks write into each other's
// prefixes: overwrite of one would delete the other's outputs, and
// readers of one would see the other's files.
func (l *loader) checkSinkOverlap() {
	ps := append([]*Pipeline(nil), l.cfg.Pipelines...)
	sort.Slice(ps, func(i, j int) bool {
		return ps[i].DeclRange.Filename < ps[j].DeclRange.Filename ||
			(ps[i].DeclRange.Filename == ps[j].DeclRange.Filename && ps[i].DeclRange.Start.Byte < ps[j].DeclRange.Start.Byte)
	})
	tables := map[string]*Pipeline{}
	for _, p := range ps {
		if p.Sink == nil || p.Sink.Catalog == "" || p.Sink.Table == "" {
			continue
		}
		key := p.Sink.Catalog + "\x00" + p.Sink.Table
		if prev, ok := tables[key]; ok {
			l.errorf(p.Sink.DeclRange.Ptr(), "Two pipelines write one table",
				"Pipelines %q and %q both write table %s of catalog %q. Each pipeline needs its own table: its bookmarks, overwrites and recovery assume no other sluice pipeline commits there.", prev.Name, p.Name, p.Sink.Table, p.Sink.Catalog)
			continue
		}
		tables[key] = p
	}
	for j, pj := range ps {
		if pj.Sink == nil || pj.Sink.URL == "" {
			continue
		}
		sj := urlSegments(pj.Sink.URL)
		for _, pi := range ps[:j] {
			if pi.Sink == nil || pi.Sink.URL == "" {
				continue
			}
			si := urlSegments(pi.Sink.URL)
			if isPrefix(si, sj) || isPrefix(sj, si) {
				rng := l.sinkURLRange[pj.Sink]
				l.errorf(&rng, "Overlapping sinks",
					"Pipelines %q and %q write to overlapping locations (%s and %s). Each pipeline needs its own sink prefix, not inside another's; otherwise overwrites and commit manifests collide.", pi.Name, pj.Name, pi.Sink.URL, pj.Sink.URL)
				break
			}
		}
	}
}

// checkCleanSource reports a clean_source that would lose or re-read
// data: overwrite modes read processed inputs again on every run (a
// cleaned one would vanish from the output), and an archive inside the
// source would be read again, one inside the sink would be taken for
// outputs.
func (l *loader) checkCleanSource(p *Pipeline, src, dst []string) {
	s := p.Source
	if s.CleanSource == CleanOff || s.CleanSource == 0 {
		return
	}
	rng := s.DeclRange
	if p.Sink.Mode == ModeOverwrite || p.Sink.Mode == ModeOverwritePartitions {
		l.errorf(&rng, "clean_source with mode = \""+p.Sink.Mode.String()+"\"",
			"Pipeline %q cleans its inputs after each commit, but mode = %q reads processed inputs again on later runs: the cleaned ones would vanish from the output. Use mode = \"append\", or clean_source = \"off\".", p.Name, p.Sink.Mode.String())
	}
	if s.CleanSource != CleanArchive || s.ArchiveURL == "" {
		return
	}
	arch := urlSegments(s.ArchiveURL)
	switch {
	case isPrefix(src, arch) || isPrefix(arch, src):
		l.errorf(&rng, "archive_url overlaps the source",
			"Pipeline %q archives its inputs to %s, which overlaps its source %s: archived inputs would be listed (and read) again. Archive to a prefix outside the source.", p.Name, s.ArchiveURL, s.URL)
	case isPrefix(dst, arch) || isPrefix(arch, dst):
		l.errorf(&rng, "archive_url overlaps the sink",
			"Pipeline %q archives its inputs to %s, which overlaps its sink %s. Archive to a prefix of its own.", p.Name, s.ArchiveURL, p.Sink.URL)
	}
}

// checkLocations reports sinks that write where their own source reads
// (each run would read the previous run's outputs, and an overwrite would
// delete its inputs), and local state for remote sinks.
func (l *loader) checkLocations() {
	remoteSink := (*Sink)(nil)
	for _, p := range l.cfg.Pipelines {
		if p.Source == nil || p.Sink == nil || p.Source.URL == "" || p.Sink.URL == "" {
			continue
		}
		if remoteSink == nil && strings.HasPrefix(p.Sink.URL, "s3://") {
			remoteSink = p.Sink
		}
		src, dst := urlSegments(p.Source.URL), urlSegments(p.Sink.URL)
		l.checkCleanSource(p, src, dst)
		rng := l.sinkURLRange[p.Sink]
		switch {
		case isPrefix(dst, src) && p.Sink.Mode == ModeOverwrite:
			l.errorf(&rng, "Overwrite would delete the source",
				"Pipeline %q reads %s, which is inside its sink %s, and mode = \"overwrite\" replaces everything under the sink. Write to a prefix outside the source.", p.Name, p.Source.URL, p.Sink.URL)
		case isPrefix(src, dst) || isPrefix(dst, src):
			l.warnf(&rng, "Sink and source overlap",
				"Pipeline %q writes to %s and reads %s; unless include/exclude keep them apart, each run reads the previous run's outputs. Write to a prefix outside the source.", p.Name, p.Sink.URL, p.Source.URL)
		}
	}
	if remoteSink != nil && !strings.HasPrefix(l.cfg.State.URL, "s3://") {
		rng := l.cfg.State.DeclRange
		if rng.Empty() && rng.Filename == "" {
			rng = l.sinkURLRange[remoteSink]
		}
		l.warnf(&rng, "Local state with a remote sink",
			"Bookmarks, journals and locks are kept in %s on this machine while outputs go to S3: a run from another machine would not see them and would process the backlog again. Set state { url = \"s3://BUCKET/PREFIX/\" }.", l.cfg.State.URL)
	}
}

// checkStateLocation reports a state location that overlaps a source or a
// sink. State inside a sink is deleted by an overwrite (HEAD, LOCK,
// journal and segments all go with the outputs, and the bookmarks restart
// from nothing) and is listed by the sink's readers; state inside a source
// is read as input, and changes on every run; a source or sink inside the
// state reads or writes sluice's own objects. The one exception is state
// below a hidden segment ("_" or "." first) of a source or sink, such as
// the default .sluice/state next to a configuration that reads its own
// directory: sluice never lists such keys as inputs and overwrite never
// deletes them. Paths are compared as resolved (absolute, cleaned; s3 by
// bucket and key segments), without following symbolic links.
func (l *loader) checkStateLocation() {
	if l.cfg.State == nil || l.cfg.State.URL == "" {
		return
	}
	st := urlSegments(l.cfg.State.URL)
	for _, p := range l.cfg.Pipelines {
		type place struct {
			kind, url string
			rng       hcl.Range
		}
		var places []place
		if p.Source != nil && p.Source.URL != "" {
			places = append(places, place{"source", p.Source.URL, l.sourceURLRange[p.Source]})
		}
		if p.Sink != nil && p.Sink.URL != "" {
			places = append(places, place{"sink", p.Sink.URL, l.sinkURLRange[p.Sink]})
		}
		for _, pl := range places {
			lu := urlSegments(pl.url)
			switch {
			case isPrefix(lu, st) && !hiddenBelow(lu, st):
				rng := &pl.rng
				if l.stateURLRange != nil {
					rng = l.stateURLRange
				}
				l.errorf(rng, "State inside a "+pl.kind,
					"The state location %s (bookmarks, journals and locks) is inside the %s of pipeline %q (%s). %s Keep the state outside every source and sink, for example state { url = \"s3://BUCKET/sluice-state/\" }, or below a hidden path segment of it (such as .sluice/state or _state/), which sluice never reads or deletes.",
					l.cfg.State.URL, pl.kind, p.Name, pl.url, stateHarm(pl.kind))
			case isPrefix(st, lu) && !isPrefix(lu, st):
				l.errorf(&pl.rng, "State contains a "+pl.kind,
					"The %s of pipeline %q (%s) is inside the state location %s, where sluice keeps its bookmarks, journals and locks. Move the %s or the state elsewhere.",
					pl.kind, p.Name, pl.url, l.cfg.State.URL, pl.kind)
			}
		}
	}
}

// stateHarm says what goes wrong when the state is inside a source or sink.
func stateHarm(kind string) string {
	if kind == "sink" {
		return "A run in mode = \"overwrite\" deletes everything under its sink, the state included: the bookmarks are lost and every input is processed again."
	}
	return "The source's listing would read the state's own objects as inputs, and they change on every run."
}

// hiddenBelow reports whether inner, a path below outer, passes through a
// hidden segment after outer's own.
func hiddenBelow(outer, inner []string) bool {
	for _, seg := range inner[len(outer):] {
		if hive.HiddenSegment(seg) {
			return true
		}
	}
	return false
}
