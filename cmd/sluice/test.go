package main

import (
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/sluicedata/sluice/apply/fixture"
	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/cmd/sluice/internal/diagview"
	specfixture "github.com/sluicedata/sluice/spec/fixture"
)

func testCommand() *cli.Command {
	return &cli.Command{
		Name:     "test",
		Synopsis: "Run the pipelines' fixture tests",
		Args:     "[DIR]",
		MaxArgs:  1,
		Common:   cli.CommonVars | cli.CommonJSON | cli.CommonExec,
		Help: `Runs the fixture tests in the *.test.hcl files of DIR (default: the
current directory). Each test writes its input files into a temporary
local source, runs its pipeline through the real planner and executor
(bounds kept: a bounded pipeline runs again until its backlog is drained)
into a temporary sink and state, reads the sink back and compares its rows
with the expected ones, in any order. The syntax is in docs/language.md,
"Fixture tests".

Exit codes: 0 every test passed, 7 a test failed, 4 the configuration or
a test file is invalid, 1 a usage or runtime error.`,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			runRE := fs.String("run", "", "Run only tests whose PIPELINE/NAME matches `REGEX`.")
			junit := fs.String("junit", "", "Write the results as JUnit XML to `FILE`.")
			return func(inv *cli.Invocation) cli.ExitCode {
				var re *regexp.Regexp
				if *runRE != "" {
					var err error
					if re, err = regexp.Compile(*runRE); err != nil {
						return inv.UsageError("invalid -run %q: %v", *runRE, err)
					}
				}
				return runTests(inv, re, *junit)
			}
		},
	}
}

func runTests(inv *cli.Invocation, re *regexp.Regexp, junit string) cli.ExitCode {
	cfg, code := loadConfig(inv)
	if cfg == nil {
		return code
	}
	srcs := map[string][]byte{}
	tests, diags := specfixture.Load(cfg.Dir, srcs)
	diags = append(diags, specfixture.Check(tests, cfg)...)
	if len(diags) > 0 {
		sources := diagview.NewSources()
		for n, b := range srcs {
			sources.Add(n, b)
		}
		cwd, _ := os.Getwd()
		diagview.WriteHuman(inv.Stderr, diags, diagview.Options{Sources: sources, Cwd: cwd, Color: inv.StderrColor})
	}
	if diags.HasErrors() {
		fmt.Fprintln(inv.Stderr, "\nThe fixture tests are invalid.")
		return cli.ExitInvalid
	}
	var selected []*specfixture.Test
	for _, t := range tests {
		if re == nil || re.MatchString(t.FullName()) {
			selected = append(selected, t)
		}
	}
	var untested []string
	for _, p := range cfg.Pipelines {
		if !slices.ContainsFunc(tests, func(t *specfixture.Test) bool { return t.Pipeline == p.Name }) {
			untested = append(untested, p.Name)
		}
	}

	var results []*fixture.Result
	failed := 0
	for _, t := range selected {
		if inv.Ctx.Err() != nil {
			fmt.Fprintln(inv.Stderr, "Interrupted.")
			return cli.ExitInterrupted
		}
		r := fixture.Run(inv.Ctx, cfg, t, fixture.Options{Parallelism: inv.Common.Parallelism, MemoryLimit: inv.Common.MemoryLimit, Version: version})
		results = append(results, r)
		if !r.Passed {
			failed++
		}
		if !inv.Common.JSON {
			writeTestResult(inv.Stdout, r)
		}
	}
	if inv.Common.JSON {
		if code := inv.WriteJSON(testJSON(results, untested)); code != cli.ExitOK {
			return code
		}
	} else {
		switch {
		case len(tests) == 0:
			fmt.Fprintf(inv.Stdout, "No tests: add *.test.hcl files next to the pipelines (see docs/language.md, \"Fixture tests\").\n")
		case len(selected) == 0:
			fmt.Fprintf(inv.Stdout, "No test matches -run %q.\n", re.String())
		default:
			fmt.Fprintf(inv.Stdout, "\n%s: %d passed, %d failed.\n", plural(len(results), "test"), len(results)-failed, failed)
		}
		if len(untested) > 0 {
			fmt.Fprintf(inv.Stderr, "Pipelines without tests: %s\n", strings.Join(untested, ", "))
		}
	}
	if junit != "" {
		if err := writeJUnitFile(junit, results); err != nil {
			return inv.Errorf("writing %s: %v", junit, err)
		}
	}
	if failed > 0 {
		return cli.ExitChecksFailed
	}
	return cli.ExitOK
}

// writeTestResult prints one PASS or FAIL line, and for a failure where
// the test is and the diff: missing rows with -, unexpected ones with +.
func writeTestResult(w io.Writer, r *fixture.Result) {
	t := r.Test
	if r.Passed {
		fmt.Fprintf(w, "PASS  %s (%s, %s)\n", t.FullName(), plural(r.Runs, "run"), plural(r.Rows, "row"))
		return
	}
	fmt.Fprintf(w, "FAIL  %s (%s:%d)\n", t.FullName(), t.Filename, t.DeclRange.Start.Line)
	fmt.Fprintf(w, "      %s\n", r.Failure)
	if len(r.Missing) > 0 {
		fmt.Fprintf(w, "      missing (expected, not in the sink):\n")
		for _, m := range r.Missing {
			fmt.Fprintf(w, "        - %s\n", m)
		}
	}
	if len(r.Unexpected) > 0 {
		fmt.Fprintf(w, "      unexpected (in the sink, not expected):\n")
		for _, u := range r.Unexpected {
			fmt.Fprintf(w, "        + %s\n", u)
		}
	}
}

type testResultJSON struct {
	Name       string   `json:"name"`
	Pipeline   string   `json:"pipeline"`
	File       string   `json:"file"`
	Line       int      `json:"line"`
	Passed     bool     `json:"passed"`
	Runs       int      `json:"runs"`
	Rows       int      `json:"rows"`
	BadRecords int64    `json:"bad_records"`
	BadFiles   int64    `json:"bad_files"`
	ElapsedMS  int64    `json:"elapsed_ms"`
	Failure    string   `json:"failure,omitempty"`
	Missing    []string `json:"missing,omitempty"`
	Unexpected []string `json:"unexpected,omitempty"`
}

type testsJSON struct {
	Passed   bool             `json:"passed"`
	Total    int              `json:"total"`
	Failed   int              `json:"failed"`
	Untested []string         `json:"untested_pipelines"`
	Tests    []testResultJSON `json:"tests"`
}

func testJSON(results []*fixture.Result, untested []string) testsJSON {
	doc := testsJSON{Passed: true, Total: len(results), Untested: untested, Tests: []testResultJSON{}}
	if doc.Untested == nil {
		doc.Untested = []string{}
	}
	for _, r := range results {
		if !r.Passed {
			doc.Passed = false
			doc.Failed++
		}
		doc.Tests = append(doc.Tests, testResultJSON{
			Name: r.Test.Name, Pipeline: r.Test.Pipeline, File: r.Test.Filename, Line: r.Test.DeclRange.Start.Line,
			Passed: r.Passed, Runs: r.Runs, Rows: r.Rows, BadRecords: r.BadRecords, BadFiles: r.BadFiles, ElapsedMS: r.Elapsed.Milliseconds(),
			Failure: r.Failure, Missing: r.Missing, Unexpected: r.Unexpected,
		})
	}
	return doc
}

// JUnit XML, the subset CI systems read: one testsuite per pipeline.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Tests   int          `xml:"tests,attr"`
	Fails   int          `xml:"failures,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name  string      `xml:"name,attr"`
	Tests int         `xml:"tests,attr"`
	Fails int         `xml:"failures,attr"`
	Time  string      `xml:"time,attr"`
	Cases []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      int           `xml:"line,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

func writeJUnit(w io.Writer, results []*fixture.Result) error {
	doc := junitSuites{}
	idx := map[string]int{}
	secs := map[string]float64{}
	for _, r := range results {
		p := r.Test.Pipeline
		i, ok := idx[p]
		if !ok {
			i = len(doc.Suites)
			idx[p] = i
			doc.Suites = append(doc.Suites, junitSuite{Name: p})
		}
		s := &doc.Suites[i]
		c := junitCase{Name: r.Test.Name, Classname: p, File: r.Test.Filename, Line: r.Test.DeclRange.Start.Line,
			Time: fmt.Sprintf("%.3f", r.Elapsed.Seconds())}
		secs[p] += r.Elapsed.Seconds()
		if !r.Passed {
			var body strings.Builder
			writeTestResult(&body, r)
			c.Failure = &junitFailure{Message: r.Failure, Body: body.String()}
			s.Fails++
			doc.Fails++
		}
		s.Tests++
		doc.Tests++
		s.Cases = append(s.Cases, c)
	}
	for i := range doc.Suites {
		doc.Suites[i].Time = fmt.Sprintf("%.3f", secs[doc.Suites[i].Name])
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func writeJUnitFile(path string, results []*fixture.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeJUnit(f, results); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
