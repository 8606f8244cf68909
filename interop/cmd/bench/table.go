package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// minRuns is the number of repetitions below which a median is flagged.
const minRuns = 5

// Sample is the measurements of one engine on one scenario.
type Sample struct {
	Walls  []time.Duration
	RSS    []int64 // bytes, per run
	CPU    []time.Duration
	Failed string // why the engine could not run the scenario ("" if it ran)
	Polled bool   // some RSS figure was sampled, not from rusage (runner.Result.Polled)
}

func (s Sample) ok() bool { return s.Failed == "" && len(s.Walls) > 0 }

// median of the wall times.
func (s Sample) Wall() time.Duration { return medianDur(s.Walls) }

// PeakRSS is the largest peak over the runs (the figure a user must
// provision for, not a typical one).
func (s Sample) PeakRSS() int64 {
	var m int64
	for _, r := range s.RSS {
		m = max(m, r)
	}
	return m
}

func medianDur(xs []time.Duration) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Row is one line of the results table: sluice next to a reference (DuckDB,
// or for the S3 scenario a plain parallel GET) on the same input.
type Row struct {
	Scenario   string
	InputBytes int64
	InputFiles int
	Sluice     Sample
	RefName    string // "duckdb", "raw GET", or "" for none
	Ref        Sample
	SameRows   string // "yes", "NO: ...", or "-" when not checked
	Note       string
	Goal       Goal
	// Floor is the unavoidable work alone (floorWorker) on the same
	// threads; OneThread is sluice again with one thread.
	Floor, OneThread Sample
	Threads          int // threads of Sluice and Ref
}

// Goal is what issue 19 asks of a scenario; zero fields ask nothing.
type Goal struct {
	Wall, RSS  float64 // the most sluice/reference ratios of wall time and peak RSS
	Throughput float64 // the least reference wall / sluice wall (S3: fraction of raw GET)
	RSSBytes   int64   // the most peak RSS
	// RSSOf names the row (Scenario) whose peak RSS this row's may exceed
	// at most RSSOfRatio times (bounded plans against the 10k-key figure).
	RSSOf      string
	RSSOfRatio float64
}

// goals renders r's goals and whether the measurements meet them.
func goals(r Row, all []Row) string {
	g := r.Goal
	var parts []string
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	measured := r.Sluice.ok() && (r.RefName == "" || r.Ref.ok())
	add := func(what string, ok bool) {
		if !measured {
			parts = append(parts, what+": -")
			return
		}
		parts = append(parts, what+": "+verdict(ok))
	}
	if g.Wall > 0 {
		add(fmt.Sprintf("wall ≤ %.1f×", g.Wall), r.Sluice.Wall() <= time.Duration(g.Wall*float64(r.Ref.Wall())))
	}
	if g.RSS > 0 {
		add(fmt.Sprintf("RSS ≤ %.1f×", g.RSS), float64(r.Sluice.PeakRSS()) <= g.RSS*float64(r.Ref.PeakRSS()))
	}
	if g.Throughput > 0 {
		add(fmt.Sprintf("≥ %.0f%% of %s", 100*g.Throughput, r.RefName), float64(r.Ref.Wall()) >= g.Throughput*float64(r.Sluice.Wall()))
	}
	if g.RSSBytes > 0 {
		add("RSS ≤ "+mib(g.RSSBytes), r.Sluice.PeakRSS() <= g.RSSBytes)
	}
	if g.RSSOf != "" {
		for _, o := range all {
			if o.Scenario == g.RSSOf && o.Sluice.ok() {
				add(fmt.Sprintf("RSS ≤ %.1f× the 10k figure", g.RSSOfRatio), float64(r.Sluice.PeakRSS()) <= g.RSSOfRatio*float64(o.Sluice.PeakRSS()))
			}
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
}

func mb(b int64) string { return fmt.Sprintf("%.1f", float64(b)/1e6) }

func mib(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

// peak renders a sample's peak RSS, marked * when it was sampled.
func peak(s Sample) string {
	v := mib(s.PeakRSS())
	if s.Polled && v != "-" {
		v += "*"
	}
	return v
}

func secs(s Sample) string {
	if !s.ok() {
		return "-"
	}
	v := fmt.Sprintf("%.2fs", s.Wall().Seconds())
	if len(s.Walls) < minRuns {
		v += fmt.Sprintf(" (n=%d!)", len(s.Walls))
	}
	return v
}

// cpu renders the median CPU time (user + system) of a sample's runs.
func cpu(s Sample) string {
	if !s.ok() || len(s.CPU) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fs", medianDur(s.CPU).Seconds())
}

func rate(bytes int64, s Sample) string {
	if !s.ok() || bytes == 0 || s.Wall() <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(bytes)/1e6/s.Wall().Seconds())
}

func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// floor renders the floor's median wall and CPU time.
func floor(s Sample) string {
	if !s.ok() {
		return "-"
	}
	return fmt.Sprintf("%s (%s CPU)", secs(s), cpu(s))
}

// overFloor renders sluice's wall and CPU time as multiples of the floor's.
func overFloor(r Row) string {
	if !r.Sluice.ok() || !r.Floor.ok() {
		return "-"
	}
	return fmt.Sprintf("%s (%s CPU)", ratio(r.Sluice.Wall().Seconds(), r.Floor.Wall().Seconds()),
		ratio(medianDur(r.Sluice.CPU).Seconds(), medianDur(r.Floor.CPU).Seconds()))
}

// speedup renders the 1-thread wall time over the N-thread one, and the
// parallel efficiency (speedup / N).
func speedup(r Row) string {
	if !r.Sluice.ok() || !r.OneThread.ok() || r.Threads < 2 {
		return "-"
	}
	x := r.OneThread.Wall().Seconds() / r.Sluice.Wall().Seconds()
	return fmt.Sprintf("%.2f× (%.0f%%)", x, 100*x/float64(r.Threads))
}

// WriteTable renders rows as a Markdown table. Wall and CPU times are
// medians; "(n=K!)" flags a median of fewer than five runs. CPU time (user
// plus system, both engines' threads) moves less than wall time when the
// machine is shared. Failures are listed under the table.
func WriteTable(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| scenario | input | sluice wall | ref | ref wall | wall ratio | sluice CPU | ref CPU | CPU ratio | sluice MB/s | ref MB/s | sluice peak RSS | ref peak RSS | RSS ratio | floor | sluice ÷ floor | sluice 1 thread | speedup (efficiency) | same rows | goals (issue 19) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	var notes []string
	for _, r := range rows {
		ref := r.RefName
		if ref == "" {
			ref = "-"
		}
		fmt.Fprintf(w, "| %s | %d files, %s MB | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Scenario, r.InputFiles, mb(r.InputBytes), secs(r.Sluice), ref, secs(r.Ref),
			ratio(r.Sluice.Wall().Seconds(), r.Ref.Wall().Seconds()),
			cpu(r.Sluice), cpu(r.Ref), ratio(medianDur(r.Sluice.CPU).Seconds(), medianDur(r.Ref.CPU).Seconds()),
			rate(r.InputBytes, r.Sluice), rate(r.InputBytes, r.Ref),
			peak(r.Sluice), peak(r.Ref),
			ratio(float64(r.Sluice.PeakRSS()), float64(r.Ref.PeakRSS())),
			floor(r.Floor), overFloor(r), secs(r.OneThread), speedup(r),
			r.SameRows, goals(r, rows))
		if r.Sluice.Failed != "" {
			notes = append(notes, fmt.Sprintf("%s: sluice failed: %s", r.Scenario, r.Sluice.Failed))
		}
		if r.Ref.Failed != "" {
			notes = append(notes, fmt.Sprintf("%s: %s failed: %s", r.Scenario, r.RefName, r.Ref.Failed))
		}
		if r.Floor.Failed != "" {
			notes = append(notes, fmt.Sprintf("%s: floor failed: %s", r.Scenario, r.Floor.Failed))
		}
		if r.OneThread.Failed != "" {
			notes = append(notes, fmt.Sprintf("%s: sluice with one thread failed: %s", r.Scenario, r.OneThread.Failed))
		}
		if r.Note != "" {
			notes = append(notes, r.Scenario+": "+r.Note)
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, "- "+strings.ReplaceAll(strings.TrimSpace(n), "\n", " "))
		}
	}
}
