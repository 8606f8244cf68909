package main

import (
	"flag"
	"fmt"

	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/planner"
)

func showCommand() *cli.Command {
	return &cli.Command{
		Name:     "show",
		Synopsis: "Render a saved plan",
		Args:     "PLANFILE",
		MinArgs:  1,
		MaxArgs:  1,
		Common:   cli.CommonJSON,
		Help: `Prints a plan saved with 'sluice plan -out FILE' as plan prints it, or
with -json as plan -json does. An unreadable plan file, or one of an
unknown format version, exits 1.

The markdown format is a pull-request comment: a summary table with one
row per pipeline that has work or warnings (inputs, pruned, backlog,
outputs, commit mode, warnings), and each pipeline's plan in a collapsed
<details> block; it stays under GitHub's comment size limit.`,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			format := fs.String("format", "text", "Output `FORMAT`: text, json or markdown (a pull-request comment).")
			verbose := fs.Bool("verbose", false, "Show pipelines with nothing to do in full, the state version and the rules that fired.")
			return func(inv *cli.Invocation) cli.ExitCode {
				f, ok := parseShowFormat(*format)
				switch {
				case !ok:
					return inv.UsageError("unknown -format %q (want text, json or markdown)", *format)
				case inv.Common.JSON && f == showMarkdown:
					return inv.UsageError("-json and -format markdown exclude each other")
				case inv.Common.JSON:
					f = showJSON
				}
				p, err := readPlan(inv.Args[0])
				if err != nil {
					return inv.Errorf("reading plan %s: %v", inv.Args[0], err)
				}
				switch f {
				case showJSON:
					err = planner.WriteJSON(inv.Stdout, p)
				case showMarkdown:
					err = writeMarkdown(inv.Stdout, p, markdownLimit, textOptions(*verbose))
				default:
					err = planner.WriteText(inv.Stdout, p, textOptions(*verbose))
				}
				if err != nil {
					return inv.Errorf("writing output: %v", err)
				}
				return cli.ExitOK
			}
		},
	}
}

// showFormat is the output format of show.
type showFormat int

const (
	showText showFormat = iota + 1
	showJSON
	showMarkdown
)

func (f showFormat) String() string {
	switch f {
	case showText:
		return "text"
	case showJSON:
		return "json"
	case showMarkdown:
		return "markdown"
	}
	return fmt.Sprintf("showFormat(%d)", int(f))
}

func parseShowFormat(s string) (showFormat, bool) {
	for _, f := range []showFormat{showText, showJSON, showMarkdown} {
		if f.String() == s {
			return f, true
		}
	}
	return 0, false
}
