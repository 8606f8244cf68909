package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/cmd/sluice/internal/lineage/lineagetest"
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

// apply -lineage-file: a committed run is START then COMPLETE (with row
// counts), a run whose check fails is START then FAIL (with the reason),
// and every event follows the published OpenLineage schemas.
func TestLineageThroughTheCLI(t *testing.T) {
	v := lineagetest.NewValidator(t, "internal/lineage/testdata/openlineage")
	root := metricsLake(t)
	file := filepath.Join(root, "lineage.ndjson")
	conf := filepath.Join(root, "conf")
	var out, errb bytes.Buffer
	if code := run([]string{"apply", "-auto-approve", "-lineage-file", file, conf}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, errb.String())
	}
	// The second run's check fails: FAIL.
	cfg, _ := os.ReadFile(filepath.Join(conf, "main.hcl"))
	failing := strings.Replace(string(cfg), `  sink "out" {`, `  check "none" { expr = "id == 'nothing'" }
  sink "out" {`, 1)
	os.WriteFile(filepath.Join(conf, "main.hcl"), []byte(failing), 0o644)
	if code := run([]string{"apply", "-auto-approve", "-lineage-file", file, conf}, strings.NewReader(""), &out, &errb); code != 7 {
		t.Fatalf("failing check: exit %d\n%s", code, errb.String())
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		v.Validate(t, []byte(line))
		var ev struct {
			EventType string `json:"eventType"`
		}
		json.Unmarshal([]byte(line), &ev)
		types = append(types, ev.EventType)
	}
	if strings.Join(types, ",") != "START,COMPLETE,START,FAIL" {
		t.Fatalf("events %v", types)
	}
	if !strings.Contains(string(data), `"rowCount":2`) || !strings.Contains(string(data), "a blocking check failed") {
		t.Errorf("events lack the row count or the failure:\n%s", data)
	}
}
