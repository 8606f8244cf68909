package promexport

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

// Run is what one pipeline's apply says about itself.
type Run struct {
	Pipeline string
	// Outcome is apply's outcome ("done", "nothing to do", "failed", …).
	Outcome string
	// Succeeded: the run committed, or there was nothing to do.
	Succeeded bool
	At        time.Time
	// Figures of a committed run (nil otherwise), by metric suffix:
	// "rows_in", "rows_out", …; PhaseSeconds by phase; Retries by kind.
	Figures      map[string]float64
	PhaseSeconds map[string]float64
	Retries      map[string]float64
	// The backlog left, known from the plan whatever the outcome.
	BacklogFiles, BacklogBytes float64
	BacklogOldestAgeSeconds    float64
	PeakRSSBytes               float64
}

// registry builds the gauges of runs. Every metric is a gauge of the last
// run, labelled by pipeline: a textfile or a Pushgateway group holds the
// latest values, which is what an alert compares. grouped leaves the
// pipeline label out: a Pushgateway group adds it (and refuses metrics
// that carry it themselves).
func registry(runs []Run, grouped bool) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, labels ...string) *labelled {
		if !grouped {
			labels = append([]string{"pipeline"}, labels...)
		}
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "sluice", Name: name, Help: help}, labels)
		reg.MustRegister(g)
		return &labelled{g, grouped}
	}
	lastRun := gauge("last_run_timestamp_seconds", "When the last apply of the pipeline ended, by its outcome.", "outcome")
	lastSuccess := gauge("last_success_timestamp_seconds", "When the pipeline last committed a run or found nothing to do.")
	failed := gauge("last_run_failed", "1 when the last apply of the pipeline failed (not committed), else 0.")
	figures := gauge("last_run", "A figure of the last committed run.", "figure")
	phases := gauge("last_run_phase_seconds", "How long each phase of the last committed run took (fetch, decode and write summed over parallel tasks).", "phase")
	retries := gauge("last_run_retries", "Requests or tasks tried again in the last committed run, by kind.", "kind")
	backlogFiles := gauge("backlog_files", "Unprocessed input files left after the last apply.")
	backlogBytes := gauge("backlog_bytes", "Unprocessed input bytes left after the last apply.")
	backlogAge := gauge("backlog_oldest_age_seconds", "Age of the oldest unprocessed input when the last apply planned: how far behind the pipeline is.")
	rss := gauge("last_run_peak_rss_bytes", "Peak resident memory of the process by the end of the last committed run.")
	for _, r := range runs {
		at := float64(r.At.UnixMilli()) / 1000
		lastRun.WithLabelValues(r.Pipeline, r.Outcome).Set(at)
		if r.Succeeded {
			lastSuccess.WithLabelValues(r.Pipeline).Set(at)
			failed.WithLabelValues(r.Pipeline).Set(0)
		} else {
			failed.WithLabelValues(r.Pipeline).Set(1)
		}
		for k, v := range r.Figures {
			figures.WithLabelValues(r.Pipeline, k).Set(v)
		}
		for k, v := range r.PhaseSeconds {
			phases.WithLabelValues(r.Pipeline, k).Set(v)
		}
		for k, v := range r.Retries {
			retries.WithLabelValues(r.Pipeline, k).Set(v)
		}
		backlogFiles.WithLabelValues(r.Pipeline).Set(r.BacklogFiles)
		backlogBytes.WithLabelValues(r.Pipeline).Set(r.BacklogBytes)
		backlogAge.WithLabelValues(r.Pipeline).Set(r.BacklogOldestAgeSeconds)
		if r.PeakRSSBytes > 0 {
			rss.WithLabelValues(r.Pipeline).Set(r.PeakRSSBytes)
		}
	}
	return reg
}

// labelled is a gauge vector whose first label value, the pipeline, is
// dropped when the registry is a Pushgateway group's.
type labelled struct {
	*prometheus.GaugeVec
	grouped bool
}

func (l *labelled) WithLabelValues(pipeline string, rest ...string) prometheus.Gauge {
	if l.grouped {
		return l.GaugeVec.WithLabelValues(rest...)
	}
	return l.GaugeVec.WithLabelValues(append([]string{pipeline}, rest...)...)
}

// WriteFile writes runs to path in the node exporter's textfile format,
// atomically (a temporary file renamed over it), so the exporter never
// reads half a file.
func WriteFile(path string, runs []Run) error {
	if err := prometheus.WriteToTextfile(path, registry(runs, false)); err != nil {
		return fmt.Errorf("-metrics-file %s: %w", path, err)
	}
	return nil
}

// Push sends each pipeline's metrics to the Pushgateway at url, one group
// per pipeline (job "sluice", label pipeline), so that applies of
// different pipelines do not replace each other's metrics.
func Push(url string, runs []Run, client *http.Client) error {
	for _, r := range runs {
		p := push.New(url, "sluice").Grouping("pipeline", r.Pipeline).Gatherer(registry([]Run{r}, true))
		if client != nil {
			p = p.Client(client)
		}
		if err := p.Push(); err != nil {
			return fmt.Errorf("-metrics-push %s: %w", url, err)
		}
	}
	return nil
}
