package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
)

var update = flag.Bool("update", false, "rewrite cmp golden files in the txtar scripts")

// TestMain registers the real program as the `sluice` command of the
// scripts: testscript re-runs this test binary as sluice, and it calls run.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sluice": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txtar: the CLI contract as scripts.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Cmds:                map[string]func(ts *testscript.TestScript, neg bool, args []string){"exits": cmdExits},
		Setup: func(env *testscript.Env) error {
			// Scripts must not depend on the developer's environment.
			env.Setenv("SLUICE_LOG", "")
			env.Setenv("NO_COLOR", "")
			return nil
		},
	})
}

// cmdExits is `exits CODE PROGRAM [ARGS...]`: run the program and require
// that exact exit code. Plain `! exec` only checks "non-zero", and the exit
// codes are a contract (1 usage, 3 fmt -check, 4 invalid, ...).
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exits")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// TestRunInProcess drives run directly, as main does, to check that it
// returns codes instead of exiting and keeps stdout for machine output.
func TestRunInProcess(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version", "-json"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("version -json: exit %d: %s", code, stderr.String())
	}
	var v versionInfo
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatalf("version -json is not JSON: %v\n%s", err, stdout.String())
	}
	if v.PlanFormatVersion != planFormatVersion || v.StateFormatVersion != stateFormatVersion || v.Version == "" {
		t.Errorf("version: %+v", v)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte("pipeline \"x\" {\n  source = \n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	code := run([]string{"validate", dir, "-json"}, strings.NewReader(""), &stdout, &stderr)
	if code != 4 {
		t.Fatalf("validate: exit %d, want 4: %s", code, stderr.String())
	}
	var doc struct {
		Valid      bool `json:"valid"`
		ErrorCount int  `json:"error_count"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || doc.Valid || doc.ErrorCount == 0 {
		t.Errorf("validate -json: %v %+v\n%s", err, doc, stdout.String())
	}

	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"fmt", "-"}, strings.NewReader("a=1\nbb = 2\n"), &stdout, &stderr); code != 0 {
		t.Fatalf("fmt -: exit %d: %s", code, stderr.String())
	}
	if got, want := stdout.String(), "a  = 1\nbb = 2\n"; got != want {
		t.Errorf("fmt - = %q, want %q", got, want)
	}
}

// Each command's help lists a flag once: the generated Options and Common
// options sections are the list, so a command's Help prose must not
// repeat it as a table of its own.
func TestHelpListsEachFlagOnce(t *testing.T) {
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string{}, path...), c.Name)
			if len(c.Subcommands) > 0 {
				walk(p, c.Subcommands)
				continue
			}
			var out, errb bytes.Buffer
			if code := run(append([]string{"help"}, p...), strings.NewReader(""), &out, &errb); code != 0 {
				t.Fatalf("help %v: exit %d: %s", p, code, errb.String())
			}
			seen := map[string]int{}
			for _, l := range strings.Split(out.String(), "\n") {
				if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(l, "  -") {
					seen[f[0]]++
				}
			}
			for f, n := range seen {
				if n > 1 {
					t.Errorf("sluice help %s lists %s %d times", strings.Join(p, " "), f, n)
				}
			}
		}
	}
	walk(nil, commands())
}

// The prompt hears signals: a cancelled context (SIGINT, SIGTERM) ends a
// read that is blocked on the terminal, and an answer still arrives.
func TestReadAnswerHearsSignals(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := readAnswer(ctx, pr); done <- err }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("readAnswer did not return on cancel")
	}
	if got, err := readAnswer(context.Background(), strings.NewReader(" yes \n")); got != "yes" || err != nil {
		t.Fatalf("answer %q, %v", got, err)
	}
}

// The bash completion script completes commands, subcommands and each
// command's flags in a real bash; zsh's is the same function through
// bashcompinit, and fish's names every flag of a command.
func TestCompletion(t *testing.T) {
	script := func(shell string) string {
		var out, errb bytes.Buffer
		if code := run([]string{"completion", shell}, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("completion %s: exit %d: %s", shell, code, errb.String())
		}
		return out.String()
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	f := filepath.Join(t.TempDir(), "sluice.bash")
	if err := os.WriteFile(f, []byte(script("bash")), 0o644); err != nil {
		t.Fatal(err)
	}
	for words, want := range map[string]string{
		"sluice pl":                  "plan",
		"sluice state f":             "forget",
		"sluice apply -auto":         "-auto-approve",
		"sluice plan -detailed":      "-detailed-exitcode",
		"sluice state forget -lock-": "-lock-timeout",
		"sluice help ap":             "apply",
	} {
		w := strings.Fields(words)
		cmd := exec.Command(bash, "-c", fmt.Sprintf(`source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _sluice_complete; echo "${COMPREPLY[*]}"`, f, words, len(w)-1))
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("%q completes to %q (%v), want %q", words, strings.TrimSpace(string(out)), err, want)
		}
	}
	if z := script("zsh"); !strings.HasPrefix(z, "#compdef sluice\n") || !strings.Contains(z, "bashcompinit") {
		t.Errorf("zsh script:\n%s", z)
	}
	fish := script("fish")
	for _, want := range []string{"-a apply -d 'Run a saved plan, or plan and run'", "__fish_seen_subcommand_from apply' -o auto-approve", "__fish_seen_subcommand_from forget' -o lock-timeout"} {
		if !strings.Contains(fish, want) {
			t.Errorf("fish script lacks %q", want)
		}
	}
	var errb bytes.Buffer
	if code := run([]string{"completion", "tcsh"}, strings.NewReader(""), io.Discard, &errb); code != 1 || !strings.Contains(errb.String(), "unknown shell") {
		t.Errorf("an unknown shell: exit %d, %s", code, errb.String())
	}
}
