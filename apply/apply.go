package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/tables"
	"github.com/sluicedata/sluice/txn"
)

// Executor runs a job's tasks and returns their pending (uncommitted)
// outputs. On an error it leaves no pending upload of its own behind
// (apply still aborts every upload carrying the run id). Local runs the
// tasks in this process.
type Executor interface {
	Run(ctx context.Context, job *exec.Job, o exec.Options) (*exec.Result, error)
}

// Local runs every task of a job in this process, on a pool of goroutines.
type Local struct{}

// Run runs job with exec.Run.
func (Local) Run(ctx context.Context, job *exec.Job, o exec.Options) (*exec.Result, error) {
	return exec.Run(ctx, job, o)
}

// Options configure an apply.
type Options struct {
	// Executor runs the tasks; nil: Local.
	Executor Executor
	// Exec tunes the executor (parallelism, memory, version); apply sets
	// its Progress and Published hooks itself.
	Exec exec.Options
	// Open opens store URLs; nil: objstore.Open.
	Open txn.OpenFunc
	// Catalogs opens the catalogs of iceberg sinks (holding the
	// configuration's catalog secrets); nil: their recorded settings and
	// the environment.
	Catalogs *tables.Opener
	// Lease is the lock's lease (0: state's default).
	Lease time.Duration
	// LockWait is how long to wait for another run's lock before ending
	// Locked (0: not at all).
	LockWait time.Duration
	// Replan plans one pipeline again, for apply DIR, when its state moved
	// between the plan and the lock; nil for a saved plan, which is then
	// stale. A saved plan also has its pinned inputs checked before it runs.
	Replan func(ctx context.Context, pipeline string) (*planner.Plan, error)
	// Config is the configuration a saved plan was made from (apply
	// PLANFILE): each pipeline's plan must follow from it — its settings
	// (planner.Follows), and its inputs must not be processed already
	// (follows.go) — or it is Stale. nil trusts the plan, for a plan made
	// in the same process (apply DIR, fixture tests).
	Config *spec.Config
	// StopExecutor stops the tasks of an earlier run that recovery rolls
	// back, when its journal says they ran on a Remote executor; nil: such
	// a run is rolled back without stopping them.
	StopExecutor txn.StopFunc
	Hooks        Hooks
}

// Hooks report what apply does, for the command's views. Every hook is
// optional.
type Hooks struct {
	// Recovered reports an earlier run finished or undone under the lock.
	Recovered func(pipeline string, r txn.Recovered)
	// Confirm is asked once, when some pipeline has work, before anything
	// runs; false stops with Declined.
	Confirm func() bool
	// Replanned reports a pipeline planned again under the lock because
	// its state moved (why); false declines to run the new plan.
	Replanned func(np *planner.Plan, why string) bool
	// Progress receives the executor's counters (from worker goroutines).
	Progress func(exec.Progress)
	// Check reports each check's outcome before the commit decision.
	Check func(pipeline string, c exec.CheckResult)
	// Warn reports a problem that does not fail the run (a clean-up left
	// for the next apply, a compaction that failed).
	Warn func(msg string)
	// LockWait reports that apply waits (Options.LockWait) for the run
	// holding the pipeline's lock.
	LockWait func(pipeline string, holder state.LockInfo)
	// Started reports a run journaled WRITING: its tasks start now.
	Started func(pipeline, runID string, pp *planner.PipelinePlan)
}

// Outcome is how one pipeline's apply ended.
type Outcome int

// The outcomes, each with its own exit code in the command.
const (
	// Done: the run committed.
	Done Outcome = iota
	// NothingToDo: every input is already processed.
	NothingToDo
	// Stale: the plan no longer matches the state or the inputs; Err says
	// what changed. Nothing was committed.
	Stale
	// Locked: another live run holds the pipeline; Err is a
	// *state.LockHeldError naming it.
	Locked
	// ChecksFailed: a blocking check failed; nothing was committed.
	ChecksFailed
	// Interrupted: the context was cancelled; the run was aborted.
	Interrupted
	// Declined: the confirmation was refused.
	Declined
	// Failed: Err says why; the state is consistent (rolled back, or
	// journaled for the next apply to finish).
	Failed
)

var outcomeNames = []string{"done", "nothing to do", "stale", "locked", "checks failed", "interrupted", "declined", "failed"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Result is one pipeline's apply.
type Result struct {
	Pipeline string
	Outcome  Outcome
	// Err is why a pipeline Failed, is Stale or Locked.
	Err error
	// Plan is the pipeline plan that ran (after a re-plan, the new one).
	Plan  *planner.PipelinePlan
	RunID string
	// Retries counts the S3 requests of this pipeline's apply (lock,
	// recovery, tasks, commit) that needed another attempt.
	Retries int64
	// Set when the executor finished (also when a check then failed).
	Stats   exec.Stats
	Checks  []exec.CheckResult
	Elapsed time.Duration
	// Set once committed. A run into a table writes no manifest file
	// (ManifestKey ""): its snapshot, Snapshot of Table, records it.
	Manifest    *txn.Manifest
	ManifestKey string
	// Metrics are the run's figures, the commit's duration included.
	Metrics  *Metrics
	Table    string
	Snapshot int64
}

// PlanError is a failure to plan a pipeline again under the lock; the
// command reports it as it reports a failed plan.
type PlanError struct{ Err error }

func (e *PlanError) Error() string { return e.Err.Error() }
func (e *PlanError) Unwrap() error { return e.Err }

// HasWork reports whether any pipeline of p has inputs to process.
func HasWork(p *planner.Plan) bool {
	return slices.ContainsFunc(p.Pipelines, func(pp *planner.PipelinePlan) bool { return pp.Summary.Pending })
}

// Run applies plan: it first finishes any abandoned run of the pipelines
// without work, asks Hooks.Confirm when there is work, then applies each
// pipeline with work in order, stopping after the first that does not end
// Done. It returns one Result per pipeline it looked at; a plan without
// work gives NothingToDo results.
func Run(ctx context.Context, plan *planner.Plan, o Options) []Result {
	if o.Replan != nil {
		txn.KillPoint("after-plan") // planned, nothing locked yet
	}
	var out []Result
	for _, pp := range plan.Pipelines {
		if pp.Summary.Pending {
			continue
		}
		res := Result{Pipeline: pp.Name, Outcome: NothingToDo, Plan: pp, RunID: plan.RunID}
		if err := o.recoverAbandoned(ctx, plan.RunID, pp); err != nil {
			res.Outcome, res.Err = o.failure(ctx, err), err
			return append(out, res)
		}
		out = append(out, res)
	}
	if !HasWork(plan) {
		return out
	}
	if o.Hooks.Confirm != nil && !o.Hooks.Confirm() {
		return append(out, Result{Outcome: Declined, RunID: plan.RunID})
	}
	for _, pp := range plan.Pipelines {
		if !pp.Summary.Pending {
			continue
		}
		res := Pipeline(ctx, plan, pp, o)
		out = append(out, res)
		if res.Outcome != Done && res.Outcome != NothingToDo {
			break
		}
	}
	return out
}

// recoverAbandoned finishes the change of a run that died after recording
// its inputs (so the plan sees nothing to do) but before releasing its
// lock. Pipelines with work recover under the lock they take anyway.
func (o Options) recoverAbandoned(ctx context.Context, runID string, pp *planner.PipelinePlan) error {
	loc, err := o.open(ctx, pp.State.URL)
	if err != nil {
		return err
	}
	bm := state.AtDir(loc.Store, pp.State.Dir)
	rec, err := txn.RecoverAbandoned(ctx, bm, state.LockOptions{RunID: runID, Command: "recovery", Lease: o.Lease}, o.open, o.recoverOptions()...)
	o.recovered(pp.Name, rec)
	return err
}

func (o Options) open(ctx context.Context, url string) (objstore.Location, error) {
	if o.Open != nil {
		return o.Open(ctx, url)
	}
	return objstore.Open(ctx, url)
}

func (o Options) executor() Executor {
	if o.Executor != nil {
		return o.Executor
	}
	return Local{}
}

func (o Options) recovered(pipeline string, rec []txn.Recovered) {
	if o.Hooks.Recovered != nil {
		for _, r := range rec {
			o.Hooks.Recovered(pipeline, r)
		}
	}
}

func (o Options) warn(format string, args ...any) {
	if o.Hooks.Warn != nil {
		o.Hooks.Warn(fmt.Sprintf(format, args...))
	}
}

// failure classifies an error: a cancellation of ctx is an interruption.
func (o Options) failure(ctx context.Context, err error) Outcome {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, ctx.Err())) {
		return Interrupted
	}
	return Failed
}

// Pipeline applies one pipeline of plan under the commit protocol: lock
// and recover, check the plan against the state (re-planning when allowed)
// and, for a saved plan, against the inputs; journal WRITING; run the
// tasks; evaluate the checks; commit; compact; release
// (docs/commit-protocol.md).
func Pipeline(ctx context.Context, plan *planner.Plan, pp *planner.PipelinePlan, o Options) Result {
	a := &pipelineApply{o: o, plan: plan, pp: pp, retries: &objstore.RetryCounter{}}
	a.res = Result{Pipeline: pp.Name, Plan: pp, RunID: plan.RunID}
	a.run(objstore.WithRetryCounter(ctx, a.retries))
	a.res.Retries = a.retries.Retries()
	return a.res
}

type pipelineApply struct {
	o    Options
	plan *planner.Plan
	pp   *planner.PipelinePlan
	res  Result
	// retries counts the S3 requests retried so far (lock, tasks, commit).
	retries *objstore.RetryCounter
}

// end records the outcome.
func (a *pipelineApply) end(out Outcome, err error) {
	a.res.Outcome, a.res.Err = out, err
}

// fail records err as a failure, or an interruption when ctx was cancelled.
func (a *pipelineApply) fail(ctx context.Context, err error) {
	a.end(a.o.failure(ctx, err), err)
}

func (a *pipelineApply) stale(msg string) { a.end(Stale, errors.New(msg)) }

func (a *pipelineApply) run(ctx context.Context) {
	o, pp := a.o, a.pp
	if o.Config != nil {
		// Before the lock: the plan names the state location to lock.
		why, err := a.settingsDiffer(ctx)
		if err != nil {
			a.fail(ctx, err)
			return
		}
		if why != "" {
			a.stale(why)
			return
		}
	}
	stateLoc, err := o.open(ctx, pp.State.URL)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	bm := state.AtDir(stateLoc.Store, pp.State.Dir)
	// Recovery first (inside Acquire): an earlier run that crashed is
	// finished or undone before this one looks at the state.
	lo := state.LockOptions{RunID: a.plan.RunID, Command: "apply", Lease: o.Lease, Wait: o.LockWait}
	if o.Hooks.LockWait != nil {
		lo.OnWait = func(h state.LockInfo) { o.Hooks.LockWait(pp.Name, h) }
	}
	sess, rec, err := txn.Acquire(ctx, bm, lo, o.open, o.recoverOptions()...)
	o.recovered(pp.Name, rec)
	var held *state.LockHeldError
	if errors.As(err, &held) {
		a.end(Locked, held)
		return
	}
	if err != nil {
		a.fail(ctx, err)
		return
	}
	defer func() {
		if err := sess.Release(ctx); err != nil {
			o.warn("%s", objstore.Describe(err))
		}
	}()
	lock := sess.Lock()
	// Stale-plan checks, under the lock so nothing moves afterwards.
	movedFrom, headETag, why, err := checkPin(ctx, bm, pp.State)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if why != "" {
		if !a.replan(ctx, why) {
			return
		}
		pp = a.pp
		if movedFrom, headETag, why, err = checkPin(ctx, bm, pp.State); err != nil || why != "" {
			a.fail(ctx, fmt.Errorf("state moved while re-planning under the lock: %s %v", why, err))
			return
		}
	}
	if o.Config != nil {
		why, err := a.notProcessed(ctx, bm, movedFrom)
		if err != nil {
			a.fail(ctx, err)
			return
		}
		if why != "" {
			a.stale(why)
			return
		}
	}
	runID := a.plan.RunID
	// The sink's publisher prepares it before anything is written (an
	// iceberg sink's table is created or gains columns) and says where the
	// outputs go.
	pub, err := txn.NewPublisher(ctx, SinkOf(pp), o.open, txn.WithCatalogs(o.Catalogs))
	if err != nil {
		a.fail(ctx, err)
		return
	}
	defer pub.Close()
	target, err := pub.Prepare(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	job, err := exec.JobFromPlan(ctx, runID, pp, exec.OpenFunc(o.open), exec.WithSink(target.Loc, target.Table))
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if o.Replan == nil {
		if err := CheckInputs(ctx, job, 32); err != nil {
			var ic *exec.InputChangedError
			if errors.As(err, &ic) {
				a.stale("the plan is stale: input " + ic.Error())
				return
			}
			a.fail(ctx, err)
			return
		}
	}
	if err := refuseDirect(o.executor(), job); err != nil {
		a.fail(ctx, err)
		return
	}
	run, err := sess.BeginPublish(ctx, runID, pub)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	// abort rolls the run back: er's pending uploads (er may be nil: the
	// executor aborted its own), then whatever else carries the run id.
	if o.Hooks.Started != nil {
		o.Hooks.Started(pp.Name, runID, pp)
	}
	abort := func(er *exec.Result, cause error) {
		actx, cancel := txn.Detached(ctx)
		defer cancel()
		var err error
		if er != nil {
			err = exec.AbortResult(actx, er)
		}
		if err = errors.Join(err, run.Abort(actx, cause)); err != nil {
			o.warn("cleaning up run %s: %s (the next apply finishes the clean-up)", runID, objstore.Describe(err))
		}
	}
	xo := o.Exec
	xo.Progress = func(p exec.Progress) {
		if o.Hooks.Progress != nil {
			o.Hooks.Progress(p)
		}
		if p.Event == "task_done" {
			txn.KillPoint("task-done")
		}
	}
	xo.Published = func(objstore.PendingUpload) { txn.KillPoint("after-complete") }
	if err := journalExecutor(lock.Context(), o.executor(), run, job); err != nil {
		abort(nil, err)
		a.fail(ctx, lockCause(lock, err))
		return
	}
	er, err := o.executor().Run(lock.Context(), job, xo)
	if err != nil {
		abort(nil, err)
		var ic *exec.InputChangedError
		if errors.As(err, &ic) {
			a.stale(fmt.Sprintf("pipeline %s: input %s", pp.Name, ic.Error()))
			return
		}
		a.fail(ctx, lockCause(lock, err))
		return
	}
	txn.KillPoint("after-run")
	a.res.Stats, a.res.Checks, a.res.Elapsed = er.Stats, er.Checks, er.Elapsed
	if o.Hooks.Check != nil {
		for _, c := range er.Checks {
			o.Hooks.Check(pp.Name, c)
		}
	}
	if er.ChecksFailed() {
		abort(er, errors.New("a blocking check failed"))
		a.end(ChecksFailed, nil)
		return
	}
	if err := lock.Context().Err(); err != nil {
		abort(er, context.Cause(lock.Context()))
		a.fail(ctx, lockCause(lock, err))
		return
	}
	// From here the run publishes whole: a signal no longer stops it (the
	// commit is short and, once journaled, would be finished by the next
	// run anyway); losing the lock does, before each irrevocable step.
	cctx, cancel := txn.Detached(ctx)
	defer cancel()
	copts := txn.CommitOptions{HeadETag: headETag}
	if movedFrom != "" {
		copts.MovedFrom = state.AtDir(stateLoc.Store, movedFrom)
	}
	out := OutputsOf(er)
	out.CleanSource = sourceCleanup(pp)
	metrics := metricsOf(a.plan, pp, er)
	metrics.setRetries("s3_requests", a.retries.Retries())
	out.Metrics = metrics
	commitStart := time.Now()
	m, err := run.Commit(cctx, out, copts)
	if err != nil {
		if run.Phase() == state.PhaseWriting {
			abort(er, err)
		}
		if errors.Is(err, objstore.ErrPrecondition) {
			a.stale(fmt.Sprintf("pipeline %s: the bookmarks changed while running (another run committed): %s", pp.Name, objstore.Describe(err)))
			return
		}
		if run.Phase() == state.PhaseCommitting {
			err = fmt.Errorf("%w (the commit was journaled: the next apply or state command finishes it, or undoes it if the journal did not land)", err)
		}
		a.fail(ctx, lockCause(lock, err))
		return
	}
	if _, err := sess.Compact(cctx, runID+"-compact", txn.CompactThreshold); err != nil {
		o.warn("compacting the state of %s: %s", pp.Name, objstore.Describe(err))
	}
	metrics.PhasesMS["commit"] = time.Since(commitStart).Milliseconds()
	metrics.PeakRSSBytes = peakRSS()
	metrics.setRetries("s3_requests", a.retries.Retries()) // the commit's too
	a.res.Manifest, a.res.Metrics = m, metrics
	if pp.Table != nil {
		a.res.Table, a.res.Snapshot = pp.Table.Table, run.Snapshot()
	} else {
		a.res.ManifestKey = txn.ManifestKey(job.Sink.Loc.Prefix, m.RunID)
	}
	a.end(Done, nil)
}

// replan plans the pipeline again under the lock (apply DIR), or marks a
// saved plan stale. It reports whether to go on with a.pp.
func (a *pipelineApply) replan(ctx context.Context, why string) bool {
	if a.o.Replan == nil {
		a.stale(fmt.Sprintf("the plan is stale: %s; run 'sluice plan' again", why))
		return false
	}
	np, err := a.o.Replan(ctx, a.pp.Name)
	if err != nil {
		a.fail(ctx, &PlanError{err})
		return false
	}
	if len(np.Pipelines) != 1 {
		a.fail(ctx, fmt.Errorf("re-planning %s: expected one pipeline, got %d", a.pp.Name, len(np.Pipelines)))
		return false
	}
	a.plan, a.pp = np, np.Pipelines[0]
	a.res.Plan, a.res.RunID = a.pp, np.RunID
	if a.o.Hooks.Replanned != nil && !a.o.Hooks.Replanned(np, why) {
		a.end(Declined, nil)
		return false
	}
	if !a.pp.Summary.Pending {
		a.end(NothingToDo, nil)
		return false
	}
	return true
}

// lockCause replaces a cancellation caused by losing the lock with the
// LockLostError, so the user reads why rather than "context canceled".
func lockCause(lock *state.Lock, err error) error {
	if lerr := lock.Err(); lerr != nil && errors.Is(err, context.Canceled) {
		return lerr
	}
	return err
}

// OutputsOf describes a finished run to the commit protocol: its pending
// files, what its mode replaces, and its inputs as bookmarks.
func OutputsOf(er *exec.Result) *txn.Outputs {
	job := er.Job
	out := &txn.Outputs{
		RunID: job.RunID, Pipeline: job.Pipeline, Source: job.Source.Name,
		SinkName: job.Sink.Name, Sink: job.Sink.Loc, Object: job.Sink.Object, Mode: job.Sink.Mode.String(),
		Quarantine: er.Quarantine, Metrics: er.Stats, Checks: er.Checks, Elapsed: er.Elapsed,
	}
	for _, f := range er.Files {
		out.Files = append(out.Files, txn.File{Upload: f.Upload, Rows: f.Rows, Bytes: f.Bytes, Partition: f.Partition, Values: f.Values})
	}
	switch job.Sink.Mode {
	case spec.ModeOverwrite:
		out.Replace.All = true
	case spec.ModeOverwritePartitions:
		if job.Sink.Table != nil {
			out.ReplaceValues = job.OutputPartitionValues()
		} else {
			out.Replace.Partitions = job.OutputPartitions()
		}
	}
	out.Inputs = inputEntries(job)
	return out
}

// SinkOf describes a pipeline's sink to the commit protocol: a file sink's
// URL, or an iceberg sink's catalog and table.
func SinkOf(pp *planner.PipelinePlan) txn.Sink {
	if pp.Table != nil {
		return txn.Sink{Table: &txn.TableSink{Catalog: pp.Table.Catalog, Want: pp.Want()}}
	}
	return txn.Sink{URL: pp.Sink.URL, Direct: pp.Sink.Committer == spec.CommitterDirect}
}

// inputEntries lists the run's inputs as bookmarks, keyed relative to the
// source prefix, sorted and unique (a split Parquet file is one input).
func inputEntries(job *exec.Job) []state.Entry {
	var out []state.Entry
	for _, t := range job.Tasks {
		for _, in := range job.TaskInputs(t) {
			out = append(out, state.Entry{Key: strings.TrimPrefix(in.Key, job.Source.Loc.Prefix), ETag: in.ETag, Size: in.Size, RunID: job.RunID})
		}
	}
	slices.SortFunc(out, func(a, b state.Entry) int { return strings.Compare(a.Key, b.Key) })
	return slices.CompactFunc(out, func(a, b state.Entry) bool { return a.Key == b.Key })
}

// sourceCleanup is the pipeline's clean_source for the commit, nil when
// the inputs stay.
func sourceCleanup(pp *planner.PipelinePlan) *state.SourceCleanup {
	switch pp.Source.CleanSource {
	case spec.CleanDelete:
		return &state.SourceCleanup{Action: "delete", SourceURL: pp.Source.URL}
	case spec.CleanArchive:
		return &state.SourceCleanup{Action: "archive", SourceURL: pp.Source.URL, ArchiveURL: pp.Source.ArchiveURL}
	}
	return nil
}
