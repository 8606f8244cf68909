package main

import (
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

func schemaCommand() *cli.Command {
	return &cli.Command{
		Name:     "schema",
		Synopsis: "Work with schema files",
		Subcommands: []*cli.Command{{
			Name:     "infer",
			Synopsis: "Write a schema file inferred from sample objects",
			Args:     "URL",
			MinArgs:  1,
			MaxArgs:  1,
			Common:   cli.CommonJSON,
			Help: `Samples the first objects under URL (a local directory or s3://bucket/prefix/,
in key order, skipping names starting with _ or .), or one local file, and writes a schema file
(docs/language.md "Schema files") that a source loads with schema_file().

JSON lines: each key is a column, typed from its values and widened across
the sample (int64 → float64 → string; date → timestamp → string); strings
in RFC 3339 are timestamp(us), YYYY-MM-DD dates; objects are structs, arrays
lists. CSV (with a header): the same from the text of each field. Parquet:
the footers' columns. Hive directories (dt=2026-01-01/) that every sampled
path has become columns typed int64, date or string, described as
partition keys to list in the source's partitions. A column missing from a record or null in one is
nullable; one present and non-null in every record sampled is nullable =
false (review that: a later null is a bad record). A column whose values had
types that only string holds says so in its description.

Review the file before use: a sample sees only what it reads.`,
			Setup: func(fs *flag.FlagSet) cli.Runner {
				format := fs.String("format", "", "Input `FORMAT`: json, csv or parquet (default: from the first object's extension).")
				objects := fs.Int("sample", planner.DefaultSampleObjects, "Sample at most `N` objects.")
				rows := fs.Int("rows", planner.DefaultSampleRows, "Read at most `N` records of each JSON or CSV object.")
				out := fs.String("o", "", "Write the schema file to `FILE` (default: stdout).")
				name := fs.String("name", "", "The schema's `NAME` (default: from the URL's last path segment).")
				return func(inv *cli.Invocation) cli.ExitCode {
					return runSchemaInfer(inv, inv.Args[0], *format, *objects, *rows, *out, *name)
				}
			},
		}},
	}
}

// inferJSON is schema infer -json.
type inferJSON struct {
	Schema  string       `json:"schema"`
	Format  string       `json:"format"`
	Objects []string     `json:"objects"`
	Records int64        `json:"records"`
	Columns []columnJSON `json:"columns"`
	// Partitions are the hive keys found in the object paths.
	Partitions []string `json:"partitions"`
	File       string   `json:"file,omitempty"`
}

type columnJSON struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
	// NeverNull: a JSON or CSV column non-null in every record sampled
	// (nullable all the same; planner.Sample.NeverNull).
	NeverNull bool `json:"never_null,omitempty"`
}

func runSchemaInfer(inv *cli.Invocation, url, format string, objects, rows int, out, name string) cli.ExitCode {
	if objects < 1 || rows < 1 {
		return inv.UsageError("-sample and -rows must be at least 1")
	}
	// A local file (not a directory) is sampled alone.
	shown := url
	var single string
	if !strings.Contains(url, "://") {
		if fi, err := os.Stat(url); err == nil && fi.Mode().IsRegular() {
			single = filepath.Base(url)
			url = filepath.Dir(url)
		}
	}
	loc, err := objstore.Open(inv.Ctx, url)
	if err != nil {
		return inv.Errorf("%s", objstore.Describe(err))
	}
	prefix := loc.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	o := planner.SampleOptions{Objects: objects, Rows: rows, Compression: spec.CompressionAuto,
		CSV: spec.CSVOptions{Header: true, Delimiter: ',', Quote: '"', NullValues: []string{""}, QuotedNulls: true}}
	var keys []string
	if single != "" {
		keys = []string{prefix + single}
	} else {
		l, err := planner.NewLister(planner.ListSpec{Store: loc.Store, Prefix: prefix, Prefetch: -1})
		if err != nil {
			return inv.Errorf("%v", err)
		}
		for len(keys) < objects && l.Next(inv.Ctx) {
			if f := l.File(); f.Size > 0 {
				keys = append(keys, f.Key)
			}
		}
		if err := l.Err(); err != nil {
			return inv.Errorf("listing %s: %s", url, objstore.Describe(err))
		}
	}
	if len(keys) == 0 {
		return inv.Errorf("no object to sample under %s", url)
	}
	switch format {
	case "":
		f, ok := formatOf(keys[0])
		if !ok {
			return inv.UsageError("cannot tell the format of %s from its name; pass -format json, csv or parquet", keys[0])
		}
		o.Format = f
	case "json":
		o.Format = spec.FormatJSON
	case "csv":
		o.Format = spec.FormatCSV
	case "parquet":
		o.Format = spec.FormatParquet
	default:
		return inv.UsageError("unknown -format %q (want json, csv or parquet)", format)
	}
	s, err := planner.SampleKeys(inv.Ctx, loc.Store, keys, o, exec.Footers{}, exec.Footers{})
	if err != nil {
		return inv.Errorf("%s", objstore.Describe(err))
	}
	var rels []string
	for _, k := range s.Objects {
		rels = append(rels, strings.TrimPrefix(k, prefix))
	}
	var partitions []string
	for _, c := range planner.HivePartitions(rels) {
		partitions = append(partitions, c.Name)
		if slices.ContainsFunc(s.Columns, func(x schema.Column) bool { return x.Name == c.Name }) {
			continue
		}
		c.Description = "hive partition key (from the object paths): list it in the source's partitions"
		s.Columns = append(s.Columns, c)
	}
	if len(s.Columns) == 0 {
		return inv.Errorf("the %d objects sampled under %s hold no column", len(s.Objects), url)
	}
	if name == "" {
		name = schemaName(url)
		if single != "" {
			name = schemaName(strings.TrimSuffix(single, path.Ext(single)))
		}
	}
	sc := &schema.Schema{Name: name, Columns: s.Columns}
	for i, c := range sc.Columns {
		var notes []string
		if kinds := s.Mixed[c.Name]; len(kinds) > 0 {
			notes = append(notes, "mixed types in the sample ("+strings.Join(kinds, ", ")+"): review")
		}
		if slices.Contains(s.NeverNull, c.Name) {
			notes = append(notes, "never null in the sample: add nullable = false if it never may be")
		}
		if len(notes) > 0 {
			sc.Columns[i].Description = strings.Join(notes, "; ")
		}
	}
	comment := []string{
		fmt.Sprintf("Inferred by sluice schema infer from %s:", shown),
		fmt.Sprintf("%s, %s (%s). Review before use.", plural(len(s.Objects), "object"), plural(int(s.Records), "record"), o.Format),
	}
	text := spec.FormatSchemaFile(sc, "", comment)
	if out != "" {
		if dir := filepath.Dir(out); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return inv.Errorf("writing %s: %v", out, err)
			}
		}
		if err := os.WriteFile(out, text, 0o644); err != nil {
			return inv.Errorf("writing %s: %v", out, err)
		}
	}
	if inv.Common.JSON {
		doc := inferJSON{Schema: name, Format: o.Format.String(), Objects: s.Objects, Records: s.Records, File: out, Columns: []columnJSON{}, Partitions: partitions}
		if doc.Partitions == nil {
			doc.Partitions = []string{}
		}
		for _, c := range sc.Columns {
			doc.Columns = append(doc.Columns, columnJSON{Name: c.Name, Type: c.Type.String(), Nullable: c.Nullable, NeverNull: slices.Contains(s.NeverNull, c.Name)})
		}
		return inv.WriteJSON(doc)
	}
	if out == "" {
		_, _ = inv.Stdout.Write(text)
		return cli.ExitOK
	}
	fmt.Fprintf(inv.Stderr, "Wrote schema %q (%s) to %s from %s.\n", name, plural(len(sc.Columns), "column"), out, plural(len(s.Objects), "object"))
	return cli.ExitOK
}

// formatOf tells an object's format from its name (a compression
// extension after it is allowed).
func formatOf(key string) (spec.Format, bool) {
	k := strings.ToLower(key)
	for _, ext := range []string{".gz", ".gzip", ".zst", ".zstd", ".snappy", ".sz", ".bz2"} {
		k = strings.TrimSuffix(k, ext)
	}
	switch path.Ext(k) {
	case ".json", ".jsonl", ".ndjson":
		return spec.FormatJSON, true
	case ".csv", ".tsv":
		return spec.FormatCSV, true
	case ".parquet", ".pq":
		return spec.FormatParquet, true
	}
	return 0, false
}

// schemaName derives a schema name from the URL's last path segment:
// letters, digits and _ kept, anything else _.
func schemaName(url string) string {
	base := filepath.Base(strings.TrimRight(strings.TrimPrefix(url, "s3://"), "/"))
	var b strings.Builder
	for _, r := range base {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if s := b.String(); s != "" && s != "_" && s != "." {
		return s
	}
	return "inferred"
}
