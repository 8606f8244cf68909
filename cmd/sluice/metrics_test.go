package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/internal/pushtest"
)

// metricsConfig is a bounded pipeline: two files, one per run.
const metricsConfig = `
state { url = "../state" }
pipeline "events" {
  source "raw" {
    url        = "../raw"
    format     = "json"
    partitions = ["dt"]
    where      = "id != 'skip'"
    column "id" { type = "string" }
    bounded { files = 1 }
  }
  sink "out" {
    url    = "../out"
    format = "json"
  }
}
`

func metricsLake(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range map[string]string{
		"conf/main.hcl":            metricsConfig,
		"raw/dt=2026-01-01/a.json": "{\"id\":\"a\"}\n{\"id\":\"skip\"}\n{\"id\":\"b\"}\n",
		"raw/dt=2026-01-02/b.json": "{\"id\":\"c\"}\n",
	} {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func metricValue(t *testing.T, text, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + pattern + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no metric %s in:\n%s", pattern, text)
	}
	return m[1]
}

// apply -metrics-push sends each pipeline's figures to a real Pushgateway
// (scraped back as Prometheus would), and -metrics-file writes the same
// in the node exporter's textfile format.
func TestMetricsPushAndFile(t *testing.T) {
	gw := pushtest.Start(t)
	root := metricsLake(t)
	file := filepath.Join(root, "sluice.prom")
	var out, errb bytes.Buffer
	code := run([]string{"apply", "-auto-approve", "-metrics-push", gw.URL, "-metrics-file", file, filepath.Join(root, "conf")}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if strings.Contains(errb.String(), "Warning") {
		t.Fatalf("apply warned: %s", errb.String())
	}
	scraped := gw.Scrape(t)
	for pattern, want := range map[string]string{
		`sluice_last_run\{figure="rows_in",instance="",job="sluice",pipeline="events"\}`:       "3",
		`sluice_last_run\{figure="rows_out",instance="",job="sluice",pipeline="events"\}`:      "2",
		`sluice_last_run\{figure="rows_filtered",instance="",job="sluice",pipeline="events"\}`: "1",
		`sluice_backlog_files\{instance="",job="sluice",pipeline="events"\}`:                   "1",
		`sluice_last_run_failed\{instance="",job="sluice",pipeline="events"\}`:                 "0",
	} {
		if got := metricValue(t, scraped, pattern); got != want {
			t.Errorf("%s = %s, want %s", pattern, got, want)
		}
	}
	metricValue(t, scraped, `sluice_last_run_phase_seconds\{instance="",job="sluice",phase="commit",pipeline="events"\}`)
	metricValue(t, scraped, `sluice_backlog_oldest_age_seconds\{instance="",job="sluice",pipeline="events"\}`)
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, string(text), `sluice_last_run\{figure="rows_in",pipeline="events"\}`); got != "3" {
		t.Errorf("textfile rows_in = %s", got)
	}
	// The next run drains the backlog; its push replaces the group.
	out.Reset()
	if code := run([]string{"apply", "-auto-approve", "-metrics-push", gw.URL, filepath.Join(root, "conf")}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("second apply: exit %d", code)
	}
	if got := metricValue(t, gw.Scrape(t), `sluice_backlog_files\{instance="",job="sluice",pipeline="events"\}`); got != "0" {
		t.Errorf("backlog after draining = %s", got)
	}
}
