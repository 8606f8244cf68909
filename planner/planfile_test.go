package planner

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
)

func TestPlanFileRoundTrip(t *testing.T) {
	f := newFixture(t, goldenTree, func(p *spec.Pipeline) {
		p.Source.Where = compileWhere(t, "dt >= '2026-01-01' && amount > 0", ordersSchema, p.Source.Partitions)
		p.Checks = []*spec.Check{{Name: "has_id", Expr: compileWhere(t, "order_id != nil", ordersSchema, nil), MinRows: -1, Severity: spec.SeverityError}}
	})
	p := buildPlan(t, f)
	p.Pipelines[0].rowGroups = map[int][]int{1: {0, 2}, 2: {}}
	var buf bytes.Buffer
	if err := Encode(&buf, p); err != nil {
		t.Fatal(err)
	}
	q, err := Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	a, b := p.Pipelines[0], q.Pipelines[0]
	if q.RunID != p.RunID || q.ConfigDigest != "d1g35t" || a.NumInputs() != b.NumInputs() || b.NumInputs() == 0 {
		t.Fatalf("decoded %+v", q)
	}
	for i := 0; i < a.NumInputs(); i++ {
		if !reflect.DeepEqual(a.Input(i), b.Input(i)) {
			t.Fatalf("input %d: %+v != %+v", i, a.Input(i), b.Input(i))
		}
	}
	if !b.Input(2).NoRowGroups || !reflect.DeepEqual(b.Input(1).RowGroups, []int{0, 2}) {
		t.Fatalf("row groups lost: %+v %+v", b.Input(1), b.Input(2))
	}
	if b.Where != a.Where || b.State != a.State || !reflect.DeepEqual(b.Tasks, a.Tasks) || !reflect.DeepEqual(b.Checks, a.Checks) ||
		!reflect.DeepEqual(b.Source, a.Source) || !reflect.DeepEqual(b.Summary, a.Summary) {
		t.Fatalf("pipeline fields differ:\n%+v\n%+v", a, b)
	}
	if !reflect.DeepEqual(b.Sink, a.Sink) {
		t.Fatalf("sink differs:\n%+v\n%+v", a.Sink, b.Sink)
	}
	// Settings are written by name, so a later version's constants cannot
	// change what a saved plan means.
	var text string
	rewrap(t, buf.Bytes(), func(s string) string { text = s; return s })
	for _, want := range []string{`"format":"json"`, `"mode":"append"`, `"committer":"atomic"`, `"on_bad_record":"fail"`, `"severity":"error"`} {
		if !strings.Contains(text, want) {
			t.Errorf("plan file lacks %s", want)
		}
	}
	// The executor recompiles the residual and the checks from the plan.
	w, errs := predicate.Compile(b.Where, b.PredicateEnv())
	if len(errs) > 0 || w.Root.String() != f.pipeline().Source.Where.Root.String() {
		t.Fatalf("recompiled where: %v %v", w, errs)
	}
	if _, errs := predicate.Compile(b.Checks[0].Expr, b.CheckEnv()); len(errs) > 0 {
		t.Fatalf("recompiled check: %v", errs)
	}
	// Rendering the decoded plan gives the same text (plan show = plan).
	var t1, t2 bytes.Buffer
	WriteText(&t1, p, TextOptions{Verbose: true})
	WriteText(&t2, q, TextOptions{Verbose: true})
	if t1.String() != t2.String() {
		t.Fatalf("render differs after decode:\n%s\n%s", t1.String(), t2.String())
	}
}

// rewrap decompresses a plan file, edits its text and recompresses it.
func rewrap(t *testing.T, data []byte, edit func(string) string) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write([]byte(edit(string(raw))))
	zw.Close()
	return out.Bytes()
}

func TestPlanFileRefusesCorruptAndNewer(t *testing.T) {
	f := newFixture(t, goldenTree, nil)
	var buf bytes.Buffer
	if err := Encode(&buf, buildPlan(t, f)); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()

	// An edited size: the checksum no longer matches.
	bad := rewrap(t, good, func(s string) string { return strings.Replace(s, `"s":100`, `"s":101`, 1) })
	if _, err := Decode(bytes.NewReader(bad)); !errors.Is(err, ErrCorruptPlan) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("edited file: %v", err)
	}
	// Truncated.
	cut := rewrap(t, good, func(s string) string { return s[:len(s)/2] })
	if _, err := Decode(bytes.NewReader(cut)); !errors.Is(err, ErrCorruptPlan) {
		t.Fatalf("truncated file: %v", err)
	}
	if _, err := Decode(strings.NewReader("not gzip")); !errors.Is(err, ErrCorruptPlan) {
		t.Fatalf("garbage: %v", err)
	}
	// A newer major version is refused naming both versions.
	newer := rewrap(t, good, func(s string) string {
		return strings.Replace(s, `"format_version":"1.0"`, `"format_version":"2.1"`, 1)
	})
	_, err := Decode(bytes.NewReader(newer))
	if err == nil || !strings.Contains(err.Error(), "2.1") || !strings.Contains(err.Error(), "1.0") {
		t.Fatalf("newer version: %v", err)
	}
	// A newer minor version of the same major is read.
	minor := rewrap(t, good, func(s string) string {
		s = strings.Replace(s, `"format_version":"1.0"}`, `"format_version":"1.3"}`, 1)
		return s
	})
	if _, err := Decode(bytes.NewReader(minor)); err == nil || !strings.Contains(err.Error(), "checksum") {
		// The header line is covered by the checksum too, so an edited
		// header is reported as corrupt rather than silently accepted.
		t.Fatalf("edited minor version: %v", err)
	}
}

// A plan of 100,000 inputs stays compact on disk and decodes in linear
// time (well under a second per 100k inputs even on a busy machine).
func TestPlanFileLarge(t *testing.T) {
	const n = 100_000
	in := NewInputs("lake/orders/", []string{"dt"})
	for i := 0; i < n; i++ {
		in.Add(fmt.Sprintf("lake/orders/dt=2026-01-%02d/part-%07d.json.gz", i%28+1, i), 40_000+int64(i%1000), fmt.Sprintf("\"%032x\"", i*7919))
	}
	pp := &PipelinePlan{Name: "big", Source: SourceSettings{Name: "orders", Prefix: "lake/orders/", Partitions: []string{"dt"}}, inputs: in}
	pp.Tasks = PackTasks(in, 128<<20, DefaultOpenCost)
	p := &Plan{FormatVersion: FormatVersion, RunID: "r", Pipelines: []*PipelinePlan{pp}}
	var buf bytes.Buffer
	start := time.Now()
	if err := Encode(&buf, p); err != nil {
		t.Fatal(err)
	}
	enc := time.Since(start)
	perInput := float64(buf.Len()) / n
	if perInput > 40 {
		t.Errorf("plan file costs %.1f bytes per input, want ≤ 40", perInput)
	}
	start = time.Now()
	q, err := Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	dec := time.Since(start)
	if q.Pipelines[0].NumInputs() != n || !reflect.DeepEqual(q.Pipelines[0].Input(n-1), pp.Input(n-1)) {
		t.Fatal("inputs differ after decode")
	}
	t.Logf("%d inputs: %d bytes (%.1f B/input), encode %v, decode %v", n, buf.Len(), perInput, enc, dec)
	if dec > 10*time.Second {
		t.Errorf("decode took %v", dec)
	}
}
