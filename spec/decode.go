package spec

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/sluicedata/sluice/spec/schema"
)

// attrs are the decoded attributes of one block, evaluated with l.eval.
type attrs struct {
	l *loader
	m hcl.Attributes
}

func (a attrs) get(name string) *hcl.Attribute { return a.m[name] }

// str returns a string attribute; ok is false when it is absent, null or invalid.
func (a attrs) str(name string) (s string, sensitive, ok bool) {
	at := a.m[name]
	if at == nil {
		return "", false, false
	}
	return a.l.stringValue(at, a.l.eval)
}

func (a attrs) boolean(name string, def bool) bool {
	at := a.m[name]
	if at == nil {
		return def
	}
	if v, ok := a.l.boolValue(at, a.l.eval); ok {
		return v
	}
	return def
}

// strList returns a list of strings; ok is false when absent, null or invalid.
func (a attrs) strList(name string) ([]string, bool) {
	at := a.m[name]
	if at == nil {
		return nil, false
	}
	v, _, ok := a.l.eval(at.Expr)
	if !ok || v.IsNull() {
		return nil, false
	}
	// Each element is converted on its own: converting a whole tuple to
	// list(string) unifies its element types pairwise, which is quadratic
	// (100,000 null_values took minutes); the result is the same.
	bad := func() ([]string, bool) {
		a.l.errorf(at.Expr.Range().Ptr(), "Invalid value for "+name,
			"%s must be a list of strings, such as [\"a\", \"b\"].", name)
		return nil, false
	}
	if t := v.Type(); !t.IsTupleType() && !t.IsListType() && !t.IsSetType() || !v.IsKnown() {
		return bad()
	}
	out := []string{}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			a.l.errorf(at.Expr.Range().Ptr(), "Invalid value for "+name, "%s cannot contain null.", name)
			return nil, false
		}
		se, err := convert.Convert(e, cty.String)
		if err != nil || !se.IsKnown() {
			return bad()
		}
		out = append(out, se.AsString())
	}
	return out, true
}

// integer returns a whole number attribute.
func (a attrs) integer(name string) (int64, bool) {
	at := a.m[name]
	if at == nil {
		return 0, false
	}
	v, _, ok := a.l.eval(at.Expr)
	if !ok || v.IsNull() {
		return 0, false
	}
	nv, err := convert.Convert(v, cty.Number)
	if err == nil {
		bf := nv.AsBigFloat()
		if i, acc := bf.Int64(); bf.IsInt() && acc == 0 {
			return i, true
		}
	}
	a.l.errorf(at.Expr.Range().Ptr(), "Invalid value for "+name, "%s must be a whole number.", name)
	return 0, false
}

// size returns a byte size: a string such as "128MiB" or a whole number of bytes.
func (a attrs) size(name string) (int64, bool) {
	at := a.m[name]
	if at == nil {
		return 0, false
	}
	v, sens, ok := a.l.eval(at.Expr)
	if !ok || v.IsNull() {
		return 0, false
	}
	if v.Type() == cty.Number {
		bf := v.AsBigFloat()
		if i, acc := bf.Int64(); bf.IsInt() && acc == 0 && i >= 0 {
			return i, true
		}
		a.l.errorf(at.Expr.Range().Ptr(), "Invalid size", "%s must be a whole, non-negative number of bytes or a string such as \"128MiB\".", name)
		return 0, false
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil {
		a.l.errorf(at.Expr.Range().Ptr(), "Invalid size", "%s must be a size such as \"128MiB\", \"1GiB\" or \"10KB\".", name)
		return 0, false
	}
	n, err := ParseSize(sv.AsString())
	if err != nil {
		detail := err.Error()
		if sens {
			detail = "(sensitive) is not a size"
		}
		a.l.errorf(at.Expr.Range().Ptr(), "Invalid size",
			"%s: %s. Sizes are a number and a unit, such as \"128MiB\": KiB, MiB, GiB, TiB are binary, KB, MB, GB, TB decimal; units are case-sensitive.", name, detail)
		return 0, false
	}
	return n, true
}

// enumAttr decodes an enum attribute, reporting the allowed values and the
// nearest one when the given value is not among them.
func enumAttr[T ~int](a attrs, name string, table []enumValue[T], def T) (T, bool) {
	at := a.m[name]
	if at == nil {
		return def, true
	}
	s, sens, ok := a.l.stringValue(at, a.l.eval)
	if !ok {
		return def, false
	}
	if v, found := enumLookup(table, s); found {
		return v, true
	}
	names := enumNames(table)
	hint := ""
	if !sens {
		hint = suggestion(s, names)
	}
	a.l.errorf(at.Expr.Range().Ptr(), "Invalid "+name+" value",
		"%s must be one of %s; got %s.%s", name, quoteList(names), show(s, sens), hint)
	return def, false
}

// label0 is a block's first label; HCL drops blocks with missing labels,
// so "" only guards against a future schema change.
func label0(b *hcl.Block) string {
	if len(b.Labels) == 0 {
		return ""
	}
	return b.Labels[0]
}

func (l *loader) decodeState(blocks []*hcl.Block) {
	st := &State{URL: filepath.Join(l.cfg.Dir, ".sluice", "state")}
	l.cfg.State = st
	for i, b := range blocks {
		if i > 0 {
			l.errorf(b.DefRange.Ptr(), "Duplicate state block",
				"A configuration has one state block; another is declared at %s. Remove one of them.", blocks[0].DefRange)
			continue
		}
		st.DeclRange = b.DefRange
		content, d := b.Body.Content(stateSchema)
		l.diags = append(l.diags, d...)
		a := attrs{l, content.Attributes}
		if s, sens, ok := a.str("url"); ok {
			if u, ok := l.resolveURL(s, sens, a.get("url")); ok {
				st.URL = u
				rng := a.get("url").Expr.Range()
				l.stateURLRange = &rng
			}
		}
	}
}

// resolveURL turns a url attribute into an s3:// URL or an absolute local
// path: relative paths are relative to the file that names them.
func (l *loader) resolveURL(raw string, sensitive bool, at *hcl.Attribute) (string, bool) {
	rng := at.Expr.Range().Ptr()
	s := strings.TrimSpace(raw)
	if s == "" {
		l.errorf(rng, "Empty URL", "url must name an s3://bucket/prefix/ URL or a local directory.")
		return "", false
	}
	scheme, rest, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		base := filepath.Dir(at.Expr.Range().Filename)
		if l.leadsWithGiven(at.Expr) {
			// The path starts with a value the user gave on the command
			// line, in a -var-file or the environment: it is relative
			// to where they typed it.
			base = l.workDir()
		}
		return resolvePath(base, s), true
	}
	switch strings.ToLower(scheme) {
	case "s3":
		bucket, _, _ := strings.Cut(rest, "/")
		if bucket == "" {
			l.errorf(rng, "Invalid S3 URL", "The URL %s names no bucket. Write s3://BUCKET/PREFIX/.", show(s, sensitive))
			return "", false
		}
		return "s3://" + rest, true
	case "file":
		u, err := url.Parse(s)
		if err != nil || u.Path == "" || (u.Host != "" && u.Host != "localhost") {
			l.errorf(rng, "Invalid file URL", "The URL %s is not a file:///absolute/path URL. Write a file:// URL with an absolute path, or a plain relative path.", show(s, sensitive))
			return "", false
		}
		return filepath.Clean(u.Path), true
	default:
		l.errorf(rng, "Unsupported URL scheme",
			"sluice reads and writes s3:// URLs and local paths; %q is not supported. For S3-compatible stores, use s3:// with AWS_ENDPOINT_URL_S3.", scheme+"://")
		return "", false
	}
}

func (l *loader) decodePipelines(blocks []*hcl.Block) {
	seen := map[string]*Pipeline{}
	for _, b := range blocks {
		// An invalid name is reported, but the body is still decoded so
		// that its own mistakes show up in the same run.
		l.checkName(b, "pipeline")
		name := label0(b)
		if prev, ok := seen[name]; ok {
			l.errorf(b.LabelRanges[0].Ptr(), "Duplicate pipeline",
				"A pipeline named %q is already declared at %s. Pipeline names must be unique within a configuration; rename one of them (with a moved block if it has run before).", name, prev.DeclRange)
			continue
		}
		p := l.decodePipeline(b)
		seen[name] = p
		l.cfg.Pipelines = append(l.cfg.Pipelines, p)
	}
	sort.Slice(l.cfg.Pipelines, func(i, j int) bool { return l.cfg.Pipelines[i].Name < l.cfg.Pipelines[j].Name })
}

func (l *loader) decodePipeline(b *hcl.Block) *Pipeline {
	p := &Pipeline{Name: label0(b), DeclRange: b.DefRange}
	content, d := b.Body.Content(pipelineSchema)
	l.diags = append(l.diags, d...)
	a := attrs{l, content.Attributes}
	if s, _, ok := a.str("description"); ok {
		p.Description = s
	}
	var sources, sinks, checks, outputs, dedupes []*hcl.Block
	for _, cb := range content.Blocks {
		switch cb.Type {
		case "source":
			sources = append(sources, cb)
		case "sink":
			sinks = append(sinks, cb)
		case "check":
			checks = append(checks, cb)
		case "output":
			outputs = append(outputs, cb)
		case "dedupe":
			dedupes = append(dedupes, cb)
		}
	}
	for _, kind := range []struct {
		name   string
		blocks []*hcl.Block
	}{{"output", outputs}, {"dedupe", dedupes}} {
		if len(kind.blocks) > 1 {
			l.errorf(kind.blocks[1].DefRange.Ptr(), "Duplicate "+kind.name+" block",
				"Pipeline %q already has an %s block at %s; a pipeline has at most one.", p.Name, kind.name, kind.blocks[0].DefRange)
		}
	}
	for _, kind := range []struct {
		name   string
		blocks []*hcl.Block
	}{{"source", sources}, {"sink", sinks}} {
		switch len(kind.blocks) {
		case 0:
			l.errorf(b.DefRange.Ptr(), "Missing "+kind.name+" block",
				"Pipeline %q has no %s block; a pipeline has exactly one source and one sink.", p.Name, kind.name)
		case 1:
		default:
			l.errorf(kind.blocks[1].DefRange.Ptr(), "Duplicate "+kind.name+" block",
				"Pipeline %q already has a %s block at %s; a pipeline has exactly one. Split the work into two pipelines.", p.Name, kind.name, kind.blocks[0].DefRange)
		}
	}
	if len(sources) > 0 {
		p.Source = l.decodeSource(sources[0])
	}
	if len(outputs) > 0 {
		p.Output = l.decodeOutput(outputs[0])
		l.compileOutput(p, nil)
	}
	if len(dedupes) > 0 {
		var keyAt *hcl.Attribute
		p.Dedupe, keyAt = l.decodeDedupe(dedupes[0])
		if p.Source != nil {
			l.checkDedupe(p, keyAt)
		}
	}
	if len(sinks) > 0 {
		p.Sink = l.decodeSink(sinks[0], p)
	}
	seen := map[string]hcl.Range{}
	for _, cb := range checks {
		if !l.checkName(cb, "check") {
			continue
		}
		if prev, ok := seen[cb.Labels[0]]; ok {
			l.errorf(cb.LabelRanges[0].Ptr(), "Duplicate check",
				"A check named %q is already declared at %s in this pipeline; rename one of them.", cb.Labels[0], prev)
			continue
		}
		seen[cb.Labels[0]] = cb.DefRange
		if c := l.decodeCheck(cb, p); c != nil {
			p.Checks = append(p.Checks, c)
		}
	}
	return p
}

func (l *loader) decodeSource(b *hcl.Block) *Source {
	src := &Source{
		Name:           label0(b),
		Compression:    CompressionAuto,
		OnBadRecord:    BadRecordFail,
		OnChange:       ChangeIgnore,
		OnSchemaChange: SchemaChangeFail,
		CleanSource:    CleanOff,
		TaskBytes:      DefaultTaskBytes,
		MaxRecordBytes: DefaultMaxRecordBytes,
		CSV:            defaultCSV(),
		DeclRange:      b.DefRange,
	}
	l.checkName(b, "source")
	content, d := b.Body.Content(sourceSchema)
	l.diags = append(l.diags, d...)
	a := attrs{l, content.Attributes}

	if s, sens, ok := a.str("url"); ok {
		if u, ok := l.resolveURL(s, sens, a.get("url")); ok {
			src.URL = u
			l.sourceURLRange[src] = a.get("url").Expr.Range()
		}
	}
	src.Format, _ = enumAttr(a, "format", sourceFormatValues, Format(0))
	src.Compression, _ = enumAttr(a, "compression", compressionValues, CompressionAuto)
	src.OnBadRecord, _ = enumAttr(a, "on_bad_record", badRecordValues, BadRecordFail)
	src.OnChange, _ = enumAttr(a, "on_change", changeValues, ChangeIgnore)
	src.OnSchemaChange, _ = enumAttr(a, "on_schema_change", schemaChangeValues, SchemaChangeFail)
	src.CleanSource, _ = enumAttr(a, "clean_source", cleanSourceValues, CleanOff)
	if s, sens, ok := a.str("archive_url"); ok {
		if u, ok := l.resolveURL(s, sens, a.get("archive_url")); ok {
			src.ArchiveURL = u
		}
	}
	switch {
	case src.CleanSource == CleanArchive && a.get("archive_url") == nil:
		l.errorf(a.get("clean_source").Expr.Range().Ptr(), "Missing archive_url",
			"clean_source = \"archive\" moves each processed input under archive_url; set archive_url = \"s3://bucket/archive/...\" (a prefix outside the source).")
	case src.CleanSource != CleanArchive && a.get("archive_url") != nil:
		l.errorf(a.get("archive_url").Expr.Range().Ptr(), "archive_url without clean_source = \"archive\"",
			"archive_url is where clean_source = \"archive\" moves processed inputs; set clean_source = \"archive\" or remove archive_url.")
	}
	if n, ok := a.size("task_bytes"); ok {
		if n <= 0 {
			l.errorf(a.get("task_bytes").Expr.Range().Ptr(), "Invalid task_bytes", "task_bytes must be greater than zero, such as \"128MiB\".")
		} else {
			src.TaskBytes = n
		}
	}
	if n, ok := a.size("max_record_bytes"); ok {
		if n <= 0 || n > 1<<30 {
			l.errorf(a.get("max_record_bytes").Expr.Range().Ptr(), "Invalid max_record_bytes", "max_record_bytes must be greater than zero and at most 1GiB, such as \"16MiB\": one record is held whole in memory while it is decoded.")
		} else {
			src.MaxRecordBytes = n
		}
	}
	if ps, ok := a.strList("partitions"); ok {
		src.Partitions = l.checkNames(ps, a.get("partitions"), "partition key")
	}
	if xs, ok := a.strList("select"); ok {
		if len(xs) == 0 {
			l.errorf(a.get("select").Expr.Range().Ptr(), "Empty select", "select lists the columns to read; an empty list reads nothing. Remove the attribute to read every column.")
		}
		src.Select = l.checkNames(xs, a.get("select"), "column")
	}
	for _, g := range []struct {
		name string
		dst  *[]string
	}{{"include", &src.Include}, {"exclude", &src.Exclude}} {
		if xs, ok := a.strList(g.name); ok {
			for _, pat := range xs {
				if !doublestar.ValidatePattern(pat) {
					l.errorf(a.get(g.name).Expr.Range().Ptr(), "Invalid glob pattern",
						"%q in %s is not a valid doublestar pattern (check brackets and braces). Patterns are relative to the source URL, such as \"**/*.json.gz\".", pat, g.name)
				}
			}
			*g.dst = xs
		}
	}

	var columns, bounded, csvs []*hcl.Block
	for _, cb := range content.Blocks {
		switch cb.Type {
		case "column":
			columns = append(columns, cb)
		case "bounded":
			bounded = append(bounded, cb)
		case "csv":
			csvs = append(csvs, cb)
		}
	}
	l.decodeSourceSchema(src, a, columns)
	if len(bounded) > 1 {
		l.errorf(bounded[1].DefRange.Ptr(), "Duplicate bounded block", "A source has at most one bounded block; the first is at %s.", bounded[0].DefRange)
	}
	if len(bounded) > 0 {
		src.Bounded = l.decodeBounded(bounded[0])
		l.boundedRange[src] = bounded[0].DefRange
	}
	if len(csvs) > 1 {
		l.errorf(csvs[1].DefRange.Ptr(), "Duplicate csv block", "A source has at most one csv block; the first is at %s.", csvs[0].DefRange)
	}
	if len(csvs) > 0 {
		if src.Format != FormatCSV && src.Format != 0 {
			l.errorf(csvs[0].DefRange.Ptr(), "csv block on a "+src.Format.String()+" source",
				"The csv block configures the CSV reader, but this source's format is %q. Remove the block, or set format = \"csv\".", src.Format)
		}
		src.CSV = l.decodeCSV(csvs[0])
	}
	if src.Format == FormatParquet && a.get("compression") != nil && src.Compression != CompressionAuto && src.Compression != CompressionNone {
		l.errorf(a.get("compression").Expr.Range().Ptr(), "compression on a parquet source",
			"Parquet files compress their pages internally; the compression attribute applies only to csv and json sources. Remove it.")
	}
	l.checkSourceColumns(src, a)
	l.compileWhere(src, a.get("where"))
	return src
}

// checkNames rejects empty and duplicate names in a list attribute.
func (l *loader) checkNames(xs []string, at *hcl.Attribute, what string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		switch {
		case strings.TrimSpace(x) == "":
			l.errorf(at.Expr.Range().Ptr(), "Empty "+what+" name", "%s cannot hold an empty name.", at.Name)
		case seen[x]:
			l.errorf(at.Expr.Range().Ptr(), "Duplicate "+what, "%q appears twice in %s; list it once.", x, at.Name)
		default:
			if what == "partition key" && strings.ContainsAny(x, "/=") {
				l.errorf(at.Expr.Range().Ptr(), "Invalid partition key", "%q cannot be a hive partition key: keys are the NAME of NAME=VALUE path segments and cannot contain \"/\" or \"=\".", x)
				continue
			}
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func (l *loader) decodeSourceSchema(src *Source, a attrs, columns []*hcl.Block) {
	at := a.get("schema")
	switch {
	case at != nil && len(columns) > 0:
		l.errorf(columns[0].DefRange.Ptr(), "Conflicting schema definitions",
			"Source %q sets schema at %s and also declares column blocks. Use one or the other: schema = schema_file(...) or inline column blocks.", src.Name, at.NameRange)
		return
	case at == nil && len(columns) == 0:
		if src.Format == FormatJSON || src.Format == FormatCSV {
			l.errorf(src.DeclRange.Ptr(), "Missing schema",
				"A %s source needs a schema: set schema = schema_file(\"../schemas/NAME.hcl\") or declare column blocks. Only parquet sources can take their schema from the data.", src.Format)
		}
		return
	case len(columns) > 0:
		cols := l.decodeColumns(columns, l.eval)
		src.Schema = &schema.Schema{Name: src.Name, Columns: cols, DeclRange: columns[0].DefRange}
		return
	}
	v, _, ok := l.eval(at.Expr)
	if !ok || v.IsNull() {
		return
	}
	if !v.Type().Equals(schemaRefType) {
		l.errorf(at.Expr.Range().Ptr(), "Invalid schema value",
			"schema takes the value of schema_file(\"path/to/schema.hcl\"), not a %s. Or remove it and declare column blocks in the source.", v.Type().FriendlyName())
		return
	}
	nv := v.GetAttr("schema_name")
	if nv.IsNull() || !nv.IsKnown() {
		l.errorf(at.Expr.Range().Ptr(), "Invalid schema value", "schema takes the value of schema_file(\"path/to/schema.hcl\").")
		return
	}
	name := nv.AsString()
	s, found := l.cfg.Schemas[name]
	if !found {
		l.errorf(at.Expr.Range().Ptr(), "Invalid schema value", "No schema named %q was loaded; use schema_file(...).", name)
		return
	}
	src.Schema = s
}

func (l *loader) decodeBounded(b *hcl.Block) *Bounds {
	content, d := b.Body.Content(boundedSchema)
	l.diags = append(l.diags, d...)
	a := attrs{l, content.Attributes}
	bd := &Bounds{}
	if n, ok := a.integer("files"); ok {
		if n <= 0 {
			l.errorf(a.get("files").Expr.Range().Ptr(), "Invalid bounded files", "files must be at least 1: a run always takes at least one file.")
		} else {
			bd.Files = n
		}
	}
	if n, ok := a.size("bytes"); ok {
		if n <= 0 {
			l.errorf(a.get("bytes").Expr.Range().Ptr(), "Invalid bounded bytes", "bytes must be greater than zero, such as \"1GiB\".")
		} else {
			bd.Bytes = n
		}
	}
	if a.get("files") == nil && a.get("bytes") == nil {
		l.errorf(b.DefRange.Ptr(), "Empty bounded block",
			"A bounded block limits each run by files, bytes or both; this one sets neither. Add files = 500 or bytes = \"1GiB\", or remove the block to process the whole backlog in one run.")
	}
	return bd
}

func defaultCSV() CSVOptions {
	return CSVOptions{Header: true, Delimiter: ',', Quote: '"', NullValues: []string{""}, QuotedNulls: true}
}

func (l *loader) decodeCSV(b *hcl.Block) CSVOptions {
	o := defaultCSV()
	content, d := b.Body.Content(csvSchema)
	l.diags = append(l.diags, d...)
	a := attrs{l, content.Attributes}
	o.Header = a.boolean("header", true)
	oneRune := func(name string, dst *rune) {
		s, _, ok := a.str(name)
		if !ok {
			return
		}
		r, size := utf8.DecodeRuneInString(s)
		if s == "" || size != len(s) || r == utf8.RuneError || r == '\n' || r == '\r' {
			l.errorf(a.get(name).Expr.Range().Ptr(), "Invalid csv "+name,
				"%s must be exactly one character other than a line break, such as \",\" or \"\\t\"; got %q.", name, s)
			return
		}
		// CSV is read and written byte by byte, so both characters are one
		// ASCII byte: a multi-byte one would pass here and fail every run.
		if r >= utf8.RuneSelf {
			l.errorf(a.get(name).Expr.Range().Ptr(), "Invalid csv "+name,
				"%s must be an ASCII character (CSV is split byte by byte, and sluice could not read back a file it wrote with %q), such as \",\", \";\", \"|\" or \"\\t\"; got %q.", name, s, s)
			return
		}
		*dst = r
	}
	oneRune("delimiter", &o.Delimiter)
	oneRune("quote", &o.Quote)
	if o.Delimiter == o.Quote {
		rng := b.DefRange
		if at := a.get("quote"); at != nil {
			rng = at.Expr.Range()
		} else if at := a.get("delimiter"); at != nil {
			rng = at.Expr.Range()
		}
		l.errorf(&rng, "csv delimiter equals quote", "The delimiter and the quote character are both %q; they must differ.", string(o.Delimiter))
	}
	if xs, ok := a.strList("null_values"); ok {
		o.NullValues = xs
	}
	o.QuotedNulls = a.boolean("quoted_nulls", true)
	return o
}

// sinkCompressions are the codecs each output format can be written with.
var sinkCompressions = map[Format][]Compression{
	FormatParquet: {CompressionSnappy, CompressionZstd, CompressionGzip, CompressionNone},
	FormatIceberg: {CompressionSnappy, CompressionZstd, CompressionGzip, CompressionNone},
	FormatCSV:     {CompressionNone, CompressionGzip, CompressionZstd},
	FormatJSON:    {CompressionNone, CompressionGzip, CompressionZstd},
}

var s3SSE = []string{"AES256", "aws:kms", "aws:kms:dsse"}
var s3ACLs = []string{"private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read", "bucket-owner-read", "bucket-owner-full-control"}
var s3StorageClasses = []string{"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "EXPRESS_ONEZONE"}

func (l *loader) decodeSink(b *hcl.Block, p *Pipeline) *Sink {
	src := p.Source
	sk := &Sink{
		Name:           label0(b),
		Format:         FormatParquet,
		Mode:           ModeAppend,
		Committer:      CommitterAtomic,
		TargetFileSize: DefaultTargetFileSize,
		RowGroupSize:   DefaultRowGroupSize,
		S3:             S3Options{SSE: "AES256"},
		CSV:            defaultCSV(),
		DeclRange:      b.DefRange,
	}
	l.checkName(b, "sink")
	content, d := b.Body.Content(sinkSchema)
	l.diags = append(l.diags, d...)
	a := attrs{l, content.Attributes}
	sk.Format, _ = enumAttr(a, "format", formatValues, FormatParquet)
	if sk.Format == FormatIceberg {
		l.decodeTableSink(sk, b, a)
	} else {
		if a.get("url") == nil {
			l.errorf(b.DefRange.Ptr(), "Missing required argument", "The argument \"url\" is required, but no definition was found.")
		}
		for _, name := range []string{"catalog", "table"} {
			if at := a.get(name); at != nil {
				l.errorf(at.NameRange.Ptr(), name+" on a "+sk.Format.String()+" sink",
					"%s applies to format = \"iceberg\" sinks, which commit to a table in a catalog. Registering a plain sink's files in a catalog (Glue's enableUpdateCatalog) is not supported; use format = \"iceberg\".", name)
			}
		}
		if s, sens, ok := a.str("url"); ok {
			if u, ok := l.resolveURL(s, sens, a.get("url")); ok {
				sk.URL = u
				l.sinkURLRange[sk] = a.get("url").Expr.Range()
			}
		}
	}
	def := CompressionNone
	if sk.Format == FormatParquet || sk.Format == FormatIceberg {
		def = CompressionSnappy
	}
	var compOK bool
	sk.Compression, compOK = enumAttr(a, "compression", compressionValues, def)
	if at := a.get("compression"); at != nil && compOK {
		allowed := sinkCompressions[sk.Format]
		valid := false
		names := make([]string, len(allowed))
		for i, c := range allowed {
			names[i] = c.String()
			valid = valid || c == sk.Compression
		}
		if !valid {
			l.errorf(at.Expr.Range().Ptr(), "Invalid compression for "+sk.Format.String()+" sink",
				"A %s sink can be written with %s; %q is not one of them.", sk.Format, quoteList(names), sk.Compression)
		}
	}
	if pb, ok := a.strList("partition_by"); ok {
		sk.PartitionBy = l.checkNames(pb, a.get("partition_by"), "partition column")
	}
	sk.Mode, _ = enumAttr(a, "mode", modeValues, ModeAppend)
	sk.Committer, _ = enumAttr(a, "committer", committerValues, CommitterAtomic)
	if sk.Format == FormatIceberg {
		l.checkTableCommitter(sk, a)
	}
	if n, ok := a.size("target_file_size"); ok {
		rng := a.get("target_file_size").Expr.Range().Ptr()
		switch {
		case n < MinTargetFileSize:
			l.errorf(rng, "target_file_size too small",
				"target_file_size is %s; the smallest allowed is %s, since smaller outputs recreate the small-file problem. Use at least \"1MiB\" (\"128MiB\" is the default).", FormatSize(n), FormatSize(MinTargetFileSize))
		case n > MaxUploadParts*WriterPartSize:
			l.errorf(rng, "target_file_size too large",
				"target_file_size is %s, but an output is uploaded in at most %d parts of %s, so a file can hold at most %s. Lower target_file_size.", FormatSize(n), MaxUploadParts, FormatSize(WriterPartSize), FormatSize(MaxUploadParts*WriterPartSize))
		default:
			sk.TargetFileSize = n
		}
	}
	if n, ok := a.size("row_group_size"); ok {
		if n <= 0 {
			l.errorf(a.get("row_group_size").Expr.Range().Ptr(), "Invalid row_group_size", "row_group_size must be greater than zero, such as \"64MiB\".")
		} else {
			sk.RowGroupSize = n
		}
	}
	var s3s, csvs []*hcl.Block
	for _, cb := range content.Blocks {
		switch cb.Type {
		case "s3":
			s3s = append(s3s, cb)
		case "csv":
			csvs = append(csvs, cb)
		}
	}
	for _, group := range [][]*hcl.Block{s3s, csvs} {
		if len(group) > 1 {
			l.errorf(group[1].DefRange.Ptr(), "Duplicate "+group[1].Type+" block",
				"A sink has at most one %s block; the first is at %s.", group[1].Type, group[0].DefRange)
		}
	}
	if len(s3s) > 0 {
		sk.S3 = l.decodeS3(s3s[0], sk.URL)
	}
	if len(csvs) > 0 {
		if sk.Format != FormatCSV {
			l.errorf(csvs[0].DefRange.Ptr(), "csv block on a "+sk.Format.String()+" sink",
				"The csv block configures the CSV writer, but this sink's format is %q. Remove the block, or set format = \"csv\".", sk.Format)
		}
		sk.CSV = l.decodeCSV(csvs[0])
	}
	if src != nil {
		if sk.Format == FormatIceberg {
			l.checkTablePartitioning(sk, p, a)
		} else {
			l.checkPartitionBy(sk, p, a)
		}
		l.checkOverwriteBounded(sk, src)
	}
	return sk
}

func (l *loader) decodeS3(b *hcl.Block, sinkURL string) S3Options {
	o := S3Options{SSE: "AES256", Declared: true}
	content, d := b.Body.Content(s3Schema)
	l.diags = append(l.diags, d...)
	a := attrs{l, content.Attributes}
	oneOf := func(name string, allowed []string, dst *string) {
		s, sens, ok := a.str(name)
		if !ok {
			return
		}
		for _, x := range allowed {
			if x == s {
				*dst = s
				return
			}
		}
		hint := ""
		if !sens {
			hint = suggestion(s, allowed)
		}
		l.errorf(a.get(name).Expr.Range().Ptr(), "Invalid "+name+" value",
			"%s must be one of %s; got %s.%s", name, quoteList(allowed), show(s, sens), hint)
	}
	oneOf("sse", s3SSE, &o.SSE)
	oneOf("storage_class", s3StorageClasses, &o.StorageClass)
	oneOf("acl", s3ACLs, &o.ACL)
	if s, sens, ok := a.str("kms_key_id"); ok {
		o.KMSKeyID = s
		if !strings.HasPrefix(o.SSE, "aws:kms") {
			l.errorf(a.get("kms_key_id").NameRange.Ptr(), "kms_key_id without KMS encryption",
				"kms_key_id applies only with sse = \"aws:kms\" or \"aws:kms:dsse\", but sse is %q. Set sse = \"aws:kms\".", o.SSE)
		} else if !kmsKeyID.MatchString(s) {
			l.errorf(a.get("kms_key_id").Expr.Range().Ptr(), "Invalid kms_key_id",
				"kms_key_id is %s, which names no KMS key. Write a key ID (\"1234abcd-12ab-34cd-56ef-1234567890ab\"), a key ARN (\"arn:aws:kms:REGION:ACCOUNT:key/ID\"), an alias (\"alias/NAME\") or an alias ARN.", show(s, sens))
		}
	}
	if at := a.get("tags"); at != nil {
		o.Tags = l.decodeTags(at)
	}
	if sinkURL != "" && !strings.HasPrefix(sinkURL, "s3://") {
		l.warnf(b.DefRange.Ptr(), "s3 block on a local sink",
			"The sink writes to a local path, so its s3 settings have no effect.")
	}
	return o
}

// kmsKeyID matches the ways S3 accepts to name a KMS key: a key ID (a
// UUID, or "mrk-" and 32 hex digits for a multi-region key), a key or
// alias ARN, or an alias name. It catches a key's bare name or an ARN of
// another service before a run gets as far as S3's refusal.
var kmsKeyID = regexp.MustCompile(`^(arn:aws[a-z-]*:kms:[^:\s]*:[^:\s]*:(key|alias)/\S+|alias/[A-Za-z0-9/_-]+|mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)

// S3's limits on the tags of one object (the Object tagging page of the
// S3 user guide): at most 10; keys of 1 to 128 characters and values of up
// to 256, counted in Unicode characters, of letters, digits, white space
// and _ . : / = + - @; keys starting "aws:" are AWS's own. S3 refuses the
// whole write otherwise, so validate checks them offline.
const (
	maxS3Tags     = 10
	maxS3TagKey   = 128
	maxS3TagValue = 256
)

var s3TagChar = regexp.MustCompile(`[^\p{L}\p{Z}\p{N}_.:/=+\-@]`)

// decodeTags decodes an s3 block's tags: a map of strings, checked
// against S3's limits. A diagnostic about one tag points at its key or
// value when the map is written out in place.
func (l *loader) decodeTags(at *hcl.Attribute) map[string]string {
	v, sens, ok := l.eval(at.Expr)
	if !ok || v.IsNull() {
		return nil
	}
	rng := at.Expr.Range()
	mv, err := convert.Convert(v, cty.Map(cty.String))
	if err != nil || !mv.IsWhollyKnown() {
		l.errorf(&rng, "Invalid value for tags",
			"tags must be a map of strings, such as { team = \"data\", env = \"prod\" }, not %s.", v.Type().FriendlyName())
		return nil
	}
	keyRng, valRng := map[string]hcl.Range{}, map[string]hcl.Range{}
	if oc, ok := at.Expr.(*hclsyntax.ObjectConsExpr); ok {
		for _, it := range oc.Items {
			if kv, diags := it.KeyExpr.Value(nil); !diags.HasErrors() && kv.Type() == cty.String && kv.IsKnown() && !kv.IsNull() {
				keyRng[kv.AsString()], valRng[kv.AsString()] = it.KeyExpr.Range(), it.ValueExpr.Range()
			}
		}
	}
	at2 := func(m map[string]hcl.Range, k string) *hcl.Range {
		if r, ok := m[k]; ok {
			return &r
		}
		return &rng
	}
	tags := map[string]string{}
	good := true
	bad := func(subject *hcl.Range, summary, format string, args ...any) {
		l.errorf(subject, summary, format, args...)
		good = false
	}
	for it := mv.ElementIterator(); it.Next(); {
		kv, ev := it.Element()
		k := kv.AsString()
		if ev.IsNull() {
			bad(at2(valRng, k), "Invalid tag value", "The value of tag %s is null; write a string (it may be empty).", show(k, sens))
			continue
		}
		val := ev.AsString()
		switch n := utf8.RuneCountInString(k); {
		case n == 0:
			bad(at2(keyRng, k), "Invalid tag key", "A tag key cannot be empty.")
		case n > maxS3TagKey:
			bad(at2(keyRng, k), "Invalid tag key", "Tag key %s is %d characters long; S3 allows at most %d.", show(k, sens), n, maxS3TagKey)
		case s3TagChar.MatchString(k):
			bad(at2(keyRng, k), "Invalid tag key", "Tag key %s holds %s, which S3 does not allow in tags. Use letters, digits, spaces and _ . : / = + - @.", show(k, sens), badChar(k, sens))
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			bad(at2(keyRng, k), "Invalid tag key", "Tag key %s starts with \"aws:\", a prefix reserved for AWS's own tags. Choose another key.", show(k, sens))
		}
		switch n := utf8.RuneCountInString(val); {
		case n > maxS3TagValue:
			bad(at2(valRng, k), "Invalid tag value", "The value of tag %s is %d characters long; S3 allows at most %d.", show(k, sens), n, maxS3TagValue)
		case s3TagChar.MatchString(val):
			bad(at2(valRng, k), "Invalid tag value", "The value of tag %s holds %s, which S3 does not allow in tags. Use letters, digits, spaces and _ . : / = + - @.", show(k, sens), badChar(val, sens))
		}
		tags[k] = val
	}
	if len(tags) > maxS3Tags {
		bad(&rng, "Too many tags", "tags has %d entries; S3 keeps at most %d tags per object. Remove %d.", len(tags), maxS3Tags, len(tags)-maxS3Tags)
	}
	if !good {
		return nil
	}
	return tags
}

// badChar quotes the first character S3 does not allow in a tag.
func badChar(s string, sensitive bool) string {
	if sensitive {
		return "a character"
	}
	return fmt.Sprintf("%q", s3TagChar.FindString(s))
}

func (l *loader) decodeCheck(b *hcl.Block, p *Pipeline) *Check {
	c := &Check{Name: label0(b), MinRows: -1, Severity: SeverityError, DeclRange: b.DefRange}
	content, d := b.Body.Content(checkSchema)
	l.diags = append(l.diags, d...)
	a := attrs{l, content.Attributes}
	c.Severity, _ = enumAttr(a, "severity", severityValues, SeverityError)
	ex, mr := a.get("expr"), a.get("min_rows")
	switch {
	case ex != nil && mr != nil:
		l.errorf(mr.NameRange.Ptr(), "Conflicting check conditions",
			"Check %q sets both expr and min_rows; a check asserts one of them. Split it into two checks.", c.Name)
		return c
	case ex == nil && mr == nil:
		l.errorf(b.DefRange.Ptr(), "Missing check condition",
			"Check %q needs expr (a condition every output row must meet) or min_rows (the fewest rows a run may write).", c.Name)
		return c
	case mr != nil:
		if n, ok := a.integer("min_rows"); ok {
			if n < 0 {
				l.errorf(mr.Expr.Range().Ptr(), "Invalid min_rows", "min_rows must be zero or more.")
			} else {
				c.MinRows = n
			}
		}
		return c
	}
	l.compileCheck(c, p, ex)
	return c
}

func (l *loader) decodeMoved(blocks []*hcl.Block) {
	for _, b := range blocks {
		content, d := b.Body.Content(movedSchema)
		l.diags = append(l.diags, d...)
		from, okF := l.movedAddr(content.Attributes["from"])
		to, okT := l.movedAddr(content.Attributes["to"])
		if !okF || !okT {
			continue
		}
		m := &Moved{From: from, To: to, DeclRange: b.DefRange}
		l.cfg.Moved = append(l.cfg.Moved, m)
		fromAttr, toAttr := content.Attributes["from"], content.Attributes["to"]
		fp, fs := splitAddr(from)
		tp, ts := splitAddr(to)
		switch {
		case from == to:
			l.errorf(toAttr.Expr.Range().Ptr(), "Redundant moved block", "from and to are both %q; remove the block.", from)
		case (fs == "") != (ts == ""):
			l.errorf(toAttr.Expr.Range().Ptr(), "Moved between different kinds",
				"from is %q but to is %q: a pipeline moves to a pipeline, a source to a source (pipeline.NAME.source.NAME).", from, to)
		default:
			target := l.pipeline(tp)
			switch {
			case target == nil:
				names := l.pipelineNames()
				l.errorf(toAttr.Expr.Range().Ptr(), "Moved to an undeclared pipeline",
					"to names pipeline %q, which is not declared.%s A moved block's to must name a pipeline of this configuration.", tp, suggestion(tp, names))
			case ts != "" && (target.Source == nil || target.Source.Name != ts):
				l.errorf(toAttr.Expr.Range().Ptr(), "Moved to an undeclared source",
					"to names source %q of pipeline %q, which has no such source.", ts, tp)
			}
			if fs == "" && l.pipeline(fp) != nil {
				l.errorf(fromAttr.Expr.Range().Ptr(), "Moved object still exists",
					"pipeline %q is still declared, so its bookmarks cannot move to %q. Remove the moved block, or finish the rename.", fp, to)
			}
			if fs != "" {
				if p := l.pipeline(fp); p != nil && p.Source != nil && p.Source.Name == fs {
					l.errorf(fromAttr.Expr.Range().Ptr(), "Moved object still exists",
						"source %q of pipeline %q is still declared, so its bookmarks cannot move to %q.", fs, fp, to)
				}
			}
		}
	}
	for i, m := range l.cfg.Moved {
		for _, o := range l.cfg.Moved[:i] {
			if o.From == m.From {
				l.errorf(m.DeclRange.Ptr(), "Ambiguous moved blocks", "%q is moved twice (also at %s); keep one moved block per old address.", m.From, o.DeclRange)
			}
		}
	}
}

// movedAddr reads from/to, written as a string ("pipeline.a") or a bare
// reference (pipeline.a), and checks its shape.
func (l *loader) movedAddr(at *hcl.Attribute) (string, bool) {
	if at == nil {
		return "", false
	}
	var s string
	if tr, d := hcl.AbsTraversalForExpr(at.Expr); !d.HasErrors() {
		parts := make([]string, 0, len(tr))
		for _, step := range tr {
			switch st := step.(type) {
			case hcl.TraverseRoot:
				parts = append(parts, st.Name)
			case hcl.TraverseAttr:
				parts = append(parts, st.Name)
			default:
				parts = append(parts, "[?]")
			}
		}
		s = strings.Join(parts, ".")
	} else {
		v, d := at.Expr.Value(nil)
		l.diags = append(l.diags, d...)
		if d.HasErrors() {
			return "", false
		}
		sv, err := convert.Convert(v, cty.String)
		if err != nil || sv.IsNull() || !sv.IsKnown() {
			l.errorf(at.Expr.Range().Ptr(), "Invalid moved address", "%s must be an address such as \"pipeline.NAME\".", at.Name)
			return "", false
		}
		s = sv.AsString()
	}
	parts := strings.Split(s, ".")
	valid := (len(parts) == 2 || len(parts) == 4) && parts[0] == "pipeline" &&
		nameRe.MatchString(parts[1]) && (len(parts) == 2 || (parts[2] == "source" && nameRe.MatchString(parts[3])))
	if !valid {
		l.errorf(at.Expr.Range().Ptr(), "Invalid moved address",
			"%q is not an address sluice knows. Write \"pipeline.NAME\" to move a pipeline's bookmarks, or \"pipeline.NAME.source.NAME\" for a source's.", s)
		return "", false
	}
	return s, true
}

func splitAddr(s string) (pipeline, source string) {
	parts := strings.Split(s, ".")
	if len(parts) == 4 {
		return parts[1], parts[3]
	}
	return parts[1], ""
}

func (l *loader) pipeline(name string) *Pipeline {
	for _, p := range l.cfg.Pipelines {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func (l *loader) pipelineNames() []string {
	out := make([]string, 0, len(l.cfg.Pipelines))
	for _, p := range l.cfg.Pipelines {
		out = append(out, p.Name)
	}
	return out
}

// workDir is where relative paths given outside the configuration resolve.
func (l *loader) workDir() string {
	if l.opts.WorkDir != "" {
		return l.opts.WorkDir
	}
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}
