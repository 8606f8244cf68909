// Package lineagetest validates OpenLineage events against the published
// schemas kept under lineage's testdata, for the tests of the lineage
// package and of the CLI. It is imported by tests only.
package lineagetest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Validator checks events against the published OpenLineage schemas kept
// in testdata/openlineage: the event against the core RunEvent, and each
// facet against its own schema (named by its _schemaURL).
type Validator struct {
	c *jsonschema.Compiler
}

// NewValidator loads the schemas from testdata, offline: every $id URL is
// served from the copy.
func NewValidator(t testing.TB, dir string) *Validator {
	t.Helper()
	c := jsonschema.NewCompiler()
	files := map[string]string{
		"https://openlineage.io/spec/2-0-2/OpenLineage.json": "OpenLineage.json",
	}
	for _, f := range []string{"SchemaDatasetFacet", "OutputStatisticsOutputDatasetFacet", "InputStatisticsInputDatasetFacet", "ErrorMessageRunFacet", "JobTypeJobFacet"} {
		raw, err := os.ReadFile(filepath.Join(dir, "facets", f+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			ID string `json:"$id"`
		}
		json.Unmarshal(raw, &doc)
		files[doc.ID] = filepath.Join("facets", f+".json")
	}
	for id, rel := range files {
		f, err := os.Open(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
	}
	c.AssertFormat()
	return &Validator{c: c}
}

// Validate checks one event (JSON) and every facet in it, failing t.
func (v *Validator) Validate(t testing.TB, raw []byte) {
	t.Helper()
	for _, err := range v.Problems(t, raw) {
		t.Error(err)
	}
}

// Problems lists what in one event does not follow the schemas.
func (v *Validator) Problems(t testing.TB, raw []byte) []error {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	var errs []error
	check := func(url string, doc any, where string) {
		if err := v.check(t, url, doc, where); err != nil {
			errs = append(errs, err)
		}
	}
	check(ev["schemaURL"].(string), ev, "event")
	var walk func(path string, x any)
	walk = func(path string, x any) {
		switch y := x.(type) {
		case map[string]any:
			if u, ok := y["_schemaURL"].(string); ok {
				check(u, y, path)
			}
			for k, z := range y {
				walk(path+"."+k, z)
			}
		case []any:
			for _, z := range y {
				walk(path+"[]", z)
			}
		}
	}
	walk("event", ev)
	return errs
}

func (v *Validator) check(t testing.TB, url string, doc any, where string) error {
	t.Helper()
	// Round-trip through the library's decoder (numbers as json.Number).
	b, _ := json.Marshal(doc)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	sch, err := v.c.Compile(url)
	if err != nil {
		t.Fatalf("%s: compiling %s: %v", where, url, err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%s does not follow %s: %v\n%s", where, url, err, b)
	}
	return nil
}
