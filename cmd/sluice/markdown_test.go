package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
)

func testPlan(n int) *planner.Plan {
	p := &planner.Plan{FormatVersion: planner.FormatVersion, RunID: "20260102T030405Z-abcdef", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for i := range n {
		pp := &planner.PipelinePlan{
			Name: fmt.Sprintf("pipeline_%03d", i),
			Sink: planner.SinkSettings{Mode: spec.ModeAppend, Committer: spec.CommitterAtomic},
			Nodes: []planner.NodeJSON{
				{ID: 1, Kind: "Write", Detail: "out s3://b/out (parquet)", Estimates: planner.Estimates{Files: 2}, Children: []int{2}},
				{ID: 2, Kind: "Scan", Detail: "in s3://b/in (json)", Estimates: planner.Estimates{Files: 40, Bytes: 4 << 20}},
			},
			Commit: "atomic: about 2 files published at commit, appending; nothing is visible before",
		}
		switch i % 4 {
		case 0, 1:
			pp.Summary = planner.Summary{Pending: true, Inputs: planner.Figures{Files: 40, Bytes: 4 << 20}, EstimatedFiles: 2,
				Pruned: planner.Pruned{Partitions: 3, Files: 12, Bytes: 1 << 20}, Backlog: planner.Figures{Files: 100, Bytes: 10 << 20}}
		case 2:
			// Idle but warned: still a table row.
			pp.Summary = planner.Summary{Warnings: []string{"no state for " + pp.Name + "/in | renamed? add a `moved` block <now>"}}
		case 3:
			pp.Sink.Mode = spec.ModeOverwritePartitions
		}
		p.Pipelines = append(p.Pipelines, pp)
	}
	return p
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

func TestMarkdownGolden(t *testing.T) {
	for _, n := range []int{0, 4} {
		var b bytes.Buffer
		if err := writeMarkdown(&b, testPlan(n), markdownLimit, planner.TextOptions{Verbose: true}); err != nil {
			t.Fatal(err)
		}
		golden(t, fmt.Sprintf("markdown-%d.md", n), b.Bytes())
	}
}

// TestMarkdownAtScale checks that 100 pipelines stay a readable comment:
// one table row per pipeline with work or warnings, the idle ones folded
// into one line, every warning shown, and the size under the limit, with
// the details left out (and said so) rather than the table.
func TestMarkdownAtScale(t *testing.T) {
	p := testPlan(100)
	var b bytes.Buffer
	if err := writeMarkdown(&b, p, markdownLimit, planner.TextOptions{Verbose: true}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if rows := strings.Count(out, "\n| `pipeline_"); rows != 75 {
		t.Errorf("table rows = %d, want 75 (50 with work, 25 warned)", rows)
	}
	if !strings.Contains(out, "<details><summary>Nothing to do: 25 pipelines</summary>") {
		t.Errorf("idle pipelines are not folded:\n%s", out)
	}
	if n := strings.Count(out, "> :warning: **"); n != 25 {
		t.Errorf("warnings shown = %d, want 25", n)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "> :warning:") && (strings.Contains(l, "<now>") || !strings.Contains(l, "\\| renamed? add a \\`moved\\` block &lt;now&gt;")) {
			t.Errorf("warning text is not escaped: %s", l)
		}
	}
	if b.Len() > markdownLimit {
		t.Errorf("comment is %d bytes, over the limit %d", b.Len(), markdownLimit)
	}
	small := 20000
	b.Reset()
	if err := writeMarkdown(&b, p, small, planner.TextOptions{Verbose: true}); err != nil {
		t.Fatal(err)
	}
	if b.Len() > small+200 {
		t.Errorf("comment is %d bytes, limit %d", b.Len(), small)
	}
	if !strings.Contains(b.String(), "are left out to keep this comment short") || strings.Count(b.String(), "\n| `pipeline_") != 75 {
		t.Errorf("truncation dropped the table or did not say so:\n%s", b.String())
	}
}

func TestCodeFence(t *testing.T) {
	if got := codeFence("a ``` b"); got != "````" {
		t.Errorf("codeFence = %q", got)
	}
	if got := codeFence("plain"); got != "```" {
		t.Errorf("codeFence = %q", got)
	}
}
