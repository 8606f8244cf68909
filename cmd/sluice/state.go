package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"time"

	"github.com/sluicedata/sluice/apply"
	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/cmd/sluice/internal/diagview"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/tables"
	"github.com/sluicedata/sluice/txn"
)

func stateCommand() *cli.Command {
	return &cli.Command{
		Name:     "state",
		Synopsis: "Read and manage bookmarks (processed inputs)",
		Help: `Reads and changes the bookmarks of the configuration in the current
directory (or -chdir DIR). Every change takes the pipeline's lock (exit 6
when another run holds it), first finishes or undoes any earlier run that
was interrupted, and is journaled like a run, so a crash in the middle is
completed by the next command.`,
		Subcommands: []*cli.Command{
			stateSub("list", "List every pipeline's bookmarks", "", 0, 0, cli.CommonVars|cli.CommonJSON,
				`Shows, per pipeline, the state version, the last run, the number of
processed keys and segments, and who holds the lock.`, runStateList),
			stateSub("show", "Show one pipeline's bookmarks and journal", "PIPELINE", 1, 1, cli.CommonVars|cli.CommonJSON,
				`Prints the HEAD, the lock holder, the journal of recent runs and every
processed key with its ETag, size and run.`, runStateShow),
			stateSub("forget", "Forget processed keys so they are read again", "PIPELINE GLOB", 2, 2, cli.CommonVars|cli.CommonJSON,
				`Removes the bookmarks of the keys matching GLOB (a doublestar pattern
relative to the source URL): the next run processes them again. Outputs
already written from them stay.`, runStateForget),
			stateSub("mark-processed", "Record keys as processed without reading them", "PIPELINE GLOB", 2, 2, cli.CommonVars|cli.CommonJSON,
				`Lists the source and records every object matching GLOB (relative to
the source URL) as processed, with its current ETag and size.`, runStateMark),
			stateSub("rewind", "Undo the runs after RUN (bookmarks and outputs)", "PIPELINE -to RUN", 1, 1, cli.CommonVars|cli.CommonJSON,
				`Undoes every run later than RUN: their bookmarks are removed (so their
inputs are processed again) and their outputs are deleted through their
commit manifests. Data that an undone overwrite run replaced cannot be
restored.`, runStateRewind),
			stateSub("unlock", "Remove a pipeline's lock whoever holds it", "PIPELINE", 1, 1, 0,
				`Deletes the lock and prints who held it. Only for a holder on another
host that is known to be dead: a holder on this host whose process is gone,
or whose lease expired, is taken over automatically.`, runStateUnlock),
			stateSub("gc", "Remove old journals and commit manifests", "", 0, 0, cli.CommonVars|cli.CommonJSON,
				`Removes finished journals and commit manifests older than -retention
(default 720h); the newest manifest of each sink is always kept. Runs
whose manifest is gone can no longer be rewound.`, runStateGC),
		},
	}
}

type stateArgs struct {
	chdir       string
	to          string
	retention   time.Duration
	lockTimeout time.Duration
}

func stateSub(name, synopsis, args string, minArgs, maxArgs int, common cli.Common, help string, fn func(*cli.Invocation, *stateArgs) cli.ExitCode) *cli.Command {
	return &cli.Command{
		Name: name, Synopsis: synopsis, Args: args, MinArgs: minArgs, MaxArgs: maxArgs, Common: common, Help: help,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			a := &stateArgs{}
			fs.StringVar(&a.chdir, "chdir", ".", "Use the configuration in `DIR`.")
			switch name {
			case "forget", "mark-processed", "rewind", "gc":
				fs.DurationVar(&a.lockTimeout, "lock-timeout", 0, "Wait up to `DURATION` for another run's lock instead of exiting 6.")
			}
			if name == "rewind" {
				fs.StringVar(&a.to, "to", "", "Keep runs up to and including `RUN`; undo the later ones.")
			}
			if name == "gc" {
				fs.DurationVar(&a.retention, "retention", 720*time.Hour, "Keep journals and manifests younger than `DURATION`.")
			}
			return func(inv *cli.Invocation) cli.ExitCode { return fn(inv, a) }
		},
	}
}

// stateEnv is a loaded configuration and its state location.
type stateEnv struct {
	cfg      *spec.Config
	stateLoc objstore.Location
}

func loadStateEnv(inv *cli.Invocation, a *stateArgs) (*stateEnv, cli.ExitCode) {
	cfg, diags := spec.Load(a.chdir, spec.LoadOptions{Vars: inv.Common.Vars, VarFiles: inv.Common.VarFiles, Environ: inv.Environ})
	if diags.HasErrors() {
		cwd, _ := os.Getwd()
		diagview.WriteHuman(inv.Stderr, diags, diagview.Options{Sources: diagview.NewSources(), Cwd: cwd, Color: inv.StderrColor})
		fmt.Fprintln(inv.Stderr, "\nThe configuration is invalid; run 'sluice validate' for details.")
		return nil, cli.ExitInvalid
	}
	loc, err := objstore.Open(inv.Ctx, cfg.State.URL)
	if err != nil {
		return nil, inv.Errorf("state %s: %s", cfg.State.URL, objstore.Describe(err))
	}
	return &stateEnv{cfg: cfg, stateLoc: loc}, cli.ExitOK
}

func (e *stateEnv) pipeline(inv *cli.Invocation, name string) (*spec.Pipeline, *state.Bookmarks, cli.ExitCode) {
	for _, p := range e.cfg.Pipelines {
		if p.Name == name {
			return p, state.Open(e.stateLoc, p.Name, p.Source.Name), cli.ExitOK
		}
	}
	var names []string
	for _, p := range e.cfg.Pipelines {
		names = append(names, p.Name)
	}
	return nil, nil, inv.Errorf("no pipeline %q in the configuration (pipelines: %v)", name, names)
}

// locked takes the pipeline's lock and recovers (txn.Acquire), then runs fn.
func locked(inv *cli.Invocation, a *stateArgs, cfg *spec.Config, p *spec.Pipeline, st *state.Bookmarks, command string, fn func(s *txn.Session, runID string) cli.ExitCode) cli.ExitCode {
	ev := newEvents(inv)
	ev.on = false // state commands print one JSON document, not events
	runID := planner.NewRunID(time.Now())
	lo := state.LockOptions{RunID: runID, Command: command, Lease: state.LeaseFromEnv(inv.Getenv), Wait: a.lockTimeout,
		OnWait: func(h state.LockInfo) { waitingForLock(inv, p.Name, h, a.lockTimeout) }}
	sess, rec, err := txn.Acquire(inv.Ctx, st, lo, openLoc, txn.WithCatalogs(tables.NewOpener(cfg)), txn.StopExecutors(stopExecutor(inv, temporalFlags{})))
	printRecovered(inv, p.Name, rec)
	var held *state.LockHeldError
	if errors.As(err, &held) {
		return lockHeld(inv, ev, p.Name, held)
	}
	if err != nil {
		return fail(inv, ev, p.Name, err)
	}
	defer sess.Release(inv.Ctx)
	return fn(sess, runID)
}

// recoverDead finishes a run that died holding the pipeline's lock, so
// that what a state command shows is the state as it really is.
func recoverDead(inv *cli.Invocation, cfg *spec.Config, name string, st *state.Bookmarks) cli.ExitCode {
	rec, err := txn.RecoverAbandoned(inv.Ctx, st, state.LockOptions{RunID: planner.NewRunID(time.Now()), Command: "recovery", Lease: state.LeaseFromEnv(inv.Getenv)}, openLoc,
		txn.WithCatalogs(tables.NewOpener(cfg)), txn.StopExecutors(stopExecutor(inv, temporalFlags{})))
	printRecovered(inv, name, rec)
	if err != nil {
		ev := newEvents(inv)
		ev.on = false
		return fail(inv, ev, name, err)
	}
	return cli.ExitOK
}

func printRecovered(inv *cli.Invocation, pipeline string, rec []txn.Recovered) {
	for _, r := range rec {
		fmt.Fprintf(inv.Stderr, "Recovered: pipeline %s: %s (interrupted earlier).\n", pipeline, r)
	}
}

func openLoc(ctx context.Context, url string) (objstore.Location, error) {
	return objstore.Open(ctx, url)
}

func runStateList(inv *cli.Invocation, a *stateArgs) cli.ExitCode {
	env, code := loadStateEnv(inv, a)
	if env == nil {
		return code
	}
	type row struct {
		Pipeline string          `json:"pipeline"`
		Source   string          `json:"source"`
		Version  int64           `json:"version"`
		LastRun  string          `json:"last_run,omitempty"`
		Updated  *time.Time      `json:"updated,omitempty"`
		Keys     int             `json:"keys"`
		Segments int             `json:"segments"`
		Lock     *state.LockInfo `json:"lock,omitempty"`
		InConfig bool            `json:"in_config"`
	}
	dirs, err := state.ListSources(inv.Ctx, env.stateLoc.Store, env.stateLoc.Prefix)
	if err != nil {
		return inv.Errorf("%s", objstore.Describe(err))
	}
	seen := map[string]bool{}
	var rows []row
	add := func(pipeline, source string, inConfig bool) error {
		st := state.Open(env.stateLoc, pipeline, source)
		h, _, err := st.Head(inv.Ctx)
		if err != nil {
			return err
		}
		keys, err := countEntries(inv.Ctx, st, h)
		if err != nil {
			return err
		}
		r := row{Pipeline: pipeline, Source: source, Version: h.Version, LastRun: h.RunID, Keys: keys, Segments: len(h.Segments), InConfig: inConfig}
		if !h.Updated.IsZero() {
			r.Updated = &h.Updated
		}
		if li, _, err := st.ReadLock(inv.Ctx); err == nil {
			r.Lock = &li
		}
		rows = append(rows, r)
		return nil
	}
	for _, p := range env.cfg.Pipelines {
		seen[p.Name+"/"+p.Source.Name] = true
		// A run that died holding the lock is finished first, so the
		// listing shows the state as it really is.
		if code := recoverDead(inv, env.cfg, p.Name, state.Open(env.stateLoc, p.Name, p.Source.Name)); code != cli.ExitOK {
			return code
		}
		if err := add(p.Name, p.Source.Name, true); err != nil {
			return inv.Errorf("%s", objstore.Describe(err))
		}
	}
	for _, d := range dirs {
		if !seen[d] {
			if err := add(path.Dir(d), path.Base(d), false); err != nil {
				return inv.Errorf("%s", objstore.Describe(err))
			}
		}
	}
	if inv.Common.JSON {
		return inv.WriteJSON(map[string]any{"state": env.stateLoc.String(), "pipelines": rows})
	}
	fmt.Fprintf(inv.Stdout, "State at %s\n\n", env.stateLoc)
	for _, r := range rows {
		note := ""
		if !r.InConfig {
			note = "  (not in the configuration: renamed or removed?)"
		}
		fmt.Fprintf(inv.Stdout, "%s/%s: version %d, %s processed in %s", r.Pipeline, r.Source, r.Version, plural(r.Keys, "key"), plural(r.Segments, "segment"))
		if r.LastRun != "" {
			fmt.Fprintf(inv.Stdout, ", last change %s", r.LastRun)
		}
		fmt.Fprintln(inv.Stdout, note)
		if r.Lock != nil {
			fmt.Fprintf(inv.Stdout, "  locked by %s\n", r.Lock)
		}
	}
	return cli.ExitOK
}

func runStateShow(inv *cli.Invocation, a *stateArgs) cli.ExitCode {
	env, code := loadStateEnv(inv, a)
	if env == nil {
		return code
	}
	p, st, code := env.pipeline(inv, inv.Args[0])
	if p == nil {
		return code
	}
	ctx := inv.Ctx
	if code := recoverDead(inv, env.cfg, p.Name, st); code != cli.ExitOK {
		return code
	}
	h, etag, err := st.Head(ctx)
	if err != nil {
		return inv.Errorf("%s", objstore.Describe(err))
	}
	all, err := st.AllEntries(ctx, h)
	if err != nil {
		return inv.Errorf("%s", objstore.Describe(err))
	}
	js, err := st.ListJournals(ctx)
	if err != nil {
		return inv.Errorf("%s", objstore.Describe(err))
	}
	type jrow struct {
		RunID string      `json:"run_id"`
		Kind  string      `json:"kind"`
		Phase state.Phase `json:"phase"`
		Error string      `json:"error,omitempty"`
	}
	var journals []jrow
	for _, je := range js {
		j, err := st.ReadJournal(ctx, je.RunID)
		if err != nil {
			continue
		}
		journals = append(journals, jrow{RunID: j.RunID, Kind: j.Kind, Phase: j.Phase, Error: j.Error})
	}
	var lock *state.LockInfo
	if li, _, err := st.ReadLock(ctx); err == nil {
		lock = &li
	}
	type erow struct {
		Key   string `json:"key"`
		ETag  string `json:"etag"`
		Size  int64  `json:"size"`
		RunID string `json:"run_id"`
	}
	backlog, err := pipelineBacklog(inv, env.cfg, p)
	if err != nil {
		return inv.Errorf("%s", objstore.Describe(err))
	}
	runs, err := lastRuns(ctx, p, 5)
	if err != nil {
		return inv.Errorf("%s", objstore.Describe(err))
	}
	if inv.Common.JSON {
		rows := make([]erow, len(all))
		for i, e := range all {
			rows[i] = erow(e)
		}
		return inv.WriteJSON(map[string]any{"pipeline": p.Name, "source": p.Source.Name, "dir": st.Dir(), "head": h, "etag": etag,
			"lock": lock, "journal": journals, "entries": rows, "backlog": backlog, "runs": runs})
	}
	fmt.Fprintf(inv.Stdout, "Pipeline %s, source %s (state %s%s)\n", p.Name, p.Source.Name, env.stateLoc.Store.URL()+"/", st.Dir())
	fmt.Fprintf(inv.Stdout, "  version %d, last change %s, %d segments, %d keys processed\n", h.Version, orNone(h.RunID), len(h.Segments), len(all))
	fmt.Fprintf(inv.Stdout, "  backlog: %s (%s)", plural(int(backlog.Files), "file"), planner.FormatBytes(backlog.Bytes))
	if backlog.Oldest != nil {
		fmt.Fprintf(inv.Stdout, ", the oldest written %s (%s ago)", backlog.Oldest.Format(time.RFC3339), time.Duration(backlog.OldestAgeSeconds)*time.Second)
	}
	fmt.Fprintln(inv.Stdout)
	if len(runs) > 0 {
		fmt.Fprintln(inv.Stdout, "\nLast runs:")
		for _, r := range runs {
			fmt.Fprintf(inv.Stdout, "  %s  %s  %s in, %s out, %s; %s written (%s) in %s\n", r.RunID, r.CommittedAt.Format(time.RFC3339),
				plural(int(r.Metrics.RowsIn), "row"), plural(int(r.Metrics.RowsOut), "row"), plural(int(r.Metrics.BadRecords), "bad record"),
				plural(int(r.Metrics.FilesWritten), "file"), planner.FormatBytes(r.Metrics.BytesWritten), (time.Duration(r.ElapsedMS) * time.Millisecond).Round(10*time.Millisecond))
		}
	}
	if lock != nil {
		fmt.Fprintf(inv.Stdout, "  locked by %s\n", lock)
	}
	if len(journals) > 0 {
		fmt.Fprintln(inv.Stdout, "\nJournal:")
		for _, j := range journals {
			fmt.Fprintf(inv.Stdout, "  %s  %-14s %s", j.RunID, j.Kind, j.Phase)
			if j.Error != "" {
				fmt.Fprintf(inv.Stdout, "  (%s)", j.Error)
			}
			fmt.Fprintln(inv.Stdout)
		}
	}
	if len(all) > 0 {
		fmt.Fprintln(inv.Stdout, "\nProcessed keys:")
		for _, e := range all {
			fmt.Fprintf(inv.Stdout, "  %s  %d bytes  etag %s  run %s\n", e.Key, e.Size, e.ETag, e.RunID)
		}
	}
	return cli.ExitOK
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func runStateForget(inv *cli.Invocation, a *stateArgs) cli.ExitCode {
	return stateChange(inv, a, "state forget", func(ctx context.Context, p *spec.Pipeline, s *txn.Session, runID string) (txn.StateChange, error) {
		return s.Forget(ctx, runID, inv.Args[1])
	})
}

func runStateMark(inv *cli.Invocation, a *stateArgs) cli.ExitCode {
	return stateChange(inv, a, "state mark-processed", func(ctx context.Context, p *spec.Pipeline, s *txn.Session, runID string) (txn.StateChange, error) {
		src, err := objstore.Open(ctx, p.Source.URL)
		if err != nil {
			return txn.StateChange{}, err
		}
		return s.MarkProcessed(ctx, src, runID, inv.Args[1])
	})
}

func runStateRewind(inv *cli.Invocation, a *stateArgs) cli.ExitCode {
	if a.to == "" {
		return inv.UsageError("rewind needs -to RUN (a run id from 'sluice state show')")
	}
	return stateChange(inv, a, "state rewind", func(ctx context.Context, p *spec.Pipeline, s *txn.Session, runID string) (txn.StateChange, error) {
		if p.Sink.Format == spec.FormatIceberg {
			return txn.StateChange{}, fmt.Errorf("rewind undoes runs through their commit manifests, and a run into table %s has none: its snapshot is its record. Roll the table back with your engine (rollback_to_snapshot), then 'sluice state forget' the inputs to read again", p.Sink.Table)
		}
		sink, err := objstore.Open(ctx, p.Sink.URL)
		if err != nil {
			return txn.StateChange{}, err
		}
		if p.Sink.Mode != spec.ModeAppend {
			fmt.Fprintf(inv.Stderr, "Warning: %s writes in mode %s: data that the undone runs replaced is not restored.\n", p.Name, p.Sink.Mode)
		}
		return s.Rewind(ctx, sink, p.Name, runID, a.to)
	})
}

func stateChange(inv *cli.Invocation, a *stateArgs, command string, fn func(context.Context, *spec.Pipeline, *txn.Session, string) (txn.StateChange, error)) cli.ExitCode {
	env, code := loadStateEnv(inv, a)
	if env == nil {
		return code
	}
	p, st, code := env.pipeline(inv, inv.Args[0])
	if p == nil {
		return code
	}
	return locked(inv, a, env.cfg, p, st, command, func(s *txn.Session, runID string) cli.ExitCode {
		// Once started, a state change runs to the end: a signal would
		// only leave a journal for the next command to finish.
		ctx, cancel := txn.Detached(inv.Ctx)
		defer cancel()
		ch, err := fn(ctx, p, s, runID)
		if err != nil {
			return inv.Errorf("pipeline %s: %s", p.Name, objstore.Describe(err))
		}
		if inv.Common.JSON {
			return inv.WriteJSON(ch)
		}
		switch ch.Kind {
		case "forget":
			fmt.Fprintf(inv.Stdout, "%s: forgot %d processed keys; the next run reads them again.\n", p.Name, ch.Keys)
		case "mark-processed":
			fmt.Fprintf(inv.Stdout, "%s: marked %d keys as processed.\n", p.Name, ch.Keys)
		case "rewind":
			if len(ch.Runs) == 0 {
				fmt.Fprintf(inv.Stdout, "%s: no run after %s; nothing to undo.\n", p.Name, a.to)
				break
			}
			fmt.Fprintf(inv.Stdout, "%s: undid %d runs after %s (%d bookmarks, %d objects deleted):\n", p.Name, len(ch.Runs), a.to, ch.Keys, len(ch.Deleted))
			for _, r := range ch.Runs {
				fmt.Fprintf(inv.Stdout, "  %s\n", r)
			}
		}
		return cli.ExitOK
	})
}

func runStateUnlock(inv *cli.Invocation, a *stateArgs) cli.ExitCode {
	env, code := loadStateEnv(inv, a)
	if env == nil {
		return code
	}
	p, st, code := env.pipeline(inv, inv.Args[0])
	if p == nil {
		return code
	}
	holder, err := st.ForceUnlock(inv.Ctx)
	if errors.Is(err, objstore.ErrNotExist) {
		fmt.Fprintf(inv.Stdout, "%s is not locked.\n", p.Name)
		return cli.ExitOK
	}
	if err != nil {
		return inv.Errorf("%s", objstore.Describe(err))
	}
	fmt.Fprintf(inv.Stdout, "Removed the lock of %s held by %s.\nIts unfinished run, if any, is recovered by the next apply.\n", p.Name, holder)
	return cli.ExitOK
}

func runStateGC(inv *cli.Invocation, a *stateArgs) cli.ExitCode {
	env, code := loadStateEnv(inv, a)
	if env == nil {
		return code
	}
	total := map[string]txn.GCResult{}
	for _, p := range env.cfg.Pipelines {
		st := state.Open(env.stateLoc, p.Name, p.Source.Name)
		code := locked(inv, a, env.cfg, p, st, "state gc", func(s *txn.Session, runID string) cli.ExitCode {
			var sink objstore.Location // a table's runs write no manifests
			if p.Sink.URL != "" {
				var err error
				if sink, err = objstore.Open(inv.Ctx, p.Sink.URL); err != nil {
					return inv.Errorf("pipeline %s: %s", p.Name, objstore.Describe(err))
				}
			}
			r, err := s.GC(inv.Ctx, sink, p.Name, a.retention, time.Now())
			if err != nil {
				return inv.Errorf("pipeline %s: %s", p.Name, objstore.Describe(err))
			}
			if _, err := s.Compact(inv.Ctx, runID+"-compact", txn.CompactThreshold); err != nil {
				return inv.Errorf("pipeline %s: compacting: %s", p.Name, objstore.Describe(err))
			}
			total[p.Name] = r
			if !inv.Common.JSON {
				fmt.Fprintf(inv.Stdout, "%s: removed %d journals and %d commit manifests older than %s.\n", p.Name, r.Journals, r.Manifests, a.retention)
			}
			return cli.ExitOK
		})
		if code != cli.ExitOK {
			return code
		}
	}
	if inv.Common.JSON {
		return inv.WriteJSON(total)
	}
	return cli.ExitOK
}

// countEntries counts h's bookmarks by streaming them (a source may hold
// millions).
func countEntries(ctx context.Context, st *state.Bookmarks, h state.Head) (int, error) {
	it, err := st.Entries(ctx, h)
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for it.Next() {
		n++
	}
	return n, it.Err()
}

// pipelineBacklog plans the pipeline (listing, no lock) for what waits to
// be processed: every unprocessed input, not one run's window.
func pipelineBacklog(inv *cli.Invocation, cfg *spec.Config, p *spec.Pipeline) (apply.Backlog, error) {
	plan, err := buildPlan(inv.Ctx, cfg, []string{p.Name}, nil)
	if err != nil || len(plan.Pipelines) != 1 {
		return apply.Backlog{}, err
	}
	s := plan.Pipelines[0].Summary
	b := apply.Backlog{Files: s.Inputs.Files + s.Backlog.Files, Bytes: s.Inputs.Bytes + s.Backlog.Bytes, Oldest: s.PendingOldest}
	if !s.Pending {
		b.Files, b.Bytes = 0, 0
	}
	if b.Oldest != nil {
		b.OldestAgeSeconds = int64(max(time.Since(*b.Oldest).Seconds(), 0))
	}
	return b, nil
}

// runFigures is one committed run as state show prints it.
type runFigures struct {
	RunID       string        `json:"run_id"`
	CommittedAt time.Time     `json:"committed_at"`
	ElapsedMS   int64         `json:"elapsed_ms"`
	Metrics     apply.Metrics `json:"metrics"`
}

// lastRuns reads the newest n commit manifests of p's sink.
func lastRuns(ctx context.Context, p *spec.Pipeline, n int) ([]runFigures, error) {
	sink, err := objstore.Open(ctx, p.Sink.URL)
	if err != nil {
		return nil, err
	}
	refs, err := txn.ListManifests(ctx, sink)
	if err != nil {
		return nil, err
	}
	var out []runFigures
	for i := len(refs) - 1; i >= 0 && len(out) < n; i-- {
		m, err := txn.ReadManifest(ctx, sink.Store, refs[i].Key)
		if err != nil {
			return nil, err
		}
		if m.Pipeline != "" && m.Pipeline != p.Name {
			continue
		}
		r := runFigures{RunID: m.RunID, CommittedAt: m.CommittedAt, ElapsedMS: m.ElapsedMS}
		if len(m.Metrics) > 0 {
			_ = json.Unmarshal(m.Metrics, &r.Metrics)
		}
		out = append(out, r)
	}
	return out, nil
}
