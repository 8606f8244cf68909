package spec

import "fmt"

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
	{"json", FormatJSON}, {"csv", FormatCSV}, {"parquet", FormatParquet},
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

// Ext is the file name extension sluice writes for the format, without a dot.
func (f Format) Ext() string { return f.String() }

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
