package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad writes the input as one .hcl file and loads it: Load must never
// panic, and a configuration without errors must be complete.
// The seed corpus is testdata/fuzz/FuzzLoad (plain `go test` runs it).
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`pipeline "p" {
  source "s" {
    url    = "in/"
    format = "parquet"
  }
  sink "k" {
    url = "out/"
  }
}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, diags := Load(dir, LoadOptions{Vars: []string{}, Environ: []string{"SLUICE_VAR_x=1"}})
		if cfg == nil {
			t.Fatal("nil Config")
		}
		for _, d := range diags {
			if d.Summary == "" {
				t.Errorf("diagnostic without summary: %#v", d)
			}
		}
		if diags.HasErrors() {
			return
		}
		if cfg.State == nil || cfg.State.URL == "" {
			t.Error("no state URL on a valid configuration")
		}
		for _, p := range cfg.Pipelines {
			if p.Source == nil || p.Sink == nil {
				t.Fatalf("valid pipeline %q without source or sink", p.Name)
			}
			if p.Source.URL == "" || p.Sink.URL == "" || p.Source.Format == 0 || p.Sink.Format == 0 {
				t.Errorf("valid pipeline %q with unset fields: %+v %+v", p.Name, p.Source, p.Sink)
			}
			if p.Source.WhereText != "" && p.Source.Where == nil && p.Source.Schema != nil {
				t.Errorf("where %q not compiled although the schema is known", p.Source.WhereText)
			}
		}
	})
}
