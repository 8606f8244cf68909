package main

import (
	"time"

	"github.com/sluicedata/sluice/apply"
	"github.com/sluicedata/sluice/cmd/sluice/internal/promexport"
)

// promRuns turns apply's results into the runs the Prometheus export
// reports: every pipeline apply looked at, with the backlog its plan saw
// and, when it committed, the run's figures.
func promRuns(results []apply.Result, at time.Time) []promexport.Run {
	var out []promexport.Run
	for _, r := range results {
		if r.Pipeline == "" {
			continue // a declined confirmation: nothing ran
		}
		pr := promexport.Run{
			Pipeline: r.Pipeline, Outcome: r.Outcome.String(), At: at,
			Succeeded: r.Outcome == apply.Done || r.Outcome == apply.NothingToDo,
		}
		if r.Plan != nil {
			s := r.Plan.Summary
			pr.BacklogFiles, pr.BacklogBytes = float64(s.Backlog.Files), float64(s.Backlog.Bytes)
			if s.BacklogOldest != nil {
				pr.BacklogOldestAgeSeconds = max(at.Sub(*s.BacklogOldest).Seconds(), 0)
			}
		}
		if m := r.Metrics; m != nil {
			pr.Figures = map[string]float64{
				"files_read": float64(m.FilesRead), "bytes_read": float64(m.BytesRead),
				"rows_in": float64(m.RowsIn), "rows_out": float64(m.RowsOut), "rows_filtered": float64(m.RowsFiltered),
				"bad_records": float64(m.BadRecords), "bad_files": float64(m.BadFiles),
				"files_written": float64(m.FilesWritten), "bytes_written": float64(m.BytesWritten),
			}
			pr.PhaseSeconds = map[string]float64{}
			for k, ms := range m.PhasesMS {
				pr.PhaseSeconds[k] = float64(ms) / 1000
			}
			pr.Retries = map[string]float64{}
			for k, n := range m.Retries {
				pr.Retries[k] = float64(n)
			}
			pr.PeakRSSBytes = float64(m.PeakRSSBytes)
		}
		out = append(out, pr)
	}
	return out
}
