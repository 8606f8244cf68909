package sluicecfg

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

// Pipeline is a configuration with one pipeline named "events".
type Pipeline struct {
	StateURL     string
	SourceURL    string
	Format       string // json | csv | parquet
	Compression  string // "" leaves the default (auto)
	SchemaFile   string // absolute path; "" for none (Parquet: from the footers)
	Partitions   []string
	Where        string // "" for none
	Select       []string
	BoundedFiles int    // 0: unbounded
	TaskBytes    string // task_bytes; "" leaves the default
	SinkURL      string
	PartitionBy  []string
	// Blocks is HCL added to the pipeline after its source, as written
	// (output, dedupe and check blocks).
	Blocks string
}

var tmpl = template.Must(template.New("config").Funcs(template.FuncMap{
	"list": func(xs []string) string {
		q := make([]string, len(xs))
		for i, x := range xs {
			q[i] = fmt.Sprintf("%q", x)
		}
		return "[" + strings.Join(q, ", ") + "]"
	},
	"q": func(s string) string { return fmt.Sprintf("%q", s) },
}).Parse(`state {
  url = {{q .StateURL}}
}

pipeline "events" {
  source "raw" {
    url    = {{q .SourceURL}}
    format = {{q .Format}}
{{- if .Compression}}
    compression = {{q .Compression}}
{{- end}}
{{- if .SchemaFile}}
    schema = schema_file({{q .SchemaFile}})
{{- end}}
{{- if .Partitions}}
    partitions = {{list .Partitions}}
{{- end}}
{{- if .Where}}
    where = {{q .Where}}
{{- end}}
{{- if .Select}}
    select = {{list .Select}}
{{- end}}
{{- if .TaskBytes}}
    task_bytes = {{q .TaskBytes}}
{{- end}}
{{- if .BoundedFiles}}

    bounded {
      files = {{.BoundedFiles}}
    }
{{- end}}
  }
{{- if .Blocks}}

{{.Blocks}}
{{- end}}

  sink "out" {
    url         = {{q .SinkURL}}
    format      = "parquet"
    compression = "snappy"
{{- if .PartitionBy}}
    partition_by = {{list .PartitionBy}}
{{- end}}
  }
}
`))

// Render returns the configuration as HCL.
func (p Pipeline) Render() (string, error) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, p); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// Write renders the configuration into dir/main.hcl, creating dir.
func (p Pipeline) Write(dir string) error {
	text, err := p.Render()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(text), 0o644)
}
