package tables

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"

	"github.com/sluicedata/sluice/spec"
)

// transformOf is the Iceberg transform of a partition_by field.
func transformOf(f spec.PartitionField) (iceberg.Transform, error) {
	switch f.Transform {
	case spec.TransformIdentity:
		return iceberg.IdentityTransform{}, nil
	case spec.TransformYear:
		return iceberg.YearTransform{}, nil
	case spec.TransformMonth:
		return iceberg.MonthTransform{}, nil
	case spec.TransformDay:
		return iceberg.DayTransform{}, nil
	case spec.TransformHour:
		return iceberg.HourTransform{}, nil
	case spec.TransformBucket:
		return iceberg.BucketTransform{NumBuckets: f.Param}, nil
	case spec.TransformTruncate:
		return iceberg.TruncateTransform{Width: f.Param}, nil
	}
	return nil, fmt.Errorf("unknown transform %s", f.Transform)
}

// newSpec builds the partition spec of a new table. iceberg-go checks that
// each transform applies to its column's type.
func newSpec(sc *iceberg.Schema, fields []spec.PartitionField) (iceberg.PartitionSpec, error) {
	var opts []iceberg.PartitionOption
	for _, f := range fields {
		t, err := transformOf(f)
		if err != nil {
			return iceberg.PartitionSpec{}, err
		}
		opts = append(opts, iceberg.AddPartitionFieldByName(f.Column, f.Name(), t, sc, nil))
	}
	return iceberg.NewPartitionSpecOpts(opts...)
}

// specText writes a table's partition spec as partition_by would.
func specText(ps iceberg.PartitionSpec, sc *iceberg.Schema) string {
	var parts []string
	for _, f := range ps.Fields() {
		src, _ := sc.FindColumnName(f.SourceID())
		switch t := f.Transform.(type) {
		case iceberg.IdentityTransform:
			parts = append(parts, src)
		case iceberg.BucketTransform:
			parts = append(parts, fmt.Sprintf("bucket(%d, %s)", t.NumBuckets, src))
		case iceberg.TruncateTransform:
			parts = append(parts, fmt.Sprintf("truncate(%d, %s)", t.Width, src))
		default:
			parts = append(parts, fmt.Sprintf("%s(%s)", f.Transform, src))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func fieldsText(fields []spec.PartitionField) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// checkSpec reports a table partitioned otherwise than partition_by says:
// sluice never changes a table's partitioning.
func checkSpec(table string, ps iceberg.PartitionSpec, sc *iceberg.Schema, fields []spec.PartitionField) error {
	if have, want := specText(ps, sc), fieldsText(fields); have != want {
		return &SchemaError{table, fmt.Sprintf("it is partitioned by %s but partition_by is %s; sluice does not change a table's partitioning. Make partition_by match, or write to a new table", have, want)}
	}
	return nil
}

// PartitionField is one field of a table's partition spec, as the writer
// needs it: the hive key of its data directories (Name), the output
// column it is computed from, the transform, and its id in the spec.
type PartitionField struct {
	Name    string              `json:"name"`
	Column  string              `json:"column"`
	FieldID int                 `json:"field_id"`
	Spec    spec.PartitionField `json:"spec"`
	// Result is the Iceberg type of its values ("string", "int", "long",
	// "date"), which decides how a rendered value is read back.
	Result string `json:"result"`
}

// typedValue turns a partition value rendered by the writer (nil: null)
// into what iceberg-go's DataFile builder takes for the field's type.
func typedValue(v *string, result string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch result {
	case "string":
		return *v, nil
	case "int":
		n, err := strconv.ParseInt(*v, 10, 32)
		return int32(n), err
	case "long":
		return strconv.ParseInt(*v, 10, 64)
	case "date":
		t, err := time.Parse("2006-01-02", *v)
		if err != nil {
			return nil, err
		}
		return iceberg.Date(t.Unix() / 86400), nil
	}
	return nil, fmt.Errorf("partition values of type %s are not supported", result)
}

// renderValue renders a partition value read from a manifest the way the
// writer renders it, so that partitions compare as text (nil: null).
func renderValue(v any) *string {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		s = x
	case int32:
		s = strconv.FormatInt(int64(x), 10)
	case int64:
		s = strconv.FormatInt(x, 10)
	case int:
		s = strconv.Itoa(x)
	case iceberg.Date:
		s = time.Unix(int64(x)*86400, 0).UTC().Format("2006-01-02")
	case []byte:
		s = string(x)
	default:
		s = fmt.Sprint(x)
	}
	return &s
}

// tupleKey identifies a partition tuple of rendered values.
func tupleKey(vals []*string) string {
	var b strings.Builder
	for _, v := range vals {
		if v == nil {
			b.WriteString("N;")
			continue
		}
		fmt.Fprintf(&b, "%d:%s;", len(*v), *v)
	}
	return b.String()
}
