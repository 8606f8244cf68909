package spec

import (
	"encoding/json"
	"fmt"
	"strings"
)

// enumValue pairs a spelled value with its enum constant; the tables below
// are the single source of truth for both decoding and String().
type enumValue[T ~int] struct {
	name string
	val  T
}

func enumString[T ~int](table []enumValue[T], v T, typ string) string {
	for _, e := range table {
		if e.val == v {
			return e.name
		}
	}
	return fmt.Sprintf("%s(%d)", typ, int(v))
}

func enumNames[T ~int](table []enumValue[T]) []string {
	out := make([]string, len(table))
	for i, e := range table {
		out[i] = e.name
	}
	return out
}

func enumLookup[T ~int](table []enumValue[T], s string) (T, bool) {
	for _, e := range table {
		if e.name == s {
			return e.val, true
		}
	}
	var zero T
	return zero, false
}

var formatValues = []enumValue[Format]{
	{"json", FormatJSON}, {"csv", FormatCSV}, {"parquet", FormatParquet}, {"iceberg", FormatIceberg},
}

// sourceFormatValues are the formats a source reads (iceberg is a sink format).
var sourceFormatValues = formatValues[:3]

var catalogTypeValues = []enumValue[CatalogType]{
	{"sql", CatalogSQL}, {"rest", CatalogREST}, {"glue", CatalogGlue},
}

var transformValues = []enumValue[Transform]{
	{"identity", TransformIdentity}, {"year", TransformYear}, {"month", TransformMonth}, {"day", TransformDay},
	{"hour", TransformHour}, {"bucket", TransformBucket}, {"truncate", TransformTruncate},
}

var compressionValues = []enumValue[Compression]{
	{"auto", CompressionAuto}, {"none", CompressionNone}, {"gzip", CompressionGzip},
	{"zstd", CompressionZstd}, {"snappy", CompressionSnappy}, {"bzip2", CompressionBzip2},
}

var badRecordValues = []enumValue[BadRecordPolicy]{
	{"fail", BadRecordFail}, {"skip", BadRecordSkip}, {"quarantine", BadRecordQuarantine},
}

var changeValues = []enumValue[ChangePolicy]{
	{"ignore", ChangeIgnore}, {"reprocess", ChangeReprocess}, {"error", ChangeError},
}

var cleanSourceValues = []enumValue[CleanSource]{
	{"off", CleanOff}, {"delete", CleanDelete}, {"archive", CleanArchive},
}

func (c CleanSource) String() string { return enumString(cleanSourceValues, c, "CleanSource") }
func (c CleanSource) MarshalText() ([]byte, error) {
	return enumText(cleanSourceValues, c, "clean_source")
}
func (c *CleanSource) UnmarshalJSON(b []byte) error {
	return enumFromJSON(cleanSourceValues, b, c, "clean_source")
}

var schemaChangeValues = []enumValue[SchemaChangePolicy]{
	{"fail", SchemaChangeFail}, {"add_columns", SchemaChangeAddColumns}, {"ignore", SchemaChangeIgnore},
}

var modeValues = []enumValue[Mode]{
	{"append", ModeAppend}, {"overwrite", ModeOverwrite}, {"overwrite_partitions", ModeOverwritePartitions},
}

var committerValues = []enumValue[Committer]{
	{"atomic", CommitterAtomic}, {"direct", CommitterDirect},
}

var severityValues = []enumValue[Severity]{
	{"error", SeverityError}, {"warn", SeverityWarn},
}

// String returns the format as spelled in configuration ("json", "csv", "parquet").
func (f Format) String() string { return enumString(formatValues, f, "Format") }

// Ext is the file name extension sluice writes for the format, without a
// dot: an iceberg sink's data files are Parquet.
func (f Format) Ext() string {
	if f == FormatIceberg {
		return FormatParquet.String()
	}
	return f.String()
}

// String returns the catalog type as spelled in configuration.
func (t CatalogType) String() string { return enumString(catalogTypeValues, t, "CatalogType") }

// String returns the transform's name as partition_by spells it.
func (t Transform) String() string { return enumString(transformValues, t, "Transform") }

// String returns the codec as spelled in configuration.
func (c Compression) String() string { return enumString(compressionValues, c, "Compression") }

// String returns the policy as spelled in configuration.
func (p BadRecordPolicy) String() string { return enumString(badRecordValues, p, "BadRecordPolicy") }

// String returns the policy as spelled in configuration.
func (p ChangePolicy) String() string { return enumString(changeValues, p, "ChangePolicy") }

// String returns the policy as spelled in configuration.
func (p SchemaChangePolicy) String() string {
	return enumString(schemaChangeValues, p, "SchemaChangePolicy")
}

// String returns the mode as spelled in configuration.
func (m Mode) String() string { return enumString(modeValues, m, "Mode") }

// String returns the committer as spelled in configuration.
func (c Committer) String() string { return enumString(committerValues, c, "Committer") }

// String returns the severity as spelled in configuration.
func (s Severity) String() string { return enumString(severityValues, s, "Severity") }

// Enums are written by name in JSON (saved plan files), so that a file
// stays right whatever order a later version declares the constants in; the
// zero value (unset) is "". They are read by name, and also as the numbers
// that plan files written before the names held.

func enumText[T ~int](table []enumValue[T], v T, typ string) ([]byte, error) {
	if v == 0 {
		return []byte{}, nil
	}
	for _, e := range table {
		if e.val == v {
			return []byte(e.name), nil
		}
	}
	return nil, fmt.Errorf("spec: %s(%d) has no name", typ, int(v))
}

func enumFromJSON[T ~int](table []enumValue[T], b []byte, v *T, typ string) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int
		if nerr := json.Unmarshal(b, &n); nerr != nil {
			return fmt.Errorf("spec: %s: want a name, got %s", typ, b)
		}
		*v = T(n)
		return nil
	}
	if s == "" {
		*v = 0
		return nil
	}
	x, ok := enumLookup(table, s)
	if !ok {
		return fmt.Errorf("spec: unknown %s %q (one of %s)", typ, s, strings.Join(enumNames(table), ", "))
	}
	*v = x
	return nil
}

func (f Format) MarshalText() ([]byte, error)  { return enumText(formatValues, f, "format") }
func (f *Format) UnmarshalJSON(b []byte) error { return enumFromJSON(formatValues, b, f, "format") }
func (c Compression) MarshalText() ([]byte, error) {
	return enumText(compressionValues, c, "compression")
}
func (c *Compression) UnmarshalJSON(b []byte) error {
	return enumFromJSON(compressionValues, b, c, "compression")
}
func (p BadRecordPolicy) MarshalText() ([]byte, error) {
	return enumText(badRecordValues, p, "on_bad_record")
}
func (p *BadRecordPolicy) UnmarshalJSON(b []byte) error {
	return enumFromJSON(badRecordValues, b, p, "on_bad_record")
}
func (p ChangePolicy) MarshalText() ([]byte, error) { return enumText(changeValues, p, "on_change") }
func (p *ChangePolicy) UnmarshalJSON(b []byte) error {
	return enumFromJSON(changeValues, b, p, "on_change")
}
func (p SchemaChangePolicy) MarshalText() ([]byte, error) {
	return enumText(schemaChangeValues, p, "on_schema_change")
}
func (p *SchemaChangePolicy) UnmarshalJSON(b []byte) error {
	return enumFromJSON(schemaChangeValues, b, p, "on_schema_change")
}
func (m Mode) MarshalText() ([]byte, error)      { return enumText(modeValues, m, "mode") }
func (m *Mode) UnmarshalJSON(b []byte) error     { return enumFromJSON(modeValues, b, m, "mode") }
func (c Committer) MarshalText() ([]byte, error) { return enumText(committerValues, c, "committer") }
func (c *Committer) UnmarshalJSON(b []byte) error {
	return enumFromJSON(committerValues, b, c, "committer")
}
func (s Severity) MarshalText() ([]byte, error) { return enumText(severityValues, s, "severity") }
func (t CatalogType) MarshalText() ([]byte, error) {
	return enumText(catalogTypeValues, t, "catalog type")
}
func (t *CatalogType) UnmarshalJSON(b []byte) error {
	return enumFromJSON(catalogTypeValues, b, t, "catalog type")
}
func (t Transform) MarshalText() ([]byte, error) { return enumText(transformValues, t, "transform") }
func (t *Transform) UnmarshalJSON(b []byte) error {
	return enumFromJSON(transformValues, b, t, "transform")
}
func (s *Severity) UnmarshalJSON(b []byte) error {
	return enumFromJSON(severityValues, b, s, "severity")
}
