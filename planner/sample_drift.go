package planner

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// Bounds of the sampling add_columns does at plan time on a JSON or CSV
// source: the last few of the run's inputs in key order (new fields show
// up in new files), a bounded head of each.
const (
	addColumnsObjects       = 5
	addColumnsRows          = 200
	addColumnsBytes   int64 = 256 << 10
)

// addSampledColumns gives on_schema_change = "add_columns" its meaning for
// a JSON or CSV source (declared schema): it samples the run's inputs
// (bounded: addColumns*) and appends the fields that the schema does not
// declare to pp.FileSchema and pp.OutputSchema as nullable columns of
// their inferred types, with a warning naming each, so that plan shows
// what the run will add. The decoders then read them by name (null in the
// objects that lack them). Nothing is added when select or an output block
// fixes the output columns (a warning says what was found), and nothing
// happens without a Sampler. Build and Follows both call it, on the same
// inputs, so a saved plan follows from its configuration.
func addSampledColumns(ctx context.Context, rc *RuleContext, in *Inputs, pp *PipelinePlan) error {
	p := rc.Pipeline
	src := p.Source
	sampler, ok := rc.Footers.(Sampler)
	if !ok || src.OnSchemaChange != spec.SchemaChangeAddColumns || src.Schema == nil ||
		(src.Format != spec.FormatJSON && src.Format != spec.FormatCSV) || in == nil || in.Len() == 0 {
		return nil
	}
	var keys []string
	for i := max(0, in.Len()-addColumnsObjects); i < in.Len(); i++ {
		keys = append(keys, rc.Prefix+in.Rel(i))
	}
	s, err := SampleKeys(ctx, rc.Store, keys, SampleOptions{Format: src.Format, Compression: src.Compression, CSV: src.CSV,
		Rows: addColumnsRows, Bytes: addColumnsBytes, Partitions: src.Partitions}, nil, sampler)
	if err != nil {
		// A sample that does not parse is no reason to stop planning: the
		// run reads those objects under on_bad_record.
		pp.Summary.Warnings = append(pp.Summary.Warnings, fmt.Sprintf("on_schema_change = \"add_columns\": sampling the run's inputs for new columns failed: %v", err))
		return nil
	}
	declared := src.DeclaredColumns()
	var added []schema.Column
	for _, c := range s.Columns {
		if slices.Contains(declared, c.Name) || c.Name == src.RescuedDataColumn {
			continue
		}
		c.Nullable = true
		added = append(added, c)
	}
	if len(added) == 0 {
		return nil
	}
	where := fmt.Sprintf("the last %s of the run's inputs", plural(int64(len(s.Objects)), "object"))
	fixed := src.Select != nil || p.Output != nil
	for _, c := range added {
		if fixed {
			pp.Summary.Warnings = append(pp.Summary.Warnings, fmt.Sprintf(
				"schema drift: column %q (%s) in %s is not in the schema; on_schema_change = \"add_columns\" adds nothing while %s fixes the output columns",
				c.Name, c.Type, where, map[bool]string{true: "select", false: "the output block"}[src.Select != nil]))
			continue
		}
		pp.FileSchema = append(pp.FileSchema, c)
		pp.OutputSchema = append(pp.OutputSchema, c)
		if pp.Source.DeclaredColumns != nil {
			pp.Source.DeclaredColumns = append(pp.Source.DeclaredColumns, c.Name)
		}
	}
	if !fixed {
		names := make([]string, len(added))
		for i, c := range added {
			names[i] = fmt.Sprintf("%s %s", c.Name, c.Type)
		}
		pp.Summary.Warnings = append(pp.Summary.Warnings, fmt.Sprintf(
			"schema drift: %s in %s not in the schema (on_schema_change = \"add_columns\": added to the output as nullable: %s)",
			plural(int64(len(added)), "column"), where, strings.Join(names, ", ")))
	}
	return nil
}
