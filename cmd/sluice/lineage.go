package main

import (
	"time"

	"github.com/sluicedata/sluice/apply"
	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/cmd/sluice/internal/lineage"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
)

// lineageView emits OpenLineage events for apply: START when a run is
// journaled, and COMPLETE, FAIL or ABORT when it ends. A delivery failure
// is a warning.
type lineageView struct {
	inv     *cli.Invocation
	emitter *lineage.Emitter
	started map[string]bool // pipelines whose START was sent
}

func newLineageView(inv *cli.Invocation, file string) *lineageView {
	e := lineage.FromEnv(inv.Getenv, file)
	if e == nil {
		return nil
	}
	return &lineageView{inv: inv, emitter: e, started: map[string]bool{}}
}

func lineageRun(pp *planner.PipelinePlan, runID string) lineage.Run {
	return lineage.Run{
		Pipeline: pp.Name, RunID: runID,
		Source: lineage.Dataset{URL: pp.Source.URL, Columns: pp.FileSchema},
		Sink:   lineage.Dataset{URL: pp.Sink.URL, Columns: pp.OutputSchema},
	}
}

func (l *lineageView) emit(typ string, r lineage.Run) {
	if err := l.emitter.Emit(l.inv.Ctx, typ, r, time.Now()); err != nil {
		l.inv.Stderr.Write([]byte("Warning: " + objstore.Describe(err) + "\n"))
	}
}

// started is apply's Started hook.
func (l *lineageView) startedRun(pipeline, runID string, pp *planner.PipelinePlan) {
	l.started[pipeline] = true
	l.emit(lineage.Start, lineageRun(pp, runID))
}

// ended sends each run's final event; a run that failed before it started
// (a held lock, a stale plan) gets its START and FAIL together, so every
// failed attempt shows.
func (l *lineageView) ended(results []apply.Result) {
	for _, r := range results {
		if r.Plan == nil || r.Outcome == apply.NothingToDo || r.Pipeline == "" {
			continue
		}
		lr := lineageRun(r.Plan, r.RunID)
		typ := lineage.Fail
		switch r.Outcome {
		case apply.Done:
			typ = lineage.Complete
			s := r.Stats
			lr.Source.Rows, lr.Source.Bytes, lr.Source.Files, lr.Source.Stats = s.RowsIn, s.BytesRead, s.FilesRead, true
			lr.Sink.Rows, lr.Sink.Bytes, lr.Sink.Files, lr.Sink.Stats = s.RowsOut, s.BytesWritten, s.FilesWritten, true
		case apply.Interrupted, apply.Declined:
			typ = lineage.Abort
		case apply.ChecksFailed:
			lr.Error = "a blocking check failed; nothing was committed"
		default:
			if r.Err != nil {
				lr.Error = objstore.Describe(r.Err)
			}
		}
		if !l.started[r.Pipeline] {
			l.emit(lineage.Start, lineageRun(r.Plan, r.RunID))
		}
		l.emit(typ, lr)
	}
}
