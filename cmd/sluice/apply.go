package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/sluicedata/sluice/apply"
	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/tables"
	"github.com/sluicedata/sluice/txn"
)

func applyCommand() *cli.Command {
	return &cli.Command{
		Name:     "apply",
		Synopsis: "Run a saved plan, or plan and run",
		Args:     "[PLANFILE | DIR]",
		MaxArgs:  1,
		Common:   cli.CommonVars | cli.CommonJSON | cli.CommonExec,
		Help: `With a PLANFILE (from 'sluice plan -out'), runs exactly that plan. With a
DIR (default: the current directory), plans the next run, shows the plan,
asks for confirmation (or takes -auto-approve) and runs it.

Pipelines run one after another in name order; the first failure stops
the run with its exit code. Each pipeline's outputs are written as pending
uploads and published together at commit, and only then are its inputs
recorded as processed: a failed run leaves no output and no bookmark.

  -auto-approve   run without asking (required when stdin is not a terminal)
  -json           stream NDJSON events on stdout: plan, task_started,
                  progress, task_done, check, committed, summary, error

Exit codes: 0 done (or nothing to do), 1 runtime error, 4 invalid
configuration, 5 stale plan, 6 locked by another run (the holder is
printed), 7 a blocking check failed (nothing committed),
130 interrupted (the run was aborted cleanly).`,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			auto := fs.Bool("auto-approve", false, "Run without asking for confirmation.")
			var pipelines cli.StringList
			fs.Var(&pipelines, "pipeline", "Run only pipelines matching `NAME` (glob, repeatable; with DIR).")
			return func(inv *cli.Invocation) cli.ExitCode {
				return runApply(inv, *auto, pipelines)
			}
		},
	}
}

func runApply(inv *cli.Invocation, auto bool, pipelines []string) cli.ExitCode {
	ev := newEvents(inv)
	var plan *planner.Plan
	var cfg *spec.Config
	fromFile := false
	if len(inv.Args) == 1 {
		if fi, err := os.Stat(inv.Args[0]); err == nil && !fi.IsDir() {
			p, err := readPlan(inv.Args[0])
			if err != nil {
				return inv.Errorf("reading plan %s: %v", inv.Args[0], err)
			}
			plan, fromFile = p, true
		}
	}
	if fromFile {
		msg, here := configChanged(inv, plan)
		if msg != "" {
			return stale(inv, ev, "", msg)
		}
		cfg = here // for its catalogs' secrets; nil away from the configuration
	} else {
		var code cli.ExitCode
		if cfg, code = loadConfig(inv); cfg == nil {
			return code
		}
		listed, done := listingProgress(inv)
		p, err := buildPlan(inv.Ctx, cfg, pipelines, listed)
		done()
		if err != nil {
			return storageError(inv, err)
		}
		plan = p
	}
	if inv.Common.JSON {
		ev.emit("plan", map[string]any{"run_id": plan.RunID, "pipelines": len(plan.Pipelines), "pending": apply.HasWork(plan)})
	} else if !fromFile {
		if err := planner.WriteText(inv.Stdout, plan); err != nil {
			return inv.Errorf("writing output: %v", err)
		}
	}
	v := &applyView{inv: inv, ev: ev}
	opts := apply.Options{
		Exec:     exec.Options{Parallelism: inv.Common.Parallelism, MemoryLimit: inv.Common.MemoryLimit, Version: version},
		Lease:    state.LeaseFromEnv(inv.Getenv),
		Catalogs: tables.NewOpener(cfg),
		Hooks: apply.Hooks{
			Recovered: v.recovered,
			Progress:  v.progress,
			Check:     v.check,
			Warn:      func(msg string) { fmt.Fprintf(inv.Stderr, "Warning: %s\n", msg) },
			Replanned: func(np *planner.Plan, why string) bool { return v.replanned(np, why, auto) },
		},
	}
	if !fromFile {
		opts.Replan = func(ctx context.Context, name string) (*planner.Plan, error) {
			return buildPlan(ctx, cfg, []string{name}, nil)
		}
		if !auto {
			opts.Hooks.Confirm = v.confirm
		}
	}
	defer gcToMemoryLimit(inv.Common.MemoryLimit)()
	results := apply.Run(inv.Ctx, plan, opts)
	if v.bar != nil {
		v.bar.finish()
	}
	for _, r := range results {
		if code := v.result(r); code != cli.ExitOK {
			return code
		}
	}
	if !apply.HasWork(plan) {
		if inv.Common.JSON {
			ev.emit("summary", map[string]any{"run_id": plan.RunID, "nothing_to_do": true})
		} else {
			fmt.Fprintln(inv.Stdout, "\nNothing to do: every input is already processed.")
		}
	}
	return cli.ExitOK
}

// applyView renders apply's hooks and results: text on a terminal, events
// with -json.
type applyView struct {
	inv      *cli.Invocation
	ev       *events
	bar      *progress
	declined cli.ExitCode
}

func (v *applyView) recovered(pipeline string, r txn.Recovered) {
	fmt.Fprintf(v.inv.Stderr, "Recovered: pipeline %s: %s (interrupted earlier).\n", pipeline, r)
}

func (v *applyView) confirm() bool {
	code, ok := confirm(v.inv)
	v.declined = code
	return ok
}

func (v *applyView) replanned(np *planner.Plan, why string, auto bool) bool {
	inv, pp := v.inv, np.Pipelines[0]
	fmt.Fprintf(inv.Stderr, "The state of %s changed since planning (%s); planned again.\n", pp.Name, why)
	if !pp.Summary.Pending {
		if !inv.Common.JSON {
			fmt.Fprintf(inv.Stdout, "\n%s: nothing to do: every input is already processed.\n", pp.Name)
		}
		return true
	}
	if !inv.Common.JSON {
		_ = planner.WriteText(inv.Stdout, np)
	}
	if !auto {
		return v.confirm()
	}
	return true
}

func (v *applyView) progress(p exec.Progress) {
	if v.bar == nil || v.bar.pipeline != p.Pipeline {
		if v.bar != nil {
			v.bar.finish()
		}
		v.bar = newProgress(v.inv, v.ev, p.Pipeline, p.BytesTotal)
	}
	v.bar.update(p)
}

func (v *applyView) check(pipeline string, c exec.CheckResult) {
	v.ev.emit("check", map[string]any{"pipeline": pipeline, "check": c})
	if !v.inv.Common.JSON && !c.Passed {
		fmt.Fprintf(v.inv.Stderr, "check %s (%s) failed: %s\n", c.Name, c.Severity, c.Message)
		for _, e := range c.Examples {
			fmt.Fprintf(v.inv.Stderr, "  e.g. %s\n", e)
		}
	}
}

// result prints one pipeline's outcome and returns its exit code.
func (v *applyView) result(r apply.Result) cli.ExitCode {
	inv, ev := v.inv, v.ev
	if v.bar != nil && v.bar.pipeline == r.Pipeline {
		v.bar.finish()
		v.bar = nil
	}
	switch r.Outcome {
	case apply.NothingToDo:
		return cli.ExitOK
	case apply.Declined:
		if v.declined == cli.ExitOK {
			return cli.ExitError
		}
		return v.declined
	case apply.Locked:
		var held *state.LockHeldError
		errors.As(r.Err, &held)
		return lockHeld(inv, ev, r.Pipeline, held)
	case apply.Stale:
		return stale(inv, ev, r.Pipeline, r.Err.Error())
	case apply.ChecksFailed:
		msg := fmt.Sprintf("pipeline %s: a blocking check failed; nothing was committed", r.Pipeline)
		ev.emit("error", map[string]any{"pipeline": r.Pipeline, "message": msg})
		fmt.Fprintln(inv.Stderr, "Error: "+msg)
		return cli.ExitChecksFailed
	case apply.Interrupted:
		ev.emit("error", map[string]any{"pipeline": r.Pipeline, "message": "interrupted; the run was aborted and nothing was committed"})
		fmt.Fprintln(inv.Stderr, "Interrupted: the run was aborted and nothing was committed.")
		return cli.ExitInterrupted
	case apply.Failed:
		var pe *apply.PlanError
		if errors.As(r.Err, &pe) {
			return storageError(inv, pe.Err)
		}
		return fail(inv, ev, r.Pipeline, r.Err)
	}
	pp, s, m := r.Plan, r.Stats, r.Manifest
	committed := map[string]any{"pipeline": r.Pipeline, "run_id": m.RunID, "files": len(m.Files), "manifest": r.ManifestKey}
	where := pp.Sink.URL
	if r.Table != "" {
		committed["table"], committed["snapshot_id"] = r.Table, r.Snapshot
		where = fmt.Sprintf("table %s (snapshot %d)", r.Table, r.Snapshot)
	}
	ev.emit("committed", committed)
	ev.emit("summary", map[string]any{"pipeline": r.Pipeline, "run_id": m.RunID, "stats": s, "elapsed_ms": r.Elapsed.Milliseconds()})
	if !inv.Common.JSON {
		secs := r.Elapsed.Seconds()
		rate := ""
		if secs > 0 {
			rate = fmt.Sprintf(" (%s/s)", planner.FormatBytes(int64(float64(s.BytesRead)/secs)))
		}
		bad := ""
		if s.BadRecords > 0 || s.BadFiles > 0 {
			bad = fmt.Sprintf(" %d bad records and %d unreadable files were %s.", s.BadRecords, s.BadFiles, policyVerb(pp))
		}
		fmt.Fprintf(inv.Stdout, "\n%s: read %d files (%s) in %.1fs%s, %d rows in, %d rows out; wrote %d files (%s) to %s, committed as run %s.%s\n",
			pp.Name, s.FilesRead, planner.FormatBytes(s.BytesRead), secs, rate, s.RowsIn, s.RowsOut,
			s.FilesWritten, planner.FormatBytes(s.BytesWritten), where, m.RunID, bad)
	}
	return cli.ExitOK
}

// configChanged applies the config-digest rule for saved plans: when the
// current directory holds a configuration that loads and defines every
// pipeline of the plan, its digest (files and resolved variables) must be
// the plan's. A plan applied away from any configuration is checked
// against state and inputs only.
//
// It returns that configuration when it is the plan's (apply takes its
// catalogs' secrets from it), else nil.
func configChanged(inv *cli.Invocation, plan *planner.Plan) (string, *spec.Config) {
	if m, _ := filepath.Glob("*.hcl"); len(m) == 0 || plan.ConfigDigest == "" {
		return "", nil
	}
	cfg, diags := spec.Load(".", spec.LoadOptions{Vars: inv.Common.Vars, VarFiles: inv.Common.VarFiles, Environ: inv.Environ})
	if diags.HasErrors() || cfg == nil {
		return "", nil
	}
	for _, pp := range plan.Pipelines {
		if !slices.ContainsFunc(cfg.Pipelines, func(p *spec.Pipeline) bool { return p.Name == pp.Name }) {
			return "", nil
		}
	}
	if cfg.Digest != plan.ConfigDigest {
		return "the plan is stale: the configuration in the current directory (its files or variable values) changed since the plan was made; run 'sluice plan' again", nil
	}
	return "", cfg
}

func stale(inv *cli.Invocation, ev *events, pipeline, msg string) cli.ExitCode {
	ev.emit("error", map[string]any{"pipeline": pipeline, "message": msg})
	fmt.Fprintln(inv.Stderr, "Error: "+msg)
	return cli.ExitStalePlan
}

// confirm asks on the terminal; without one, apply refuses (exit 1).
func confirm(inv *cli.Invocation) (cli.ExitCode, bool) {
	f, ok := inv.Stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return inv.Errorf("no terminal to confirm on: pass -auto-approve, or save a plan with 'sluice plan -out FILE' and run 'sluice apply FILE'"), false
	}
	fmt.Fprint(inv.Stdout, "\nDo you want to run this plan? Only 'yes' will be accepted.\n  Enter a value: ")
	line, _ := bufio.NewReader(inv.Stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintln(inv.Stdout, "\nApply cancelled.")
		return cli.ExitError, false
	}
	return cli.ExitOK, true
}

// lockHeld reports a lock held by another run (exit 6, naming the holder).
func lockHeld(inv *cli.Invocation, ev *events, pipeline string, held *state.LockHeldError) cli.ExitCode {
	msg := fmt.Sprintf("pipeline %s is locked by another run: %s. It is released when that run ends, or taken over once its lease expires; if that run is certainly dead, 'sluice state unlock %s' frees it.", pipeline, held.Holder, pipeline)
	ev.emit("error", map[string]any{"pipeline": pipeline, "message": msg, "holder": held.Holder})
	fmt.Fprintln(inv.Stderr, "Error: "+msg)
	return cli.ExitLocked
}

func policyVerb(pp *planner.PipelinePlan) string {
	if pp.Source.OnBadRecord.String() == "quarantine" {
		return "quarantined under _sluice/bad/"
	}
	return "skipped"
}

func fail(inv *cli.Invocation, ev *events, pipeline string, err error) cli.ExitCode {
	if inv.Ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, inv.Ctx.Err())) {
		ev.emit("error", map[string]any{"pipeline": pipeline, "message": "interrupted; the run was aborted and nothing was committed"})
		fmt.Fprintln(inv.Stderr, "Interrupted: the run was aborted and nothing was committed.")
		return cli.ExitInterrupted
	}
	msg := objstore.Describe(err)
	ev.emit("error", map[string]any{"pipeline": pipeline, "message": msg})
	fmt.Fprintf(inv.Stderr, "Error: pipeline %s: %s\n", pipeline, msg)
	return cli.ExitError
}

// events writes apply -json's NDJSON stream; without -json it is silent.
type events struct {
	mu  sync.Mutex
	on  bool
	out io.Writer
	inv *cli.Invocation
}

func newEvents(inv *cli.Invocation) *events {
	return &events{on: inv.Common.JSON, out: inv.Stdout, inv: inv}
}

func (e *events) emit(typ string, fields map[string]any) {
	if !e.on {
		return
	}
	obj := map[string]any{"type": typ, "time": time.Now().UTC().Format(time.RFC3339Nano)}
	for k, v := range fields {
		obj[k] = v
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	writeJSONLine(e.out, obj)
}

// progress shows a bar on a terminal, or throttled progress events in -json.
type progress struct {
	pipeline string
	ev       *events
	bar      *progressbar.ProgressBar
	mu       sync.Mutex
	last     time.Time
}

func newProgress(inv *cli.Invocation, ev *events, pipeline string, totalBytes int64) *progress {
	p := &progress{pipeline: pipeline, ev: ev}
	if !inv.Common.JSON && isTerminal(inv.Stderr) {
		p.bar = progressbar.NewOptions64(totalBytes,
			progressbar.OptionSetWriter(inv.Stderr),
			progressbar.OptionSetDescription(pipeline),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			// No throttle here: exec reports progress at most every 200ms.
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

func (p *progress) update(pr exec.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		// Describe first: Set64 renders, with the description it has.
		p.bar.Describe(fmt.Sprintf("%s  %d/%d files  %d rows", pr.Pipeline, pr.FilesDone, pr.FilesTotal, pr.RowsIn))
		_ = p.bar.Set64(pr.BytesDone)
	}
	if pr.Event != "progress" {
		p.ev.emit(pr.Event, map[string]any{"pipeline": pr.Pipeline, "task": pr.Task})
	}
	if time.Since(p.last) >= time.Second || pr.FilesDone == pr.FilesTotal {
		p.last = time.Now()
		p.ev.emit("progress", map[string]any{"pipeline": pr.Pipeline, "files_done": pr.FilesDone, "files_total": pr.FilesTotal,
			"bytes_done": pr.BytesDone, "bytes_total": pr.BytesTotal, "rows_in": pr.RowsIn, "rows_out": pr.RowsOut})
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// gcToMemoryLimit makes an explicit -memory-limit a soft limit for the Go
// heap during a run, so that the GC collects harder as the process nears
// it instead of letting the heap grow to twice the live data (GOGC). The
// flag bounds buffered data, which is most of the heap; decoded batches
// and the runtime come on top, hence the headroom. An environment
// GOMEMLIMIT wins, and without the flag the GC is left alone: a default
// limit below a large run's live heap would make the GC run constantly.
// It returns the function restoring the previous limit.
func gcToMemoryLimit(limit int64) func() {
	if limit <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	const headroom = 64 << 20
	prev := debug.SetMemoryLimit(limit + limit/4 + headroom)
	return func() { debug.SetMemoryLimit(prev) }
}
