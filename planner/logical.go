package planner

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
)

// NodeKind names a logical node.
type NodeKind int

// Logical node kinds.
const (
	KindScan NodeKind = iota + 1
	KindFilter
	KindProject
	KindCheck
	KindWrite
)

func (k NodeKind) String() string {
	switch k {
	case KindScan:
		return "Scan"
	case KindFilter:
		return "Filter"
	case KindProject:
		return "Project"
	case KindCheck:
		return "Check"
	case KindWrite:
		return "Write"
	}
	return fmt.Sprintf("NodeKind(%d)", int(k))
}

// Estimates are a node's expected output.
type Estimates struct {
	Files int64 `json:"files"`
	Bytes int64 `json:"bytes"`
	Rows  int64 `json:"rows"` // -1: unknown
}

// Node is an immutable logical plan node: rules return new nodes
// (WithChildren and the With* setters copy) rather than editing one.
type Node interface {
	Kind() NodeKind
	Children() []Node
	WithChildren(children ...Node) Node
	Detail() string
	Estimates() Estimates
	Range() hcl.Range // the configuration block or attribute it came from
}

// Scan reads a source's files. With the nodes above it, it is all that
// lowering reads (lower.go): the source's settings (Decl), its shape, the
// chosen inputs and the tasks.
type Scan struct {
	Source string
	URL    string
	Format string
	// Decl is the source as declared (its schema inferred at plan time
	// when it had none); Prefix is its key prefix in the store opened from
	// URL ("" or ending in "/").
	Decl   *spec.Source
	Prefix string
	// Shape types the source's partition keys, file and output columns.
	Shape      spec.SourceShape
	Columns    []string // columns to decode; nil until projection pushdown ran
	AllColumns int      // columns in the file schema (0: unknown)
	// Fields are the struct fields decoded of the columns read only
	// through them (nested_projection); such a column is decoded with its
	// type pruned to these fields. Sorted by text.
	Fields []predicate.ColumnPath
	// PartitionConjuncts are decided on listing prefixes, StatsConjuncts on
	// Parquet row-group statistics; both are copies of where's conjuncts
	// (the residual Filter keeps every conjunct: pruning is only a shortcut).
	PartitionConjuncts []predicate.Conjunct
	StatsConjuncts     []predicate.Conjunct
	Selection          *Selection // nil until bounded selection ran
	// RowGroups maps an input index to the row groups kept, for the inputs
	// that lost some (an empty slice: all pruned); sparse.
	RowGroups      map[int][]int
	PruneListing   bool  // the partition conjuncts are evaluated while listing
	RowGroupsKept  int64 // -1: not pruned
	RowGroupsTotal int64
	Tasks          []Task // the chosen inputs packed; nil until task packing ran
	Est            Estimates
	At             hcl.Range
}

// Kind implements Node.
func (*Scan) Kind() NodeKind { return KindScan }

// Children implements Node.
func (*Scan) Children() []Node { return nil }

// WithChildren implements Node.
func (s *Scan) WithChildren(...Node) Node { c := *s; return &c }

// Estimates implements Node.
func (s *Scan) Estimates() Estimates { return s.Est }

// Range implements Node.
func (s *Scan) Range() hcl.Range { return s.At }

// Detail implements Node.
func (s *Scan) Detail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s)", s.Source, s.URL, s.Format)
	if s.Columns != nil {
		if s.AllColumns > 0 {
			fmt.Fprintf(&b, ", columns read %d of %d", len(s.Columns), s.AllColumns)
		} else {
			fmt.Fprintf(&b, ", columns read %d", len(s.Columns))
		}
	}
	if len(s.Fields) > 0 {
		b.WriteString(", fields read ")
		b.WriteString(fieldsText(s.Fields))
	}
	if s.RowGroupsKept >= 0 && s.RowGroupsTotal > 0 {
		fmt.Fprintf(&b, ", row groups kept %d of %d", s.RowGroupsKept, s.RowGroupsTotal)
	}
	if len(s.PartitionConjuncts) > 0 {
		b.WriteString(", partition filter: ")
		b.WriteString(conjText(s.PartitionConjuncts))
	}
	return b.String()
}

func conjText(cs []predicate.Conjunct) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Expr.String()
	}
	return strings.Join(parts, " && ")
}

// Filter keeps the rows for which Predicate is true. The executor
// recompiles Predicate.Source: a rule that rewrites the Filter must give it
// a predicate compiled from the new text.
type Filter struct {
	Input     Node
	Predicate *predicate.Predicate
	Est       Estimates
	At        hcl.Range
}

// Kind implements Node.
func (*Filter) Kind() NodeKind { return KindFilter }

// Children implements Node.
func (f *Filter) Children() []Node { return []Node{f.Input} }

// WithChildren implements Node.
func (f *Filter) WithChildren(ch ...Node) Node { c := *f; c.Input = ch[0]; return &c }

// Estimates implements Node.
func (f *Filter) Estimates() Estimates { return f.Est }

// Range implements Node.
func (f *Filter) Range() hcl.Range { return f.At }

// Detail implements Node.
func (f *Filter) Detail() string { return f.Predicate.Source }

// Project makes the output rows: without an output block it keeps the
// output columns, by name (the Scan's shape types them); with one
// (Output, compiled: its Items set) each column is computed from its
// expression — a pass-through, a rename or a derived value. Dedupe, when
// set, keeps one output row per key across the run.
type Project struct {
	Input   Node
	Columns []string
	Output  *spec.Output // nil: the source's output columns
	Dedupe  *spec.Dedupe // nil: no dedupe
	// Dropped are the source columns that leave under no name (with
	// Output), for plan to show.
	Dropped []string
	Est     Estimates
	At      hcl.Range
}

// Kind implements Node.
func (*Project) Kind() NodeKind { return KindProject }

// Children implements Node.
func (p *Project) Children() []Node { return []Node{p.Input} }

// WithChildren implements Node.
func (p *Project) WithChildren(ch ...Node) Node { c := *p; c.Input = ch[0]; return &c }

// Estimates implements Node.
func (p *Project) Estimates() Estimates { return p.Est }

// Range implements Node.
func (p *Project) Range() hcl.Range { return p.At }

// Detail implements Node: each output column — "name" passed through,
// "name ← src" renamed, "name TYPE = expr" derived — then the dropped
// source columns and the dedupe.
func (p *Project) Detail() string {
	var parts []string
	if p.Output == nil || p.Output.Items == nil {
		parts = append(parts, strings.Join(p.Columns, ", "))
	} else {
		cols := make([]string, len(p.Output.Items))
		for i, it := range p.Output.Items {
			switch src := it.Source(); {
			case src == it.Name:
				cols[i] = it.Name
			case src != "":
				cols[i] = it.Name + " ← " + src
			default:
				cols[i] = fmt.Sprintf("%s %s = %s", it.Name, it.Column.Type, it.Text)
			}
		}
		parts = append(parts, strings.Join(cols, ", "))
		parts = append(parts, nestedDetail(p.Output)...)
		if len(p.Dropped) > 0 {
			parts = append(parts, "dropped: "+strings.Join(p.Dropped, ", "))
		}
	}
	if d := p.Dedupe; d != nil {
		s := fmt.Sprintf("dedupe on %s, keep %s", strings.Join(d.Key, ", "), d.Keep)
		if d.OrderBy != "" {
			s += " by " + d.OrderBy
		} else {
			s += " in input order"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// json is the node's columns for plan -json; nil for a Project that only
// keeps the source's output columns.
func (p *Project) json() *ProjectJSON {
	if (p.Output == nil || p.Output.Items == nil) && p.Dedupe == nil {
		return nil
	}
	pj := &ProjectJSON{Columns: []OutputColumnJSON{}, Dropped: append([]string{}, p.Dropped...), Flatten: []string{}}
	if p.Output != nil && p.Output.Items != nil {
		for _, it := range p.Output.Items {
			c := OutputColumnJSON{Name: it.Name, Type: it.Column.Type.String(), Kept: it.Kept, Exploded: it.Exploded}
			if src := it.Source(); src != "" {
				c.From = src
			} else {
				c.Expr = it.Text
			}
			pj.Columns = append(pj.Columns, c)
		}
		pj.Flatten = append(pj.Flatten, p.Output.Flatten...)
	} else {
		for _, name := range p.Columns {
			pj.Columns = append(pj.Columns, OutputColumnJSON{Name: name, From: name})
		}
	}
	if d := p.Dedupe; d != nil {
		pj.Dedupe = &DedupeJSON{Key: append([]string{}, d.Key...), OrderBy: d.OrderBy, Keep: d.Keep.String()}
	}
	return pj
}

// Check evaluates the pipeline's checks on the output before commit.
type Check struct {
	Input  Node
	Checks []*spec.Check
	Est    Estimates
	At     hcl.Range
}

// Kind implements Node.
func (*Check) Kind() NodeKind { return KindCheck }

// Children implements Node.
func (c *Check) Children() []Node { return []Node{c.Input} }

// WithChildren implements Node.
func (c *Check) WithChildren(ch ...Node) Node { n := *c; n.Input = ch[0]; return &n }

// Estimates implements Node.
func (c *Check) Estimates() Estimates { return c.Est }

// Range implements Node.
func (c *Check) Range() hcl.Range { return c.At }

// Detail implements Node: "name: expr (severity)" per check.
func (c *Check) Detail() string {
	cs := make([]string, len(c.Checks))
	for i, ch := range c.Checks {
		if ch.Expr != nil {
			cs[i] = fmt.Sprintf("%s: %s (%s)", ch.Name, ch.Expr.Source, ch.Severity)
		} else {
			cs[i] = fmt.Sprintf("%s: min_rows %d (%s)", ch.Name, ch.MinRows, ch.Severity)
		}
	}
	return strings.Join(cs, "; ")
}

// Write writes the sink.
type Write struct {
	Input       Node
	Decl        *spec.Sink // the sink as declared: what lowering reads
	Sink        string
	URL         string
	Format      string
	Mode        string
	Committer   string
	PartitionBy []string
	Est         Estimates // Files: estimated output files
	At          hcl.Range
}

// Kind implements Node.
func (*Write) Kind() NodeKind { return KindWrite }

// Children implements Node.
func (w *Write) Children() []Node { return []Node{w.Input} }

// WithChildren implements Node.
func (w *Write) WithChildren(ch ...Node) Node { c := *w; c.Input = ch[0]; return &c }

// Estimates implements Node.
func (w *Write) Estimates() Estimates { return w.Est }

// Range implements Node.
func (w *Write) Range() hcl.Range { return w.At }

// Detail implements Node.
func (w *Write) Detail() string {
	d := fmt.Sprintf("%s %s (%s, mode %s, committer %s)", w.Sink, w.URL, w.Format, w.Mode, w.Committer)
	if w.Decl != nil && w.Decl.Format == spec.FormatIceberg {
		d = fmt.Sprintf("%s table %s of catalog %s (%s, mode %s)", w.Sink, w.Decl.Table, w.Decl.Catalog, w.Format, w.Mode)
	}
	if len(w.PartitionBy) > 0 {
		d += ", partition_by " + strings.Join(w.PartitionBy, ", ")
	}
	if w.Decl != nil && w.Decl.S3.Declared {
		d += ", " + s3Detail(w.Decl.S3)
	}
	return d
}

// s3Detail shows what an s3 block sends with every object, so a reviewer
// of the plan sees the encryption and tags the outputs will carry. A sink
// without the block shows nothing: it sends nothing.
func s3Detail(o spec.S3Options) string {
	parts := []string{"sse " + o.SSE}
	if o.KMSKeyID != "" {
		parts[0] += " key " + o.KMSKeyID
	}
	if o.StorageClass != "" {
		parts = append(parts, "storage_class "+o.StorageClass)
	}
	if o.ACL != "" {
		parts = append(parts, "acl "+o.ACL)
	}
	if len(o.Tags) > 0 {
		keys := slices.Sorted(maps.Keys(o.Tags))
		tags := make([]string, len(keys))
		for i, k := range keys {
			tags[i] = fmt.Sprintf("%s=%q", k, o.Tags[k])
		}
		parts = append(parts, "tags "+strings.Join(tags, " "))
	}
	return "s3: " + strings.Join(parts, ", ")
}

// Walk visits n and its descendants, parents first.
func Walk(n Node, fn func(Node)) {
	fn(n)
	for _, c := range n.Children() {
		Walk(c, fn)
	}
}

// Transform rebuilds the tree bottom-up with fn applied to every node; fn
// returns the node unchanged (and false) when it does not apply.
func Transform(n Node, fn func(Node) (Node, bool, error)) (Node, bool, error) {
	changed := false
	if ch := n.Children(); len(ch) > 0 {
		nc := make([]Node, len(ch))
		for i, c := range ch {
			r, ok, err := Transform(c, fn)
			if err != nil {
				return nil, false, err
			}
			nc[i], changed = r, changed || ok
		}
		if changed {
			n = n.WithChildren(nc...)
		}
	}
	r, ok, err := fn(n)
	if err != nil {
		return nil, false, err
	}
	return r, changed || ok, nil
}

// planNodes are the nodes of one pipeline's plan by kind; a kind the plan
// lacks is nil.
type planNodes struct {
	scan    *Scan
	filter  *Filter
	project *Project
	check   *Check
	write   *Write
}

// nodesOf finds the nodes of n's plan by kind.
func nodesOf(n Node) planNodes {
	var ns planNodes
	Walk(n, func(x Node) {
		switch y := x.(type) {
		case *Scan:
			ns.scan = y
		case *Filter:
			ns.filter = y
		case *Project:
			ns.project = y
		case *Check:
			ns.check = y
		case *Write:
			ns.write = y
		}
	})
	return ns
}

// FindScan returns the plan's Scan.
func FindScan(n Node) *Scan {
	var s *Scan
	Walk(n, func(x Node) {
		if sc, ok := x.(*Scan); ok {
			s = sc
		}
	})
	return s
}
