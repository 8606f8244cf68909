package planner

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/sluicedata/sluice/spec"
)

// TextOptions shape the text rendering of a plan.
type TextOptions struct {
	// Verbose shows the full tree of pipelines with nothing to do, the
	// state version and the rules that fired; without it a pipeline with
	// nothing to do is one line.
	Verbose bool
	// Compact shows one line per pipeline with work (apply -auto-approve:
	// nobody reviews the tree) and nothing for the idle ones.
	Compact bool
	// Cwd, when set, shows local paths under it relative to it, as the
	// user typed them, instead of the absolute paths the plan holds.
	Cwd string
}

// WriteText renders the plan for people (sluice plan).
func WriteText(w io.Writer, p *Plan, o TextOptions) error {
	var b strings.Builder
	if !o.Compact {
		fmt.Fprintf(&b, "Run %s\n", p.RunID)
	}
	for i, pp := range p.Pipelines {
		switch {
		case o.Compact:
			if pp.Summary.Pending {
				renderCompact(&b, pp)
			}
		case !pp.Summary.Pending && !o.Verbose:
			if i == 0 || p.Pipelines[i-1].Summary.Pending {
				b.WriteString("\n") // idle pipelines are one line each, together
			}
			renderIdle(&b, pp)
		default:
			b.WriteString("\n")
			renderPipeline(&b, pp, o.Verbose)
		}
	}
	_, err := io.WriteString(w, RelativePaths(b.String(), o.Cwd))
	return err
}

// RelativePaths rewrites the absolute local paths under cwd in text as
// paths relative to cwd ("./" is dropped): plans hold absolute paths, so
// that a saved plan means the same wherever it is applied, but people
// read the paths they wrote. cwd "" leaves text as it is.
func RelativePaths(text, cwd string) string {
	if cwd == "" || cwd == "/" {
		return text
	}
	cwd = strings.TrimSuffix(cwd, "/")
	text = strings.ReplaceAll(text, "file://"+cwd+"/", "")
	return strings.ReplaceAll(text, cwd+"/", "")
}

// renderIdle is a pipeline with nothing to do, in one line (and its
// warnings, which matter most when nothing runs).
func renderIdle(b *strings.Builder, pp *PipelinePlan) {
	fmt.Fprintf(b, "Pipeline %s (nothing to do): no unprocessed input in %s\n", pp.Name, pp.Source.URL)
	for _, w := range pp.Summary.Warnings {
		fmt.Fprintf(b, "  Warning: %s\n", w)
	}
}

// renderCompact is a pipeline with work, in one line.
func renderCompact(b *strings.Builder, pp *PipelinePlan) {
	s := pp.Summary
	to := pp.Sink.URL
	if pp.Table != nil {
		to = "table " + pp.Table.Table
	}
	fmt.Fprintf(b, "Pipeline %s: %s (%s) in %s -> %s; backlog after it: %s\n",
		pp.Name, plural(s.Inputs.Files, "file"), FormatBytes(s.Inputs.Bytes), plural(int64(len(pp.Tasks)), "task"),
		to, plural(s.Backlog.Files, "file"))
	for _, w := range s.Warnings {
		fmt.Fprintf(b, "  Warning: %s\n", w)
	}
}

func renderPipeline(b *strings.Builder, pp *PipelinePlan, verbose bool) {
	s := pp.Summary
	status := "nothing to do"
	if s.Pending {
		status = "work to do"
	}
	fmt.Fprintf(b, "Pipeline %s (%s)\n", pp.Name, status)
	byID := map[int]NodeJSON{}
	for _, n := range pp.Nodes {
		byID[n.ID] = n
	}
	var tree func(id int, indent string, last, root bool)
	tree = func(id int, indent string, last, root bool) {
		n := byID[id]
		branch, next := "", indent
		if !root {
			branch = "└─ "
			if !last {
				branch = "├─ "
			}
			if last {
				next = indent + "   "
			} else {
				next = indent + "│  "
			}
		}
		fmt.Fprintf(b, "  %s%s%s %s%s\n", indent, branch, n.Kind, n.Detail, estText(n))
		for i, c := range n.Children {
			tree(c, next, i == len(n.Children)-1, false)
		}
	}
	if len(pp.Nodes) > 0 {
		tree(1, "", true, true)
	}
	if verbose || s.Pruned.Partitions > 0 || s.Pruned.Files > 0 {
		fmt.Fprintf(b, "  Pruned: %s, %s (%s)\n", plural(s.Pruned.Partitions, "partition"), plural(s.Pruned.Files, "file"), FormatBytes(s.Pruned.Bytes))
	}
	fmt.Fprintf(b, "  This run: %s (%s) in %s; backlog after it: %s (%s)\n",
		plural(s.Inputs.Files, "file"), FormatBytes(s.Inputs.Bytes), plural(int64(len(pp.Tasks)), "task"),
		plural(s.Backlog.Files, "file"), FormatBytes(s.Backlog.Bytes))
	if pp.Table != nil {
		fmt.Fprintf(b, "  Table: %s\n", pp.Table.Describe())
	}
	if verbose {
		fmt.Fprintf(b, "  State: version %d\n", pp.State.Version)
		fmt.Fprintf(b, "  Commit: %s\n", pp.Commit)
	} else if pp.Sink.Committer == spec.CommitterDirect || pp.Source.CleanSource > spec.CleanOff {
		// What a reviewer must not miss: outputs visible early, inputs
		// moved or deleted after the commit.
		fmt.Fprintf(b, "  Commit: %s\n", pp.Commit)
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(b, "  Warning: %s\n", w)
	}
	if verbose && len(pp.Rules) > 0 {
		b.WriteString("  Rules fired:\n")
		for _, r := range pp.Rules {
			fmt.Fprintf(b, "    %s: %s\n", r.Rule, r.Detail)
		}
	}
}

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func estText(n NodeJSON) string {
	e := n.Estimates
	if n.Kind == KindWrite.String() {
		return fmt.Sprintf("  [~%s]", plural(e.Files, "output file"))
	}
	return fmt.Sprintf("  [%s, %s]", plural(e.Files, "file"), FormatBytes(e.Bytes))
}

// planJSON is the plan -json document (DESIGN §2, a contract).
type planJSON struct {
	FormatVersion string         `json:"format_version"`
	RunID         string         `json:"run_id"`
	Pipelines     []pipelineJSON `json:"pipelines"`
}

type pipelineJSON struct {
	Name     string     `json:"name"`
	Pending  bool       `json:"pending"`
	Inputs   Figures    `json:"inputs"`
	Pruned   Pruned     `json:"pruned"`
	Backlog  Figures    `json:"backlog"`
	Outputs  outputs    `json:"outputs"`
	Tasks    int        `json:"tasks"`
	Commit   string     `json:"commit"`
	Warnings []string   `json:"warnings"`
	Nodes    []nodeJSON `json:"nodes"`
	Rules    []Fired    `json:"rules"`
	Table    *tableJSON `json:"table,omitempty"`
}

// tableJSON is an iceberg sink's table in plan -json.
type tableJSON struct {
	Catalog     string   `json:"catalog"`
	CatalogType string   `json:"catalog_type"`
	Table       string   `json:"table"`
	Inspected   bool     `json:"inspected"`
	Exists      bool     `json:"exists"`
	Create      bool     `json:"create"`
	Location    string   `json:"location,omitempty"`
	SnapshotID  int64    `json:"snapshot_id"`
	Snapshots   int      `json:"snapshots"`
	AddColumns  []string `json:"add_columns"`
	SkipColumns []string `json:"skip_columns"`
}

type outputs struct {
	EstimatedFiles int64 `json:"estimated_files"`
}

type nodeJSON struct {
	ID        int          `json:"id"`
	Kind      string       `json:"kind"`
	Detail    string       `json:"detail"`
	Estimates Estimates    `json:"estimates"`
	Children  []int        `json:"children"`
	Project   *ProjectJSON `json:"project,omitempty"`
}

// WriteJSON renders plan -json. Rows estimates are -1 when unknown.
func WriteJSON(w io.Writer, p *Plan) error {
	doc := planJSON{FormatVersion: FormatVersion, RunID: p.RunID, Pipelines: []pipelineJSON{}}
	for _, pp := range p.Pipelines {
		pj := pipelineJSON{
			Name: pp.Name, Pending: pp.Summary.Pending, Inputs: pp.Summary.Inputs, Pruned: pp.Summary.Pruned,
			Backlog: pp.Summary.Backlog, Outputs: outputs{pp.Summary.EstimatedFiles}, Tasks: len(pp.Tasks),
			Commit: pp.Commit, Warnings: pp.Summary.Warnings, Nodes: []nodeJSON{}, Rules: pp.Rules,
		}
		if pj.Warnings == nil {
			pj.Warnings = []string{}
		}
		if t := pp.Table; t != nil {
			pj.Table = &tableJSON{Catalog: t.Catalog.Name, CatalogType: t.Catalog.Type, Table: t.Table, Inspected: t.Inspected,
				Exists: t.Exists, Create: t.Inspected && !t.Exists, Location: t.Location, SnapshotID: t.SnapshotID, Snapshots: t.Snapshots,
				AddColumns: append([]string{}, t.AddColumns...), SkipColumns: append([]string{}, t.SkipColumns...)}
		}
		if pj.Rules == nil {
			pj.Rules = []Fired{}
		}
		for _, n := range pp.Nodes {
			ch := n.Children
			if ch == nil {
				ch = []int{}
			}
			pj.Nodes = append(pj.Nodes, nodeJSON{ID: n.ID, Kind: n.Kind, Detail: n.Detail, Estimates: n.Estimates, Children: ch, Project: n.Project})
		}
		doc.Pipelines = append(doc.Pipelines, pj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
