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

	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
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
		if msg := configChanged(inv, plan); msg != "" {
			return stale(inv, ev, "", msg)
		}
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
		exec.KillPoint("after-plan")
	}
	if inv.Common.JSON {
		ev.emit("plan", map[string]any{"run_id": plan.RunID, "pipelines": len(plan.Pipelines), "pending": hasWork(plan)})
	} else if !fromFile {
		if err := planner.WriteText(inv.Stdout, plan); err != nil {
			return inv.Errorf("writing output: %v", err)
		}
	}
	for _, pp := range plan.Pipelines {
		if !pp.Summary.Pending {
			if code := recoverAbandoned(inv, ev, plan.RunID, pp); code != cli.ExitOK {
				return code
			}
		}
	}
	if !hasWork(plan) {
		if inv.Common.JSON {
			ev.emit("summary", map[string]any{"run_id": plan.RunID, "nothing_to_do": true})
		} else {
			fmt.Fprintln(inv.Stdout, "\nNothing to do: every input is already processed.")
		}
		return cli.ExitOK
	}
	if !fromFile && !auto {
		if code, ok := confirm(inv); !ok {
			return code
		}
	}
	for _, pp := range plan.Pipelines {
		if !pp.Summary.Pending {
			continue
		}
		a := &pipelineApply{inv: inv, ev: ev, plan: plan, pp: pp, auto: auto}
		if !fromFile {
			a.replan = func() (*planner.Plan, error) { return buildPlan(inv.Ctx, cfg, []string{pp.Name}, nil) }
		}
		if code := a.run(); code != cli.ExitOK {
			return code
		}
	}
	return cli.ExitOK
}

// configChanged applies the config-digest rule for saved plans: when the
// current directory holds a configuration that loads and defines every
// pipeline of the plan, its digest (files and resolved variables) must be
// the plan's. A plan applied away from any configuration is checked
// against state and inputs only.
func configChanged(inv *cli.Invocation, plan *planner.Plan) string {
	if m, _ := filepath.Glob("*.hcl"); len(m) == 0 || plan.ConfigDigest == "" {
		return ""
	}
	cfg, diags := spec.Load(".", spec.LoadOptions{Vars: inv.Common.Vars, VarFiles: inv.Common.VarFiles, Environ: inv.Environ})
	if diags.HasErrors() || cfg == nil {
		return ""
	}
	for _, pp := range plan.Pipelines {
		if !slices.ContainsFunc(cfg.Pipelines, func(p *spec.Pipeline) bool { return p.Name == pp.Name }) {
			return ""
		}
	}
	if cfg.Digest != plan.ConfigDigest {
		return "the plan is stale: the configuration in the current directory (its files or variable values) changed since the plan was made; run 'sluice plan' again"
	}
	return ""
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

// pipelineApply runs one pipeline of a plan under the commit protocol:
// lock, recover, stale checks, journal WRITING, run, commit, compact,
// release (docs/commit-protocol.md).
type pipelineApply struct {
	inv  *cli.Invocation
	ev   *events
	plan *planner.Plan
	pp   *planner.PipelinePlan
	auto bool
	// replan, for apply DIR, plans this pipeline again (under the lock)
	// when the state moved since the first plan; nil for a saved plan,
	// which is then stale.
	replan func() (*planner.Plan, error)
}

func openLoc(ctx context.Context, url string) (objstore.Location, error) {
	return objstore.Open(ctx, url)
}

// detached is a context for cleanup and commit steps that must run to the
// end even when the command is being interrupted.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
}

func (a *pipelineApply) run() cli.ExitCode {
	inv, ev, pp := a.inv, a.ev, a.pp
	ctx := inv.Ctx
	stateLoc, err := openLoc(ctx, pp.State.URL)
	if err != nil {
		return fail(inv, ev, pp.Name, err)
	}
	st := state.AtDir(stateLoc.Store, pp.State.Dir)
	lock, err := st.Acquire(ctx, state.LockOptions{RunID: a.plan.RunID, Command: "apply", Lease: state.LeaseFromEnv(inv.Getenv)})
	if code, done := lockFailed(inv, ev, pp.Name, err); done {
		return code
	}
	defer func() {
		rctx, cancel := detached(ctx)
		defer cancel()
		if err := lock.Release(rctx); err != nil {
			fmt.Fprintf(inv.Stderr, "Warning: %s\n", objstore.Describe(err))
		}
	}()
	exec.KillPoint("after-lock")
	// Recovery first: an earlier run that crashed is finished or undone
	// before this one looks at the state.
	rec, err := exec.Recover(lock.Context(), st, openLoc, lock)
	for _, r := range rec {
		fmt.Fprintf(inv.Stderr, "Recovered: pipeline %s: %s (interrupted earlier).\n", pp.Name, r)
	}
	if err != nil {
		return fail(inv, ev, pp.Name, err)
	}
	// Stale-plan checks, under the lock so nothing moves afterwards.
	movedFrom, headETag, why, err := checkPin(ctx, st, pp.State)
	if err != nil {
		return fail(inv, ev, pp.Name, err)
	}
	if why != "" {
		if a.replan == nil {
			return stale(inv, ev, pp.Name, fmt.Sprintf("the plan is stale: %s; run 'sluice plan' again", why))
		}
		np, err := a.replan()
		if err != nil {
			return storageError(inv, err)
		}
		if len(np.Pipelines) != 1 {
			return inv.Errorf("re-planning %s: expected one pipeline, got %d", pp.Name, len(np.Pipelines))
		}
		a.plan, a.pp, pp = np, np.Pipelines[0], np.Pipelines[0]
		fmt.Fprintf(inv.Stderr, "The state of %s changed since planning (%s); planned again.\n", pp.Name, why)
		if !pp.Summary.Pending {
			if !inv.Common.JSON {
				fmt.Fprintf(inv.Stdout, "\n%s: nothing to do: every input is already processed.\n", pp.Name)
			}
			return cli.ExitOK
		}
		if !inv.Common.JSON {
			_ = planner.WriteText(inv.Stdout, np)
		}
		if !a.auto {
			if code, ok := confirm(inv); !ok {
				return code
			}
		}
		if movedFrom, headETag, why, err = checkPin(ctx, st, pp.State); err != nil || why != "" {
			return fail(inv, ev, pp.Name, fmt.Errorf("state moved while re-planning under the lock: %s %v", why, err))
		}
	}
	runID := a.plan.RunID
	job, err := exec.JobFromPlan(ctx, runID, pp, openLoc)
	if err != nil {
		return fail(inv, ev, pp.Name, err)
	}
	if a.replan == nil {
		if err := exec.CheckInputs(ctx, job, 32); err != nil {
			var ic *exec.InputChangedError
			if errors.As(err, &ic) {
				return stale(inv, ev, pp.Name, "the plan is stale: input "+ic.Error())
			}
			return fail(inv, ev, pp.Name, err)
		}
	}
	journal, err := exec.BeginRun(ctx, st, runID, job.Sink.Loc.String(), job.Sink.Committer == spec.CommitterDirect)
	if err != nil {
		return fail(inv, ev, pp.Name, err)
	}
	abort := func(res *exec.Result, cause error) {
		actx, cancel := detached(ctx)
		defer cancel()
		if err := exec.AbortRun(actx, st, journal, job.Sink.Loc, res, cause); err != nil {
			fmt.Fprintf(inv.Stderr, "Warning: cleaning up run %s: %s (the next apply finishes the clean-up)\n", runID, objstore.Describe(err))
		}
	}
	bar := newProgress(inv, ev, pp)
	defer gcToMemoryLimit(inv.Common.MemoryLimit)()
	res, err := exec.Run(lock.Context(), job, exec.Options{
		Parallelism: inv.Common.Parallelism, MemoryLimit: inv.Common.MemoryLimit,
		Version: version, Progress: func(p exec.Progress) {
			bar.update(p)
			if p.Event == "task_done" {
				exec.KillPoint("task-done")
			}
		},
	})
	bar.finish()
	if err != nil {
		abort(nil, err)
		var ic *exec.InputChangedError
		if errors.As(err, &ic) {
			return stale(inv, ev, pp.Name, fmt.Sprintf("pipeline %s: input %s", pp.Name, ic.Error()))
		}
		return fail(inv, ev, pp.Name, lockCause(lock, err))
	}
	exec.KillPoint("after-run")
	for _, c := range res.Checks {
		ev.emit("check", map[string]any{"pipeline": pp.Name, "check": c})
		if !inv.Common.JSON && !c.Passed {
			fmt.Fprintf(inv.Stderr, "check %s (%s) failed: %s\n", c.Name, c.Severity, c.Message)
			for _, e := range c.Examples {
				fmt.Fprintf(inv.Stderr, "  e.g. %s\n", e)
			}
		}
	}
	if res.ChecksFailed() {
		abort(res, errors.New("a blocking check failed"))
		msg := fmt.Sprintf("pipeline %s: a blocking check failed; nothing was committed", pp.Name)
		ev.emit("error", map[string]any{"pipeline": pp.Name, "message": msg})
		fmt.Fprintln(inv.Stderr, "Error: "+msg)
		return cli.ExitChecksFailed
	}
	if err := lock.Context().Err(); err != nil {
		abort(res, context.Cause(lock.Context()))
		return fail(inv, ev, pp.Name, lockCause(lock, err))
	}
	// From here the run publishes whole: a signal no longer stops it (the
	// commit is short and, once journaled, would be finished by the next
	// run anyway); losing the lock does, before each irrevocable step.
	cctx, cancel := detached(ctx)
	defer cancel()
	opts := exec.CommitOptions{State: st, HeadETag: headETag, Lock: lock, Journal: journal}
	if movedFrom != "" {
		opts.MovedFrom = state.AtDir(stateLoc.Store, movedFrom)
	}
	m, err := exec.Commit(cctx, res, opts)
	if err != nil {
		if journal.Phase == state.PhaseWriting {
			abort(res, err)
		}
		if errors.Is(err, objstore.ErrPrecondition) {
			return stale(inv, ev, pp.Name, fmt.Sprintf("pipeline %s: the bookmarks changed while running (another run committed): %s", pp.Name, objstore.Describe(err)))
		}
		if journal.Phase == state.PhaseCommitting {
			err = fmt.Errorf("%w (the commit was journaled: the next apply or state command finishes it, or undoes it if the journal did not land)", err)
		}
		return fail(inv, ev, pp.Name, lockCause(lock, err))
	}
	if _, err := exec.Compact(cctx, st, runID+"-compact", exec.CompactThreshold, lock); err != nil {
		fmt.Fprintf(inv.Stderr, "Warning: compacting the state of %s: %s\n", pp.Name, objstore.Describe(err))
	}
	ev.emit("committed", map[string]any{"pipeline": pp.Name, "run_id": m.RunID, "files": len(m.Files),
		"manifest": exec.ManifestKey(job.Sink.Loc.Prefix, m.RunID)})
	s := res.Stats
	ev.emit("summary", map[string]any{"pipeline": pp.Name, "run_id": m.RunID, "stats": s, "elapsed_ms": res.Elapsed.Milliseconds()})
	if !inv.Common.JSON {
		secs := res.Elapsed.Seconds()
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
			s.FilesWritten, planner.FormatBytes(s.BytesWritten), pp.Sink.URL, m.RunID, bad)
	}
	return cli.ExitOK
}

// recoverAbandoned finishes the change of a run that died after recording
// its inputs (so the plan sees nothing to do) but before releasing its lock:
// a LOCK left by a dead holder is taken over, the journal recovered, and
// the lock released. A live holder is left alone. Pipelines with work
// recover under the lock they take anyway.
func recoverAbandoned(inv *cli.Invocation, ev *events, runID string, pp *planner.PipelinePlan) cli.ExitCode {
	ctx := inv.Ctx
	loc, err := openLoc(ctx, pp.State.URL)
	if err != nil {
		return fail(inv, ev, pp.Name, err)
	}
	return recoverDead(inv, ev, runID, pp.Name, state.AtDir(loc.Store, pp.State.Dir))
}

// recoverDead is recoverAbandoned for one state directory.
func recoverDead(inv *cli.Invocation, ev *events, runID, name string, st *state.Source) cli.ExitCode {
	ctx := inv.Ctx
	if _, _, err := st.ReadLock(ctx); errors.Is(err, objstore.ErrNotExist) {
		return cli.ExitOK
	} else if err != nil {
		return fail(inv, ev, name, err)
	}
	lock, err := st.Acquire(ctx, state.LockOptions{RunID: runID, Command: "recovery", Lease: state.LeaseFromEnv(inv.Getenv)})
	var held *state.LockHeldError
	if errors.As(err, &held) {
		return cli.ExitOK
	}
	if err != nil {
		return fail(inv, ev, name, err)
	}
	defer func() {
		rctx, cancel := detached(ctx)
		defer cancel()
		_ = lock.Release(rctx)
	}()
	rec, err := exec.Recover(lock.Context(), st, openLoc, lock)
	for _, r := range rec {
		fmt.Fprintf(inv.Stderr, "Recovered: pipeline %s: %s (interrupted earlier).\n", name, r)
	}
	if err != nil {
		return fail(inv, ev, name, err)
	}
	return cli.ExitOK
}

// checkPin compares the state with the plan's pin. It returns the old
// directory to adopt (moved block), the HEAD ETag the commit must find, and
// why the plan is stale ("" when it is not).
func checkPin(ctx context.Context, st *state.Source, pin planner.StatePin) (movedFrom, etag, why string, err error) {
	head, etag, err := st.Head(ctx)
	if err != nil {
		return "", "", "", err
	}
	if pin.MovedFrom != "" && etag == "" {
		old := state.AtDir(st.Store(), pin.MovedFrom)
		_, oetag, err := old.Head(ctx)
		if err != nil {
			return "", "", "", err
		}
		if oetag != pin.ETag {
			return "", "", fmt.Sprintf("the bookmarks of %s changed since the plan was made", pin.MovedFrom), nil
		}
		return pin.MovedFrom, oetag, "", nil
	}
	if etag != pin.ETag {
		return "", "", fmt.Sprintf("the bookmarks changed since the plan was made (state version %d, planned against %d: another run committed)", head.Version, pin.Version), nil
	}
	return "", etag, "", nil
}

// lockFailed turns a lock error into exit 6 (held, printing the holder) or
// 1; done is false when the lock was taken.
func lockFailed(inv *cli.Invocation, ev *events, pipeline string, err error) (cli.ExitCode, bool) {
	if err == nil {
		return cli.ExitOK, false
	}
	var held *state.LockHeldError
	if errors.As(err, &held) {
		msg := fmt.Sprintf("pipeline %s is locked by another run: %s. It is released when that run ends, or taken over once its lease expires; if that run is certainly dead, 'sluice state unlock %s' frees it.", pipeline, held.Holder, pipeline)
		ev.emit("error", map[string]any{"pipeline": pipeline, "message": msg, "holder": held.Holder})
		fmt.Fprintln(inv.Stderr, "Error: "+msg)
		return cli.ExitLocked, true
	}
	return fail(inv, ev, pipeline, err), true
}

// lockCause replaces a cancellation caused by losing the lock with the
// LockLostError, so the user reads why rather than "context canceled".
func lockCause(lock *state.Lock, err error) error {
	if lerr := lock.Err(); lerr != nil && errors.Is(err, context.Canceled) {
		return lerr
	}
	return err
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
	ev   *events
	bar  *progressbar.ProgressBar
	mu   sync.Mutex
	last time.Time
}

func newProgress(inv *cli.Invocation, ev *events, pp *planner.PipelinePlan) *progress {
	p := &progress{ev: ev}
	if !inv.Common.JSON && isTerminal(inv.Stderr) {
		p.bar = progressbar.NewOptions64(pp.Summary.Inputs.Bytes,
			progressbar.OptionSetWriter(inv.Stderr),
			progressbar.OptionSetDescription(pp.Name),
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
