package main

import (
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/sluicedata/sluice/planner"
)

// markdownLimit keeps a plan comment under GitHub's 65,536-character limit
// on comment bodies, with room for a marker line a CI step may add: past
// it the per-pipeline details are left out (the summary table never is).
const markdownLimit = 60000

// markdownIdleList is how many idle pipelines are named inline; more go
// into a collapsed block so that 100 pipelines stay one screen.
const markdownIdleList = 10

// writeMarkdown renders a plan as a pull-request comment: a headline, one
// table row per pipeline that has work or warnings (the figures a
// reviewer checks), the idle pipelines in one line, and each pipeline's
// full text plan in a collapsed <details> block.
func writeMarkdown(w io.Writer, p *planner.Plan, limit int, o planner.TextOptions) error {
	var b strings.Builder
	var work, idle []*planner.PipelinePlan
	var files, bytes, backlogFiles, backlogBytes, outFiles int64
	warnings := 0
	for _, pp := range p.Pipelines {
		s := pp.Summary
		warnings += len(s.Warnings)
		if s.Pending || len(s.Warnings) > 0 {
			work = append(work, pp)
		} else {
			idle = append(idle, pp)
		}
		if s.Pending {
			files += s.Inputs.Files
			bytes += s.Inputs.Bytes
			outFiles += s.EstimatedFiles
		}
		backlogFiles += s.Backlog.Files
		backlogBytes += s.Backlog.Bytes
	}
	pending := 0
	for _, pp := range p.Pipelines {
		if pp.Summary.Pending {
			pending++
		}
	}

	fmt.Fprintf(&b, "### sluice plan `%s`\n\n", p.RunID)
	if pending == 0 {
		fmt.Fprintf(&b, "**No changes.** %s, nothing to do", plural(len(p.Pipelines), "pipeline"))
	} else {
		fmt.Fprintf(&b, "**%d of %s** will run: %s (%s) to read, ~%s to write",
			pending, plural(len(p.Pipelines), "pipeline"), plural(int(files), "file"), planner.FormatBytes(bytes), plural(int(outFiles), "output file"))
	}
	if backlogFiles > 0 {
		fmt.Fprintf(&b, "; %s (%s) left in the backlog after this run", plural(int(backlogFiles), "file"), planner.FormatBytes(backlogBytes))
	}
	b.WriteString(".")
	if warnings > 0 {
		fmt.Fprintf(&b, " :warning: %s.", plural(warnings, "warning"))
	}
	b.WriteString("\n\n")

	if len(work) > 0 {
		b.WriteString("| pipeline | inputs | pruned | backlog after | outputs | commit | warnings |\n")
		b.WriteString("|---|--:|--:|--:|--:|---|--:|\n")
		for _, pp := range work {
			s := pp.Summary
			inputs, outputs := "nothing to do", "–"
			if s.Pending {
				inputs = fmt.Sprintf("%s, %s", plural(int(s.Inputs.Files), "file"), planner.FormatBytes(s.Inputs.Bytes))
				outputs = fmt.Sprintf("~%d", s.EstimatedFiles)
			}
			pruned := "–"
			if s.Pruned.Files > 0 || s.Pruned.Partitions > 0 {
				pruned = fmt.Sprintf("%s, %s", plural(int(s.Pruned.Files), "file"), planner.FormatBytes(s.Pruned.Bytes))
				if s.Pruned.Partitions > 0 {
					pruned = plural(int(s.Pruned.Partitions), "partition") + ", " + pruned
				}
			}
			backlog := "–"
			if s.Backlog.Files > 0 {
				backlog = fmt.Sprintf("%s, %s", plural(int(s.Backlog.Files), "file"), planner.FormatBytes(s.Backlog.Bytes))
			}
			warn := "–"
			if n := len(s.Warnings); n > 0 {
				warn = fmt.Sprintf(":warning: %d", n)
			}
			commit := fmt.Sprintf("%s, %s", pp.Sink.Mode, pp.Sink.Committer)
			if t := pp.Table; t != nil {
				commit = fmt.Sprintf("%s, table `%s`", pp.Sink.Mode, t.Table)
				if t.Inspected && !t.Exists {
					commit += " (created)"
				}
				if len(t.AddColumns) > 0 {
					commit += ", adds " + plural(len(t.AddColumns), "column")
				}
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s |\n",
				pp.Name, inputs, pruned, backlog, outputs, commit, warn)
		}
		b.WriteString("\n")
	}
	if len(idle) > 0 {
		names := make([]string, len(idle))
		for i, pp := range idle {
			names[i] = "`" + pp.Name + "`"
		}
		if len(idle) <= markdownIdleList {
			fmt.Fprintf(&b, "Nothing to do: %s.\n\n", strings.Join(names, ", "))
		} else {
			fmt.Fprintf(&b, "<details><summary>Nothing to do: %s</summary>\n\n%s.\n\n</details>\n\n", plural(len(idle), "pipeline"), strings.Join(names, ", "))
		}
	}

	// Warnings are what a reviewer must not miss: listed in full, before
	// the collapsed details.
	for _, pp := range work {
		for _, wmsg := range pp.Summary.Warnings {
			fmt.Fprintf(&b, "> :warning: **%s**: %s\n", pp.Name, escapeMarkdownLine(wmsg))
		}
	}
	if warnings > 0 {
		b.WriteString("\n")
	}

	omitted := 0
	for _, pp := range work {
		var text strings.Builder
		if err := planner.WriteText(&text, &planner.Plan{RunID: p.RunID, Pipelines: []*planner.PipelinePlan{pp}}, o); err != nil {
			return err
		}
		body := text.String()
		// Drop the "Run ID" headline: the comment's title has it.
		if _, rest, ok := strings.Cut(body, "\n\n"); ok {
			body = rest
		}
		fence := codeFence(body)
		block := fmt.Sprintf("<details><summary><code>%s</code>: the plan</summary>\n\n%stext\n%s%s\n\n</details>\n\n",
			html.EscapeString(pp.Name), fence, body, fence)
		if b.Len()+len(block) > limit {
			omitted++
			continue
		}
		b.WriteString(block)
	}
	if omitted > 0 {
		fmt.Fprintf(&b, "_The plans of %s are left out to keep this comment short: run `sluice show PLANFILE` for every detail._\n", plural(omitted, "pipeline"))
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}

// codeFence returns a backtick fence longer than any backtick run in s,
// so that the text cannot close its own block.
func codeFence(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// escapeMarkdownLine keeps a message on its line and out of markdown and
// HTML syntax: newlines become spaces, and characters that start markup
// are escaped.
func escapeMarkdownLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	r := strings.NewReplacer("\\", "\\\\", "|", "\\|", "*", "\\*", "_", "\\_", "`", "\\`", "<", "&lt;", ">", "&gt;", "[", "\\[", "]", "\\]")
	return r.Replace(s)
}
