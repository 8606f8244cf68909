package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sluicedata/sluice/spec/schema"
)

// TestFormatSchemaFileRoundTrip: a written schema file loads back to the
// same columns — odd names (spaces, quotes, ${ and %{, which HCL would
// otherwise interpolate), nested types with such field names,
// nullability and descriptions.
func TestFormatSchemaFileRoundTrip(t *testing.T) {
	cols := []schema.Column{
		{Name: "id", Type: schema.Int64Type},
		{Name: "first name", Type: schema.StringType, Nullable: true, Description: `says "hi" ${not_a_var} %{if}`},
		{Name: "payload", Type: schema.MustParseType(`struct(user struct(id int64, "first name" string), tags list(string), m map(string, float64))`), Nullable: true},
		{Name: "at", Type: schema.MustParseType("timestamp(us, Europe/Paris)"), Nullable: true, TimestampFormat: "%Y-%m-%d"},
	}
	dir := t.TempDir()
	text := FormatSchemaFile(&schema.Schema{Name: "events", Columns: cols}, "from a test", []string{"a comment"})
	if err := os.MkdirAll(filepath.Join(dir, "schemas"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "schemas", "events.hcl"), text, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := `pipeline "p" {
  source "s" {
    url    = "in/"
    format = "json"
    schema = schema_file("schemas/events.hcl")
  }
  sink "k" {
    url = "out/"
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := Load(dir, LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("%s\n%s", diags.Error(), text)
	}
	got := cfg.Pipelines[0].Source.Schema
	if got.Name != "events" || len(got.Columns) != len(cols) {
		t.Fatalf("schema %s with %d columns\n%s", got.Name, len(got.Columns), text)
	}
	for i, c := range cols {
		g := got.Columns[i]
		g.DeclRange = c.DeclRange
		if !reflect.DeepEqual(g, c) {
			t.Errorf("column %d: got %+v, want %+v", i, g, c)
		}
	}
}
