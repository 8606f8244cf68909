package apply

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/spec"
)

// An input whose name is not valid UTF-8 is processed once: its bookmark
// keeps the key's exact bytes (it was recorded with U+FFFD and processed
// again on every run). An overwrite replaces a sink object with such a name
// too (its deletion is journaled exactly).
func TestKeysThatAreNotUTF8(t *testing.T) {
	root := t.TempDir()
	l := &lake{t: t, root: root}
	l.put("raw/a\xff.json", `{"id":"a1","amount":5}`+"\n")
	l.put("raw/b.json", `{"id":"b1","amount":6}`+"\n")
	l.put("out/stray\xfe.json", `{"id":"old","amount":0}`+"\n")
	for _, mode := range []string{"append", "overwrite"} {
		l.put("conf-"+mode+"/main.hcl", `
state { url = "../state-`+mode+`" }
pipeline "orders" {
  source "raw" {
    url    = "../raw"
    format = "json"
    column "id" { type = "string" }
    column "amount" { type = "int64" }
  }
  sink "out" {
    url    = "../out-`+mode+`"
    format = "json"
    mode   = "`+mode+`"
  }
}
`)
	}
	if err := os.Rename(filepath.Join(root, "out"), filepath.Join(root, "out-overwrite")); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"append", "overwrite"} {
		cfg, diags := spec.Load(filepath.Join(root, "conf-"+mode), spec.LoadOptions{})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		l.cfg = cfg
		rows := int64(0)
		for i := range 3 {
			for _, r := range Run(context.Background(), l.plan(), l.opts(false)) {
				if r.Outcome != Done && r.Outcome != NothingToDo {
					t.Fatalf("%s: apply %d: %v %v", mode, i, r.Outcome, r.Err)
				}
				rows += r.Stats.RowsOut
			}
		}
		if rows != 2 {
			t.Errorf("%s: %d rows written in three applies, want 2 (each input once)", mode, rows)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "out-overwrite", "stray\xfe.json")); !os.IsNotExist(err) {
		t.Errorf("overwrite left the sink object whose name is not UTF-8: %v", err)
	}
}

// An executor error names the task, not the pipeline: the command prints
// "pipeline NAME: " before it once (it used to read "pipeline p: pipeline
// p: task 0: …").
func TestExecutorErrorsDoNotRepeatThePipeline(t *testing.T) {
	l := newLake(t, "")
	plan := l.plan()
	pp := plan.Pipelines[0]
	pp.Source.Format = spec.FormatCSV
	pp.Source.CSV.Delimiter = 'é'
	r := only(t, Run(context.Background(), plan, l.opts(false)))
	if r.Outcome != Failed || r.Err == nil {
		t.Fatalf("%v %v", r.Outcome, r.Err)
	}
	if msg := r.Err.Error(); strings.Contains(msg, "pipeline") || !strings.HasPrefix(msg, "task 0: ") {
		t.Errorf("error %q: want it to start with the task and not name the pipeline", msg)
	}
}
