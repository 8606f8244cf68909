package main

import (
	"bytes"
	"flag"
	"os"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestMedian(t *testing.T) {
	s := time.Second
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{3 * s}, 3 * s},
		{[]time.Duration{5 * s, 1 * s, 3 * s}, 3 * s},
		{[]time.Duration{4 * s, 1 * s, 3 * s, 2 * s}, 2500 * time.Millisecond},
	} {
		if got := medianDur(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestTableGolden(t *testing.T) {
	ms := time.Millisecond
	rows := []Row{
		{
			Scenario: "1 ndjson", InputFiles: 2000, InputBytes: 102_700_000,
			Sluice: Sample{Walls: []time.Duration{1200 * ms, 1000 * ms, 1100 * ms, 1300 * ms, 900 * ms}, RSS: []int64{100 << 20, 120 << 20},
				CPU: []time.Duration{2000 * ms, 1800 * ms, 2100 * ms, 1900 * ms, 2200 * ms}},
			RefName: "duckdb",
			Ref: Sample{Walls: []time.Duration{700 * ms, 600 * ms, 800 * ms, 650 * ms, 750 * ms}, RSS: []int64{340 << 20},
				CPU: []time.Duration{1000 * ms, 1100 * ms, 900 * ms, 1000 * ms, 1200 * ms}},
			SameRows: "yes", Goal: Goal{Wall: 0.8, RSS: 0.5},
			Floor:     Sample{Walls: []time.Duration{300 * ms, 250 * ms, 350 * ms}, CPU: []time.Duration{500 * ms, 500 * ms, 600 * ms}},
			OneThread: Sample{Walls: []time.Duration{2000 * ms, 2100 * ms, 1900 * ms, 2000 * ms, 2200 * ms}},
			Threads:   2,
		},
		{
			Scenario: "6 plan 10k", InputFiles: 10000, InputBytes: 3_000_000,
			Sluice:   Sample{Walls: []time.Duration{500 * ms}, RSS: []int64{40 << 20}, Polled: true},
			SameRows: "-", Note: "bounded to 1,000 files",
		},
		{
			Scenario: "6 plan 100k", InputFiles: 100000, InputBytes: 30_000_000,
			Sluice:   Sample{Walls: []time.Duration{900 * ms}, RSS: []int64{45 << 20}},
			SameRows: "-", Goal: Goal{RSSOf: "6 plan 10k", RSSOfRatio: 1.2},
		},
		{
			Scenario: "6 plan 1000k unbounded", InputFiles: 1000000, InputBytes: 300_000_000,
			Sluice:   Sample{Walls: []time.Duration{9000 * ms}, RSS: []int64{250 << 20}},
			SameRows: "-", Goal: Goal{RSSBytes: 200 << 20},
		},
		{
			Scenario: "5 s3", InputFiles: 2000, InputBytes: 102_700_000,
			Sluice:  Sample{Walls: []time.Duration{1000 * ms}, RSS: []int64{80 << 20}},
			RefName: "raw GET", Ref: Sample{Walls: []time.Duration{750 * ms}, RSS: []int64{50 << 20}},
			SameRows: "yes", Goal: Goal{Throughput: 0.7},
		},
		{
			Scenario: "3 flights", InputFiles: 1, InputBytes: 13_493_022,
			Sluice:  Sample{Failed: "exit 1: boom"},
			RefName: "duckdb", Ref: Sample{Walls: []time.Duration{300 * ms, 310 * ms, 290 * ms, 305 * ms, 295 * ms}, RSS: []int64{200 << 20}},
			SameRows: "-", Goal: Goal{Wall: 1},
		},
	}
	var buf bytes.Buffer
	WriteTable(&buf, rows)
	golden := "testdata/table.md"
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if buf.String() != string(want) {
		t.Fatalf("table differs from %s:\n%s", golden, buf.String())
	}
}
