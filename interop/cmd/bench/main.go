package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sluicedata/sluice/internal/lakegen"
	"github.com/sluicedata/sluice/interop/duck"
	"github.com/sluicedata/sluice/interop/runner"
	"github.com/sluicedata/sluice/interop/sluicecfg"
)

func main() {
	if code, ok := runWorker(os.Args[1:]); ok {
		os.Exit(code)
	}
	if err := benchMain(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	sluice, repo, cache, only, out string
	cpuprofile, memprofile         string // directories for sluice's profiles ("" for none)
	runs, threads                  int
	large                          bool
	oneThread                      bool // also run sluice with one thread (parallel efficiency)
	self                           string
}

func benchMain(args []string) error {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.sluice, "sluice", "bin/sluice", "the sluice binary (relative to -repo)")
	fs.StringVar(&o.repo, "repo", "..", "the sluice repository root")
	fs.IntVar(&o.runs, "runs", minRuns, "repetitions per engine and scenario (the median is reported)")
	fs.IntVar(&o.threads, "threads", runtime.NumCPU(), "threads for both engines (sluice -parallelism and GOMAXPROCS, DuckDB threads)")
	fs.BoolVar(&o.large, "large", false, "bigger data sets (about 10x; 1M keys for the plan scenario)")
	fs.BoolVar(&o.oneThread, "one-thread", true, "also run sluice with GOMAXPROCS=1 and -parallelism 1 (the 1-thread column)")
	fs.StringVar(&o.only, "only", "", "comma-separated scenario numbers to run (default: all)")
	fs.StringVar(&o.out, "o", "", "also write the Markdown table to this file")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of one extra, untimed sluice apply per scenario to DIR/<scenario>.cpu.pprof")
	fs.StringVar(&o.memprofile, "memprofile", "", "write a heap profile of one extra, untimed sluice apply per scenario to DIR/<scenario>.mem.pprof")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if o.repo, err = filepath.Abs(o.repo); err != nil {
		return err
	}
	if !filepath.IsAbs(o.sluice) {
		o.sluice = filepath.Join(o.repo, o.sluice)
	}
	if _, err := os.Stat(o.sluice); err != nil {
		return fmt.Errorf("sluice binary: %w (run make build)", err)
	}
	if o.self, err = os.Executable(); err != nil {
		return err
	}
	o.cache = filepath.Join(o.repo, ".tools", "cache", "bench")
	if o.large {
		o.cache = filepath.Join(o.cache, "large")
	}
	if err := os.MkdirAll(o.cache, 0o755); err != nil {
		return err
	}
	machine(os.Stdout, o)
	var rows []Row
	for _, sc := range scenarios(o) {
		if !selected(o.only, sc.num) {
			continue
		}
		fmt.Fprintf(os.Stderr, "== %s\n", sc.name)
		rs, err := sc.run(o)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		rows = append(rows, rs...)
		WriteTable(os.Stderr, rs)
	}
	fmt.Println()
	WriteTable(os.Stdout, rows)
	legend := fmt.Sprintf("\nWall times are medians; (n=K!) flags fewer than %d runs. Peak RSS marked * was sampled from /proc (VmHWM every 5ms), because the harness's own peak (%s) hides a smaller child's rusage figure; see interop/runner.\n", minRuns, mib(runner.ParentPeakRSS()))
	fmt.Print(legend)
	if o.out != "" {
		f, err := os.Create(o.out)
		if err != nil {
			return err
		}
		machine(f, o)
		fmt.Fprintln(f)
		WriteTable(f, rows)
		fmt.Fprint(f, legend)
		return f.Close()
	}
	return nil
}

func selected(only string, num int) bool {
	if only == "" {
		return true
	}
	for _, s := range strings.Split(only, ",") {
		if strings.TrimSpace(s) == strconv.Itoa(num) {
			return true
		}
	}
	return false
}

// machine prints what the figures were measured on.
func machine(w io.Writer, o options) {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	memTotal := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		memTotal = strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"))
	}
	ver, _ := runner.Run(context.Background(), o.sluice, []string{"version"}, os.Environ(), "")
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s RAM, %s/%s, %s; threads per engine: %d; runs: %d\n",
		runtime.NumCPU(), model, memTotal, runtime.GOOS, runtime.GOARCH, runtime.Version(), o.threads, o.runs)
	fmt.Fprintf(w, "sluice: %s; DuckDB: duckdb-go v2.10505.0 (DuckDB 1.5.5)\n", strings.TrimSpace(strings.SplitN(string(ver.Stdout), "\n", 2)[0]))
}

// dataKind says which generator makes a data set.
type dataKind int

const (
	wideData   dataKind = iota // lakegen.Wide: 20 mixed columns
	eventsData                 // lakegen.Events: nested GitHub-like events
	manyData                   // lakegen.Many: 200 columns
	fileData                   // an existing file (flights), or copies of it
)

// dataset is one cached input: a generated data set, or an existing file.
type dataset struct {
	name   string
	kind   dataKind
	opts   lakegen.WideOptions
	events lakegen.EventsOptions
	many   lakegen.ManyOptions
	file   string // fileData: the file
	copies int    // fileData: a directory of this many hard links to file (0: the file alone)
}

func (d dataset) dir(o options) string { return filepath.Join(o.cache, d.name) }

// srcDir is the directory a pipeline reads.
func (d dataset) srcDir(o options) string {
	if d.kind == fileData && d.copies == 0 {
		return filepath.Dir(d.file)
	}
	return d.dir(o)
}

func (d dataset) format() lakegen.WideFormat {
	switch d.kind {
	case eventsData:
		return lakegen.WideJSON
	case manyData:
		return d.many.Format
	case fileData:
		return lakegen.WideParquet
	}
	return d.opts.Format
}

// columns are the raw files' columns with their types (nil for an existing
// file, whose footer types it).
func (d dataset) columns() []lakegen.WideColumn {
	switch d.kind {
	case eventsData:
		return lakegen.EventColumns
	case manyData:
		return lakegen.ManyColumns(d.many.Columns)
	case fileData:
		return nil
	}
	return lakegen.WideColumns
}

// genSpec names a data set to generate.
type genSpec struct {
	Dir    string
	Kind   dataKind
	Wide   lakegen.WideOptions
	Events lakegen.EventsOptions
	Many   lakegen.ManyOptions
}

// ensure generates the data set once (in a worker, see the package
// comment) and returns its size.
func (d dataset) ensure(o options) (files int, bytes int64, err error) {
	if d.kind == fileData {
		fi, err := os.Stat(d.file)
		if err != nil {
			return 0, 0, fmt.Errorf("%w (run make testdata)", err)
		}
		if d.copies == 0 {
			return 1, fi.Size(), nil
		}
		// Hard links: the same bytes as many files, at no cost in disk.
		if err := os.MkdirAll(d.dir(o), 0o755); err != nil {
			return 0, 0, err
		}
		for i := range d.copies {
			p := filepath.Join(d.dir(o), fmt.Sprintf("part-%02d.parquet", i))
			if _, err := os.Stat(p); err == nil {
				continue
			}
			if err := os.Link(d.file, p); err != nil {
				return 0, 0, err
			}
		}
		return d.copies, int64(d.copies) * fi.Size(), nil
	}
	statsFile := d.dir(o) + ".stats.json"
	if _, err := os.Stat(statsFile); err != nil {
		fmt.Fprintf(os.Stderr, "generating %s (once)...\n", d.name)
		spec, _ := json.Marshal(genSpec{Dir: d.dir(o), Kind: d.kind, Wide: d.opts, Events: d.events, Many: d.many})
		specFile := d.dir(o) + ".gen.json"
		if err := os.WriteFile(specFile, spec, 0o644); err != nil {
			return 0, 0, err
		}
		os.RemoveAll(d.dir(o))
		r, err := runner.Run(context.Background(), o.self, []string{"gen-worker", specFile}, os.Environ(), "")
		if err != nil || r.ExitCode != 0 {
			return 0, 0, fmt.Errorf("generate %s: %v %s", d.name, err, r.Stderr)
		}
	}
	b, err := os.ReadFile(statsFile)
	if err != nil {
		return 0, 0, err
	}
	var st lakegen.Stats
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, 0, err
	}
	return st.Files, st.Bytes, nil
}

// scenario is one line (or, for plan memory, a few lines) of the table.
type scenario struct {
	num  int
	name string
	data dataset

	// The pipeline, and the same job for DuckDB.
	where, sqlWhere string
	selectCols      []string // nil: every column
	partitionBy     []string
	cols            []duck.Column // output columns compared between the engines
	// minDT is the partition pruning the where implies (dt >= minDT), for
	// the floor, which reads only what the job must read.
	minDT string

	s3         bool  // read the input from the loopback S3 server
	planKeys   []int // plan-memory scenario: key counts
	noSchema   bool
	noHivePart bool
	goal       Goal
	// temporal > 0: run through the Temporal executor on this many
	// workers, next to -executor local (runTemporal).
	temporal int
	// shape (scenario 9): the output and dedupe blocks added to the
	// pipeline, the schema they read (created_at as text, to parse), and
	// DuckDB's whole SELECT for the same job ({raw} is the raw read), and
	// the raw columns DuckDB reads as another type than WideColumns say.
	blocks, schemaHCL, sqlSelect string
	rawTypes                     map[string]string
}

// The goals of issue 19 (the plan scenario's are set per row, in runPlan).
var (
	duckGoal = Goal{Wall: 0.8, RSS: 0.5}
	// shapeGoal is issue 16's for scenario 9 (derived columns and dedupe).
	shapeGoal = Goal{Wall: 1.0}
	s3Goal    = Goal{Throughput: 0.7}
)

var wideSelect = []string{"id", "user_id", "event", "country", "price", "qty", "discount", "is_member", "created_at", "note", "dt"}

// manySelect is the projection of the 200-column scenarios: ten columns
// spread over the table, two of each type.
var manySelect = []string{"c000", "c021", "c042", "c063", "c084", "c105", "c126", "c147", "c168", "c189", "dt"}

// typed gives names their DuckDB types from a data set's columns (dt is a
// DATE).
func typed(from []lakegen.WideColumn, names []string) []duck.Column {
	types := map[string]string{"dt": "DATE"}
	for _, c := range from {
		types[c.Name] = c.SQLType
	}
	cols := make([]duck.Column, len(names))
	for i, n := range names {
		cols[i] = duck.Column{Name: n, SQLType: types[n]}
	}
	return cols
}

// allOf is every column of a data set, and dt.
func allOf(from []lakegen.WideColumn) []string {
	var names []string
	for _, c := range from {
		names = append(names, c.Name)
	}
	return append(names, "dt")
}

func scenarios(o options) []scenario {
	scale := 1
	if o.large {
		scale = 10
	}
	ndjson := dataset{name: fmt.Sprintf("ndjson-%d", 2000*scale), opts: lakegen.WideOptions{Format: lakegen.WideJSON, Files: 2000 * scale, Days: 10, RowsPerFile: 150, Seed: 1}}
	csv := dataset{name: fmt.Sprintf("csv-%d", 2000*scale), opts: lakegen.WideOptions{Format: lakegen.WideCSVGzip, Files: 2000 * scale, Days: 10, RowsPerFile: 150, Seed: 1}}
	pq := dataset{name: fmt.Sprintf("parquet-%d", 5000*scale), opts: lakegen.WideOptions{Format: lakegen.WideParquet, Files: 5000 * scale, Days: 10, RowsPerFile: 150, Seed: 2}}
	tiny := dataset{name: fmt.Sprintf("tiny-%d", 50000*scale), opts: lakegen.WideOptions{Format: lakegen.WideJSON, Files: 50000 * scale, Days: 50 * scale, RowsPerFile: 6, Seed: 3}}
	flights := dataset{name: "flights-3m", kind: fileData, file: filepath.Join(o.repo, ".tools", "cache", "vega-datasets", "flights-3m.parquet")}
	if o.large {
		flights.name, flights.copies = "flights-3m-x10", 10
	}
	events := dataset{name: fmt.Sprintf("events-%d", 200*scale), kind: eventsData,
		events: lakegen.EventsOptions{Files: 200 * scale, Days: 10, RowsPerFile: 500, Seed: 5}}
	manyPQ := dataset{name: fmt.Sprintf("wide200-parquet-%d", 200*scale), kind: manyData,
		many: lakegen.ManyOptions{Format: lakegen.WideParquet, Columns: 200, Files: 200 * scale, Days: 10, RowsPerFile: 500, Seed: 6}}
	manyJSON := dataset{name: fmt.Sprintf("wide200-json-%d", 400*scale), kind: manyData,
		many: lakegen.ManyOptions{Format: lakegen.WideJSON, Columns: 200, Files: 400 * scale, Days: 10, RowsPerFile: 80, Seed: 7}}
	const where = "dt >= '2026-01-04' && price > 2000.0"
	const sqlWhere = "dt >= DATE '2026-01-04' AND price > 2000.0"
	const minDT = "2026-01-04"
	keys := []int{10_000, 100_000}
	if o.large {
		keys = append(keys, 1_000_000)
	}
	wide := lakegen.WideColumns
	many := lakegen.ManyColumns(200)
	return []scenario{
		{num: 1, name: "1 ndjson → parquet", data: ndjson, where: where, sqlWhere: sqlWhere, minDT: minDT, selectCols: wideSelect, partitionBy: []string{"dt"}, cols: typed(wide, wideSelect), goal: duckGoal},
		{num: 2, name: "2 gzip csv → parquet", data: csv, where: where, sqlWhere: sqlWhere, minDT: minDT, selectCols: wideSelect, partitionBy: []string{"dt"}, cols: typed(wide, wideSelect), goal: duckGoal},
		{num: 3, name: "3a parquet compaction", data: pq, partitionBy: []string{"dt"}, cols: typed(wide, allOf(wide)), goal: duckGoal},
		{num: 3, name: "3b flights-3m filter+rewrite", data: flights, noSchema: true, noHivePart: true,
			where: "delay > 15", sqlWhere: "delay > 15", goal: duckGoal,
			cols: []duck.Column{{Name: "date", SQLType: "TIMESTAMP"}, {Name: "delay", SQLType: "BIGINT"}, {Name: "distance", SQLType: "BIGINT"}, {Name: "origin", SQLType: "VARCHAR"}, {Name: "destination", SQLType: "VARCHAR"}}},
		{num: 4, name: "4 tiny ndjson files", data: tiny, where: where, sqlWhere: sqlWhere, minDT: minDT, selectCols: wideSelect, partitionBy: []string{"dt"}, cols: typed(wide, wideSelect), goal: duckGoal},
		{num: 5, name: "5 ndjson from S3", data: ndjson, where: where, sqlWhere: sqlWhere, minDT: minDT, selectCols: wideSelect, partitionBy: []string{"dt"}, cols: typed(wide, wideSelect), s3: true, goal: s3Goal},
		{num: 6, name: "6 plan memory", planKeys: keys},
		// Nested structs and lists pass through; the predicate language
		// cannot reach into them (yet), so the filter is on a top-level field.
		{num: 7, name: "7 nested json events", data: events, where: "type == 'PushEvent'", sqlWhere: `"type" = 'PushEvent'`,
			partitionBy: []string{"dt"}, cols: typed(lakegen.EventColumns, allOf(lakegen.EventColumns)), goal: duckGoal},
		{num: 8, name: "8a 200 columns parquet, 10 kept", data: manyPQ, selectCols: manySelect, partitionBy: []string{"dt"}, cols: typed(many, manySelect), goal: duckGoal},
		{num: 8, name: "8b 200 columns ndjson, 10 kept", data: manyJSON, selectCols: manySelect, partitionBy: []string{"dt"}, cols: typed(many, manySelect), goal: duckGoal},
		{num: 10, name: "10a ndjson via Temporal, 1 worker", data: ndjson, where: where, sqlWhere: sqlWhere, minDT: minDT, selectCols: wideSelect, partitionBy: []string{"dt"}, cols: typed(wide, wideSelect), temporal: 1},
		{num: 10, name: "10b ndjson via Temporal, 2 workers", data: ndjson, where: where, sqlWhere: sqlWhere, minDT: minDT, selectCols: wideSelect, partitionBy: []string{"dt"}, cols: typed(wide, wideSelect), temporal: 2},
		shapeScenario(ndjson),
	}
}

// shapeScenario is scenario 9: the NDJSON data shaped on the way — five
// derived columns (a timestamp parse, its truncation to the day used in
// partition_by, a string function, arithmetic, a coalesce), a rename and a
// dedupe keeping each user's latest event — next to DuckDB running the
// same job in SQL (strptime, date_trunc, lower/trim, arithmetic, coalesce,
// row_number() over the user).
func shapeScenario(ndjson dataset) scenario {
	const ts = "%Y-%m-%dT%H:%M:%S.%fZ"
	blocks := `  output {
    column "id" {}
    column "user" { expr = "user_id" }
    column "created" { expr = "parse_timestamp(created_at, '` + ts + `')" }
    column "day" { expr = "date(trunc(parse_timestamp(created_at, '` + ts + `'), 'day'))" }
    column "country" { expr = "lower(trim(country))" }
    column "revenue" { expr = "price * qty * (1 - discount / 100)" }
    column "note" { expr = "coalesce(note, 'none')" }
    column "event" {}
  }

  dedupe {
    key      = ["user"]
    order_by = "created"
    keep     = "last"
  }`
	schema := strings.Replace(lakegen.WideSchemaHCL("events"), `column "created_at" {
    type = "timestamp(ms)"`, `column "created_at" {
    type = "string"`, 1)
	const sqlTS = "strptime(created_at, '%Y-%m-%dT%H:%M:%S.%gZ')"
	sel := `SELECT id, "user", created, "day", country, revenue, note, event FROM (
  SELECT id, user_id AS "user", ` + sqlTS + ` AS created, CAST(date_trunc('day', ` + sqlTS + `) AS DATE) AS "day",
    lower(trim(country)) AS country, price * qty * (1 - discount / 100) AS revenue, coalesce(note, 'none') AS note, event,
    row_number() OVER (PARTITION BY user_id ORDER BY ` + sqlTS + ` DESC NULLS LAST, id DESC) AS rn
  FROM {raw} WHERE dt >= DATE '2026-01-04') WHERE rn = 1`
	cols := []duck.Column{{Name: "id", SQLType: "BIGINT"}, {Name: "user", SQLType: "BIGINT"}, {Name: "created", SQLType: "TIMESTAMP"},
		{Name: "day", SQLType: "DATE"}, {Name: "country", SQLType: "VARCHAR"}, {Name: "revenue", SQLType: "DOUBLE"},
		{Name: "note", SQLType: "VARCHAR"}, {Name: "event", SQLType: "VARCHAR"}}
	return scenario{num: 9, name: "9 ndjson shaped + dedupe", data: ndjson, where: "dt >= '2026-01-04'", partitionBy: []string{"day"},
		cols: cols, blocks: blocks, schemaHCL: schema, sqlSelect: sel, rawTypes: map[string]string{"created_at": "VARCHAR"}, goal: shapeGoal}
}

// work is a fresh directory for one repetition (state and output), removed
// by the caller.
func (o options) work(tag string) (string, error) {
	dir := filepath.Join(o.cache, "work")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(dir, tag+"-")
}

// add records one measured run.
func (s *Sample) add(r runner.Result) {
	s.Walls = append(s.Walls, r.Wall)
	s.RSS = append(s.RSS, r.MaxRSS)
	s.Polled = s.Polled || r.Polled
	s.CPU = append(s.CPU, r.CPU())
}

// sluiceRuns runs the scenario's pipeline runs times with threads threads
// (plus one untimed profiled run when profile is set), each with a fresh
// state and output, and returns the sample, the last output directory
// (kept for the row check; the caller removes its parent) and, with a
// gateway, the server's CPU time per run.
func (sc scenario) sluiceRuns(o options, runs, threads int, sourceURL string, env []string, gw *gateway, profile bool) (Sample, string, []time.Duration, error) {
	var smp Sample
	var lastOut string
	var serverCPU []time.Duration
	env = append(env, "GOMAXPROCS="+strconv.Itoa(threads))
	total := runs
	if profile {
		total++ // one more run with profiling on, kept out of the timings
	}
	for i := 0; i < total; i++ {
		profiling := i == runs
		dir, err := o.work("sluice")
		if err != nil {
			return smp, lastOut, nil, err
		}
		cfg := sluicecfg.Pipeline{
			StateURL: filepath.Join(dir, "state"), SourceURL: sourceURL, Format: sc.data.format().String(),
			Where: sc.where, Select: sc.selectCols, SinkURL: filepath.Join(dir, "out") + "/", PartitionBy: sc.partitionBy,
			Blocks: sc.blocks,
		}
		if !sc.noHivePart {
			cfg.Partitions = []string{"dt"}
		}
		if sc.data.format() == lakegen.WideCSVGzip {
			cfg.Compression = "gzip"
		}
		if !sc.noSchema && sc.data.format() != lakegen.WideParquet {
			cfg.SchemaFile = filepath.Join(dir, "events.schema.hcl")
			schema := lakegen.SchemaHCL("events", sc.data.columns())
			if sc.schemaHCL != "" {
				schema = sc.schemaHCL
			}
			if err := os.WriteFile(cfg.SchemaFile, []byte(schema), 0o644); err != nil {
				return smp, lastOut, nil, err
			}
		}
		if err := cfg.Write(filepath.Join(dir, "conf")); err != nil {
			return smp, lastOut, nil, err
		}
		var cpu0 time.Duration
		if gw != nil {
			cpu0 = gw.cpuTime()
		}
		args := []string{"apply", "-auto-approve", "-parallelism", strconv.Itoa(threads)}
		if profiling {
			args = append(args, o.profileArgs(sc.name)...)
		}
		r, err := runner.Run(context.Background(), o.sluice, append(args, filepath.Join(dir, "conf")), env, dir)
		if err != nil || r.ExitCode != 0 {
			smp.Failed = fmt.Sprintf("exit %d %v: %s", r.ExitCode, err, lastLines(r.Stdout, r.Stderr))
			os.RemoveAll(dir)
			break
		}
		if profiling {
			fmt.Fprintf(os.Stderr, "profiles: %s\n", strings.Join(args[4:], " "))
			os.RemoveAll(dir)
			continue
		}
		if gw != nil {
			serverCPU = append(serverCPU, gw.cpuTime()-cpu0)
		}
		smp.add(r)
		if lastOut != "" {
			os.RemoveAll(filepath.Dir(lastOut))
		}
		lastOut = filepath.Join(dir, "out")
	}
	return smp, lastOut, serverCPU, nil
}

// floorRuns measures the scenario's floor (see floorWorker) runs times:
// the work's own time, as the worker reports it.
func (sc scenario) floorRuns(o options, srcDir string) Sample {
	var smp Sample
	args := []string{"floor-worker", "-format", sc.data.format().String(), "-dir", srcDir, "-threads", strconv.Itoa(o.threads)}
	if sc.minDT != "" {
		args = append(args, "-min-dt", sc.minDT)
	}
	if sc.data.format() == lakegen.WideCSVGzip {
		args = append(args, "-gzip")
	}
	if sc.data.format() == lakegen.WideParquet && sc.selectCols != nil {
		var cols []string
		for _, c := range sc.selectCols {
			if c != "dt" {
				cols = append(cols, c)
			}
		}
		args = append(args, "-cols", strings.Join(cols, ","))
	}
	env := append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(o.threads))
	for i := 0; i < o.runs; i++ {
		r, err := runner.Run(context.Background(), o.self, args, env, "")
		var fr floorResult
		if err == nil && r.ExitCode == 0 {
			err = json.Unmarshal(r.Stdout, &fr)
		}
		if err != nil || r.ExitCode != 0 {
			smp.Failed = fmt.Sprintf("exit %d %v: %s", r.ExitCode, err, lastLines(r.Stdout, r.Stderr))
			break
		}
		smp.Walls = append(smp.Walls, fr.Wall)
		smp.CPU = append(smp.CPU, fr.CPU)
	}
	return smp
}

func (sc scenario) run(o options) ([]Row, error) {
	if len(sc.planKeys) > 0 {
		return sc.runPlan(o)
	}
	if sc.temporal > 0 {
		return sc.runTemporal(o)
	}
	files, bytes, err := sc.data.ensure(o)
	if err != nil {
		return nil, err
	}
	row := Row{Scenario: sc.name, InputFiles: files, InputBytes: bytes, SameRows: "-", Goal: sc.goal, Threads: o.threads}
	srcDir := sc.data.srcDir(o)
	env := os.Environ()
	sourceURL := srcDir + "/"
	var gw *gateway
	if sc.s3 {
		bin := os.Getenv("SLUICE_VERSITYGW")
		if bin == "" {
			bin = filepath.Join(o.repo, ".tools", "versitygw")
		}
		if gw, err = startGateway(bin, filepath.Join(o.cache, "work", "s3")); err != nil {
			return nil, err
		}
		defer func() { gw.stop(); os.RemoveAll(gw.dataDir) }()
		fmt.Fprintln(os.Stderr, "uploading to the loopback S3 server...")
		if err := gw.upload("bench", "events", srcDir); err != nil {
			return nil, err
		}
		env = append(env, gw.env()...)
		sourceURL = "s3://bench/events/"
	}

	// sluice, fresh state and output each repetition; the last output is
	// kept for the row check.
	profile := o.cpuprofile != "" || o.memprofile != ""
	smp, lastOut, serverCPU, err := sc.sluiceRuns(o, o.runs, o.threads, sourceURL, env, gw, profile)
	if err != nil {
		return nil, err
	}
	row.Sluice = smp
	if lastOut != "" {
		defer os.RemoveAll(filepath.Dir(lastOut))
	}
	if o.oneThread && o.threads > 1 {
		one, out1, _, err := sc.sluiceRuns(o, o.runs, 1, sourceURL, env, gw, false)
		if err != nil {
			return nil, err
		}
		if out1 != "" {
			os.RemoveAll(filepath.Dir(out1))
		}
		row.OneThread = one
	}

	if sc.s3 {
		// The store's limit: list and GET every object, nothing else.
		row.RefName = "raw GET"
		var getCPU []time.Duration
		for i := 0; i < o.runs; i++ {
			cpu0 := gw.cpuTime()
			r, err := runner.Run(context.Background(), o.self, []string{"get-worker", "-bucket", "bench", "-prefix", "events/"}, append(env, "GOMAXPROCS="+strconv.Itoa(o.threads)), "")
			if err != nil || r.ExitCode != 0 {
				row.Ref.Failed = fmt.Sprintf("exit %d %v: %s", r.ExitCode, err, lastLines(r.Stdout, r.Stderr))
				break
			}
			getCPU = append(getCPU, gw.cpuTime()-cpu0)
			row.Ref.add(r)
		}
		if row.Sluice.ok() && row.Ref.ok() {
			row.Note = fmt.Sprintf("sluice reaches %.0f%% of raw GET throughput; CPU per run (median): sluice %.2fs + server %.2fs, raw GET %.2fs + server %.2fs",
				100*row.Ref.Wall().Seconds()/row.Sluice.Wall().Seconds(),
				medianDur(row.Sluice.CPU).Seconds(), medianDur(serverCPU).Seconds(),
				medianDur(row.Ref.CPU).Seconds(), medianDur(getCPU).Seconds())
		}
		if lastOut != "" {
			row.SameRows = verify(o, verifySpec{
				A:    duck.Select(rawRead(sc, sc.data.dir(o)), sc.cols, sc.sqlWhere),
				B:    duck.Select(duck.ReadParquet(filepath.Join(lastOut, "**", "*.parquet")), sc.cols, ""),
				Cols: sc.cols, Partition: partitionOf(sc),
			})
		}
		return []Row{row}, nil
	}
	row.Floor = sc.floorRuns(o, srcDir)

	// DuckDB, the same job with the same threads, in a worker process.
	row.RefName = "duckdb"
	var duckOut string
	for i := 0; i < o.runs; i++ {
		dir, err := o.work("duckdb")
		if err != nil {
			return nil, err
		}
		out := filepath.Join(dir, "out")
		sqlFile := filepath.Join(dir, "job.sql")
		if err := os.WriteFile(sqlFile, []byte(copySQL(sc, srcDir, out)), 0o644); err != nil {
			return nil, err
		}
		r, err := runner.Run(context.Background(), o.self, []string{"duckdb-worker", "-threads", strconv.Itoa(o.threads), "-sql", sqlFile}, env, dir)
		if err != nil || r.ExitCode != 0 {
			row.Ref.Failed = fmt.Sprintf("exit %d %v: %s", r.ExitCode, err, lastLines(r.Stdout, r.Stderr))
			os.RemoveAll(dir)
			break
		}
		row.Ref.add(r)
		if duckOut != "" {
			os.RemoveAll(filepath.Dir(duckOut))
		}
		duckOut = out
	}
	if duckOut != "" {
		defer os.RemoveAll(filepath.Dir(duckOut))
	}
	if lastOut != "" && duckOut != "" {
		row.SameRows = verify(o, verifySpec{
			A:    duck.Select(duck.ReadParquet(filepath.Join(duckOut, "**", "*.parquet")), sc.cols, ""),
			B:    duck.Select(duck.ReadParquet(filepath.Join(lastOut, "**", "*.parquet")), sc.cols, ""),
			Cols: sc.cols, Partition: partitionOf(sc),
		})
	}
	return []Row{row}, nil
}

func partitionOf(sc scenario) string {
	if len(sc.partitionBy) > 0 {
		return sc.partitionBy[0]
	}
	return ""
}

// rawRead is DuckDB's table function over the scenario's raw input.
func rawRead(sc scenario, dir string) string {
	d := sc.data
	if d.kind == fileData {
		if d.copies == 0 {
			return fmt.Sprintf("read_parquet(%s)", duck.Quote(d.file))
		}
		return fmt.Sprintf("read_parquet(%s)", duck.Quote(filepath.Join(dir, "*.parquet")))
	}
	glob := filepath.Join(dir, "**", "*"+d.format().Ext())
	raw := typed(d.columns(), allOf(d.columns()))
	raw = raw[:len(raw)-1] // dt comes from the path
	switch d.format() {
	case lakegen.WideJSON:
		for i, c := range raw {
			if t, ok := sc.rawTypes[c.Name]; ok {
				raw[i].SQLType = t
			}
		}
		return duck.ReadJSON(glob, raw)
	case lakegen.WideCSVGzip:
		return duck.ReadCSV(glob, raw)
	}
	return duck.ReadParquet(glob)
}

// copySQL is DuckDB's version of the scenario's pipeline: read, filter,
// project, write snappy Parquet, hive-partitioned like sluice's sink.
func copySQL(sc scenario, srcDir, out string) string {
	cols := make([]string, len(sc.cols))
	for i, c := range sc.cols {
		cols[i] = duck.Ident(c.Name)
	}
	q := fmt.Sprintf("SELECT %s FROM %s", strings.Join(cols, ", "), rawRead(sc, srcDir))
	if sc.sqlWhere != "" {
		q += " WHERE " + sc.sqlWhere
	}
	if sc.sqlSelect != "" {
		q = strings.Replace(sc.sqlSelect, "{raw}", rawRead(sc, srcDir), 1)
	}
	if len(sc.partitionBy) == 0 {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return ""
		}
		return fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION snappy)", q, duck.Quote(filepath.Join(out, "data.parquet")))
	}
	return fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (%s))", q, duck.Quote(out), strings.Join(sc.partitionBy, ", "))
}

// verify runs duck.Compare in a worker and renders the outcome for the table.
func verify(o options, s verifySpec) string {
	b, _ := json.Marshal(s)
	f, err := os.CreateTemp(filepath.Join(o.cache, "work"), "verify-*.json")
	if err != nil {
		return "NO: " + err.Error()
	}
	f.Write(b)
	f.Close()
	defer os.Remove(f.Name())
	r, err := runner.Run(context.Background(), o.self, []string{"verify-worker", f.Name()}, os.Environ(), "")
	if err != nil {
		return "NO: " + err.Error()
	}
	if r.ExitCode != 0 {
		fmt.Fprintf(os.Stderr, "row check failed:\n%s\n", r.Stderr)
		return "NO (see log)"
	}
	return "yes"
}

func lastLines(stdout, stderr []byte) string {
	s := strings.TrimSpace(string(stderr))
	if s == "" {
		s = strings.TrimSpace(string(stdout))
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return strings.Join(lines, " / ")
}

// runPlan measures `sluice plan` over hive layouts of many keys (at most
// 1,000 per prefix), bounded to 1,000 files and unbounded. There is no
// DuckDB counterpart: this is sluice's own memory claim.
func (sc scenario) runPlan(o options) ([]Row, error) {
	var rows []Row
	for _, k := range sc.planKeys {
		d := dataset{name: fmt.Sprintf("keys-%d", k), opts: lakegen.WideOptions{Format: lakegen.WideJSON, Files: k, Days: max(1, k/1000), RowsPerFile: 1, Seed: 4}}
		files, bytes, err := d.ensure(o)
		if err != nil {
			return nil, err
		}
		for _, bounded := range []int{1000, 0} {
			name := fmt.Sprintf("6 plan %dk keys, unbounded", k/1000)
			if bounded > 0 {
				name = fmt.Sprintf("6 plan %dk keys, bounded %d", k/1000, bounded)
			}
			row := Row{Scenario: name, InputFiles: files, InputBytes: bytes, SameRows: "-"}
			switch {
			case bounded > 0 && k > sc.planKeys[0]:
				row.Goal = Goal{RSSOf: fmt.Sprintf("6 plan %dk keys, bounded %d", sc.planKeys[0]/1000, bounded), RSSOfRatio: 1.2}
			case bounded == 0 && k >= 1_000_000:
				row.Goal = Goal{RSSBytes: 200 << 20}
			}
			for i := 0; i < o.runs; i++ {
				dir, err := o.work("plan")
				if err != nil {
					return nil, err
				}
				schema := filepath.Join(dir, "events.schema.hcl")
				if err := os.WriteFile(schema, []byte(lakegen.WideSchemaHCL("events")), 0o644); err != nil {
					return nil, err
				}
				cfg := sluicecfg.Pipeline{StateURL: filepath.Join(dir, "state"), SourceURL: d.dir(o) + "/", Format: "json",
					SchemaFile: schema, Partitions: []string{"dt"}, BoundedFiles: bounded, SinkURL: filepath.Join(dir, "out") + "/"}
				if err := cfg.Write(filepath.Join(dir, "conf")); err != nil {
					return nil, err
				}
				r, err := runner.Run(context.Background(), o.sluice, []string{"plan", filepath.Join(dir, "conf")},
					append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(o.threads)), dir)
				os.RemoveAll(dir)
				if err != nil || r.ExitCode != 0 {
					row.Sluice.Failed = fmt.Sprintf("exit %d %v: %s", r.ExitCode, err, lastLines(r.Stdout, r.Stderr))
					break
				}
				row.Sluice.Walls = append(row.Sluice.Walls, r.Wall)
				row.Sluice.RSS = append(row.Sluice.RSS, r.MaxRSS)
				row.Sluice.Polled = row.Sluice.Polled || r.Polled
				row.Sluice.CPU = append(row.Sluice.CPU, r.CPU())
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// profileArgs are sluice's profiling flags for one scenario, writing into
// the -cpuprofile / -memprofile directories.
func (o options) profileArgs(scenario string) []string {
	slug := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, scenario)
	var args []string
	for _, p := range []struct{ flag, dir, ext string }{{"-cpuprofile", o.cpuprofile, ".cpu.pprof"}, {"-memprofile", o.memprofile, ".mem.pprof"}} {
		if p.dir == "" {
			continue
		}
		dir, err := filepath.Abs(p.dir)
		if err == nil {
			err = os.MkdirAll(dir, 0o755)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s %s: %v\n", p.flag, p.dir, err)
			continue
		}
		args = append(args, p.flag, filepath.Join(dir, slug+p.ext))
	}
	return args
}
