package spec

import (
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/sluicedata/sluice/spec/schema"
)

// FormatSchemaFile renders s as a schema file (docs/language.md, "Schema
// files"), formatted as sluice fmt would, with comment lines (each
// prefixed "# ") above the block. Load reads it back to the same schema:
// names, types, nullability and descriptions.
func FormatSchemaFile(s *schema.Schema, description string, comment []string) []byte {
	f := hclwrite.NewEmptyFile()
	sb := f.Body().AppendNewBlock("schema", []string{s.Name}).Body()
	if description != "" {
		sb.SetAttributeValue("description", cty.StringVal(description))
	}
	for _, c := range s.Columns {
		cb := sb.AppendNewBlock("column", []string{c.Name}).Body()
		cb.SetAttributeValue("type", cty.StringVal(c.Type.String()))
		if !c.Nullable {
			cb.SetAttributeValue("nullable", cty.False)
		}
		if c.Description != "" {
			cb.SetAttributeValue("description", cty.StringVal(c.Description))
		}
		if c.TimestampFormat != "" {
			cb.SetAttributeValue("timestamp_format", cty.StringVal(c.TimestampFormat))
		}
	}
	var b strings.Builder
	for _, l := range comment {
		b.WriteString("# " + l + "\n")
	}
	b.Write(hclwrite.Format(f.Bytes()))
	return []byte(b.String())
}
