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
	osexec "os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/schollz/progressbar/v3"
	"github.com/zclconf/go-cty/cty"

	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/cmd/sluice/internal/diagview"
	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/tables"
)

func planCommand() *cli.Command {
	return &cli.Command{
		Name:     "plan",
		Synopsis: "Show what the next run would read, prune and write",
		Args:     "[DIR]",
		MaxArgs:  1,
		Common:   cli.CommonVars | cli.CommonJSON,
		Help: `Lists each pipeline's source, prunes partitions and files with the
where predicate, merges the listing with the bookmarks, applies the bounds,
packs the inputs into tasks and prints the physical plan of the next run.
It reads listings, Parquet footers and state; it takes no lock and writes
nothing (but -out FILE).

With -changed-since REF, plan covers only the pipelines whose files changed since the
git revision REF (git diff --name-only REF, plus untracked files): the file
that defines the pipeline, its schema_file, or a file its file() names; a
change to a file holding variables, locals, state or moved blocks, or to a
-var-file, selects every pipeline; a changed file read through a computed
file() path selects the pipelines that compute one. With -pipeline, both
must select a pipeline. Nothing selected: an empty plan, exit 0.`,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			out := fs.String("out", "", "Save the plan to `FILE`.")
			detailed := fs.Bool("detailed-exitcode", false, "Exit 0 when there is nothing to do, 2 when there is work.")
			var pipelines cli.StringList
			fs.Var(&pipelines, "pipeline", "Plan only pipelines matching `NAME` (glob, repeatable).")
			changedSince := fs.String("changed-since", "", "Plan only pipelines whose files changed since the git revision `REF`.")
			verbose := fs.Bool("verbose", false, "Show pipelines with nothing to do in full, the state version and the rules that fired.")
			return func(inv *cli.Invocation) cli.ExitCode {
				cfg, code := loadConfig(inv)
				if cfg == nil {
					return code
				}
				selection := []string(pipelines)
				if *changedSince != "" {
					changed, err := changedPipelines(inv.Ctx, cfg, *changedSince, inv.Common.VarFiles)
					if err != nil {
						return inv.Errorf("-changed-since %s: %v", *changedSince, err)
					}
					selection = intersectSelection(cfg, changed, pipelines)
					if len(selection) == 0 {
						return writeNothingChanged(inv, cfg, *changedSince, *out)
					}
				}
				listed, done := listingProgress(inv)
				plan, err := buildPlan(inv.Ctx, cfg, selection, listed)
				done()
				if err != nil {
					return storageError(inv, err)
				}
				if len(pipelines) > 0 && len(plan.Pipelines) == 0 {
					return inv.UsageError("no pipeline matches -pipeline %v", []string(pipelines))
				}
				if *out != "" {
					if err := savePlan(*out, plan, configDir(inv)); err != nil {
						return inv.Errorf("%v", err)
					}
				}
				if inv.Common.JSON {
					if err := planner.WriteJSON(inv.Stdout, plan); err != nil {
						return inv.Errorf("writing output: %v", err)
					}
				} else {
					if err := planner.WriteText(inv.Stdout, plan, textOptions(*verbose)); err != nil {
						return inv.Errorf("writing output: %v", err)
					}
					if *out != "" {
						fmt.Fprintf(inv.Stdout, "\nSaved the plan to %s. To run exactly this plan: sluice apply %s\n", *out, *out)
					}
				}
				if *detailed && hasWork(plan) {
					return cli.ExitChanges
				}
				return cli.ExitOK
			}
		},
	}
}

// textOptions renders plans with paths relative to the working directory.
func textOptions(verbose bool) planner.TextOptions {
	cwd, _ := os.Getwd()
	return planner.TextOptions{Verbose: verbose, Cwd: cwd}
}

// loadConfig loads the configuration named by the first argument (default
// "."), printing diagnostics; a nil config comes with the exit code.
func loadConfig(inv *cli.Invocation) (*spec.Config, cli.ExitCode) {
	dir := "."
	if len(inv.Args) > 0 {
		dir = inv.Args[0]
	}
	cfg, _, code := loadConfigAt(inv, dir)
	return cfg, code
}

// loadConfigAt loads the configuration in dir, printing its diagnostics
// on stderr; it returns them too (for apply -json's error event).
func loadConfigAt(inv *cli.Invocation, dir string) (*spec.Config, hcl.Diagnostics, cli.ExitCode) {
	cfg, diags := spec.Load(dir, spec.LoadOptions{Vars: inv.Common.Vars, VarFiles: inv.Common.VarFiles, Environ: inv.Environ})
	if len(diags) > 0 {
		cwd, _ := os.Getwd()
		diagview.WriteHuman(inv.Stderr, diags, diagview.Options{Sources: diagview.NewSources(), Cwd: cwd, Color: inv.StderrColor})
	}
	if diags.HasErrors() {
		fmt.Fprintln(inv.Stderr, "\nThe configuration is invalid; run 'sluice validate' for details.")
		return nil, diags, cli.ExitInvalid
	}
	return cfg, diags, cli.ExitOK
}

func buildPlan(ctx context.Context, cfg *spec.Config, pipelines []string, onListed func(string, int64)) (*planner.Plan, error) {
	return planner.Build(ctx, cfg, planner.Options{
		OnListed:     onListed,
		Footers:      exec.Footers{},
		OpenCost:     openCost,
		DriftFooters: planner.DefaultDriftFooters,
		Pipelines:    pipelines,
		Tables:       tables.NewOpener(cfg),
		OpenLocation: func(ctx context.Context, url string) (objstore.Location, error) {
			return objstore.Open(ctx, url)
		},
	})
}

func hasWork(p *planner.Plan) bool {
	for _, pp := range p.Pipelines {
		if pp.Summary.Pending {
			return true
		}
	}
	return false
}

// storageError prints an error from listing or reading objects as one
// line (never a stack trace, never a credential) and exits 1; an
// interrupted command exits 130.
func storageError(inv *cli.Invocation, err error) cli.ExitCode {
	if errors.Is(err, context.Canceled) && inv.Ctx.Err() != nil {
		fmt.Fprintln(inv.Stderr, "Interrupted.")
		return cli.ExitInterrupted
	}
	return inv.Errorf("%s", objstore.Describe(err))
}

// configDir is the configuration directory as the command was given it.
func configDir(inv *cli.Invocation) string {
	if len(inv.Args) > 0 {
		return filepath.Clean(inv.Args[0])
	}
	return "."
}

// savePlan writes the plan file atomically, recording the configuration
// directory it was made from (apply checks the plan against it).
func savePlan(path string, p *planner.Plan, configDir string) error {
	p.ConfigDir = configDir
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sluice-plan-*")
	if err != nil {
		return fmt.Errorf("saving plan: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := planner.Encode(tmp, p); err != nil {
		tmp.Close()
		return fmt.Errorf("saving plan: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving plan: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

// readPlan opens a saved plan.
func readPlan(path string) (*planner.Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return planner.Decode(f)
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	w.Write(append(b, '\n'))
}

// openCost is what each input file costs when packing tasks, on top of its
// size. Each task writes its own output files, so many small tasks mean
// many small outputs; within a task dozens of GETs overlap, so the real
// per-object cost is CPU, not latency: 128 KiB keeps 50,000 small objects
// in a few dozen tasks rather than thousands.
const openCost = 128 << 10

// changedPipelines returns the names of the pipelines of cfg that a change
// since the git revision ref may affect (see plan -help). It errs on the
// side of planning too much: a changed file sluice cannot attribute to
// one pipeline selects them all.
func changedPipelines(ctx context.Context, cfg *spec.Config, ref string, varFiles []string) ([]string, error) {
	if strings.HasPrefix(ref, "-") {
		return nil, fmt.Errorf("a git revision cannot start with '-'")
	}
	top, err := git(ctx, cfg.Dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, err
	}
	top = strings.TrimSpace(top)
	diff, err := git(ctx, top, "diff", "--name-only", "--no-renames", ref, "--")
	if err != nil {
		return nil, err
	}
	untracked, err := git(ctx, top, "ls-files", "--others", "--exclude-standard")
	if err != nil {
		return nil, err
	}
	changed := map[string]bool{}
	for _, l := range strings.Split(diff+"\n"+untracked, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			changed[realPath(filepath.Join(top, filepath.FromSlash(l)))] = true
		}
	}
	return affectedPipelines(cfg, changed, varFiles), nil
}

// affectedPipelines maps changed files (real absolute paths) to the
// pipelines they may affect:
//   - a pipeline's defining file, its schema_file, or a file its file()
//     names literally: that pipeline;
//   - a file holding anything but pipeline blocks (variables, locals,
//     state, moved), or a -var-file: every pipeline;
//   - another file the configuration read (a file() whose path is
//     computed): the pipelines with computed file() paths, or every
//     pipeline when a call outside any pipeline block may have read it.
func affectedPipelines(cfg *spec.Config, changed map[string]bool, varFiles []string) []string {
	all := func() []string {
		names := make([]string, len(cfg.Pipelines))
		for i, p := range cfg.Pipelines {
			names[i] = p.Name
		}
		return names
	}
	for _, f := range varFiles {
		if changed[realPath(f)] {
			return all()
		}
	}
	hit := map[string]bool{}
	known := map[string]bool{} // configuration files, schema files and literal file() targets
	var dynamic []string       // pipelines whose file() paths are computed
	sharedReads := false       // file() calls outside pipeline blocks
	for _, p := range cfg.Pipelines {
		if changed[realPath(p.DeclRange.Filename)] {
			hit[p.Name] = true
		}
		if p.Source != nil && p.Source.Schema != nil && p.Source.Schema.DeclRange.Filename != "" {
			sf := realPath(p.Source.Schema.DeclRange.Filename)
			known[sf] = true
			if changed[sf] {
				hit[p.Name] = true
			}
		}
	}
	for _, f := range cfg.Files {
		rf := realPath(f)
		known[rf] = true
		scan, ok := scanConfigFile(f, cfg.Sources[f])
		if !ok {
			// spec parsed it, so this is unexpected: assume the worst.
			sharedReads = true
			if changed[rf] {
				return all()
			}
			continue
		}
		if changed[rf] && scan.shared {
			return all()
		}
		sharedReads = sharedReads || scan.sharedReads
		for name, rs := range scan.reads {
			for _, r := range rs {
				if r == "" {
					dynamic = append(dynamic, name)
					continue
				}
				rr := realPath(r)
				known[rr] = true
				if changed[rr] {
					hit[name] = true
				}
			}
		}
	}
	for f := range cfg.Sources {
		rf := realPath(f)
		if !changed[rf] || known[rf] {
			continue
		}
		if sharedReads || len(dynamic) == 0 {
			return all()
		}
		for _, name := range dynamic {
			hit[name] = true
		}
	}
	var names []string
	for _, p := range cfg.Pipelines {
		if hit[p.Name] {
			names = append(names, p.Name)
		}
	}
	return names
}

// configScan is what a configuration file declares, for -changed-since.
type configScan struct {
	shared      bool                // it declares something other than pipelines
	sharedReads bool                // file() or schema_file() outside pipeline blocks
	reads       map[string][]string // per pipeline: the files its file() calls name ("" when computed)
}

// scanConfigFile reads one configuration file's top-level blocks and the
// file() and schema_file() calls in them; paths are resolved against the
// file's directory.
func scanConfigFile(filename string, src []byte) (configScan, bool) {
	sc := configScan{reads: map[string][]string{}}
	if src == nil {
		var err error
		if src, err = os.ReadFile(filename); err != nil {
			return sc, false
		}
	}
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return sc, false
	}
	body, isSyntax := f.Body.(*hclsyntax.Body)
	if !isSyntax {
		return sc, false
	}
	if len(body.Attributes) > 0 {
		sc.shared = true
	}
	dir := filepath.Dir(filename)
	for _, b := range body.Blocks {
		isPipeline := b.Type == "pipeline" && len(b.Labels) == 1
		if !isPipeline {
			sc.shared = true
		}
		_ = hclsyntax.VisitAll(b.Body, func(n hclsyntax.Node) hcl.Diagnostics {
			call, isCall := n.(*hclsyntax.FunctionCallExpr)
			if !isCall || (call.Name != "file" && call.Name != "schema_file") || len(call.Args) == 0 {
				return nil
			}
			if !isPipeline {
				sc.sharedReads = true
				return nil
			}
			name := b.Labels[0]
			v, ds := call.Args[0].Value(nil)
			if ds.HasErrors() || v.IsNull() || !v.IsKnown() || !v.Type().Equals(cty.String) {
				sc.reads[name] = append(sc.reads[name], "")
				return nil
			}
			p := v.AsString()
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			sc.reads[name] = append(sc.reads[name], p)
			return nil
		})
	}
	return sc, true
}

// realPath resolves symlinks where it can, so that git's paths and the
// configuration's compare equal (macOS /tmp, say); a deleted file keeps
// its cleaned path.
func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	if r, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
		return filepath.Join(r, filepath.Base(p))
	}
	return filepath.Clean(p)
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := osexec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if line, _, _ := strings.Cut(msg, "\n"); line != "" {
			msg = line
		}
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", args[0], msg)
	}
	return stdout.String(), nil
}

// intersectSelection keeps the changed pipelines that -pipeline selects
// (all of them without -pipeline), as exact names for planner.Build.
func intersectSelection(cfg *spec.Config, changed []string, globs []string) []string {
	var out []string
	for _, name := range changed {
		ok := len(globs) == 0
		for _, g := range globs {
			if m, _ := path.Match(g, name); m {
				ok = true
			}
		}
		if ok {
			out = append(out, name)
		}
	}
	return out
}

// writeNothingChanged reports that -changed-since selected no pipeline:
// an empty plan (saved with -out, so that a CI job that applies the
// reviewed plan has a file to apply), exit 0 even with -detailed-exitcode.
func writeNothingChanged(inv *cli.Invocation, cfg *spec.Config, ref, out string) cli.ExitCode {
	now := time.Now()
	plan := &planner.Plan{FormatVersion: planner.FormatVersion, RunID: planner.NewRunID(now),
		ConfigDigest: cfg.Digest, Created: now.UTC().Truncate(time.Second)}
	if out != "" {
		if err := savePlan(out, plan, configDir(inv)); err != nil {
			return inv.Errorf("%v", err)
		}
	}
	if inv.Common.JSON {
		if err := planner.WriteJSON(inv.Stdout, plan); err != nil {
			return inv.Errorf("writing output: %v", err)
		}
		return cli.ExitOK
	}
	fmt.Fprintf(inv.Stdout, "No pipeline changed since %s: nothing to plan.\n", ref)
	return cli.ExitOK
}

// listingProgress shows on a terminal (never with -json) how many files the
// planner has listed so far: a prefix of millions of objects takes minutes
// to list, and a silent terminal looks hung. It returns the callback for
// planner.Options.OnListed (nil when there is nothing to show) and a
// function that clears the line.
func listingProgress(inv *cli.Invocation) (func(string, int64), func()) {
	if inv.Common.JSON || !isTerminal(inv.Stderr) {
		return nil, func() {}
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(inv.Stderr),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	var mu sync.Mutex
	return func(pipeline string, files int64) {
			mu.Lock()
			defer mu.Unlock()
			bar.Describe(fmt.Sprintf("listing %s: %d files", pipeline, files))
			_ = bar.Set64(files)
		}, func() {
			mu.Lock()
			defer mu.Unlock()
			_ = bar.Finish()
		}
}
