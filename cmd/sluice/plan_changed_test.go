package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluicedata/sluice/spec"
)

// TestAffectedPipelines maps changed files to pipelines without git: the
// git side is covered by testdata/script/plan_changed.txtar.
func TestAffectedPipelines(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"shared.hcl": "variable \"note\" {\n  default = \"b-note.txt\"\n}\n",
		"a.hcl": `pipeline "a" {
  description = file("a-note.txt")
  source "s" {
    url    = "lake/a/"
    format = "json"
    schema = schema_file("schemas/a.hcl")
  }
  sink "o" {
    url    = "out/a/"
    format = "json"
  }
}
`,
		"b.hcl": `pipeline "b" {
  description = file(var.note)
  source "s" {
    url    = "lake/b/"
    format = "json"
    schema = schema_file("schemas/b.hcl")
  }
  sink "o" {
    url    = "out/b/"
    format = "json"
  }
}
`,
		"c.hcl": `pipeline "c" {
  source "s" {
    url    = "lake/c/"
    format = "json"
    schema = schema_file("schemas/a.hcl")
  }
  sink "o" {
    url    = "out/c/"
    format = "json"
  }
}
`,
		"a-note.txt":     "a",
		"b-note.txt":     "b",
		"schemas/a.hcl":  "schema \"a\" {\n  column \"n\" {\n    type = \"int64\"\n  }\n}\n",
		"schemas/b.hcl":  "schema \"b\" {\n  column \"n\" {\n    type = \"int64\"\n  }\n}\n",
		"README.md":      "not read",
		"x.test.hcl":     "",
		"extra.vars.hcl": "note = \"b-note.txt\"\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, diags := spec.Load(dir, spec.LoadOptions{VarFiles: []string{filepath.Join(dir, "extra.vars.hcl")}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	cases := []struct {
		changed []string
		want    []string
	}{
		{nil, nil},
		{[]string{"README.md", "x.test.hcl"}, nil},
		{[]string{"a.hcl"}, []string{"a"}},
		{[]string{"schemas/a.hcl"}, []string{"a", "c"}},
		{[]string{"schemas/b.hcl", "c.hcl"}, []string{"b", "c"}},
		{[]string{"a-note.txt"}, []string{"a"}},
		// b reads file(var.note): a path sluice cannot know without
		// evaluating, so any changed file the configuration read is b's.
		{[]string{"b-note.txt"}, []string{"b"}},
		{[]string{"shared.hcl"}, []string{"a", "b", "c"}},
		{[]string{"extra.vars.hcl"}, []string{"a", "b", "c"}},
		{[]string{"deleted.hcl"}, nil},
	}
	for _, c := range cases {
		changed := map[string]bool{}
		for _, f := range c.changed {
			changed[realPath(filepath.Join(dir, f))] = true
		}
		got := affectedPipelines(cfg, changed, []string{filepath.Join(dir, "extra.vars.hcl")})
		if !slices.Equal(got, c.want) {
			t.Errorf("changed %v: pipelines %v, want %v", c.changed, got, c.want)
		}
	}
}
