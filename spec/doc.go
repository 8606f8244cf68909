// Package spec decodes a sluice configuration — the *.hcl files of one
// directory — into typed Go values (Config), and reports every problem it
// finds as hcl.Diagnostics with the tightest source range it can name.
//
// spec owns the pipeline language: block and attribute schemas, variables
// and their precedence, locals, the function table (cty's stdlib plus file
// and schema_file), sizes, URL resolution, and the semantic checks that
// `sluice validate` promises. It type-checks `where` and `check` expressions
// through package predicate and maps predicate errors back into the HCL
// file, inside the quoted string when it can. SourceShape types a source's
// partition keys, file columns and output columns once, for validate, the
// planner and the executor alike.
//
// spec does no I/O beyond reading configuration, schema, variable and
// file() inputs. Listing storage, inferring Parquet schemas and planning
// belong to planner; running belongs to exec.
package spec
