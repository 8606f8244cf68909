package disttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
)

// Lake is a configuration under Root with one pipeline, orders, over local
// files in raw/ (one task per file), writing JSON to out/ with its state in
// state/.
type Lake struct {
	t    *testing.T
	Root string
	Cfg  *spec.Config
}

// NewLake writes files source objects (dt=2026-01-01 …, two rows each, one
// with a null amount) and the configuration, and loads it.
func NewLake(t *testing.T, files int) *Lake {
	t.Helper()
	l := &Lake{t: t, Root: t.TempDir()}
	for i := 0; i < files; i++ {
		l.Put(fmt.Sprintf("raw/dt=2026-01-%02d/f.json", i+1), fmt.Sprintf(`{"id":"a%d","amount":%d}`+"\n"+`{"id":"b%d","amount":null}`+"\n", i, i, i))
	}
	l.Put("conf/main.hcl", `
state { url = "../state" }
pipeline "orders" {
  source "raw" {
    url        = "../raw"
    format     = "json"
    partitions = ["dt"]
    task_bytes = "1"
    column "id" { type = "string" }
    column "amount" { type = "int64" }
  }
  check "amount_present" {
    expr     = "amount != nil"
    severity = "warn"
  }
  sink "out" {
    url          = "../out"
    format       = "json"
    partition_by = ["dt"]
  }
}
`)
	cfg, diags := spec.Load(filepath.Join(l.Root, "conf"), spec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	l.Cfg = cfg
	return l
}

// Put writes body at rel under Root.
func (l *Lake) Put(rel, body string) {
	l.t.Helper()
	p := filepath.Join(l.Root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

// Plan plans the configuration as it is now.
func (l *Lake) Plan() *planner.Plan {
	l.t.Helper()
	p, err := planner.Build(context.Background(), l.Cfg, planner.Options{Footers: exec.Footers{}, OpenCost: 1})
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

// Bookmarks is the pipeline's state.
func (l *Lake) Bookmarks() *state.Bookmarks {
	return state.New(objstore.NewLocal(filepath.Join(l.Root, "state")), "", "orders", "raw")
}

// PendingUploads lists the uploads started under out/ and not completed
// or aborted.
func (l *Lake) PendingUploads() []objstore.PendingUpload {
	l.t.Helper()
	ups, err := objstore.NewLocal(filepath.Join(l.Root, "out")).ListUploads(context.Background(), "")
	if err != nil {
		l.t.Fatal(err)
	}
	return ups
}

// Outputs counts the visible output files under out/.
func (l *Lake) Outputs() int {
	n := 0
	_ = filepath.WalkDir(filepath.Join(l.Root, "out"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "part-") {
			n++
		}
		return nil
	})
	return n
}
