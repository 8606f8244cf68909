package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
)

// recorder is a test command that records what it was given.
type recorder struct {
	out    string
	args   []string
	common CommonFlags
	runs   int
}

func testApp(rec *recorder, env map[string]string) (*App, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	plan := &Command{
		Name:     "plan",
		Synopsis: "Show the plan",
		Args:     "[DIR]",
		MaxArgs:  1,
		Common:   CommonVars | CommonJSON | CommonExec,
		Help:     "Plans the next run.",
		Setup: func(fs *flag.FlagSet) Runner {
			out := fs.String("out", "", "Write the plan to `FILE`.")
			return func(inv *Invocation) ExitCode {
				rec.runs++
				rec.out, rec.args, rec.common = *out, inv.Args, inv.Common
				inv.Log.Info("planned", "dir", inv.Args)
				return ExitOK
			}
		},
	}
	fail := &Command{
		Name: "boom", Synopsis: "Panics", MaxArgs: 0,
		Setup: func(fs *flag.FlagSet) Runner {
			return func(inv *Invocation) ExitCode { panic("kaboom") }
		},
	}
	usage := &Command{
		Name: "usage", Synopsis: "Reports a usage error", MaxArgs: -1,
		Setup: func(fs *flag.FlagSet) Runner {
			return func(inv *Invocation) ExitCode { return inv.UsageError("bad combination %d", 42) }
		},
	}
	list := &Command{
		Name: "list", Synopsis: "List bookmarks", MaxArgs: 0,
		Setup: func(fs *flag.FlagSet) Runner {
			return func(inv *Invocation) ExitCode { rec.runs++; fmt.Fprintln(inv.Stdout, inv.CommandPath()); return ExitOK }
		},
	}
	state := &Command{Name: "state", Synopsis: "Manage bookmarks", Subcommands: []*Command{list}}
	app := &App{
		Name:     "sluice",
		Commands: []*Command{plan, fail, usage, state},
		Stdout:   &stdout,
		Stderr:   &stderr,
		Getenv:   func(k string) string { return env[k] },
		ParseSize: func(s string) (int64, error) {
			n, ok := strings.CutSuffix(s, "MiB")
			if !ok {
				return 0, fmt.Errorf("size %q has no unit", s)
			}
			v, err := strconv.ParseInt(n, 10, 64)
			return v << 20, err
		},
	}
	return app, &stdout, &stderr
}

func TestFlagsAnywhere(t *testing.T) {
	for _, args := range [][]string{
		{"plan", "-out", "p.plan", "-var", "a=1", "--var=b=2", "dir"},
		{"plan", "dir", "-out=p.plan", "-var", "a=1", "-var", "b=2"},
		{"plan", "-var=a=1", "dir", "--out", "p.plan", "--var", "b=2"},
	} {
		rec := &recorder{}
		app, _, stderr := testApp(rec, nil)
		if code := app.Run(context.Background(), args); code != ExitOK {
			t.Fatalf("%q: exit %d, stderr %s", args, code, stderr)
		}
		if rec.out != "p.plan" || strings.Join(rec.args, ",") != "dir" || strings.Join(rec.common.Vars, ",") != "a=1,b=2" {
			t.Errorf("%q: out=%q args=%q vars=%q", args, rec.out, rec.args, rec.common.Vars)
		}
	}
}

func TestDoubleDashEndsFlags(t *testing.T) {
	rec := &recorder{}
	app, _, stderr := testApp(rec, nil)
	if code := app.Run(context.Background(), []string{"plan", "-out", "x", "--", "-weird-dir"}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Join(rec.args, ",") != "-weird-dir" || rec.out != "x" {
		t.Errorf("args=%q out=%q", rec.args, rec.out)
	}
	// "--" as the value of a flag is a value, not the end of flags.
	rec = &recorder{}
	app, _, stderr = testApp(rec, nil)
	if code := app.Run(context.Background(), []string{"plan", "-out", "--", "-json"}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if rec.out != "--" || !rec.common.JSON || len(rec.args) != 0 {
		t.Errorf("out=%q json=%v args=%q", rec.out, rec.common.JSON, rec.args)
	}
}

func TestCommonFlags(t *testing.T) {
	rec := &recorder{}
	app, _, stderr := testApp(rec, map[string]string{"SLUICE_LOG": "debug"})
	code := app.Run(context.Background(), []string{"plan", "-json", "-parallelism", "4", "-memory-limit=512MiB",
		"-var-file", "a.vars.hcl", "-var-file=b.vars.hcl", "-no-color"})
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	c := rec.common
	if !c.JSON || c.Parallelism != 4 || c.MemoryLimit != 512<<20 || !c.NoColor || c.LogLevel != slog.LevelDebug ||
		strings.Join(c.VarFiles, ",") != "a.vars.hcl,b.vars.hcl" {
		t.Errorf("common flags: %+v", c)
	}
	// -json switches logs to JSON on stderr; SLUICE_LOG=debug let info through.
	if !strings.Contains(stderr.String(), `"msg":"planned"`) {
		t.Errorf("no JSON log line on stderr: %q", stderr)
	}

	// The flag beats the environment.
	rec = &recorder{}
	app, _, stderr = testApp(rec, map[string]string{"SLUICE_LOG": "debug"})
	if code := app.Run(context.Background(), []string{"plan", "-log-level=error"}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if rec.common.LogLevel != slog.LevelError || stderr.Len() != 0 {
		t.Errorf("level %v, stderr %q", rec.common.LogLevel, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"plan", "-nope"}, nil, `sluice plan: unknown flag -nope (see "sluice help plan")`},
		{[]string{"plan", "-ot", "x"}, nil, `sluice plan: unknown flag -ot; did you mean -out? (see "sluice help plan")`},
		{[]string{"plan", "-dry-run"}, nil, `sluice plan: unknown flag -dry-run; sluice plan shows what a run would do without doing it (see "sluice help plan")`},
		{[]string{"plan", "a", "b"}, nil, `sluice plan: unexpected argument "b" (takes [DIR]) (see "sluice help plan")`},
		{[]string{"plan", "-out"}, nil, `sluice plan: flag needs an argument: -out (see "sluice help plan")`},
		{[]string{"plan", "-var", "novalue"}, nil, `sluice plan: invalid value "novalue" for flag -var: want NAME=VALUE, got "novalue" (see "sluice help plan")`},
		{[]string{"plan", "-parallelism", "0"}, nil, `sluice plan: invalid value "0" for flag -parallelism: want a positive integer, got "0" (see "sluice help plan")`},
		{[]string{"plan", "-memory-limit", "12"}, nil, `sluice plan: invalid value "12" for flag -memory-limit: size "12" has no unit (see "sluice help plan")`},
		{[]string{"plan", "-log-level", "loud"}, nil, `sluice plan: invalid value "loud" for flag -log-level: unknown log level "loud" (want error, warn, info or debug) (see "sluice help plan")`},
		{[]string{"plan"}, map[string]string{"SLUICE_LOG": "loud"}, `sluice plan: SLUICE_LOG: unknown log level "loud" (want error, warn, info or debug) (see "sluice help plan")`},
		{[]string{"pln"}, nil, `sluice: unknown command "pln"; did you mean "plan"? (see "sluice help")`},
		{[]string{"frobnicate"}, nil, `sluice: unknown command "frobnicate" (see "sluice help")`},
		{[]string{"-json", "plan"}, nil, `sluice: unknown flag -json before the command; command flags go after the command name (see "sluice help")`},
		{[]string{"state"}, nil, `sluice state: missing subcommand (see "sluice help state")`},
		{[]string{"state", "lst"}, nil, `sluice state: unknown command "lst"; did you mean "list"? (see "sluice help state")`},
		{[]string{"usage"}, nil, `sluice usage: bad combination 42 (see "sluice help usage")`},
		{[]string{"help", "nope"}, nil, `sluice: no help for unknown command "nope" (see "sluice help")`},
	} {
		rec := &recorder{}
		app, stdout, stderr := testApp(rec, c.env)
		code := app.Run(context.Background(), c.args)
		if code != ExitError {
			t.Errorf("%q: exit %d, want 1", c.args, code)
		}
		if got := strings.TrimSuffix(stderr.String(), "\n"); got != c.want {
			t.Errorf("%q: stderr\n%s\nwant\n%s", c.args, got, c.want)
		}
		if stdout.Len() != 0 || rec.runs != 0 {
			t.Errorf("%q: stdout %q, runs %d", c.args, stdout, rec.runs)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "plan"}, {"plan", "-h"}, {"plan", "dir", "--help"}} {
		rec := &recorder{}
		app, stdout, stderr := testApp(rec, nil)
		if code := app.Run(context.Background(), args); code != ExitOK {
			t.Errorf("%q: exit %d", args, code)
		}
		out := stdout.String()
		for _, want := range []string{
			"Usage: sluice plan [options] [DIR]",
			"Plans the next run.",
			"  -out FILE  Write the plan to FILE.",
			"  -var NAME=VALUE",
			"  -memory-limit SIZE",
			"  -json",
			"(default warn)",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: help lacks %q:\n%s", args, want, out)
			}
		}
		if stderr.Len() != 0 || rec.runs != 0 {
			t.Errorf("%q: stderr %q runs %d", args, stderr, rec.runs)
		}
	}

	rec := &recorder{}
	app, stdout, _ := testApp(rec, nil)
	if code := app.Run(context.Background(), []string{"help"}); code != ExitOK {
		t.Errorf("help: exit %d", code)
	}
	for _, want := range []string{"  plan   Show the plan", "  state  Manage bookmarks", "  help   Show help", "  130  interrupted"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("overview lacks %q:\n%s", want, stdout)
		}
	}

	// No arguments at all: the overview, on stderr, as a usage error.
	app, stdout, stderr := testApp(rec, nil)
	if code := app.Run(context.Background(), nil); code != ExitError || stdout.Len() != 0 || !strings.Contains(stderr.String(), "Commands:") {
		t.Errorf("no args: exit %d stdout %q stderr %q", code, stdout, stderr)
	}

	app, stdout, _ = testApp(rec, nil)
	if code := app.Run(context.Background(), []string{"help", "state", "list"}); code != ExitOK || !strings.Contains(stdout.String(), "Usage: sluice state list [options]") {
		t.Errorf("help state list: exit %d\n%s", code, stdout)
	}
	app, stdout, _ = testApp(rec, nil)
	if code := app.Run(context.Background(), []string{"help", "state"}); code != ExitOK || !strings.Contains(stdout.String(), "  list  List bookmarks") {
		t.Errorf("help state: exit %d\n%s", code, stdout)
	}
}

func TestSubcommand(t *testing.T) {
	rec := &recorder{}
	app, stdout, stderr := testApp(rec, nil)
	if code := app.Run(context.Background(), []string{"state", "list"}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout.String() != "sluice state list\n" {
		t.Errorf("stdout %q", stdout)
	}
}

func TestPanicIsOneLine(t *testing.T) {
	rec := &recorder{}
	app, _, stderr := testApp(rec, nil)
	if code := app.Run(context.Background(), []string{"boom"}); code != ExitError {
		t.Errorf("exit %d", code)
	}
	if s := stderr.String(); !strings.Contains(s, "internal error") || !strings.Contains(s, "kaboom") || strings.Contains(s, "goroutine") {
		t.Errorf("stderr %q", s)
	}
	app, _, stderr = testApp(rec, map[string]string{"SLUICE_LOG": "debug"})
	app.Run(context.Background(), []string{"boom"})
	if !strings.Contains(stderr.String(), "goroutine") {
		t.Errorf("no stack at debug: %q", stderr)
	}
}

func TestExitCodeNames(t *testing.T) {
	seen := map[int]bool{}
	for _, c := range ExitCodes {
		if seen[int(c)] {
			t.Errorf("duplicate exit code %d", c)
		}
		seen[int(c)] = true
		if strings.HasPrefix(c.String(), "ExitCode(") || c.Describe() == "" {
			t.Errorf("exit code %d is unnamed", c)
		}
	}
	want := []int{0, 1, 2, 3, 4, 5, 6, 7, 130}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("exit code %d missing", w)
		}
	}
	if ExitCode(9).String() != "ExitCode(9)" {
		t.Errorf("unknown code: %s", ExitCode(9))
	}
	if got := (CommonVars | CommonExec).String(); got != "vars|exec" {
		t.Errorf("Common.String() = %q", got)
	}
}

func TestWriteJSONAndErrorf(t *testing.T) {
	var stdout, stderr bytes.Buffer
	app := &App{Name: "sluice", Stdout: &stdout, Stderr: &stderr, Commands: []*Command{{
		Name: "show", MaxArgs: 0, Common: CommonJSON,
		Setup: func(fs *flag.FlagSet) Runner {
			return func(inv *Invocation) ExitCode {
				if code := inv.WriteJSON(map[string]any{"expr": "a < b && c > d", "n": 1}); code != ExitOK {
					return code
				}
				return inv.Errorf("plan %s: %s", "p.plan", "unknown format version 9")
			}
		},
	}}}
	if code := app.Run(context.Background(), []string{"show", "-json"}); code != ExitError {
		t.Errorf("exit %d", code)
	}
	if want := "{\n  \"expr\": \"a < b && c > d\",\n  \"n\": 1\n}\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	if want := "sluice show: plan p.plan: unknown format version 9\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}
