package spec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// Config is one decoded configuration: all *.hcl files of a directory
// (except *.test.hcl and *.vars.hcl).
type Config struct {
	Dir       string
	Files     []string // the files read, sorted
	Variables map[string]*Variable
	State     *State      // never nil after a successful Load: defaults filled in
	Pipelines []*Pipeline // sorted by name
	Moved     []*Moved
	// Catalogs are the catalog blocks, sorted by name: where iceberg sinks
	// find and commit their tables.
	Catalogs []*Catalog
	Schemas  map[string]*schema.Schema // every schema loaded via schema_file
	// Sources holds every file Load read (configuration, schema_file, file
	// and -var-file inputs) by the filename its diagnostics use, so that a
	// renderer can print the offending line with a caret.
	Sources map[string][]byte
	// Digest is a hex SHA-256 over the configuration's files and the
	// resolved variable values; saved plans carry it to detect config changes.
	Digest string
}

// Variable is a declared input variable and its resolved value.
type Variable struct {
	Name        string
	Type        cty.Type
	Default     cty.Value
	Description string
	Sensitive   bool
	Value       cty.Value // resolved: default < SLUICE_VAR_ < -var-file < -var
	DeclRange   hcl.Range
}

// State says where bookmarks, journals and locks live.
type State struct {
	URL       string // default: ".sluice/state" next to the config, as an absolute path
	DeclRange hcl.Range
}

// Moved keeps bookmarks across a rename: From and To are "pipeline.NAME"
// or "pipeline.NAME.source.NAME".
type Moved struct {
	From, To  string
	DeclRange hcl.Range
}

// Pipeline is one source → sink pipeline.
type Pipeline struct {
	Name        string
	Description string
	Source      *Source
	// Output says which columns leave the pipeline; nil: the source's.
	Output *Output
	// Dedupe keeps one output row per key within a run; nil: no dedupe.
	Dedupe    *Dedupe
	Checks    []*Check
	Sink      *Sink
	DeclRange hcl.Range
}

// Format is a data file format.
type Format int

// Formats. FormatIceberg is a sink format only: Parquet data files
// committed to an Apache Iceberg table.
const (
	FormatJSON Format = iota + 1
	FormatCSV
	FormatParquet
	FormatIceberg
)

// Compression is a codec.
type Compression int

// Codecs. CompressionAuto is valid only on sources.
const (
	CompressionAuto Compression = iota + 1
	CompressionNone
	CompressionGzip
	CompressionZstd
	CompressionSnappy
	CompressionBzip2
)

// BadRecordPolicy is the value of on_bad_record.
type BadRecordPolicy int

// on_bad_record values.
const (
	BadRecordFail BadRecordPolicy = iota + 1
	BadRecordSkip
	BadRecordQuarantine
)

// ChangePolicy is the value of on_change.
type ChangePolicy int

// on_change values.
const (
	ChangeIgnore ChangePolicy = iota + 1
	ChangeReprocess
	ChangeError
)

// CleanSource is the value of clean_source: what happens to a source's
// inputs once their run is committed.
type CleanSource int

// clean_source values.
const (
	CleanOff CleanSource = iota + 1
	CleanDelete
	CleanArchive
)

// SchemaChangePolicy is the value of on_schema_change.
type SchemaChangePolicy int

// on_schema_change values.
const (
	SchemaChangeFail SchemaChangePolicy = iota + 1
	SchemaChangeAddColumns
	SchemaChangeIgnore
)

// Mode is the sink's write mode.
type Mode int

// Sink modes.
const (
	ModeAppend Mode = iota + 1
	ModeOverwrite
	ModeOverwritePartitions
)

// Committer is the sink's commit strategy.
type Committer int

// Committers.
const (
	CommitterAtomic Committer = iota + 1
	CommitterDirect
)

// Severity of a check.
type Severity int

// Check severities.
const (
	SeverityError Severity = iota + 1
	SeverityWarn
)

// Source is a pipeline's input.
type Source struct {
	Name        string
	URL         string // absolute path or s3:// URL (relative local paths resolved)
	Format      Format
	Compression Compression
	Schema      *schema.Schema // nil: parquet schema taken from footers at plan time
	Partitions  []string
	Where       *predicate.Predicate // nil: no filter
	WhereRange  hcl.Range            // the attribute's expression range
	// WhereText is the where expression as written; set even when Where is
	// nil because the schema of a Parquet source is known only at plan time.
	WhereText      string
	whereMap       *stringMap // maps predicate spans into the file (WhereSubject)
	Select         []string   // nil: every column
	Include        []string
	Exclude        []string
	OnBadRecord    BadRecordPolicy
	OnChange       ChangePolicy
	OnSchemaChange SchemaChangePolicy
	Bounded        *Bounds // nil: unbounded
	TaskBytes      int64   // default 128 MiB
	// MaxRecordBytes bounds one JSON line or CSV record: a longer one is a
	// bad record read past in bounded memory (default 16 MiB).
	MaxRecordBytes int64
	// CleanSource moves (archive, to ArchiveURL, keeping each key relative
	// to the source) or deletes the inputs a committed run processed.
	CleanSource CleanSource
	ArchiveURL  string
	CSV         CSVOptions
	DeclRange   hcl.Range
}

// Bounds limit one run; a zero field is unset.
type Bounds struct {
	Files int64
	Bytes int64
}

// CSVOptions configure the CSV reader (and writer on sinks).
type CSVOptions struct {
	Header     bool     // default true
	Delimiter  rune     // default ','
	Quote      rune     // default '"'
	NullValues []string // default [""]
	// QuotedNulls: a quoted field equal to one of NullValues is null too,
	// as DuckDB reads it (allow_quoted_nulls); false keeps quoted fields
	// as text (Spark's reading of "" as an empty string). Default true.
	QuotedNulls bool
}

// Check is an assertion on the output, evaluated before commit.
type Check struct {
	Name    string
	Expr    *predicate.Predicate // nil when MinRows is used
	MinRows int64                // -1 when unset
	// ExprText is the expr as written ("" with MinRows); set even when Expr
	// is nil because the output schema of a Parquet source is known only at plan time.
	ExprText  string
	ExprRange hcl.Range  // the expr attribute's expression range
	exprMap   *stringMap // maps predicate spans into the file (ExprSubject)
	Severity  Severity
	DeclRange hcl.Range
}

// Sink is a pipeline's output.
type Sink struct {
	Name string
	// URL is where a file sink writes; "" for an iceberg sink, whose
	// catalog decides where its table lives.
	URL         string
	Format      Format
	Compression Compression // default snappy for parquet and iceberg, none for csv/json
	// PartitionBy is partition_by as written: output column names, and for
	// an iceberg sink also transforms such as "day(ts)" (parsed into
	// Partitioning).
	PartitionBy []string
	// Catalog names the catalog block an iceberg sink commits to, Table the
	// table in it ("ns.table"), and Partitioning is its partition_by parsed.
	Catalog        string
	Table          string
	Partitioning   []PartitionField
	Mode           Mode
	Committer      Committer
	TargetFileSize int64 // default 128 MiB
	RowGroupSize   int64 // default 64 MiB
	S3             S3Options
	CSV            CSVOptions
	DeclRange      hcl.Range
}

// S3Options are the server-side settings of the objects a sink writes to
// S3: its s3 block.
//
// Declared says the sink has an s3 block. Only then are the settings sent:
// without one sluice sends no encryption, storage-class, ACL or tagging
// header, so the bucket's own defaults apply (on AWS, every bucket encrypts
// new objects, with SSE-S3 unless its default encryption names a KMS key)
// and S3-compatible servers that reject such headers keep working. Inside a
// block, SSE defaults to "AES256" and is always sent.
type S3Options struct {
	SSE          string // default "AES256"
	KMSKeyID     string
	StorageClass string
	ACL          string
	// Tags are sent as x-amz-tagging (at most 10, S3's limit per object).
	Tags     map[string]string `json:",omitempty"`
	Declared bool              `json:",omitempty"`
}

// CatalogType is a catalog block's type.
type CatalogType int

// Catalog types. Only the sql catalog is tested end to end; rest and glue
// are wired but experimental (docs/language.md).
const (
	CatalogSQL CatalogType = iota + 1
	CatalogREST
	CatalogGlue
)

// Catalog is a table catalog iceberg sinks commit to.
type Catalog struct {
	Name string
	Type CatalogType
	// URI: for sql, the SQLite file (an absolute local path); for rest, the
	// server's http(s) URL; unused by glue.
	URI string
	// Warehouse is where new tables' data and metadata go: an absolute
	// local path or an s3:// URL ("" lets a rest server decide).
	Warehouse string
	// REST settings. Credential and Token are secrets: plans, journals and
	// logs never record them.
	Credential string
	Token      string
	Scope      string
	Prefix     string
	Headers    map[string]string
	SigV4      bool
	// Glue settings.
	Region    string
	CatalogID string
	DeclRange hcl.Range
}

// Experimental reports whether the catalog type has not been exercised end
// to end against a real server (no REST catalog server or Glue endpoint can
// be reached where sluice is tested).
func (t CatalogType) Experimental() bool { return t == CatalogREST || t == CatalogGlue }

// Catalog returns the catalog block named name, or nil.
func (c *Config) Catalog(name string) *Catalog {
	for _, k := range c.Catalogs {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// Transform is an Iceberg partition transform.
type Transform int

// Partition transforms (the Iceberg spec's names).
const (
	TransformIdentity Transform = iota + 1
	TransformYear
	TransformMonth
	TransformDay
	TransformHour
	TransformBucket
	TransformTruncate
)

// PartitionField is one entry of an iceberg sink's partition_by: a column
// and the transform of its values, e.g. day(ts) or bucket(16, id).
type PartitionField struct {
	Column    string    `json:"column"`
	Transform Transform `json:"transform"`
	// Param is bucket's number of buckets or truncate's width.
	Param int `json:"param,omitempty"`
}

// Name is the partition field's name in the table (Iceberg's convention):
// the column for identity, else the column and a suffix (ts_day,
// id_bucket, name_trunc). Data file paths use it as the hive key.
func (f PartitionField) Name() string {
	switch f.Transform {
	case TransformIdentity:
		return f.Column
	case TransformTruncate:
		return f.Column + "_trunc"
	}
	return f.Column + "_" + f.Transform.String()
}

// String writes the field as partition_by spells it.
func (f PartitionField) String() string {
	switch f.Transform {
	case TransformIdentity:
		return f.Column
	case TransformBucket, TransformTruncate:
		return fmt.Sprintf("%s(%d, %s)", f.Transform, f.Param, f.Column)
	}
	return fmt.Sprintf("%s(%s)", f.Transform, f.Column)
}
