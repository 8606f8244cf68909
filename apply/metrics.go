package apply

import (
	"time"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/planner"
)

// Metrics are one run's figures, as the commit manifest records them
// ("metrics") and apply -json's summary event and the Prometheus metrics
// report them. The executor's totals keep their names (files_read,
// rows_in, …) so that older readers of manifests still find them.
type Metrics struct {
	exec.Stats
	// RowsFiltered are the rows decoded but not written: those where
	// rejected (bad records are counted apart).
	RowsFiltered int64 `json:"rows_filtered"`
	// PhasesMS are how long each phase took, in milliseconds: list (with
	// the merge against the bookmarks) and plan (all of planning) from the
	// plan; run (the executor, wall time), and its parts summed over the
	// workers that ran in parallel: fetch (GETs), decode, write (filter,
	// checks, encoding and uploads); commit is known only after the
	// manifest is written, so it is in the summary, not the manifest.
	PhasesMS map[string]int64 `json:"phases_ms"`
	// Retries counts requests or tasks tried again, by kind.
	Retries map[string]int64 `json:"retries,omitempty"`
	// PeakRSSBytes is the process's peak resident memory so far.
	PeakRSSBytes int64 `json:"peak_rss_bytes,omitempty"`
	// Backlog is what is left for later runs.
	Backlog Backlog `json:"backlog"`
}

// Backlog is the unprocessed input a run leaves.
type Backlog struct {
	Files int64 `json:"files"`
	Bytes int64 `json:"bytes"`
	// OldestAgeSeconds is the age of the oldest unprocessed object when
	// the plan was made (0 without a backlog): alert on it.
	OldestAgeSeconds int64      `json:"oldest_age_seconds"`
	Oldest           *time.Time `json:"oldest,omitempty"`
}

// metricsOf assembles a run's metrics from its plan and its result.
func metricsOf(plan *planner.Plan, pp *planner.PipelinePlan, er *exec.Result) *Metrics {
	m := &Metrics{
		Stats:        er.Stats,
		RowsFiltered: max(er.Stats.RowsIn-er.Stats.RowsOut, 0),
		PhasesMS: map[string]int64{
			"list": pp.Summary.Timings.ListMS,
			"plan": pp.Summary.Timings.PlanMS,
			"run":  er.Elapsed.Milliseconds(),
		},
		PeakRSSBytes: peakRSS(),
		Backlog:      Backlog{Files: pp.Summary.Backlog.Files, Bytes: pp.Summary.Backlog.Bytes, Oldest: pp.Summary.BacklogOldest},
	}
	for name, d := range er.Phases {
		m.PhasesMS[name] = d.Milliseconds()
	}
	if len(er.Retries) > 0 {
		m.Retries = map[string]int64{}
		for k, n := range er.Retries {
			m.Retries[k] = n
		}
	}
	if o := pp.Summary.BacklogOldest; o != nil {
		m.Backlog.OldestAgeSeconds = int64(plan.Created.Sub(*o).Seconds())
		if m.Backlog.OldestAgeSeconds < 0 {
			m.Backlog.OldestAgeSeconds = 0
		}
	}
	return m
}

// setRetries records that n requests or tasks of kind were retried (0:
// the kind is left out).
func (m *Metrics) setRetries(kind string, n int64) {
	if n == 0 {
		delete(m.Retries, kind)
		return
	}
	if m.Retries == nil {
		m.Retries = map[string]int64{}
	}
	m.Retries[kind] = n
}
