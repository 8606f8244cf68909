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
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/sluicedata/sluice/apply"
	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/cmd/sluice/internal/diagview"
	"github.com/sluicedata/sluice/cmd/sluice/internal/promexport"
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
		Help: `With a PLANFILE (from 'sluice plan -out'), runs exactly that plan, once
it is checked against the configuration it was made from: the directory
plan was given, relative to here (run apply where plan ran, with the
same -var flags). A plan whose configuration is not found, changed, or does not
give what the plan says (an edited plan) exits 5 naming the difference.
With a DIR (default: the current directory), plans the next run, shows the
plan, asks for confirmation (or takes -auto-approve) and runs it.

Pipelines run one after another in name order; the first failure stops
the run with its exit code. Each pipeline's outputs are written as pending
uploads and published together at commit, and only then are its inputs
recorded as processed: a failed run leaves no output and no bookmark.

With -json, apply streams NDJSON events on stdout: plan, task_started,
progress, task_done, check, committed, summary, error. Without a terminal, apply DIR
needs -auto-approve.

Exit codes: 0 done (or nothing to do), 1 runtime error, 4 invalid
configuration, 5 stale plan, 6 locked by another run (the holder is
printed), 7 a blocking check failed (nothing committed),
130 interrupted (the run was aborted cleanly).

With -executor temporal the tasks run on 'sluice worker' processes
through Temporal, with -executor external on jobs another scheduler runs
('sluice task'); apply stays the coordinator that locks, journals and
commits (docs/scale-out.md).`,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			auto := fs.Bool("auto-approve", false, "Run without asking for confirmation (the plan is then shown one line per pipeline).")
			verbose := fs.Bool("verbose", false, "Show the whole plan, with the rules that fired, also with -auto-approve.")
			lockTimeout := fs.Duration("lock-timeout", 0, "Wait up to `DURATION` for another run's lock instead of exiting 6.")
			metricsFile := fs.String("metrics-file", "", "Write the run's Prometheus metrics to `FILE` (node exporter textfile format, atomically).")
			metricsPush := fs.String("metrics-push", "", "Push the run's Prometheus metrics to the Pushgateway at `URL`.")
			untilDrained := fs.Bool("until-drained", false, "Apply bounded runs one after another until every backlog is drained (with -auto-approve).")
			maxRuns := fs.Int("max-runs", 0, "With -until-drained: stop after `N` runs (0: no limit).")
			maxDuration := fs.Duration("max-duration", 0, "With -until-drained: start no run after `DURATION` (0: no limit).")
			retries := fs.Int("retries", 0, "Run a task that failed with an error a retry may mend (storage trouble) again, up to `N` times, with backoff (local executor).")
			lineageFile := fs.String("lineage-file", "", "Append OpenLineage run events to `FILE` (one JSON object per line); OPENLINEAGE_URL sends them over HTTP.")
			var pipelines cli.StringList
			fs.Var(&pipelines, "pipeline", "Run only pipelines matching `NAME` (glob, repeatable; with DIR).")
			var ef executorFlags
			ef.register(fs)
			return func(inv *cli.Invocation) cli.ExitCode {
				return runApply(inv, applyFlags{auto: *auto, verbose: *verbose, lockTimeout: *lockTimeout, metricsFile: *metricsFile, metricsPush: *metricsPush, lineageFile: *lineageFile,
					untilDrained: *untilDrained, maxRuns: *maxRuns, maxDuration: *maxDuration, retries: *retries, executor: ef}, pipelines)
			}
		},
	}
}

// applyFlags are apply's own flags.
type applyFlags struct {
	auto, verbose bool
	lockTimeout   time.Duration
	// metricsFile and metricsPush export the runs' metrics (promexport).
	metricsFile, metricsPush string
	// lineageFile receives OpenLineage events (with OPENLINEAGE_URL).
	lineageFile string
	// untilDrained repeats bounded runs, within maxRuns and maxDuration.
	untilDrained bool
	maxRuns      int
	maxDuration  time.Duration
	// retries is -retries: a failed task's further attempts (exec.Options).
	retries int
	// executor chooses where the tasks run (-executor and its flags).
	executor executorFlags
}

func runApply(inv *cli.Invocation, af applyFlags, pipelines []string) cli.ExitCode {
	ev := newEvents(inv)
	if af.retries < 0 || af.retries > 100 {
		return inv.UsageError("-retries %d: give a number of retries from 0 to 100", af.retries)
	}
	if len(inv.Args) == 1 {
		if fi, err := os.Stat(inv.Args[0]); err == nil && !fi.IsDir() {
			if af.untilDrained {
				return inv.UsageError("-until-drained plans and applies again and again: it takes a directory and -auto-approve, not a saved plan")
			}
			plan, err := readPlan(inv.Args[0])
			if err != nil {
				msg := fmt.Sprintf("reading plan %s: %v", inv.Args[0], err)
				ev.emit("error", map[string]any{"pipeline": "", "message": msg})
				return inv.Errorf("%s", msg)
			}
			cfg, code := savedPlanConfig(inv, ev, plan)
			if code != cli.ExitOK {
				return code
			}
			return applyPlan(inv, af, ev, plan, cfg, true)
		}
	}
	if af.untilDrained && !af.auto {
		return inv.UsageError("-until-drained plans and applies again and again: it takes a directory and -auto-approve, not a saved plan")
	}
	dir := "."
	if len(inv.Args) > 0 {
		dir = inv.Args[0]
	}
	cfg, diags, code := loadConfigAt(inv, dir)
	if cfg == nil {
		cwd, _ := os.Getwd()
		ev.emit("error", map[string]any{"pipeline": "", "message": "the configuration is invalid; run 'sluice validate' for details",
			"diagnostics": diagview.ToJSON(diags, diagview.Options{Cwd: cwd})})
		return code
	}
	start := time.Now()
	for run := 1; ; run++ {
		listed, done := listingProgress(inv)
		p, err := buildPlan(inv.Ctx, cfg, pipelines, listed)
		done()
		if err != nil {
			return planFailed(inv, ev, err)
		}
		if run > 1 && !apply.HasWork(p) {
			// Drained: the previous run took the last of the backlog.
			return cli.ExitOK
		}
		if code := applyPlan(inv, af, ev, p, cfg, false); code != cli.ExitOK || !af.untilDrained || !apply.HasWork(p) {
			return code
		}
		// -until-drained: each run has committed on its own, so stopping
		// here, by a limit or a signal, loses nothing.
		switch {
		case inv.Ctx.Err() != nil:
			return cli.ExitInterrupted
		case af.maxRuns > 0 && run >= af.maxRuns:
			fmt.Fprintf(inv.Stderr, "Stopped after %s (-max-runs); the backlog is not drained.\n", plural(run, "run"))
			return cli.ExitOK
		case af.maxDuration > 0 && time.Since(start) >= af.maxDuration:
			fmt.Fprintf(inv.Stderr, "Stopped after %s and %s (-max-duration); the backlog is not drained.\n", time.Since(start).Round(time.Second), plural(run, "run"))
			return cli.ExitOK
		}
	}
}

// applyPlan shows plan (unless it is a saved one) and applies it; cfg is
// the configuration it was made from: re-planned from under the lock, or,
// for a saved plan (saved), what every pipeline of it must follow from.
func applyPlan(inv *cli.Invocation, af applyFlags, ev *events, plan *planner.Plan, cfg *spec.Config, saved bool) cli.ExitCode {
	auto, verbose := af.auto, af.verbose
	if inv.Common.JSON {
		ev.emit("plan", map[string]any{"run_id": plan.RunID, "pipelines": len(plan.Pipelines), "pending": apply.HasWork(plan)})
	} else if !saved {
		// -auto-approve: nobody reviews the tree, one line per pipeline
		// says what runs; otherwise the plan to confirm.
		if err := planner.WriteText(inv.Stdout, plan, planner.TextOptions{Compact: auto && !verbose, Verbose: verbose, Cwd: textOptions(false).Cwd}); err != nil {
			return inv.Errorf("writing output: %v", err)
		}
	}
	v := &applyView{inv: inv, ev: ev}
	ex, closeEx, err := af.executor.executor(inv, ev)
	if err != nil {
		return inv.Errorf("%v", err)
	}
	defer closeEx()
	opts := apply.Options{
		Executor:     ex,
		StopExecutor: stopExecutor(inv, af.executor.temporal),
		Exec:         exec.Options{Parallelism: inv.Common.Parallelism, MemoryLimit: inv.Common.MemoryLimit, Version: version, Retries: af.retries},
		Lease:        state.LeaseFromEnv(inv.Getenv),
		LockWait:     af.lockTimeout,
		Catalogs:     tables.NewOpener(cfg),
		Hooks: apply.Hooks{
			LockWait:  func(pipeline string, h state.LockInfo) { waitingForLock(inv, pipeline, h, af.lockTimeout) },
			Recovered: v.recovered,
			Progress:  v.progress,
			Check:     v.check,
			Warn:      func(msg string) { fmt.Fprintf(inv.Stderr, "Warning: %s\n", msg) },
			Replanned: func(np *planner.Plan, why string) bool { return v.replanned(np, why, auto) },
		},
	}
	if saved {
		opts.Config = cfg // every pipeline's plan must follow from it
	} else {
		opts.Replan = func(ctx context.Context, name string) (*planner.Plan, error) {
			return buildPlan(ctx, cfg, []string{name}, nil)
		}
		if !auto {
			opts.Hooks.Confirm = v.confirm
		}
	}
	lin := newLineageView(inv, af.lineageFile)
	if lin != nil {
		opts.Hooks.Started = lin.startedRun
	}
	defer gcToMemoryLimit(inv.Common.MemoryLimit)()
	results := apply.Run(inv.Ctx, plan, opts)
	if lin != nil {
		lin.ended(results)
	}
	if v.bar != nil {
		v.bar.finish()
	}
	exportMetrics(inv, af, results)
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
		_ = planner.WriteText(inv.Stdout, np, textOptions(false))
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
			return planFailed(inv, ev, pe.Err)
		}
		return fail(inv, ev, r.Pipeline, r.Err)
	}
	pp, s, m := r.Plan, r.Stats, r.Manifest
	committed := map[string]any{"pipeline": r.Pipeline, "run_id": m.RunID, "files": len(m.Files), "manifest": r.ManifestKey}
	where := planner.RelativePaths(strings.TrimSuffix(pp.Sink.URL, "/")+"/", textOptions(false).Cwd)
	if r.Table != "" {
		committed["table"], committed["snapshot_id"] = r.Table, r.Snapshot
		where = fmt.Sprintf("table %s (snapshot %d)", r.Table, r.Snapshot)
	}
	ev.emit("committed", committed)
	ev.emit("summary", map[string]any{"pipeline": r.Pipeline, "run_id": m.RunID, "stats": s, "metrics": r.Metrics, "retries": r.Retries, "elapsed_ms": r.Elapsed.Milliseconds()})
	if !inv.Common.JSON {
		secs := r.Elapsed.Seconds()
		rate := ""
		if secs > 0 {
			rate = fmt.Sprintf(" (%s/s)", planner.FormatBytes(int64(float64(s.BytesRead)/secs)))
		}
		bad := ""
		if s.BadRecords > 0 || s.BadFiles > 0 {
			bad = fmt.Sprintf(" %s and %s were %s.", plural(int(s.BadRecords), "bad record"), plural(int(s.BadFiles), "unreadable file"), policyVerb(pp))
		}
		if s.Deduped > 0 {
			bad += " Dedupe left out " + plural(int(s.Deduped), "duplicate row") + "."
		}
		retried := ""
		if r.Retries > 0 {
			// Retries are logged one by one at info level; the count says
			// whether they are worth a look.
			retried = " Retried " + plural(int(r.Retries), "S3 request") + "."
		}
		if r.Metrics != nil && r.Metrics.Retries["tasks"] > 0 {
			retried += " Retried " + plural(int(r.Metrics.Retries["tasks"]), "task") + " (-retries)."
		}
		fmt.Fprintf(inv.Stdout, "%s: read %s (%s) in %.1fs%s, %s in, %s out; wrote %s (%s) to %s, committed as run %s.%s%s\n",
			pp.Name, plural(int(s.FilesRead), "file"), planner.FormatBytes(s.BytesRead), secs, rate, plural(int(s.RowsIn), "row"), plural(int(s.RowsOut), "row"),
			plural(int(s.FilesWritten), "file"), planner.FormatBytes(s.BytesWritten), where, m.RunID, bad, retried)
	}
	return cli.ExitOK
}

// savedPlanConfig loads the configuration a saved plan was made from:
// the directory plan recorded (as plan was given it, so relative to the
// directory plan ran in), resolved from the current directory. A plan is
// checked against it before anything runs (apply.Options.Config); one
// whose configuration cannot be found is refused (exit 5), never run
// unchecked, and so is one whose configuration changed since (its digest:
// files and resolved variable values, so pass the same -var flags). A
// plan without pipelines does nothing and needs none.
func savedPlanConfig(inv *cli.Invocation, ev *events, plan *planner.Plan) (*spec.Config, cli.ExitCode) {
	if len(plan.Pipelines) == 0 {
		return nil, cli.ExitOK
	}
	dir := plan.ConfigDir
	if dir == "" {
		dir = "."
	}
	if !hasConfig(dir) {
		return nil, stale(inv, ev, "", fmt.Sprintf("cannot check the plan against its configuration: it was made from %s (relative to the directory 'sluice plan' ran in), and %s holds no configuration from here; run 'sluice apply' in the directory plan ran in, or run 'sluice plan' again", dir, dir))
	}
	cfg, diags, code := loadConfigAt(inv, dir)
	if cfg == nil {
		cwd, _ := os.Getwd()
		ev.emit("error", map[string]any{"pipeline": "", "message": fmt.Sprintf("the plan's configuration %s is invalid; run 'sluice validate' for details", dir),
			"diagnostics": diagview.ToJSON(diags, diagview.Options{Cwd: cwd})})
		return nil, code
	}
	if cfg.Digest != plan.ConfigDigest {
		return nil, stale(inv, ev, "", fmt.Sprintf("the plan is stale: its configuration %s (its files or variable values) changed since the plan was made; run 'sluice plan' again", dir))
	}
	return cfg, cli.ExitOK
}

// hasConfig reports whether dir is a directory holding configuration files.
func hasConfig(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.hcl"))
	for _, f := range m {
		if !strings.HasSuffix(f, ".test.hcl") && !strings.HasSuffix(f, ".vars.hcl") {
			return true
		}
	}
	return false
}

// planFailed reports a failure to plan: the error event with -json, and
// the storage error's line on stderr.
func planFailed(inv *cli.Invocation, ev *events, err error) cli.ExitCode {
	if errors.Is(err, context.Canceled) && inv.Ctx.Err() != nil {
		ev.emit("error", map[string]any{"pipeline": "", "message": "interrupted while planning; nothing was run"})
	} else {
		ev.emit("error", map[string]any{"pipeline": "", "message": objstore.Describe(err)})
	}
	return storageError(inv, err)
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
	answer, err := readAnswer(inv.Ctx, inv.Stdin)
	if err != nil {
		// SIGINT or SIGTERM at the prompt: nothing ran, and it says so.
		fmt.Fprintln(inv.Stdout)
		fmt.Fprintln(inv.Stderr, "Interrupted: apply was cancelled at the prompt; nothing was run.")
		return cli.ExitInterrupted, false
	}
	if answer != "yes" {
		fmt.Fprintln(inv.Stdout, "\nApply cancelled.")
		return cli.ExitError, false
	}
	return cli.ExitOK, true
}

// readAnswer reads one line from r, or returns ctx's error as soon as ctx
// is cancelled (a signal): a blocked read of the terminal must not make
// the process deaf to SIGTERM. The reading goroutine is left blocked on a
// terminal that is about to be let go by the exiting process.
func readAnswer(ctx context.Context, r io.Reader) (string, error) {
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		return strings.TrimSpace(s), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
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

// progress shows a bar on a terminal, a line every so often on a stderr
// that is not one, or throttled progress events in -json.
type progress struct {
	pipeline string
	ev       *events
	bar      *progressbar.ProgressBar
	mu       sync.Mutex
	last     time.Time
	start    time.Time
	// lines, when set, gets a progress line every `every`.
	lines    io.Writer
	every    time.Duration
	lastLine time.Time
}

// progressLineEvery is how often a run without a terminal prints a
// progress line: SLUICE_PROGRESS_EVERY (a duration), else 30s.
func progressLineEvery(getenv func(string) string) time.Duration {
	if d, err := time.ParseDuration(getenv("SLUICE_PROGRESS_EVERY")); err == nil && d > 0 {
		return d
	}
	return 30 * time.Second
}

func newProgress(inv *cli.Invocation, ev *events, pipeline string, totalBytes int64) *progress {
	p := &progress{pipeline: pipeline, ev: ev, start: time.Now()}
	p.lastLine = p.start
	if !inv.Common.JSON && !isTerminal(inv.Stderr) {
		// No terminal (cron, CI, a container's log): a line every so
		// often instead of a bar, so a long run is not silent until it ends.
		p.lines, p.every = inv.Stderr, progressLineEvery(inv.Getenv)
	}
	if !inv.Common.JSON && isTerminal(inv.Stderr) {
		p.bar = progressbar.NewOptions64(totalBytes,
			progressbar.OptionSetWriter(inv.Stderr),
			progressbar.OptionSetDescription(pipeline),
			progressbar.OptionShowBytes(true),
			progressbar.OptionUseIECUnits(true), // MiB, as plan and the summary say
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
	if p.lines != nil && time.Since(p.lastLine) >= p.every && pr.FilesTotal > 0 {
		p.lastLine = time.Now()
		secs := time.Since(p.start).Seconds()
		fmt.Fprintf(p.lines, "%s: %d/%d files (%d%%), %s of %s, %s in, %.0fs elapsed\n",
			pr.Pipeline, pr.FilesDone, pr.FilesTotal, 100*pr.FilesDone/pr.FilesTotal,
			planner.FormatBytes(pr.BytesDone), planner.FormatBytes(pr.BytesTotal), plural(int(pr.RowsIn), "row"), secs)
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

// waitingForLock says, on stderr, that a command waits for another run's
// lock (-lock-timeout), and for how long at most.
func waitingForLock(inv *cli.Invocation, pipeline string, holder state.LockInfo, timeout time.Duration) {
	fmt.Fprintf(inv.Stderr, "Waiting up to %s for the lock of %s, held by %s.\n", timeout, pipeline, holder)
}

// exportMetrics writes or pushes the runs' metrics when asked. A failure
// to export is a warning: the runs themselves are committed or not
// whatever happens to their metrics.
func exportMetrics(inv *cli.Invocation, af applyFlags, results []apply.Result) {
	if af.metricsFile == "" && af.metricsPush == "" {
		return
	}
	runs := promRuns(results, time.Now())
	if af.metricsFile != "" {
		if err := promexport.WriteFile(af.metricsFile, runs); err != nil {
			fmt.Fprintf(inv.Stderr, "Warning: %v\n", err)
		}
	}
	if af.metricsPush != "" {
		if err := promexport.Push(af.metricsPush, runs, nil); err != nil {
			fmt.Fprintf(inv.Stderr, "Warning: %v\n", err)
		}
	}
}
