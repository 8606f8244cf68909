package spec

import "github.com/hashicorp/hcl/v2"

// Block schemas of the pipeline language, beside the hand-written decoders
// that use them (docs/language.md lists every attribute with its default).
// HCL's Content checks them and suggests near names for unknown ones.

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "state"},
		{Type: "pipeline", LabelNames: []string{"name"}},
		{Type: "moved"},
		{Type: "catalog", LabelNames: []string{"name"}},
	},
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "description"},
		{Name: "sensitive"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true},
		{Name: "error_message", Required: true},
	},
}

var stateSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "url"}},
}

var movedSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "from", Required: true},
		{Name: "to", Required: true},
	},
}

var pipelineSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "description"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "source", LabelNames: []string{"name"}},
		{Type: "sink", LabelNames: []string{"name"}},
		{Type: "check", LabelNames: []string{"name"}},
		{Type: "output"},
		{Type: "dedupe"},
	},
}

var outputSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "rest"},
		{Name: "drop"},
		{Name: "flatten"},
		{Name: "explode"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "column", LabelNames: []string{"name"}}},
}

var outputColumnSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "expr"},
		{Name: "type"},
	},
}

var dedupeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "key", Required: true},
		{Name: "order_by"},
		{Name: "keep"},
	},
}

var sourceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "url", Required: true},
		{Name: "format", Required: true},
		{Name: "compression"},
		{Name: "schema"},
		{Name: "partitions"},
		{Name: "where"},
		{Name: "select"},
		{Name: "include"},
		{Name: "exclude"},
		{Name: "on_bad_record"},
		{Name: "on_change"},
		{Name: "on_schema_change"},
		{Name: "task_bytes"},
		{Name: "max_record_bytes"},
		{Name: "clean_source"},
		{Name: "archive_url"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "column", LabelNames: []string{"name"}},
		{Type: "bounded"},
		{Type: "csv"},
	},
}

var columnSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type", Required: true},
		{Name: "nullable"},
		{Name: "description"},
		{Name: "timestamp_format"},
	},
}

var boundedSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "files"}, {Name: "bytes"}},
}

var csvSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "header"},
		{Name: "delimiter"},
		{Name: "quote"},
		{Name: "null_values"},
		{Name: "quoted_nulls"},
	},
}

var checkSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "expr"},
		{Name: "min_rows"},
		{Name: "severity"},
	},
}

var sinkSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "url"}, // required but on iceberg sinks (decodeSink)
		{Name: "catalog"},
		{Name: "table"},
		{Name: "format"},
		{Name: "compression"},
		{Name: "partition_by"},
		{Name: "mode"},
		{Name: "committer"},
		{Name: "target_file_size"},
		{Name: "row_group_size"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "s3"},
		{Type: "csv"},
	},
}

var s3Schema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "sse"},
		{Name: "kms_key_id"},
		{Name: "storage_class"},
		{Name: "acl"},
		{Name: "tags"},
	},
}

// schemaFileSchema is the body of a file loaded with schema_file().
var schemaFileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "schema", LabelNames: []string{"name"}}},
}

var schemaBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "description"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "column", LabelNames: []string{"name"}}},
}
