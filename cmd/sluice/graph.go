package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
)

// graphFormat is the output format of graph.
type graphFormat int

const (
	graphDot graphFormat = iota + 1
	graphMermaid
)

func (f graphFormat) String() string {
	switch f {
	case graphDot:
		return "dot"
	case graphMermaid:
		return "mermaid"
	}
	return fmt.Sprintf("graphFormat(%d)", int(f))
}

func graphCommand() *cli.Command {
	return &cli.Command{
		Name:     "graph",
		Synopsis: "Draw sources, pipelines and sinks as a graph",
		Args:     "[DIR]",
		MaxArgs:  1,
		Common:   cli.CommonVars | cli.CommonJSON,
		Help: `Prints the configuration as a graph: each storage prefix (a source or a
sink URL) and each pipeline is a node; an edge goes from the prefix a
pipeline reads to the pipeline (labelled with the source name) and from
the pipeline to the prefix it writes (labelled with the sink name). A
pipeline that reads another's sink shares that prefix node; prefixes that
overlap without being equal are joined by a dashed "overlaps" edge.
Local paths are shown relative to DIR. Offline: it reads no data.

The dot format (the default) is Graphviz: sluice graph | dot -Tsvg >
graph.svg; mermaid is a Mermaid flowchart, which GitHub renders in markdown.`,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			format := fs.String("format", "dot", "Output `FORMAT`: dot or mermaid.")
			return func(inv *cli.Invocation) cli.ExitCode {
				var f graphFormat
				switch *format {
				case "dot":
					f = graphDot
				case "mermaid":
					f = graphMermaid
				default:
					return inv.UsageError("unknown -format %q (want dot or mermaid)", *format)
				}
				cfg, code := loadConfig(inv)
				if cfg == nil {
					return code
				}
				g := buildGraph(cfg)
				if inv.Common.JSON {
					return inv.WriteJSON(g.jsonDoc())
				}
				var err error
				if f == graphMermaid {
					err = g.writeMermaid(inv.Stdout)
				} else {
					err = g.writeDot(inv.Stdout)
				}
				if err != nil {
					return inv.Errorf("writing output: %v", err)
				}
				return cli.ExitOK
			}
		},
	}
}

// graphJSON is graph -json: the nodes (storage prefixes and pipelines)
// and the edges, with their kind (reads, writes, overlaps) and label.
type graphJSON struct {
	Data      []string        `json:"data"`
	Pipelines []string        `json:"pipelines"`
	Edges     []graphEdgeJSON `json:"edges"`
	// Projects: pipeline name → its Project node's detail, for pipelines
	// with an output or dedupe block.
	Projects map[string]string `json:"projects,omitempty"`
}

type graphEdgeJSON struct {
	Kind  string `json:"kind"`
	From  string `json:"from"`
	To    string `json:"to"`
	Label string `json:"label,omitempty"`
}

func (g *dataGraph) jsonDoc() graphJSON {
	doc := graphJSON{Data: append([]string{}, g.Data...), Pipelines: append([]string{}, g.Pipelines...), Edges: []graphEdgeJSON{}, Projects: g.Projects}
	for _, e := range g.Edges {
		doc.Edges = append(doc.Edges, graphEdgeJSON{Kind: e.Kind.String(), From: e.From, To: e.To, Label: e.Label})
	}
	return doc
}

// dataGraph is the configuration as nodes and edges, before rendering.
type dataGraph struct {
	Data      []string // storage prefixes (display form), sorted
	Pipelines []string // pipeline names, sorted (cfg order)
	Edges     []graphEdge
	// Projects holds, for a pipeline with an output or dedupe block, its
	// plan's Project node: the output columns (renamed, derived with their
	// type, passed through), the dropped columns and the dedupe.
	Projects map[string]string
}

type graphEdgeKind int

const (
	edgeReads    graphEdgeKind = iota + 1 // data → pipeline
	edgeWrites                            // pipeline → data
	edgeOverlaps                          // data → data: a sink prefix overlapping a source prefix
)

func (k graphEdgeKind) String() string {
	switch k {
	case edgeReads:
		return "reads"
	case edgeWrites:
		return "writes"
	case edgeOverlaps:
		return "overlaps"
	}
	return fmt.Sprintf("graphEdgeKind(%d)", int(k))
}

type graphEdge struct {
	Kind     graphEdgeKind
	From, To string // a data prefix or a pipeline name, by Kind
	Label    string
}

// buildGraph derives the graph from the configuration alone. Prefixes are
// compared with a trailing slash, so "raw/orders" and "raw/orders_v2"
// do not overlap but "curated/" and "curated/orders/" do.
func buildGraph(cfg *spec.Config) *dataGraph {
	g := &dataGraph{}
	seen := map[string]bool{}
	addData := func(u string) string {
		d := displayURL(cfg.Dir, u)
		if !seen[d] {
			seen[d] = true
			g.Data = append(g.Data, d)
		}
		return d
	}
	var sources, sinks []string
	for _, p := range cfg.Pipelines {
		g.Pipelines = append(g.Pipelines, p.Name)
		if p.Source != nil && p.Sink != nil && (p.Output != nil || p.Dedupe != nil) {
			if g.Projects == nil {
				g.Projects = map[string]string{}
			}
			planner.Walk(planner.LogicalPlan(p), func(n planner.Node) {
				if n.Kind() == planner.KindProject {
					g.Projects[p.Name] = n.Detail()
				}
			})
		}
		if p.Source != nil {
			d := addData(p.Source.URL)
			sources = append(sources, d)
			g.Edges = append(g.Edges, graphEdge{Kind: edgeReads, From: d, To: p.Name, Label: p.Source.Name})
		}
		if p.Sink != nil && p.Sink.Format == spec.FormatIceberg {
			// A table, named in its catalog: it has no prefix to overlap.
			d := "table " + p.Sink.Catalog + ":" + p.Sink.Table
			if !seen[d] {
				seen[d] = true
				g.Data = append(g.Data, d)
			}
			g.Edges = append(g.Edges, graphEdge{Kind: edgeWrites, From: p.Name, To: d, Label: p.Sink.Name})
		} else if p.Sink != nil {
			d := addData(p.Sink.URL)
			sinks = append(sinks, d)
			g.Edges = append(g.Edges, graphEdge{Kind: edgeWrites, From: p.Name, To: d, Label: p.Sink.Name})
		}
	}
	sort.Strings(g.Data)
	done := map[[2]string]bool{}
	for _, sk := range sinks {
		for _, src := range sources {
			if sk == src || done[[2]string{sk, src}] {
				continue
			}
			if overlaps(sk, src) {
				done[[2]string{sk, src}] = true
				g.Edges = append(g.Edges, graphEdge{Kind: edgeOverlaps, From: sk, To: src, Label: "overlaps"})
			}
		}
	}
	return g
}

func overlaps(a, b string) bool {
	a, b = withSlash(a), withSlash(b)
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

func withSlash(s string) string {
	if strings.HasSuffix(s, "/") {
		return s
	}
	return s + "/"
}

// displayURL shows a local path relative to the configuration directory
// with a trailing slash (as the pipeline files write it), and any other
// URL as it is.
func displayURL(dir, u string) string {
	if strings.Contains(u, "://") || !filepath.IsAbs(u) {
		return u
	}
	rel, err := filepath.Rel(dir, u)
	if err != nil {
		return u
	}
	// A source or sink URL names a directory: show it as one.
	return withSlash(filepath.ToSlash(rel))
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func (g *dataGraph) writeDot(w io.Writer) error {
	var b strings.Builder
	b.WriteString("digraph sluice {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n\n")
	for _, d := range g.Data {
		fmt.Fprintf(&b, "  %s [shape=folder, label=%s];\n", dotQuote("data:"+d), dotQuote(d))
	}
	for _, p := range g.Pipelines {
		label := p
		if d, ok := g.Projects[p]; ok {
			label += "\nProject " + d
		}
		fmt.Fprintf(&b, "  %s [shape=box, style=\"rounded,bold\", label=%s];\n", dotQuote("pipeline:"+p), dotQuote(label))
	}
	b.WriteString("\n")
	for _, e := range g.Edges {
		switch e.Kind {
		case edgeReads:
			fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", dotQuote("data:"+e.From), dotQuote("pipeline:"+e.To), dotQuote(e.Label))
		case edgeWrites:
			fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", dotQuote("pipeline:"+e.From), dotQuote("data:"+e.To), dotQuote(e.Label))
		case edgeOverlaps:
			fmt.Fprintf(&b, "  %s -> %s [style=dashed, label=%s];\n", dotQuote("data:"+e.From), dotQuote("data:"+e.To), dotQuote(e.Label))
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidLabel escapes a label for a quoted Mermaid node text.
func mermaidLabel(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}

func (g *dataGraph) writeMermaid(w io.Writer) error {
	// Mermaid ids must be plain words: number the nodes.
	ids := map[string]string{}
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for i, d := range g.Data {
		id := fmt.Sprintf("d%d", i+1)
		ids["data:"+d] = id
		fmt.Fprintf(&b, "  %s[(\"%s\")]\n", id, mermaidLabel(d))
	}
	for i, p := range g.Pipelines {
		id := fmt.Sprintf("p%d", i+1)
		ids["pipeline:"+p] = id
		label := mermaidLabel(p)
		if d, ok := g.Projects[p]; ok {
			label += "<br/>Project " + mermaidLabel(d)
		}
		fmt.Fprintf(&b, "  %s([\"%s\"])\n", id, label)
	}
	for _, e := range g.Edges {
		switch e.Kind {
		case edgeReads:
			fmt.Fprintf(&b, "  %s -->|%s| %s\n", ids["data:"+e.From], mermaidLabel(e.Label), ids["pipeline:"+e.To])
		case edgeWrites:
			fmt.Fprintf(&b, "  %s -->|%s| %s\n", ids["pipeline:"+e.From], mermaidLabel(e.Label), ids["data:"+e.To])
		case edgeOverlaps:
			fmt.Fprintf(&b, "  %s -.->|%s| %s\n", ids["data:"+e.From], mermaidLabel(e.Label), ids["data:"+e.To])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
