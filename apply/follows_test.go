package apply

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
)

// tamper edits a plan as its file, the way anyone can: gunzip, edit the
// NDJSON lines, recompute the SHA-256 trailer, gzip.
func tamper(t *testing.T, p *planner.Plan, edit func(lines []string) []string) *planner.Plan {
	t.Helper()
	var buf bytes.Buffer
	if err := planner.Encode(&buf, p); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	lines = edit(lines[:len(lines)-1]) // without the checksum line
	body := strings.Join(lines, "\n") + "\n"
	sum := sha256.Sum256([]byte(body))
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	fmt.Fprintf(zw, "%s{\"sha256\":%q}\n", body, hex.EncodeToString(sum[:]))
	zw.Close()
	q, err := planner.Decode(&out)
	if err != nil {
		t.Fatalf("tampered plan does not decode: %v", err)
	}
	return q
}

// saved are the options of apply PLANFILE: no re-planning, the
// configuration the plan names.
func (l *lake) saved() Options {
	o := l.opts(false)
	o.Config = l.cfg
	return o
}

// A saved plan edited to write elsewhere, or to re-read a processed input,
// is refused (Stale, nothing runs); an untouched one runs.
func TestSavedPlanMustFollowFromConfig(t *testing.T) {
	ctx := context.Background()
	l := newLake(t, "")
	first := l.plan()
	evil := t.TempDir()
	p := tamper(t, first, func(lines []string) []string {
		lines[1] = strings.ReplaceAll(lines[1], `"url":"`+l.root+`/out"`, `"url":"`+evil+`"`)
		return lines
	})
	if p.Pipelines[0].Sink.URL != evil {
		t.Fatalf("the edit did not take: %s", p.Pipelines[0].Sink.URL)
	}
	r := only(t, Run(ctx, p, l.saved()))
	if r.Outcome != Stale || !strings.Contains(r.Err.Error(), `sink.url: the plan has "`+evil+`"`) {
		t.Fatalf("sink edited: %v %v", r.Outcome, r.Err)
	}
	if len(l.outputs()) != 0 {
		t.Fatal("something was written")
	}
	// Without the configuration (a trusted, in-process plan) it would have run.
	if r := only(t, Run(ctx, first, l.saved())); r.Outcome != Done {
		t.Fatalf("untouched plan: %v %v", r.Outcome, r.Err)
	}

	// A new file: the next plan pins the new HEAD and reads only c.json.
	l.put("raw/dt=2026-01-03/c.json", `{"id":"c1","amount":1}`+"\n")
	next := l.plan()
	if n := next.Pipelines[0].NumInputs(); n != 1 {
		t.Fatalf("%d inputs", n)
	}
	// The same plan with an already-processed input added (in key order,
	// in the task): the settings are intact, the bookmarks refuse it.
	added := tamper(t, next, func(lines []string) []string {
		var out []string
		for _, ln := range lines {
			switch {
			case strings.HasPrefix(ln, `{"pipeline":0,"inputs":1}`):
				out = append(out, `{"pipeline":0,"inputs":2}`)
				out = append(out, `{"k":"dt=2026-01-01/a.json","s":46,"e":"`+etagOf(t, l, "dt=2026-01-01/a.json")+`"}`)
				continue
			case strings.HasPrefix(ln, `{"plan":`):
				ln = strings.Replace(ln, `"inputs":[0]`, `"inputs":[0,1]`, 1)
			}
			out = append(out, ln)
		}
		return out
	})
	if n := added.Pipelines[0].NumInputs(); n != 2 {
		t.Fatalf("the edit did not take: %d inputs", n)
	}
	r = only(t, Run(ctx, added, l.saved()))
	if r.Outcome != Stale || !strings.Contains(r.Err.Error(), `input "dt=2026-01-01/a.json" is already processed`) {
		t.Fatalf("processed input added: %v %v", r.Outcome, r.Err)
	}
	if r := only(t, Run(ctx, next, l.saved())); r.Outcome != Done || r.Stats.RowsOut != 1 {
		t.Fatalf("untouched next plan: %v %v %+v", r.Outcome, r.Err, r.Stats)
	}
	// Applied twice: the pin has moved (it always did), and the run id is
	// taken anyway.
	if r := only(t, Run(ctx, next, l.saved())); r.Outcome != Stale {
		t.Fatalf("applied twice: %v %v", r.Outcome, r.Err)
	}
}

func etagOf(t *testing.T, l *lake, rel string) string {
	t.Helper()
	info, err := objstore.NewLocal(filepath.Join(l.root, "raw")).Head(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	return info.ETag
}

// No false refusals: a saved plan that legitimately re-reads processed
// inputs runs — on_change = "reprocess" with a changed file in append
// mode, and overwrite, which reads every input on every run.
func TestSavedPlanReReadsWhenTheConfigurationSays(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ name, source, sink string }{
		{"reprocess", `on_change = "reprocess"`, ``},
		{"overwrite", ``, `mode = "overwrite"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			l := &lake{t: t, root: root}
			l.put("raw/a.json", `{"id":"a1","amount":5}`+"\n")
			l.put("conf/main.hcl", `
state { url = "../state" }
pipeline "orders" {
  source "raw" {
    url    = "../raw"
    format = "json"
    column "id" { type = "string" }
    column "amount" { type = "int64" }
    `+c.source+`
  }
  sink "out" {
    url    = "../out"
    format = "json"
    `+c.sink+`
  }
}
`)
			cfg, diags := spec.Load(filepath.Join(root, "conf"), spec.LoadOptions{})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			l.cfg = cfg
			if r := only(t, Run(ctx, l.plan(), l.saved())); r.Outcome != Done {
				t.Fatalf("first: %v %v", r.Outcome, r.Err)
			}
			l.put("raw/a.json", `{"id":"a1","amount":7}`+"\n")
			p := l.plan()
			if !HasWork(p) {
				t.Fatal("nothing to do after a change")
			}
			if r := only(t, Run(ctx, p, l.saved())); r.Outcome != Done || r.Stats.RowsOut != 1 {
				t.Fatalf("re-read: %v %v %+v", r.Outcome, r.Err, r.Stats)
			}
		})
	}
}
